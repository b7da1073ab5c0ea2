"""Encoder fingerprints: what a trained artefact records about the encoder it was trained
on, so that loading it on another encoder is refused with a clear message."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder

__all__ = ["encoder_fingerprint", "fingerprint_mismatch", "fingerprint_from_parts",
           "CONFIG_KEYS", "PROBE_VALUES"]

#: the architecture sizes a fingerprint records, read from the model config
CONFIG_KEYS = ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads",
               "intermediate_size", "vocab_size")
#: values of the first and of the last parameter tensor that the weights digest reads
PROBE_VALUES = 4096


def fingerprint_from_parts(name: str, config: Mapping[str, Any], first: np.ndarray,
                           last: np.ndarray) -> dict[str, Any]:
    """The fingerprint of an encoder called ``name``: its ``config`` values for
    :data:`CONFIG_KEYS` and a short digest of the first :data:`PROBE_VALUES` values of its
    ``first`` and ``last`` parameter tensors (as float32, rounded to 4 decimals, so that
    float noise does not change it)."""
    probe = np.concatenate([np.asarray(first).ravel()[:PROBE_VALUES],
                            np.asarray(last).ravel()[:PROBE_VALUES]]).astype(np.float32)
    digest = hashlib.sha256(np.round(probe, 4).tobytes()).hexdigest()[:16]
    return {"name": name, **{k: config.get(k) for k in CONFIG_KEYS}, "weights_digest": digest}


def encoder_fingerprint(encoder: "Encoder") -> dict[str, Any]:
    """The encoder's name, architecture sizes and a short digest of its first and last
    weight tensors (:func:`fingerprint_from_parts`). An encoder that can tell it without
    loading its weights (``light_fingerprint()``, see
    :class:`~framing.encoding.encoder.Encoder`) is asked first."""
    light = getattr(encoder, "light_fingerprint", None)
    found = light() if callable(light) else None
    if found is not None:
        return found
    import torch

    cfg = encoder.model.config
    with torch.no_grad():
        params = list(encoder.model.parameters())
        first, last = (p.flatten()[:PROBE_VALUES].float().cpu().numpy()
                       for p in (params[0], params[-1]))
    return fingerprint_from_parts(encoder.model_name,
                                  {k: getattr(cfg, k, None) for k in CONFIG_KEYS}, first, last)


def fingerprint_mismatch(want: dict[str, Any] | None, encoder: "Encoder") -> str | None:
    """None when ``encoder`` matches the fingerprint ``want`` (or ``want`` is empty);
    otherwise a phrase naming both encoders and the fields that differ."""
    if not want:
        return None
    have = encoder_fingerprint(encoder)
    diff = [k for k in want if k != "name" and want.get(k) != have.get(k)]
    if not diff:
        return None
    return (f"were trained on encoder {want.get('name')!r}, not on {have.get('name')!r} "
            f"(differs in {', '.join(diff)})")
