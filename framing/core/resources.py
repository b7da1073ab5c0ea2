"""Where files shipped inside the package live (model artefacts, catalogues, examples)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["shipped_model_path", "package_data_path", "SHIPPED_CUE_HEADS", "SHIPPED_FRAME_HEADS",
           "SHIPPED_TONE_MODEL"]

#: Directories of the shipped artefacts inside ``framing.models``.
SHIPPED_TONE_MODEL = "tone-newsmtsc"
SHIPPED_CUE_HEADS = "cues-builtin"
SHIPPED_FRAME_HEADS = "frames-narrative"


def shipped_model_path(name: str) -> Path:
    """Directory ``name`` of the artefacts shipped in ``framing.models`` (it may not exist)."""
    return Path(str(resources.files("framing.models") / name))


def package_data_path(*parts: str) -> Path:
    """A file shipped inside the ``framing`` package, e.g. ``("catalogues", "builtin.yaml")``."""
    return Path(str(resources.files("framing").joinpath(*parts)))
