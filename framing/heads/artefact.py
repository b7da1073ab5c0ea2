"""Small artefact directories shared by the trained heads: a format-tagged
``config.json``, ``model.safetensors`` weights and a model card ``README.md``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["has_format", "write_artefact", "logistic_arrays", "copy_model_dir",
           "MODEL_FILES"]

#: the files of a saved model directory: what a copy of one takes, and nothing else (a
#: tone model's lexical evidence and sentence-tone head included: its config names them;
#: the names are heads.lexical's and heads.tone.sentence_head's, which a test checks)
MODEL_FILES = ("config.json", "model.safetensors", "README.md", "lexical.json",
               "lexical.safetensors", "sentence_head.safetensors")


def has_format(path: str | os.PathLike, fmt: str) -> bool:
    """True if ``path`` holds a ``config.json`` whose ``format`` is ``fmt``."""
    cfg = Path(path) / "config.json"
    try:
        return cfg.is_file() and json.loads(cfg.read_text(encoding="utf-8")).get("format") == fmt
    except (ValueError, OSError, AttributeError):
        return False


def logistic_arrays(heads: Any) -> dict[str, np.ndarray]:
    """The float32 weights of Platt-calibrated logistic heads (``W``, ``b``, ``platt_a``,
    ``platt_c``), as cue and frame heads store them."""
    return {k: np.asarray(getattr(heads, k)).astype(np.float32)
            for k in ("W", "b", "platt_a", "platt_c")}


def write_artefact(path: str | os.PathLike, arrays: dict[str, np.ndarray],
                   config: dict[str, Any], card: str) -> Path:
    """Write ``arrays`` as safetensors, ``config`` as JSON and the card; return the dir."""
    from safetensors.numpy import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    # safetensors writes a numpy array's buffer as it lies in memory: a Fortran-ordered one
    # (scikit-learn's multinomial coef_ is) would come back scrambled, so write C order
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()},
              str(path / "model.safetensors"))
    (path / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (path / "README.md").write_text(card, encoding="utf-8")
    return path


def copy_model_dir(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Replace ``dest`` with a copy of the :data:`MODEL_FILES` that ``src`` holds; return it."""
    src, dest = Path(src), Path(dest)
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for name in MODEL_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, dest / name)
    return dest
