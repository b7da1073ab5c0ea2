"""``make_tone_scorer``: what an unknown tone name, a hub-style id or a missing directory says."""

from __future__ import annotations

import pytest

import framing
from framing.heads.tone.factory import make_tone_scorer


def test_hub_style_id_names_allow_network(no_network):
    # like Analyzer(model="org/name"), a tone hub id says how to allow it or go offline
    with pytest.raises(ValueError) as err:
        make_tone_scorer("some-org/some-tone-model", None)
    msg = str(err.value)
    assert "'some-org/some-tone-model'" in msg
    assert "allow_network=True" in msg and "--allow-network" in msg
    assert "local directory" in msg
    assert len(no_network) == 0


def test_analyzer_with_hub_style_tone_id_names_allow_network(tiny_model_dir, no_network):
    with pytest.raises(ValueError, match="allow_network=True"):
        framing.Analyzer(tiny_model_dir, tone="some-org/some-tone-model", cues=False)
    assert len(no_network) == 0


@pytest.mark.parametrize("spec", ["vadr", "./models/my-tone", "a/b/c"])
def test_other_unknown_names_list_the_choices_without_the_hub_hint(spec):
    with pytest.raises(ValueError) as err:
        make_tone_scorer(spec, None)
    msg = str(err.value)
    assert "trained, similarity, vader" in msg
    assert "allow_network" not in msg
