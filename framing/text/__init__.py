"""Text preparation (normalise, segment) and cue catalogues."""
