"""Training heads: tone branch, cue heads, frame heads."""
