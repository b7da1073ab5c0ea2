"""Hugging Face classifiers as tone scorers: label maps, batching order, NLI zero-shot,
refusals (pickle weights, unknown labels, no network), and use inside the Analyzer.

Every model here is a tiny random 2-layer BERT built by the fixtures, saved as
safetensors with the fast tokenizer of ``tiny_model_dir``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import framing
from framing.errors import ModelLoadError, ModelNotFoundError
from framing.heads.tone.hf import HFToneClassifier, NLIZeroShotTone, load_hf_tone
from framing.heads.tone.scorers import LABELS, ToneScorer, aggregate_probabilities, aggregate_tone, tone_label

TEXTS = [
    "the people came home after a long day",
    "why",
    "zebras quickly jump over eleven lazy dogs near the old mill, then go back home "
    "again through the long line of trees before the new day comes around",
    "critics said the new plan was a great failure",
    "they hailed the good work of the men",
    "the people came home after a long day",  # a duplicate, to check it maps back twice
]

NLI_HYPOTHESES = {  # what NLIZeroShotTone is expected to pair with each sentence
    "critical": "This text criticises or accuses its subject.",
    "neutral": "This text reports plainly without taking a side.",
    "promotional": "This text praises or promotes its subject.",
}


@pytest.fixture(scope="module")
def make_classifier(tmp_path_factory, tiny_model_dir):
    """Build (once per label set) a tiny random BertForSequenceClassification dir."""
    import torch
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
    cache: dict[tuple, Path] = {}

    def build(labels: tuple[str, ...], seed: int = 0) -> Path:
        key = (labels, seed)
        if key not in cache:
            path = tmp_path_factory.mktemp("tiny-clf")
            torch.manual_seed(seed)
            config = transformers.BertConfig(
                vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                num_attention_heads=2, intermediate_size=37, max_position_embeddings=128,
                # wider than the default 0.02, so that outputs differ between texts
                initializer_range=0.2,
                id2label=dict(enumerate(labels)),
                label2id={lab: i for i, lab in enumerate(labels)})
            model = transformers.BertForSequenceClassification(config)
            model.save_pretrained(path, safe_serialization=True)
            tokenizer.save_pretrained(path)
            assert (path / "model.safetensors").is_file()
            cache[key] = path
        return cache[key]

    return build


@pytest.fixture(scope="module")
def sentiment_dir(make_classifier) -> Path:
    return make_classifier(("negative", "neutral", "positive"))


@pytest.fixture(scope="module")
def scorer(sentiment_dir) -> HFToneClassifier:
    return HFToneClassifier(sentiment_dir)


def _direct_softmax(path: Path, texts, pairs_with=None) -> tuple[np.ndarray, np.ndarray]:
    """(softmax, logits) of the model, run on one unpadded text (or text pair) at a time."""
    import torch
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(path).eval()
    rows = []
    with torch.no_grad():
        for t in texts:
            enc = tok(t, pairs_with, return_tensors="pt") if pairs_with else \
                tok(t, return_tensors="pt")
            rows.append(model(**enc).logits[0].double())
    logits = torch.stack(rows)
    return torch.softmax(logits, dim=-1).numpy(), logits.numpy()


# -- HFToneClassifier --------------------------------------------------------------------
def test_protocol_attributes(scorer, sentiment_dir):
    assert isinstance(scorer, ToneScorer)
    assert scorer.uses_embeddings is False
    assert scorer.neutral_band == pytest.approx(0.1)
    assert scorer.name == f"hf:{sentiment_dir.name}"
    assert scorer.labels == ["negative", "neutral", "positive"]
    assert scorer.label_map == {"negative": "critical", "neutral": "neutral",
                                "positive": "promotional"}


def test_probabilities_shape_range_and_rows_sum_to_one(scorer):
    p = scorer.sentence_probabilities(TEXTS)
    assert p.shape == (len(TEXTS), 3)
    assert p.dtype == np.float64
    assert np.all(p >= 0) and np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    # guard for the order tests: the random model must tell these texts apart
    assert np.ptp(p[:5, 1]) > 0.02


def test_empty_input_gives_zero_rows(scorer):
    assert scorer.sentence_probabilities([]).shape == (0, 3)
    assert scorer.sentence_tone([]).shape == (0,)


def test_results_come_back_in_input_order(scorer):
    together = scorer.sentence_probabilities(TEXTS)
    alone = np.stack([scorer.sentence_probabilities([t])[0] for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(together[0], together[5])  # the duplicate
    reverse = scorer.sentence_probabilities(TEXTS[::-1])
    np.testing.assert_allclose(reverse, together[::-1], atol=1e-5)


def test_batch_size_does_not_change_results(sentiment_dir, scorer):
    small = HFToneClassifier(sentiment_dir, batch_size=1)
    big = HFToneClassifier(sentiment_dir, batch_size=64)
    two = HFToneClassifier(sentiment_dir, batch_size=2)
    ref = big.sentence_probabilities(TEXTS)
    np.testing.assert_allclose(small.sentence_probabilities(TEXTS), ref, atol=1e-5)
    np.testing.assert_allclose(two.sentence_probabilities(TEXTS), ref, atol=1e-5)
    np.testing.assert_allclose(scorer.sentence_probabilities(TEXTS), ref, atol=1e-5)


def test_columns_match_a_direct_forward_pass(scorer, sentiment_dir):
    expected, _ = _direct_softmax(sentiment_dir, TEXTS)
    p = scorer.sentence_probabilities(TEXTS)
    # negative -> critical (0), neutral -> neutral (1), positive -> promotional (2)
    np.testing.assert_allclose(p, expected, atol=1e-5)
    np.testing.assert_allclose(scorer.sentence_tone(TEXTS), expected[:, 2] - expected[:, 0],
                               atol=1e-5)


def test_label_map_follows_names_not_positions(make_classifier):
    # the model's label order is shuffled; the framing columns must follow the names
    path = make_classifier(("Positive", "NEG", "neu"), seed=1)
    s = HFToneClassifier(path)
    expected, _ = _direct_softmax(path, TEXTS)
    p = s.sentence_probabilities(TEXTS)
    np.testing.assert_allclose(p[:, 2], expected[:, 0], atol=1e-5)  # Positive -> promotional
    np.testing.assert_allclose(p[:, 0], expected[:, 1], atol=1e-5)  # NEG -> critical
    np.testing.assert_allclose(p[:, 1], expected[:, 2], atol=1e-5)  # neu -> neutral


def test_generic_labels_need_a_label_map(make_classifier):
    path = make_classifier(("LABEL_0", "LABEL_1"))
    with pytest.raises(ModelLoadError, match="label_map") as info:
        HFToneClassifier(path)
    assert "LABEL_0" in str(info.value) and "LABEL_1" in str(info.value)

    s = HFToneClassifier(path, label_map={"LABEL_0": "critical", "LABEL_1": "promotional"})
    p = s.sentence_probabilities(TEXTS)
    expected, _ = _direct_softmax(path, TEXTS)
    assert p.shape == (len(TEXTS), 3)
    assert np.all(p[:, 1] == 0.0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(p[:, 0], expected[:, 0], atol=1e-5)
    np.testing.assert_allclose(p[:, 2], expected[:, 1], atol=1e-5)


@pytest.mark.parametrize("label_map, named", [
    ({"LABEL_0": "angry", "LABEL_1": "promotional"}, "angry"),          # not a framing label
    ({"LABEL_0": "critical", "LABEL_7": "promotional"}, "LABEL_7"),     # not a model label
    ({"LABEL_0": "critical"}, "LABEL_1"),                               # leaves one unmapped
])
def test_bad_label_map_raises_value_error_naming_it(make_classifier, label_map, named):
    path = make_classifier(("LABEL_0", "LABEL_1"))
    with pytest.raises(ValueError, match=named):
        HFToneClassifier(path, label_map=label_map)


def test_several_model_labels_add_into_one_framing_label(sentiment_dir):
    s = HFToneClassifier(sentiment_dir, label_map={
        "negative": "critical", "neutral": "critical", "positive": "promotional"})
    expected, _ = _direct_softmax(sentiment_dir, TEXTS)
    p = s.sentence_probabilities(TEXTS)
    np.testing.assert_allclose(p[:, 0], expected[:, 0] + expected[:, 1], atol=1e-5)
    assert np.all(p[:, 1] == 0.0)
    np.testing.assert_allclose(p[:, 2], expected[:, 2], atol=1e-5)


def test_binary_positive_negative_model(make_classifier):
    path = make_classifier(("negative", "positive"), seed=2)
    s = HFToneClassifier(path)
    expected, _ = _direct_softmax(path, TEXTS)
    p = s.sentence_probabilities(TEXTS)
    assert p.shape == (len(TEXTS), 3)
    assert np.all(p[:, 1] == 0.0)
    np.testing.assert_allclose(p[:, 0], expected[:, 0], atol=1e-5)
    np.testing.assert_allclose(p[:, 2], expected[:, 1], atol=1e-5)
    tone = s.sentence_tone(TEXTS)
    assert np.all((tone >= -1) & (tone <= 1))
    np.testing.assert_allclose(tone, expected[:, 1] - expected[:, 0], atol=1e-5)


def test_pickle_only_directory_is_refused(tmp_path, sentiment_dir):
    bad = tmp_path / "pickled"
    bad.mkdir()
    (bad / "config.json").write_text((sentiment_dir / "config.json").read_text())
    (bad / "pytorch_model.bin").write_bytes(b"not a real pickle, and never to be loaded")
    with pytest.raises(ModelLoadError, match="safetensors"):
        HFToneClassifier(bad)
    with pytest.raises(ModelLoadError, match="safetensors"):
        NLIZeroShotTone(bad)


def test_encoder_without_a_classification_head_is_refused(tiny_model_dir):
    # a plain BertModel directory would get a random head; that must not load silently
    with pytest.raises(ModelLoadError, match="missing"):
        HFToneClassifier(tiny_model_dir, label_map={"LABEL_0": "critical",
                                                    "LABEL_1": "promotional"})


def test_hub_id_without_network_is_not_found(no_network):
    with pytest.raises(ModelNotFoundError, match="allow_network"):
        HFToneClassifier("some-org/some-tone-model")
    with pytest.raises(ModelNotFoundError, match="allow_network"):
        load_hf_tone("some-org/some-nli-model", nli=True)
    assert len(no_network) == 0


def test_missing_local_directory_is_not_found(tmp_path):
    with pytest.raises(ModelNotFoundError):
        HFToneClassifier(tmp_path / "nowhere" / "model")


# -- NLIZeroShotTone ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def nli_dir(make_classifier) -> Path:
    return make_classifier(("entailment", "neutral", "contradiction"), seed=3)


def test_nli_probabilities_shape_sum_and_determinism(nli_dir):
    s = NLIZeroShotTone(nli_dir, batch_size=4)
    assert isinstance(s, ToneScorer) and s.uses_embeddings is False
    assert s.name == f"nli:{nli_dir.name}"
    assert s.entailment_index == 0
    p = s.sentence_probabilities(TEXTS)
    assert p.shape == (len(TEXTS), 3)
    assert np.all(p >= 0) and np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(p, s.sentence_probabilities(TEXTS))
    other = NLIZeroShotTone(nli_dir, batch_size=64)
    np.testing.assert_allclose(other.sentence_probabilities(TEXTS), p, atol=1e-5)
    alone = np.stack([other.sentence_probabilities([t])[0] for t in TEXTS])
    np.testing.assert_allclose(alone, p, atol=1e-5)
    assert s.sentence_probabilities([]).shape == (0, 3)


def test_nli_uses_the_entailment_logit_of_each_hypothesis(make_classifier):
    # upper-case labels with entailment last: found case-insensitively, at its index
    path = make_classifier(("CONTRADICTION", "NEUTRAL", "ENTAILMENT"), seed=4)
    s = NLIZeroShotTone(path)
    assert s.entailment_index == 2
    texts = TEXTS[:4]
    ent = np.stack([_direct_softmax(path, texts, pairs_with=NLI_HYPOTHESES[lab])[1][:, 2]
                    for lab in LABELS], axis=1)
    expected = np.exp(ent - ent.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(s.sentence_probabilities(texts), expected, atol=1e-5)
    np.testing.assert_allclose(s.sentence_tone(texts), expected[:, 2] - expected[:, 0],
                               atol=1e-5)


def test_non_nli_model_is_refused(make_classifier):
    path = make_classifier(("negative", "positive"), seed=2)
    with pytest.raises(ModelLoadError, match="entailment") as info:
        NLIZeroShotTone(path)
    assert "'negative'" in str(info.value) and "'positive'" in str(info.value)


# -- load_hf_tone ------------------------------------------------------------------------
def test_load_hf_tone_picks_the_scorer(sentiment_dir, nli_dir):
    clf = load_hf_tone(sentiment_dir, batch_size=8, neutral_band=0.2)
    assert type(clf) is HFToneClassifier
    assert clf.batch_size == 8 and clf.neutral_band == pytest.approx(0.2)
    nli = load_hf_tone(nli_dir, nli=True)
    assert type(nli) is NLIZeroShotTone
    with pytest.raises(ValueError, match="label_map"):
        load_hf_tone(nli_dir, nli=True, label_map={"entailment": "promotional"})


# -- in the Analyzer ---------------------------------------------------------------------
ARTICLE = (
    "The people came home after a long day. Critics said the new plan was a great failure. "
    "They hailed the good work of the men. Zebras quickly jump over eleven lazy dogs near "
    "the old mill."
)


def test_analyzer_aggregates_the_classifier_sentence_tones(scorer, tiny_model_dir):
    an = framing.Analyzer(tone=scorer, cues=False, encoder=framing.Encoder(tiny_model_dir),
                          language_check=False)
    assert an.tone_name == scorer.name
    r = an.score(ARTICLE)
    sentences = [s.clean for s in an.prepare(ARTICLE).sentences]
    assert len(sentences) >= 3
    tones = scorer.sentence_tone(sentences)
    probs = scorer.sentence_probabilities(sentences)
    expected = aggregate_tone(tones)
    assert r.tone is not None and -1.0 <= r.tone <= 1.0
    assert r.tone == pytest.approx(expected, abs=1e-6)
    assert r.tone_label in LABELS
    assert r.tone_label == tone_label(expected, scorer.neutral_band)
    assert r.tone_scorer == scorer.name
    np.testing.assert_allclose([s.tone for s in r.sentences], tones, atol=1e-6)
    assert r.tone_probabilities is not None
    np.testing.assert_allclose([r.tone_probabilities[k] for k in LABELS],
                               aggregate_probabilities(probs, tones), atol=1e-6)


def test_analyzer_takes_an_nli_model_by_prefix_and_refuses_a_non_nli_one(
        nli_dir, sentiment_dir, tiny_model_dir):
    enc = framing.Encoder(tiny_model_dir)
    an = framing.Analyzer(tone=f"nli:{nli_dir}", cues=False, encoder=enc)
    assert an.tone_name.startswith("nli:")
    r = an.score("The council approved the budget. Critics objected.")
    assert r.tone is not None and -1.0 <= r.tone <= 1.0
    with pytest.raises(ModelLoadError, match="entailment"):
        framing.Analyzer(tone=f"nli:{sentiment_dir}", cues=False, encoder=enc)
