"""Notebook rendering of one article's result (``ArticleResult._repr_html_``)."""

from __future__ import annotations

import re

from framing.pipeline.results import (
    ArticleResult,
    CueResult,
    Evidence,
    FrameResult,
    SentenceResult,
    ToneEvidence,
)


def _sentence(i: int, text: str, furniture: str | None = None) -> SentenceResult:
    return SentenceResult(index=i, start=0, end=len(text), text=text, tone=0.1,
                          furniture=furniture)


def _result() -> ArticleResult:
    evidence = Evidence(sentence=1, start=0, end=30, text="A <b>win-win</b> deal & more",
                        probability=0.87)
    cues = {
        "win_win": CueResult("win_win", "Win-win framing", 0.8734, True, [evidence]),
        "mutual_respect": CueResult("mutual_respect", "Mutual respect", 0.9, True, []),
        "counter_criticism": CueResult("counter_criticism", "Counter-criticism", 0.12, False),
    }
    frames = {"narrative": {
        "conflict": FrameResult("conflict", "Conflict", "narrative", 0.71, True),
        "economic": FrameResult("economic", "Economic consequences", "narrative", 0.2, False),
    }}
    return ArticleResult(
        tone=0.4912, tone_label="promotional", cues=cues,
        sentences=[_sentence(0, "By <i>Staff</i>", "byline"), _sentence(1, evidence.text),
                   _sentence(2, "Critics <script>alert(1)</script> disagree.")],
        most_promotional=[ToneEvidence(1, 0, 30, evidence.text, 0.82)],
        most_critical=[ToneEvidence(2, 0, 40, "Critics <script>alert(1)</script> disagree.",
                                    -0.61)],
        tone_probabilities={"critical": 0.08, "neutral": 0.3, "promotional": 0.62},
        flags=["html", "truncated"], id="<script>alert(1)</script>", frames=frames)


def test_card_shows_tone_cues_frames_and_flags():
    page = _result()._repr_html_()
    assert "promotional" in page and "+0.49" in page
    assert "promotional 62%" in page and "neutral 30%" in page and "critical 8%" in page
    assert ">html<" in page and ">truncated<" in page
    assert "Win-win framing" in page and "87%" in page
    assert "Mutual respect" in page and "90%" in page
    assert page.index("Mutual respect") < page.index("Win-win framing")  # most probable first
    assert "Counter-criticism" not in page  # not present
    assert "Conflict" in page and "71%" in page and "Economic consequences" not in page
    assert "+0.82" in page and "\u22120.61" in page  # the true minus sign
    assert "3 sentences, 1 of them page furniture" in page
    assert not re.search(r"\de[-+]\d", page)


def test_card_escapes_every_text():
    page = _result()._repr_html_()
    assert "<script" not in page and "<b>" not in page and "<i>" not in page
    assert "A &lt;b&gt;win-win&lt;/b&gt; deal &amp; more" in page
    assert "Critics &lt;script&gt;alert(1)&lt;/script&gt; disagree." in page
    assert "http" not in page and "src=" not in page


def test_card_of_an_empty_or_failed_result():
    failed = ArticleResult(tone=None, tone_label=None, cues={}, sentences=[],
                           flags=["empty"], error="input <is> not text")
    page = failed._repr_html_()
    assert "input &lt;is&gt; not text" in page
    assert "no tone" in page and "–" in page
    assert "Cues present:</strong> <span class=\"muted\">none" in page
    assert ">empty<" in page
