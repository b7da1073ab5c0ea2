"""Shared helpers of the reliability suite (fixtures come from ``tests/conftest.py``)."""

from __future__ import annotations

import copy

import pytest


@pytest.fixture(scope="session")
def short_analyzer(tiny_analyzer):
    """The tiny analyzer with a small ``max_chars``, so huge inputs stay fast to score."""
    an = copy.copy(tiny_analyzer)
    an.max_chars = 2_000
    return an


def check_offsets(text: str, result) -> None:
    """Every sentence / evidence offset of ``result`` indexes ``text`` and quotes it."""
    spans = [(s.start, s.end, s.text) for s in result.sentences]
    for cue in result.cues.values():
        spans += [(e.start, e.end, e.text) for e in cue.evidence]
        spans += [(sp.start, sp.end, sp.text) for e in cue.evidence for sp in e.spans]
    spans += [(e.start, e.end, e.text) for e in result.most_promotional + result.most_critical]
    for scheme in (result.frames or {}).values():
        for fr in scheme.values():
            spans += [(e.start, e.end, e.text) for e in fr.evidence]
    for start, end, quoted in spans:
        assert 0 <= start <= end <= len(text), (start, end, len(text))
        assert text[start:end] == quoted, (start, end, text[start:end], quoted)


def check_numbers(result) -> None:
    """Probabilities in [0, 1], tone in [-1, 1] or None."""
    assert result.tone is None or -1.0 <= result.tone <= 1.0
    for s in result.sentences:
        assert s.tone is None or -1.0 <= s.tone <= 1.0
        assert all(0.0 <= p <= 1.0 for p in s.cues.values())
    for cue in result.cues.values():
        assert 0.0 <= cue.probability <= 1.0
        assert all(0.0 <= e.probability <= 1.0 for e in cue.evidence)
    if result.tone_probabilities is not None:
        assert all(0.0 <= p <= 1.0 for p in result.tone_probabilities.values())
    for scheme in (result.frames or {}).values():
        assert all(0.0 <= fr.probability <= 1.0 for fr in scheme.values())
