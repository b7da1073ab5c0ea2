"""Where files shipped inside the package live (model artefacts, catalogues, examples)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["shipped_model_path", "package_data_path", "file_sha256", "SHIPPED_CUE_HEADS",
           "SHIPPED_FRAME_HEADS", "SHIPPED_TONE_MODEL", "Tier", "TIERS", "get_tier"]

#: Directories of the shipped artefacts inside ``framing.models``.
SHIPPED_TONE_MODEL = "tone-newsmtsc"
SHIPPED_CUE_HEADS = "cues-builtin"
SHIPPED_FRAME_HEADS = "frames-narrative"


@dataclass(frozen=True)
class Tier:
    """One set of shipped models that work together: an encoder and the tone model, cue
    heads and frame heads trained on its states (directories inside ``framing.models``)."""

    name: str
    encoder: str
    tone: str
    cue_heads: str
    frame_heads: str


#: The shipped tiers, the default first. ``accurate`` needs the ``framing[mpnet]`` extra.
TIERS = {
    "default": Tier("default", "all-MiniLM-L6-v2", SHIPPED_TONE_MODEL, SHIPPED_CUE_HEADS,
                    SHIPPED_FRAME_HEADS),
    "accurate": Tier("accurate", "all-mpnet-base-v2", "tone-mpnet", "cues-mpnet", "frames-mpnet"),
}


def get_tier(name: str) -> Tier:
    """The tier called ``name``; :class:`ValueError` naming the choices otherwise."""
    try:
        return TIERS[str(name)]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of "
                         f"{', '.join(TIERS)}") from None


def shipped_model_path(name: str) -> Path:
    """Directory ``name`` of the artefacts shipped in ``framing.models`` (it may not exist)."""
    return Path(str(resources.files("framing.models") / name))


def package_data_path(*parts: str) -> Path:
    """A file shipped inside the ``framing`` package, e.g. ``("catalogues", "builtin.yaml")``."""
    return Path(str(resources.files("framing").joinpath(*parts)))


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 (hex) of a file's bytes, read 1 MiB at a time: the one file hash that
    artefact checks, the ONNX graph cache and the encoder verification share."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()
