"""Result objects returned by the analyzer, and their conversion to tables.

Offsets in every result are character offsets into the text the caller passed in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from framing.core.formatting import (
    HTML_STYLE,
    Html,
    escape,
    format_count,
    format_percent,
    format_signed,
    html_table,
)
from framing.core.labels import TONE_LABELS, TONE_LABELS_DISPLAY
from framing.pipeline.schema import (
    TONE_PROBABILITY_COLUMNS,
    cue_column,
    cue_evidence_column,
    cue_present_column,
    frame_column,
    frame_present_column,
)

__all__ = [
    "Span",
    "Evidence",
    "ToneEvidence",
    "CueResult",
    "FrameResult",
    "SentenceResult",
    "ArticleResult",
    "article_card_html",
    "results_to_frame",
    "flat_row",
]


@dataclass
class Span:
    """A matched phrase: ``text == original[start:end]``; ``pattern`` is what matched."""

    start: int
    end: int
    text: str
    pattern: str


@dataclass
class Evidence:
    """A sentence that supports a cue, with its probability and any matched spans."""

    sentence: int
    start: int
    end: int
    text: str
    probability: float
    spans: list[Span] = field(default_factory=list)


@dataclass
class ToneEvidence:
    """A sentence cited for the article's tone, with the sentence's own tone value."""

    sentence: int
    start: int
    end: int
    text: str
    tone: float


@dataclass
class CueResult:
    """One cue at article level: probability (max over sentences), flag and evidence."""

    id: str
    name: str
    probability: float
    present: bool
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class FrameResult:
    """One article-level frame of a frame scheme (``narrative`` or ``policy``): its
    probability, whether it is present at the scheme's threshold, and the sentences
    that carry it most."""

    id: str
    name: str
    scheme: str
    probability: float
    present: bool
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class SentenceResult:
    """One sentence: offsets into the original text, tone and per-cue probabilities.

    ``target_tone`` is the tone toward the requested target when this sentence mentions
    it (None otherwise). ``furniture`` names why the sentence is page furniture rather
    than prose (``byline``, ``timestamp``, ``author_bio``, ... : see
    :data:`framing.text.furniture.FURNITURE_REASONS`); such a sentence is scored and
    listed but counts toward none of the article's scores or evidence. None for prose."""

    index: int
    start: int
    end: int
    text: str
    tone: float | None
    cues: dict[str, float] = field(default_factory=dict)
    part: int = 0
    target_tone: float | None = None
    furniture: str | None = None


@dataclass
class ArticleResult:
    """Everything :meth:`framing.Analyzer.score` says about one article.

    ``tone`` is in [-1, 1] (None when there was nothing to score), ``tone_label`` one
    of promotional / neutral / critical; ``tone_probabilities`` maps those labels to
    probabilities when the tone scorer gives them (None otherwise). ``flags`` name conditions worth knowing
    (``empty``, ``html``, ``html_fallback``, ``non_english``, ``truncated``,
    ``no_target_mention``, ``furniture_only``: every sentence is page furniture, so tone is
    None and no cue or frame is present); ``error`` is set, and scores are empty, when
    the input could not be scored.
    """

    tone: float | None
    tone_label: str | None
    cues: dict[str, CueResult]
    sentences: list[SentenceResult]
    most_promotional: list[ToneEvidence] = field(default_factory=list)
    most_critical: list[ToneEvidence] = field(default_factory=list)
    tone_scorer: str | None = ""
    tone_probabilities: dict[str, float] | None = None
    target: Any = None
    language: str | None = None
    flags: list[str] = field(default_factory=list)
    error: str | None = None
    id: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: article-level frames per scheme: ``frames["narrative"]["conflict"]``
    frames: dict[str, dict[str, FrameResult]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def n_furniture(self) -> int:
        """How many of :attr:`sentences` are page furniture (left out of the scores)."""
        return sum(1 for s in self.sentences if s.furniture is not None)

    def present_cues(self) -> list[str]:
        """Ids of the cues flagged present, most probable first."""
        hits = [c for c in self.cues.values() if c.present]
        return [c.id for c in sorted(hits, key=lambda c: -c.probability)]

    def present_frames(self) -> list[str]:
        """``scheme:frame`` ids of the frames flagged present, most probable first."""
        hits = [f for scheme in self.frames.values() for f in scheme.values() if f.present]
        return [f"{f.scheme}:{f.id}" for f in sorted(hits, key=lambda f: -f.probability)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable nested dict of the whole result."""
        return asdict(self)

    def _repr_html_(self) -> str:
        """A compact card for notebooks; see :func:`article_card_html`."""
        return article_card_html(self)


def _tone_line(result: ArticleResult) -> str:
    label = escape(result.tone_label or "no tone")
    line = f"<strong>Tone:</strong> {label} ({escape(format_signed(result.tone))})"
    probs = result.tone_probabilities
    if probs:
        shares = " · ".join(f"{escape(lab)} {escape(format_percent(probs.get(lab)))}"
                            for lab in TONE_LABELS_DISPLAY if lab in probs)
        line += f' <span class="muted">— {shares}</span>'
    return f"<div>{line}</div>"


def _quoted(title: str, cited: list[ToneEvidence]) -> str:
    if not cited:
        return ""
    top = cited[0]
    return (f"<div><strong>{escape(title)}</strong> "
            f'<span class="muted">(tone {escape(format_signed(top.tone))})</span>'
            f"<blockquote>{escape(top.text)}</blockquote></div>")


def article_card_html(result: ArticleResult) -> Html:
    """``result`` as a small self-contained HTML card: tone label and value with the
    class probabilities, flags, the cues present (probability and their best evidence
    sentence), the frames present, the most promotional and most critical sentences,
    and how many sentences were page furniture. All text is escaped; no script, no
    external resource."""
    parts = [HTML_STYLE, '<div class="framing-html framing-article">']
    head = "Article" + (f" {result.id}" if result.id is not None else "")
    parts.append(f"<h4>{escape(head)}</h4>")
    if result.error is not None:
        parts.append(f"<div><strong>Error:</strong> {escape(result.error)}</div>")
    parts.append(_tone_line(result))
    flags = "".join(f'<span class="tag">{escape(f)}</span>' for f in result.flags)
    parts.append("<div><strong>Flags:</strong> "
                 + (flags or '<span class="muted">none</span>') + "</div>")

    cues = [result.cues[cid] for cid in result.present_cues()]
    if cues:
        rows = [[c.name or c.id, format_percent(c.probability),
                 c.evidence[0].text if c.evidence else ""] for c in cues]
        parts.append(html_table(["Cue present", "Probability", "Evidence"], rows,
                                numeric=[False, True, False]))
    else:
        parts.append('<div><strong>Cues present:</strong> <span class="muted">none</span></div>')

    frames = [f for scheme in result.frames.values() for f in scheme.values() if f.present]
    if frames:
        frames.sort(key=lambda f: -f.probability)
        rows = [[f.scheme, f.name or f.id, format_percent(f.probability)] for f in frames]
        parts.append(html_table(["Scheme", "Frame present", "Probability"], rows,
                                numeric=[False, False, True]))
    elif result.frames:
        parts.append('<div><strong>Frames present:</strong> <span class="muted">none</span></div>')

    parts.append(_quoted("Most promotional sentence", result.most_promotional))
    parts.append(_quoted("Most critical sentence", result.most_critical))
    n, k = len(result.sentences), result.n_furniture
    furniture = f", {format_count(k)} of them page furniture (left out of the scores)"
    parts.append(f'<div class="muted">{escape(format_count(n))} sentences'
                 f"{escape(furniture)}</div>")
    parts.append("</div>")
    return Html("".join(parts))


def flat_row(result: ArticleResult, cue_ids: Iterable[str] | None = None, *,
             evidence: bool = True,
             frame_ids: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """One flat table row for ``result``: tone, label, per-cue probability/flag/evidence,
    and per frame ``frame_<scheme>_<id>`` probability and ``..._present`` flag
    (``frame_ids``: the ``(scheme, id)`` pairs to write; default: the result's own)."""
    row: dict[str, Any] = dict(result.meta)
    row.update({
        "id": result.id,
        "tone": result.tone,
        "tone_label": result.tone_label,
        "tone_scorer": result.tone_scorer,
        "n_sentences": len(result.sentences),
        "n_furniture": result.n_furniture,
        "language": result.language,
        "flags": ";".join(result.flags),
        "error": result.error,
        "cues_present": ";".join(result.present_cues()),
    })
    probs = result.tone_probabilities
    for label, column in zip(TONE_LABELS, TONE_PROBABILITY_COLUMNS):
        row[column] = probs.get(label) if probs else None
    ids = list(cue_ids) if cue_ids is not None else list(result.cues)
    for cid in ids:
        cue = result.cues.get(cid)
        row[cue_column(cid)] = None if cue is None else cue.probability
        row[cue_present_column(cid)] = None if cue is None else cue.present
        if evidence:
            row[cue_evidence_column(cid)] = cue.evidence[0].text if cue and cue.evidence else None
    if result.frames or frame_ids:
        row["frames_present"] = ";".join(result.present_frames())
    for scheme, fid in (frame_ids if frame_ids is not None else
                        [(sc, f) for sc, fs in result.frames.items() for f in fs]):
        fr = result.frames.get(scheme, {}).get(fid)
        row[frame_column(scheme, fid)] = None if fr is None else fr.probability
        row[frame_present_column(scheme, fid)] = None if fr is None else fr.present
    if evidence:
        row["most_promotional"] = result.most_promotional[0].text if result.most_promotional else None
        row["most_critical"] = result.most_critical[0].text if result.most_critical else None
    return row


def results_to_frame(results: Iterable[ArticleResult], *, evidence: bool = True):
    """A pandas DataFrame with one row per article (see :func:`flat_row`)."""
    import pandas as pd

    results = list(results)
    ids: list[str] = []
    frame_ids: list[tuple[str, str]] = []
    for r in results:
        for cid in r.cues:
            if cid not in ids:
                ids.append(cid)
        for scheme, fs in r.frames.items():
            for fid in fs:
                if (scheme, fid) not in frame_ids:
                    frame_ids.append((scheme, fid))
    return pd.DataFrame([flat_row(r, ids, evidence=evidence, frame_ids=frame_ids)
                         for r in results])
