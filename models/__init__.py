"""Trained artefacts shipped with framing (installed as the framing.models package)."""
