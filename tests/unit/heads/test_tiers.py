"""Shipped tiers: the tone model, cue heads and frame heads that "trained" / "auto" pick
are those of the tier trained on the analyzer's encoder; profiles name a tier."""

from __future__ import annotations

import json

import pytest

import framing
from framing.core import resources
from framing.core.resources import TIERS, Tier, get_tier
from framing.encoding.fingerprints import encoder_fingerprint
from framing.heads.tone import factory
from framing.heads.tone.factory import tier_for_encoder


def test_get_tier_names_the_choices():
    assert get_tier("accurate").encoder == "all-mpnet-base-v2"
    assert get_tier("default").tone == resources.SHIPPED_TONE_MODEL
    with pytest.raises(ValueError, match="default, accurate"):
        get_tier("fastest")


def test_tier_for_encoder_without_an_encoder_is_the_default():
    assert tier_for_encoder(None).name == "default"


def test_tier_for_encoder_matches_by_fingerprint(tiny_encoder, tmp_path, monkeypatch):
    """A tier whose tone config records this encoder's fingerprint is picked; a tier
    recording another encoder, or with no tone model at all, is not."""
    mine, other = tmp_path / "tone-mine", tmp_path / "tone-other"
    for path, fp in ((mine, encoder_fingerprint(tiny_encoder)),
                     (other, dict(encoder_fingerprint(tiny_encoder), weights_digest="0" * 16))):
        path.mkdir()
        (path / "config.json").write_text(json.dumps({"format": "framing-tone", "encoder": fp}))
    dirs = {"tone-mine": mine, "tone-other": other}
    monkeypatch.setattr(factory, "shipped_model_path",
                        lambda name: dirs.get(name, tmp_path / "absent" / name))
    monkeypatch.setitem(TIERS, "other", Tier("other", "x", "tone-other", "c", "f"))
    assert tier_for_encoder(tiny_encoder).name == "default"  # no tier fits: the default
    monkeypatch.setitem(TIERS, "mine", Tier("mine", "y", "tone-mine", "c", "f"))
    assert tier_for_encoder(tiny_encoder).name == "mine"


def test_analyzer_profile_errors(tiny_model_dir):
    with pytest.raises(ValueError, match="unknown profile"):
        framing.Analyzer(profile="turbo")
    with pytest.raises(ValueError, match="cannot be combined"):
        framing.Analyzer(str(tiny_model_dir), profile="accurate")


def test_analyzer_default_profile_keeps_a_given_model(tiny_model_dir):
    an = framing.Analyzer(str(tiny_model_dir), profile="default", tone="vader", cues=False,
                          frames=None)
    assert an.encoder.location == str(tiny_model_dir.resolve())
