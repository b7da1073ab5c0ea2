"""Encoder fingerprints: what a trained artefact records about the encoder it was trained
on, so that loading it on another encoder is refused with a clear message."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder

__all__ = ["encoder_fingerprint", "fingerprint_mismatch"]

_CONFIG_KEYS = ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "vocab_size")


def encoder_fingerprint(encoder: "Encoder") -> dict[str, Any]:
    """The encoder's name, architecture sizes and a short digest of its first and last
    weight tensors (rounded, so that float noise does not change it)."""
    import torch

    cfg = encoder.model.config
    desc = {k: getattr(cfg, k, None) for k in _CONFIG_KEYS}
    with torch.no_grad():
        params = list(encoder.model.parameters())
        probe = torch.cat([params[0].flatten()[:4096], params[-1].flatten()[:4096]]).float().cpu()
    digest = hashlib.sha256(np.round(probe.numpy(), 4).tobytes()).hexdigest()[:16]
    return {"name": encoder.model_name, **desc, "weights_digest": digest}


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
