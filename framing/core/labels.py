"""Names that every layer agrees on: tone classes, feature sets, frame schemes, metadata.

Each constant is defined here once; modules import it rather than spelling it again.
"""

from __future__ import annotations

__all__ = [
    "TONE_LABELS",
    "TONE_LABELS_DISPLAY",
    "FEATURE_SETS",
    "BRANCH_FEATURE_SETS",
    "FRAME_SCHEMES",
    "META_FIELDS",
]

#: Tone classes in model output order (index 0 critical ... 2 promotional); a tone value
#: is ``p[promotional] - p[critical]``.
TONE_LABELS: tuple[str, str, str] = ("critical", "neutral", "promotional")

#: The same classes in the order tables and reports show them (promotional first).
TONE_LABELS_DISPLAY: tuple[str, str, str] = ("promotional", "neutral", "critical")

#: What a trained head may read: the encoder's final-layer sentence embedding, the pooled
#: sentence states of a trained tone branch, or an intermediate encoder layer's pooled
#: states concatenated with the branch states.
FEATURE_SETS: tuple[str, str, str] = ("embedding", "tone-branch", "layer+tone-branch")

#: The feature sets that need a tone branch's pass.
BRANCH_FEATURE_SETS: tuple[str, str] = ("tone-branch", "layer+tone-branch")

#: Article-level frame schemes the library ships.
FRAME_SCHEMES: tuple[str, str] = ("narrative", "policy")

#: Per-article metadata columns carried from the input to the output, in output order.
META_FIELDS: tuple[str, str, str] = ("outlet", "date", "title")
