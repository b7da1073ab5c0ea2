"""Article-level frame heads: features, fitting, the safetensors artefact, baselines."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from framing.errors import ModelLoadError
from framing.heads.frames.baselines import FRAME_KEYWORDS, KeywordFrameBaseline, MajorityFrameBaseline
from framing.heads.frames.heads import (
    FRAME_IDS, POOLINGS, FrameHeads, article_features, feature_dim, fit_frame_heads,
    is_frame_heads_dir, load_frame_heads, seeded_split, shipped_frame_heads_path,
)
from framing.training.frames import encode_articles, read_narrative_frames


def separable(n: int = 200, dim: int = 12, seed: int = 0):
    """Random multi-label targets and features that carry each label on its own axis."""
    rng = np.random.default_rng(seed)
    Y = rng.random((n, 5)) < np.array([0.6, 0.3, 0.2, 0.15, 0.45])
    Y[:5] = True  # every label has positives; every label has negatives below
    Y[5:10] = False
    X = rng.normal(0.0, 0.3, (n, dim))
    X[:, :5] += np.where(Y, 2.0, -2.0)
    return X, Y


@pytest.fixture(scope="module")
def fitted():
    X, Y = separable()
    return X, Y, fit_frame_heads(X, Y, FRAME_IDS, dev_fraction=0.2, seed=3, C=1.0,
                                 pooling="mean", name="synthetic")


# -- fitting ---------------------------------------------------------------------------
def test_fit_recovers_separable_labels_on_held_out_rows(fitted):
    X, Y, heads = fitted
    dev = np.asarray(heads.split["dev_rows"])
    assert len(dev) == 40 and heads.split["n_train"] == 160
    assert heads.split["seed"] == 3 and heads.split["C"] == 1.0
    assert (heads.predict(X[dev]) == Y[dev]).mean() > 0.98
    assert heads.split["cv_macro_f1"] > 0.95
    p = heads.predict_proba(X[dev])
    assert p.shape == (40, 5) and ((p >= 0) & (p <= 1)).all()
    assert heads.names == ["Conflict", "Economic consequences", "Human interest", "Morality",
                           "Resolution"]


def test_fit_uses_the_seeded_split_and_explicit_dev_rows():
    X, Y = separable()
    train, dev = seeded_split(len(X), 0.2, 3)
    assert sorted(np.concatenate([train, dev]).tolist()) == list(range(len(X)))
    a = fit_frame_heads(X, Y, dev_fraction=0.2, seed=3, pooling="mean")
    assert a.split["dev_rows"] == dev.tolist()
    # dev rows never inform the fit: changing their features and labels changes nothing
    X2, Y2 = X.copy(), Y.copy()
    X2[dev] = 0.0
    Y2[dev] = ~Y2[dev]
    b = fit_frame_heads(X2, Y2, dev=dev.tolist(), seed=3, pooling="mean")
    assert b.split["dev_rows"] == dev.tolist()
    np.testing.assert_allclose(a.W, b.W)
    np.testing.assert_allclose(a.thresholds, b.thresholds)


def test_fit_refuses_a_frame_without_positives():
    X, Y = separable()
    Y[:, 3] = False
    with pytest.raises(ValueError, match="morality"):
        fit_frame_heads(X, Y)
    with pytest.raises(ValueError, match="do not fit"):
        fit_frame_heads(X, Y[:, :4])


# -- the artefact ----------------------------------------------------------------------
def test_save_load_round_trip_gives_equal_probabilities(fitted, tmp_path):
    X, _, heads = fitted
    out = heads.save(tmp_path / "heads", "# card\n", extra={"note": "synthetic"})
    assert is_frame_heads_dir(out) and not is_frame_heads_dir(tmp_path)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["format"] == "framing-frames" and cfg["frames"] == list(FRAME_IDS)
    assert cfg["split"]["dev_rows"] == heads.split["dev_rows"] and cfg["note"] == "synthetic"
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    loaded = load_frame_heads(out)
    assert loaded.ids == heads.ids and loaded.pooling == "mean" and loaded.path == str(out)
    np.testing.assert_allclose(loaded.predict_proba(X), heads.predict_proba(X), atol=1e-5)
    assert (loaded.predict(X) == heads.predict(X)).mean() > 0.99
    np.testing.assert_array_equal(loaded.thresholds, heads.thresholds)


@pytest.fixture
def saved(fitted, tmp_path):
    return fitted[2].save(tmp_path / "heads", "# card\n")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_or_truncated_weights_name_the_file(saved, damage):
    weights = saved / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes({"garbage": b"\x00not safetensors at all" * 10,
                         "truncated": data[: len(data) // 2], "empty": b""}[damage])
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        load_frame_heads(saved)


@pytest.mark.parametrize("config", ["{not json", '["a list"]', '{"format": "framing-cues"}',
                                    '{"format": "framing-frames"}'])
def test_broken_config_names_the_file(saved, config):
    (saved / "config.json").write_text(config)
    with pytest.raises(ModelLoadError, match="config.json"):
        load_frame_heads(saved)


def test_config_that_disagrees_with_the_weights_is_refused(saved):
    cfg = json.loads((saved / "config.json").read_text())
    cfg["thresholds"] = cfg["thresholds"][:3]
    (saved / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="do not fit"):
        load_frame_heads(saved)
    cfg = json.loads((saved / "config.json").read_text())
    cfg["pooling"] = "median"
    (saved / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="config.json"):
        load_frame_heads(saved)


def test_missing_directory_or_config_or_file_path(saved, tmp_path):
    with pytest.raises(ModelLoadError, match="no config.json"):
        load_frame_heads(tmp_path / "nowhere")
    with pytest.raises(ModelLoadError, match="directory"):
        load_frame_heads(saved / "model.safetensors")


class _Booby:
    """Unpickling this writes a marker file: proof that a pickle was executed."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickled_weights_are_never_loaded(saved, tmp_path):
    marker = tmp_path / "executed"
    payload = pickle.dumps({"W": _Booby(marker)})
    (saved / "model.safetensors").unlink()
    (saved / "pytorch_model.bin").write_bytes(payload)
    with pytest.raises(ModelLoadError, match="only safetensors"):
        load_frame_heads(saved)
    # a pickle under the safetensors name is rejected as corrupt, never unpickled
    (saved / "model.safetensors").write_bytes(payload)
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        load_frame_heads(saved)
    assert not marker.exists()


# -- article features ------------------------------------------------------------------
def test_article_features_with_zero_one_and_many_sentences():
    dim = 4
    empty = np.zeros((0, dim), dtype=np.float32)
    for pooling, blocks in POOLINGS.items():
        f = article_features(empty, pooling=pooling)
        assert f.shape == (blocks * dim,) == (feature_dim(pooling, dim),) and not f.any()
    one = np.array([[0.5, -0.5, 0.1, 0.0]])
    np.testing.assert_allclose(article_features(one), np.concatenate([one[0], one[0]]))
    np.testing.assert_allclose(article_features(one, pooling="mean_top3"),
                               np.concatenate([one[0], one[0]]))
    many = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0.4, 0.6]])
    f = article_features(many)
    np.testing.assert_allclose(f[:dim], many.mean(0))
    np.testing.assert_allclose(f[dim:], [1.0, 1.0, 1.0, 0.6])
    np.testing.assert_allclose(article_features(many, pooling="mean_first")[dim:], many[0])
    np.testing.assert_allclose(article_features(many, pooling="mean_top3")[dim:],
                               [1 / 3, 1 / 3, 1.4 / 3, 0.6 / 3])
    np.testing.assert_allclose(article_features(many, pooling="mean"), many.mean(0))
    w = np.array([3.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(article_features(many, w, pooling="mean"), [0.75, 0.25, 0, 0])
    np.testing.assert_allclose(article_features(many, np.zeros(4), pooling="mean"), many.mean(0))


def test_article_features_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        article_features(np.zeros(4))
    with pytest.raises(ValueError, match="one value per sentence"):
        article_features(np.zeros((3, 4)), [1.0, 2.0])
    with pytest.raises(ValueError, match="non-negative"):
        article_features(np.zeros((2, 4)), [1.0, -1.0])
    with pytest.raises(ValueError, match="unknown pooling"):
        article_features(np.zeros((2, 4)), pooling="median")


def test_score_article_and_size_mismatch(fitted):
    _, _, heads = fitted  # mean pooling over 12-d "sentences"
    assert heads.score_article(np.zeros((0, 12))) == {f: 0.0 for f in FRAME_IDS}
    sents = np.zeros((3, 12))
    sents[:, 0] = 2.0  # the conflict axis
    scores = heads.score_article(sents)
    assert list(scores) == list(FRAME_IDS) and scores["conflict"] > 0.9
    with pytest.raises(ValueError, match="expect 12 features"):
        heads.predict_proba(np.zeros((2, 24)))


# -- baselines -------------------------------------------------------------------------
def test_keyword_baseline_counts_stems_and_whole_words():
    kw = KeywordFrameBaseline({"conflict": ["war", "attack*"], "economic": ["tax*"]},
                              ids=["conflict", "economic"])
    H = kw.hits(["War, wars and a warning; attacked twice by attackers.",
                 "Taxes and a taxi; no fighting here.", ""])
    # "war" is a whole word (not "wars"/"warning"); "tax*" is a stem (taxes, taxi)
    assert H.tolist() == [[3, 0], [0, 2], [0, 0]]
    with pytest.raises(ValueError, match="no keywords"):
        KeywordFrameBaseline({"conflict": ["war"]}, ids=["conflict", "economic"]).hits(["x"])


def test_keyword_baseline_tunes_hit_thresholds_on_training_rows():
    texts = ["the budget", "budget cost tax", "tax tax price money", "a quiet walk", "cost"]
    Y = np.array([[0, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 1, 0, 0, 0],
                  [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=bool)
    Y[0, 0] = True  # every frame is scored even where keywords never fire
    kw = KeywordFrameBaseline().fit(texts, Y)
    assert kw.thresholds_[1] == 2  # the lowest hit count that separates the positives
    pred = kw.predict(texts + ["tax money and costs of the economy"])
    assert pred[:, 1].tolist() == [False, True, True, False, False, True]
    assert set(FRAME_KEYWORDS) == set(FRAME_IDS)
    assert all(12 <= len(v) <= 30 for v in FRAME_KEYWORDS.values())


def test_majority_baseline_predicts_each_frames_majority():
    Y = np.array([[1, 0, 0, 0, 1], [1, 0, 1, 0, 0], [0, 0, 0, 0, 1]], dtype=bool)
    maj = MajorityFrameBaseline().fit(Y)
    assert maj.predict(2).tolist() == [[True, False, False, False, True]] * 2
    np.testing.assert_allclose(maj.predict_proba(1)[0], Y.mean(0))


# -- reading the corpus and encoding articles ------------------------------------------
def test_read_narrative_frames_skips_unlabelled_rows(tmp_path):
    path = tmp_path / "articles.tsv"
    path.write_text(
        "ID\tsource\tmbfc\tdate\ttext\tRE\tHI\tCO\tMO\tEC\n"
        "1\tx\tleast\t2020-01-01\tA made-up article about a plan.\tTrue\tFalse\tFalse\tFalse\tFalse\n"
        "2\tx\tleast\t2020-01-02\tAnother made-up one.\n"
        "3\tx\tleast\t2020-01-03\tA third invented text.\tFalse\tTrue\tTrue\tFalse\tFalse)\n")
    arts = read_narrative_frames(path)
    assert [a.id for a in arts] == ["1", "3"]
    # labels in FRAME_IDS order: conflict, economic, human_interest, morality, resolution
    assert arts[0].labels == (False, False, False, False, True)
    assert arts[1].labels == (True, False, True, False, False)
    (tmp_path / "bad.tsv").write_text("ID\ttext\n1\tx\n")
    with pytest.raises(ValueError, match="missing columns"):
        read_narrative_frames(tmp_path / "bad.tsv")


def test_encode_articles_matches_the_analyzer_segmentation_and_caches(tiny_encoder, tmp_path):
    from framing.text.prepare import prepare

    texts = ["One short sentence. And then another one here. A third.", "", "Just one."]
    before = tiny_encoder.sentences_encoded
    out = encode_articles(texts, tiny_encoder, cache_dir=tmp_path)
    counts = [len(prepare(t).sentences) for t in texts]
    assert [e.shape for e in out] == [(c, tiny_encoder.dim) for c in counts]
    assert counts[1] == 0
    np.testing.assert_allclose(out[2], tiny_encoder.encode(["Just one."]), atol=1e-6)
    encoded = tiny_encoder.sentences_encoded
    again = encode_articles(texts, tiny_encoder, cache_dir=tmp_path)
    assert tiny_encoder.sentences_encoded == encoded > before  # read from the cache
    for a, b in zip(out, again):
        np.testing.assert_array_equal(a, b)
    capped = encode_articles(texts, tiny_encoder, max_sentences=1)
    assert [len(e) for e in capped] == [1, 0, 1]


def test_check_refuses_heads_from_another_encoder(tiny_encoder):
    from framing.encoding.fingerprints import encoder_fingerprint

    rng = np.random.default_rng(0)
    dim = tiny_encoder.dim
    X = rng.normal(size=(60, feature_dim("mean_max", dim)))
    Y = rng.random((60, 5)) < 0.5
    heads = fit_frame_heads(X, Y, C=0.1)
    heads.encoder = encoder_fingerprint(tiny_encoder)
    heads.check(tiny_encoder)
    heads.check(None)
    heads.encoder = dict(heads.encoder, weights_digest="0" * 16)
    with pytest.raises(ModelLoadError, match="weights_digest"):
        heads.check(tiny_encoder)
    small = FrameHeads(list(FRAME_IDS), np.zeros((5, 8)), np.zeros(5), np.ones(5), np.zeros(5),
                       np.full(5, 0.5))
    with pytest.raises(ModelLoadError, match="4-d"):
        small.check(tiny_encoder)


# -- the shipped heads -----------------------------------------------------------------
def test_shipped_heads_load_with_five_frames_and_their_split():
    path = shipped_frame_heads_path()
    assert is_frame_heads_dir(path)
    heads = load_frame_heads()
    assert heads.ids == list(FRAME_IDS) and len(heads.names) == 5
    # the shipped heads read [encoder states after the tone branch's layer; branch states]
    assert heads.feature_source == "layer+tone-branch" and heads.feature_model["digest"]
    width = 2 * 384
    assert heads.pooling in POOLINGS and heads.W.shape == (5, feature_dim(heads.pooling, width))
    assert heads.encoder["name"] == "all-MiniLM-L6-v2" and heads.encoder["hidden_size"] == 384
    assert ((heads.thresholds > 0) & (heads.thresholds < 1)).all()
    split = json.loads((path / "dev_split.json").read_text())
    assert split["seed"] == 13 and len(split["dev_ids"]) == heads.split["n_dev"] > 0
    card = (path / "README.md").read_text()
    for needle in ("MIT", "Frermann", "macro-F1", "keyword", "majority", "python models/train_frames.py"):
        assert needle in card
    p = heads.score_article(np.eye(width, dtype=np.float32)[:3])
    assert set(p) == set(FRAME_IDS) and all(0.0 <= v <= 1.0 for v in p.values())
