"""Training cue heads: custom catalogues (framing train cues) and heads that read the
multi-task tone branch. Everything runs on the tiny random BERT and sentences written
for these tests."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import framing
from tiny_models import with_working_tokenizer
from framing.cli import main
from framing.heads.cues.heads import load_cue_heads
from framing.errors import ModelLoadError
from framing.training.tone import ToneExample, split_examples, train_tone
from framing.training.cues import MIN_POSITIVES, train_cue_heads

CATALOGUE = """\
name: tiny-cues
version: "1"
description: Two cues for tests.
cues:
  - id: water
    name: Water talk
    description: the sentence talks about water
    patterns: ['\\bwater\\b']
    exemplars:
      - they went to the water
      - the water was good
  - id: work
    name: Work talk
    description: the sentence talks about work
    exemplars:
      - she did good work
      - the work was done
"""

WATER = ["the people found water by the old home", "water came back on the third day",
         "all the people want water now", "they said the water is good",
         "the new water line made them happy", "water is what the people need",
         "he went by the water every day", "the water there was very good",
         "no one had water for two days", "she will find water for the home"]
WORK = ["the people did good work there", "work on the new home is done",
        "she said the work was great", "they will do more work next day",
        "he left work at the old place", "the work made the people happy",
        "all the work was for the people", "we think the work is good",
        "his work came back to him", "the work there never ends"]
NONE = ["the number was two", "Anna read the words out", "Boris came home late",
        "they think it is great", "the old place is far away", "people say many things",
        "she thought about the day", "he saw something below", "those few always go",
        "both went along the street"]


def _rows() -> list[dict]:
    rows = [{"text": t, "cues": ["water"]} for t in WATER]
    rows += [{"text": t, "cues": ["work"]} for t in WORK]
    rows += [{"text": t, "cues": []} for t in NONE]
    rows.append({"text": "the water work was done", "cues": ["water", "work"]})
    return rows


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("custom-cues")
    (d / "cat.yaml").write_text(CATALOGUE, encoding="utf-8")
    with open(d / "data.jsonl", "w", encoding="utf-8") as fh:
        for r in _rows():
            fh.write(json.dumps(r) + "\n")
    return d


@pytest.fixture(scope="module")
def vocab_dir(tiny_model_dir, tmp_path_factory):
    return with_working_tokenizer(tiny_model_dir, tmp_path_factory.mktemp("tiny-vocab"))


@pytest.fixture(scope="module")
def encoder(vocab_dir):
    return framing.Encoder(vocab_dir)


# -- custom catalogues ------------------------------------------------------------
def test_custom_catalogue_works_few_shot_without_training(files, encoder):
    an = framing.Analyzer(tone=None, catalogue=str(files / "cat.yaml"), encoder=encoder)
    assert an.cue_ids == ["water", "work"]
    assert an.cue_detector.heads is None
    r = an.score("They went to the water. The work was done.")
    assert set(r.cues) == {"water", "work"}
    assert r.cues["water"].present  # the pattern matched
    assert r.cues["water"].evidence[0].spans


def test_train_cue_heads_for_a_custom_catalogue(files, encoder, tmp_path):
    result = train_cue_heads(str(files / "cat.yaml"), files / "data.jsonl", encoder=encoder,
                             dev_fraction=0.3, seed=3)
    heads = result.heads
    assert heads.ids == ["water", "work"]
    assert heads.feature_source == "embedding"
    m = result.metrics
    assert m["dev_n"] == round(0.3 * 31) and m["train_from_data"] == 31 - m["dev_n"]
    assert m["train_n"] == m["train_from_data"] + 4  # + the four exemplars
    assert 0.0 <= m["dev_macro_f1"]["value"] <= 1.0
    out = result.save(tmp_path / "heads")
    assert (out / "catalogue.yaml").read_text() == CATALOGUE
    assert json.loads((out / "metrics.json").read_text())["dev_n"] == m["dev_n"]
    assert "tiny-cues" in (out / "README.md").read_text()
    back = load_cue_heads(out)
    x = encoder.encode(["the water was good"])
    assert np.allclose(back.predict_proba(x), heads.predict_proba(x), atol=1e-5)
    # loaded like the shipped heads: the catalogue travels with them
    an = framing.Analyzer(tone=None, cue_heads=str(out), encoder=encoder)
    assert an.cue_ids == ["water", "work"]
    assert an.cue_detector.heads is not None
    assert an.cue_detector.name == "trained-heads+patterns"
    assert np.allclose(an.cue_detector.thresholds, heads.thresholds)
    r = an.score("They found water by the home.")
    assert 0.0 <= r.cues["work"].probability <= 1.0


def test_heads_trained_with_lexical_evidence_read_the_words(files, encoder, vocab_dir, tmp_path,
                                                           capsys):
    result = train_cue_heads(str(files / "cat.yaml"), files / "data.jsonl", encoder=encoder,
                             dev_fraction=0.3, seed=3, lexical=True)
    heads = result.heads
    assert heads.lexical is not None and "water" in heads.lexical.vocabulary
    assert result.config["lexical"] is True
    out = result.save(tmp_path / "heads")
    assert (out / "lexical.json").is_file() and "read the sentence's words" in (
        out / "README.md").read_text()
    an = framing.Analyzer(tone=None, cue_heads=str(out), encoder=encoder)
    assert an.cue_detector.heads.lexical is not None
    # "work" has no phrase pattern: what lifts it here is the heads' own reading
    busy, idle = an.score("They did the work for the people."), an.score("Boris came home late.")
    assert busy.cues["work"].probability > idle.cues["work"].probability
    no_words = load_cue_heads(out)
    no_words.lexical = None  # the same heads blind to the words score it otherwise
    x = encoder.encode(["They did the work for the people."])
    assert heads.predict_proba(x, ["They did the work for the people."])[0, 1] != \
        pytest.approx(no_words.predict_proba(x)[0, 1], abs=1e-6)
    # the CLI flag
    rc = main(["train", "cues", "--catalogue", str(files / "cat.yaml"), "--data",
               str(files / "data.jsonl"), "--out", str(tmp_path / "cli"), "--model",
               str(vocab_dir), "--dev-fraction", "0.3", "--lexical"])
    assert rc == 0 and load_cue_heads(tmp_path / "cli").lexical is not None
    capsys.readouterr()


def test_training_refuses_unknown_labels_and_thin_cues(files, encoder, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "the water", "cues": ["fire"]}) + "\n")
    with pytest.raises(ValueError, match="fire"):
        train_cue_heads(str(files / "cat.yaml"), bad, encoder=encoder)
    thin = tmp_path / "thin.jsonl"
    with open(thin, "w") as fh:
        for r in _rows():
            if r["cues"] != ["work"]:
                fh.write(json.dumps(r) + "\n")
    with pytest.raises(ValueError, match=r"work \(\d\)"):
        train_cue_heads(str(files / "cat.yaml"), thin, encoder=encoder, use_exemplars=True,
                        dev_fraction=0.5)
    assert MIN_POSITIVES >= 2


def test_heads_for_another_catalogue_are_refused(files, encoder, tmp_path):
    out = train_cue_heads(str(files / "cat.yaml"), files / "data.jsonl", encoder=encoder,
                          dev_fraction=0.3).save(tmp_path / "h")
    with pytest.raises(ModelLoadError, match="trained for cues"):
        framing.CueDetector(None, encoder, heads=str(out))  # the built-in catalogue


def test_cli_train_cues_then_score(files, vocab_dir, tmp_path, capsys):
    heads = tmp_path / "heads"
    rc = main(["train", "cues", "--catalogue", str(files / "cat.yaml"), "--data",
               str(files / "data.jsonl"), "--out", str(heads), "--model", str(vocab_dir),
               "--dev-fraction", "0.3"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "trained heads for 2 cues" in err and "dev macro-F1" in err
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"id": i, "text": t}) for i, t in
                                enumerate(["They went to the water.", "The work was done."])))
    out = tmp_path / "scores.jsonl"
    rc = main(["score", str(corpus), "-o", str(out), "--model", str(vocab_dir), "--tone",
               "similarity", "--cue-heads", str(heads), "--id", "id", "--no-progress"])
    assert rc == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 2 and "cue_water" in rows[0] and "cue_work" in rows[0]
    assert rows[0]["cue_water_present"] is True


def test_cli_train_cues_reports_a_bad_label_cleanly(files, vocab_dir, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "the water", "cues": ["fire"]}) + "\n")
    rc = main(["train", "cues", "--catalogue", str(files / "cat.yaml"), "--data", str(bad),
               "--out", str(tmp_path / "h"), "--model", str(vocab_dir)])
    assert rc == 2
    assert "fire" in capsys.readouterr().err


# -- multi-task tone branch and heads on its sentence states -------------------------
def _tone_examples() -> list[ToneExample]:
    good = ["the people did good work", "all say the home is great", "the new water is good"]
    bad = ["no one did any work", "the old home is no good", "they never had water"]
    flat = ["the number was two", "he came back home", "she read the words out"]
    out = []
    for label, texts in enumerate([bad, flat, good]):
        for k in range(3):
            for t in texts:
                out.append(ToneExample(f"{t} {['today', 'now', 'again'][k]}", label,
                                       group=f"{label}-{t}-{k}"))
    return out


@pytest.fixture(scope="module")
def multitask(encoder, tmp_path_factory):
    train, dev = split_examples(_tone_examples(), 0.3, seed=2)
    rows = _rows()
    Y = np.array([[c in r["cues"] for c in ("water", "work")] for r in rows])
    result = train_tone(train, dev, encoder, design="branch", n_layers=1, epochs=2,
                        name="tiny-mt", progress=False, cue_texts=[r["text"] for r in rows],
                        cue_labels=Y, cue_batch_size=8)
    path = result.save(tmp_path_factory.mktemp("mt-tone"))
    return result, path, rows, Y


def test_multitask_training_records_the_cue_task(multitask):
    result, path, rows, _ = multitask
    mt = result.config["multitask_cues"]
    assert mt == {"sentences": len(rows), "cues": 2, "weight": 1.0, "batch_size": 8}
    saved = json.loads((path / "config.json").read_text())
    assert saved["multitask_cues"]["sentences"] == len(rows)
    tone = framing.heads.tone.model.load_tone_model(path)
    assert tone.digest and len(tone.digest) == 16  # the temporary cue head is not saved


def test_multitask_rejects_mismatched_cue_labels(encoder):
    train, dev = split_examples(_tone_examples(), 0.3, seed=2)
    with pytest.raises(ValueError, match="cue_labels"):
        train_tone(train, dev, encoder, design="branch", n_layers=1, epochs=1, progress=False,
                   cue_texts=["a", "b"], cue_labels=np.zeros((3, 2)))


@pytest.fixture(scope="module")
def branch_heads(multitask, encoder, files, tmp_path_factory):
    from framing.heads.cues.heads import fit_cue_heads

    _, path, rows, Y = multitask
    tone = framing.heads.tone.model.load_tone_model(path)
    X = tone.sentence_features(encoder, [r["text"] for r in rows])
    assert X.shape == (len(rows), encoder.dim)
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-4)
    heads = fit_cue_heads(X[::2], Y[::2], X[1::2], Y[1::2], ["water", "work"])
    heads.feature_source = "tone-branch"
    heads.feature_model = {"name": "tiny-mt", "digest": tone.digest}
    out = tmp_path_factory.mktemp("branch-heads")
    heads.save(out, "# card\n")
    shutil.copyfile(files / "cat.yaml", out / "catalogue.yaml")
    return out, tone, X


def test_branch_heads_share_the_tone_pass(branch_heads, multitask, encoder):
    heads_dir, tone, _ = branch_heads
    _, tone_dir, _, _ = multitask
    an = framing.Analyzer(tone=str(tone_dir), cue_heads=str(heads_dir), encoder=encoder)
    assert an.cue_detector.feature_model is an.tone_scorer  # one branch for both
    assert an.cue_detector.heads.feature_source == "tone-branch"
    before = encoder.sentences_encoded
    r = an.score("They went to the water. The work was done. Anna came home.")
    assert encoder.sentences_encoded - before == 3  # one encoder pass for the article
    # the same per-sentence probabilities as a detector computing the branch states itself
    alone = framing.CueDetector(str(heads_dir / "catalogue.yaml"), encoder,
                                heads=str(heads_dir), tone_model=tone)
    assert alone.feature_model is tone
    probs, _ = alone.predict([an.prepare(s.text).sentences[0].clean for s in r.sentences])
    got = np.array([[s.cues["water"], s.cues["work"]] for s in r.sentences])
    assert got.shape == probs.shape == (3, 2)
    assert np.allclose(got, probs, atol=1e-4)


def test_branch_heads_refuse_a_tone_model_they_were_not_trained_on(branch_heads, encoder):
    heads_dir, _, _ = branch_heads
    with pytest.raises(ModelLoadError, match="digest"):
        framing.Analyzer(tone="similarity", cue_heads=str(heads_dir), encoder=encoder)


def test_branch_heads_config_needs_a_digest(branch_heads, tmp_path):
    heads_dir, _, _ = branch_heads
    d = tmp_path / "h"
    shutil.copytree(heads_dir, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["feature_model"] = None
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="digest"):
        load_cue_heads(d)


def test_layer_plus_branch_heads_read_both_states(multitask, encoder, files, tmp_path):
    from framing.heads.cues.heads import fit_cue_heads

    _, tone_dir, rows, Y = multitask
    tone = framing.heads.tone.model.load_tone_model(tone_dir)
    X = tone.sentence_features(encoder, [r["text"] for r in rows], with_layer=True)
    assert X.shape == (len(rows), 2 * encoder.dim)
    heads = fit_cue_heads(X[::2], Y[::2], X[1::2], Y[1::2], ["water", "work"])
    heads.feature_source = "layer+tone-branch"
    heads.feature_model = {"name": "tiny-mt", "digest": tone.digest}
    heads.save(tmp_path, "# card\n")
    shutil.copyfile(files / "cat.yaml", tmp_path / "catalogue.yaml")
    assert load_cue_heads(tmp_path).feature_source == "layer+tone-branch"
    an = framing.Analyzer(tone=str(tone_dir), cue_heads=str(tmp_path), encoder=encoder)
    assert an.cue_detector.feature_model is an.tone_scorer
    r = an.score("They went to the water. The work was done.")
    alone = framing.CueDetector(str(tmp_path / "catalogue.yaml"), encoder, heads=str(tmp_path),
                                tone_model=tone)
    probs, _ = alone.predict([an.prepare(s.text).sentences[0].clean for s in r.sentences])
    got = np.array([[s.cues["water"], s.cues["work"]] for s in r.sentences])
    assert np.allclose(got, probs, atol=1e-4)


def test_training_args_and_keywords_are_one_convention():
    from framing.training.cues import CueTrainingArgs, train_cue_heads
    from framing.training.tone import ToneTrainingArgs, train_tone

    with pytest.raises(TypeError, match="no_such_option"):
        train_cue_heads(None, [], no_such_option=1)
    with pytest.raises(TypeError, match="no_such_option"):
        train_tone([], [], None, no_such_option=1)
    assert CueTrainingArgs(C=2.0).C == 2.0 and ToneTrainingArgs(epochs=1).epochs == 1
