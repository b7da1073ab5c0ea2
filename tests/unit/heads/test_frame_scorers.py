"""Article-level frames through the Analyzer: narrative heads, policy frames few-shot."""

from __future__ import annotations

import numpy as np
import pytest

import framing
from framing.errors import ModelLoadError
from framing.heads.frames.scorers import make_frame_scorers
from framing.heads.frames.heads import fit_frame_heads
from framing.pipeline.results import flat_row

ARTICLE = ("The union said talks had collapsed and the strike would go on. "
           "Hospital managers said the pay offer was final. Patients waited at home.")


@pytest.fixture(scope="module")
def tiny_heads_dir(tiny_encoder, tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2 * tiny_encoder.dim))
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0.3], axis=1)
    heads = fit_frame_heads(X, Y, ["alpha", "beta"], seed=1, pooling="mean_top3")
    heads.name = "tiny-frames"
    return heads.save(tmp_path_factory.mktemp("tiny-frames"), "# card\n")


def test_heads_directory_frames_in_results(tiny_encoder, tiny_heads_dir):
    an = framing.Analyzer(tone=None, cues=False, frames=[str(tiny_heads_dir)],
                          encoder=tiny_encoder)
    scheme = tiny_heads_dir.name
    r = an.score(ARTICLE)
    assert list(r.frames) == [scheme]
    fr = r.frames[scheme]
    assert list(fr) == ["alpha", "beta"]
    for f in fr.values():
        assert 0.0 <= f.probability <= 1.0 and f.scheme == scheme
        assert f.present == (f.probability >= an.frame_scorers[0].thresholds[["alpha", "beta"]
                                                                           .index(f.id)])
        if f.present:  # evidence: real sentences of the article, offsets into it
            assert 1 <= len(f.evidence) <= 3
            for ev in f.evidence:
                assert ARTICLE[ev.start:ev.end] == ev.text
        else:
            assert f.evidence == []
    row = flat_row(r)
    assert f"frame_{scheme}_alpha" in row and f"frame_{scheme}_beta_present" in row
    assert an.config()["frames"] == {scheme: "heads:tiny-frames"}


def test_empty_article_gets_zero_frames_and_no_evidence(tiny_encoder, tiny_heads_dir):
    an = framing.Analyzer(tone=None, cues=False, frames=[str(tiny_heads_dir)],
                          encoder=tiny_encoder)
    r = an.score("   ")
    fr = r.frames[tiny_heads_dir.name]
    assert all(f.probability == 0.0 and not f.present and not f.evidence for f in fr.values())


def test_policy_frames_work_few_shot_on_any_encoder(tiny_encoder):
    an = framing.Analyzer(tone=None, cues=False, frames="policy", encoder=tiny_encoder)
    r = an.score(ARTICLE)
    pol = r.frames["policy"]
    assert len(pol) == 14 and "economic" in pol and "external_regulation" in pol
    # an article's probability is its most probable sentence's
    per = an.frame_scorers[0].score(
        tiny_encoder.encode([s.text for s in r.sentences]), [s.text for s in r.sentences])[1]
    assert np.allclose([pol[i].probability for i in an.frame_scorers[0].ids], per.max(0),
                       atol=1e-5)


def test_frames_none_and_auto_on_a_foreign_encoder(tiny_encoder):
    assert make_frame_scorers(None, tiny_encoder) == []
    assert make_frame_scorers("auto", tiny_encoder) == []  # shipped heads need MiniLM
    an = framing.Analyzer(tone=None, cues=False, frames=None, encoder=tiny_encoder)
    assert an.score(ARTICLE).frames == {}
    assert "frames_present" not in flat_row(an.score(ARTICLE))


def test_explicit_narrative_on_a_foreign_encoder_is_refused(tiny_encoder):
    with pytest.raises(ModelLoadError, match="frame heads|Frame heads"):
        make_frame_scorers("narrative", tiny_encoder)


@pytest.mark.parametrize("bad", ["nonsense", ["policy", "policy"], 3])
def test_bad_frames_specs_are_refused(tiny_encoder, bad):
    with pytest.raises(ValueError):
        make_frame_scorers(bad, tiny_encoder)


def test_default_analyzer_scores_narrative_frames(default_analyzer):
    r = default_analyzer.score(ARTICLE)
    assert set(r.frames) == {"narrative"}
    assert set(r.frames["narrative"]) == {"conflict", "economic", "human_interest",
                                          "morality", "resolution"}
    df = framing.results_to_frame([r, default_analyzer.score("")])
    assert df["frame_narrative_conflict"].between(0, 1).all()
    assert df.loc[1, "frame_narrative_conflict"] == 0.0


def test_corpus_output_carries_frame_columns(tiny_encoder, tiny_heads_dir, tmp_path):
    import json

    an = framing.Analyzer(tone=None, cues=False, frames=[str(tiny_heads_dir)],
                          encoder=tiny_encoder)
    scheme = tiny_heads_dir.name
    src = tmp_path / "c.jsonl"
    src.write_text("\n".join(json.dumps({"text": t}) for t in [ARTICLE, "", None]) + "\n")
    for out in (tmp_path / "one.parquet", tmp_path / "shards"):
        summary = framing.score_corpus(src, out, analyzer=an, progress=False)
        assert summary.rows == 3
        df = framing.read_scores(out)
        assert {f"frame_{scheme}_alpha", f"frame_{scheme}_beta_present",
                "frames_present"} <= set(df.columns)
        assert df[f"frame_{scheme}_alpha"].iloc[0] == pytest.approx(
            an.score(ARTICLE).frames[scheme]["alpha"].probability)
        assert df["error"].notna().tolist() == [False, False, True]


def test_unknown_engine_is_refused(tmp_path):
    with pytest.raises(ValueError, match="engine"):
        framing.score_corpus(tmp_path / "x.jsonl", tmp_path / "o.parquet", engine="spark")
