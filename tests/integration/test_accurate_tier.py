"""The accurate tier end to end: ``Analyzer(profile="accurate")`` on the real
all-mpnet-base-v2 weights (rebuilt and verified from the ``framing[mpnet]`` packages) and
the shipped accurate-tier models. Skipped where the extra is not installed."""

from __future__ import annotations

import pytest

import framing
from framing.core.resources import get_tier, shipped_model_path
from framing.encoding.mpnet import mpnet_installed
from framing.pipeline.results import flat_row

TIER = get_tier("accurate")
ARTEFACTS = [shipped_model_path(n) for n in (TIER.tone, TIER.cue_heads)]

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.skipif(not mpnet_installed(),
                       reason='the accurate tier needs pip install "framing[mpnet]"'),
    pytest.mark.skipif(not all((p / "config.json").is_file() for p in ARTEFACTS),
                       reason="the accurate tier's models are not in framing.models"),
]

PRAISE = ("The two governments signed a partnership that both ministers called a "
          "win-win arrangement bringing shared prosperity to their peoples.")
BLAME = ("Inspectors said the agency had hidden the real cost of the failed bridge "
         "and misled parliament for years.")


@pytest.fixture(scope="module")
def accurate():
    return framing.Analyzer(profile="accurate")


def test_accurate_profile_uses_its_own_encoder_and_models(accurate):
    cfg = accurate.config()
    assert cfg["encoder"] == "all-mpnet-base-v2"
    assert accurate.tone_scorer.path == str(shipped_model_path(TIER.tone))
    assert accurate.cue_detector.heads is not None  # trained heads, not few-shot
    assert accurate.cue_detector.heads.path == str(shipped_model_path(TIER.cue_heads))


def test_accurate_profile_scores_like_the_default(accurate, default_analyzer):
    """Same outputs, same evidence, same columns; and the scores point the right way."""
    good, bad = accurate.score_many([PRAISE, BLAME])
    assert good.tone > 0.2 > -0.2 > bad.tone
    assert good.cues["win_win"].probability >= 0.5
    ref = default_analyzer.score(PRAISE)
    assert set(good.cues) == set(ref.cues)
    assert set(good.frames) == set(ref.frames)
    assert flat_row(good).keys() == flat_row(ref).keys()
    assert good.sentences[0].text == PRAISE
    assert good.cues["win_win"].evidence and good.most_promotional
