"""``framing train tone`` and scoring with the trained model from the command line.

In-process through :func:`framing.cli.main`, on the tiny random BERT of ``tiny_model_dir``
(used through ``tiny_dir``: the same weights with a tokenizer that knows its vocabulary,
see test_tone_model.py) and sentences written for these tests.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest

import framing
from framing.cli import main

_TEMPLATES = {
    "neg": ["the people say {n} is no good", "{n} never did any work for them",
            "{n} left the old home in a bad way"],
    "neu": ["{n} came back on the third day", "{n} said the number was two",
            "{n} went to the place by the water"],
    "pos": ["all the people say {n} is great", "{n} did good work for the people",
            "{n} made the new home very good"],
}
_NAMES = ["Anna", "Boris", "Carla", "Dmitri", "Elena"]


def _rows(labels: dict[str, str] | None = None) -> list[dict]:
    """45 labelled rows; every other one names its target."""
    rows = []
    for label, templates in _TEMPLATES.items():
        for t in templates:
            for name in _NAMES:
                row = {"text": t.format(n=name), "label": (labels or {}).get(label, label)}
                if len(rows) % 2 == 0:
                    row["target"] = name
                rows.append(row)
    return rows


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _train(data: Path, out: Path, model: Path, *extra: str) -> int:
    return main(["train", "tone", "--data", str(data), "--out", str(out), "--model", str(model),
                 "--design", "frozen", *extra])


@pytest.fixture(scope="module")
def tiny_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """conftest's tiny BERT, re-saved with a tokenizer holding its whole vocabulary
    (transformers 5 ignores conftest's ``vocab_file=`` and maps every word to [UNK])."""
    import transformers

    dst = tmp_path_factory.mktemp("tiny-bert-vocab")
    for name in ("config.json", "model.safetensors"):
        shutil.copyfile(tiny_model_dir / name, dst / name)
    words = (tiny_model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    tok = transformers.BertTokenizerFast(vocab_file=str(tiny_model_dir / "vocab.txt"))
    if len(tok) < len(words):
        tok = transformers.BertTokenizerFast(vocab={w: i for i, w in enumerate(words)})
    tok.save_pretrained(dst)
    assert "[UNK]" not in transformers.AutoTokenizer.from_pretrained(dst).tokenize("did good work")
    return dst


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_dir) -> tuple[Path, str]:
    """A frozen tone model trained through the CLI, and the CLI's stderr."""
    root = tmp_path_factory.mktemp("cli-train")
    data = _write_jsonl(root / "train.jsonl", _rows())
    out = root / "my-tone"
    patch = pytest.MonkeyPatch()
    err = io.StringIO()
    patch.setattr(sys, "stderr", err)
    try:
        rc = _train(data, out, tiny_dir)
    finally:
        patch.undo()
    assert rc == 0, err.getvalue()
    return out, err.getvalue()


def test_train_writes_a_model(trained):
    out, err = trained
    assert {"config.json", "model.safetensors", "README.md"} <= {p.name for p in out.iterdir()}
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["format"] == "framing-tone"
    assert cfg["design"] == "frozen"
    assert cfg["name"] == "my-tone"  # the output folder's name
    assert cfg["training"]["train_n"] + cfg["training"]["dev_n"] == 45
    assert cfg["training"]["dev_n"] > 0
    assert cfg["temperature"] > 0
    assert "dev macro-F1" in err and str(out) in err
    assert "training on" in err


def test_score_with_trained_model_and_target_column(trained, tiny_dir, tmp_path, capsys):
    model_dir, _ = trained
    articles = [
        {"text": "Anna did good work for the people. Boris came back on the third day.",
         "who": "Anna"},
        {"text": "Anna did good work for the people. Boris came back on the third day.",
         "who": "Boris"},
        {"text": "The people say Carla is no good.", "who": "Zenobia"},
        {"text": "Elena made the new home very good.", "who": ""},
    ]
    corpus = _write_jsonl(tmp_path / "corpus.jsonl", articles)
    out = tmp_path / "scored.jsonl"
    rc = main(["score", str(corpus), "-o", str(out), "--model", str(tiny_dir),
               "--tone", str(model_dir), "--target", "who", "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4
    assert [r["target"] for r in rows] == ["Anna", "Boris", "Zenobia", None]
    assert all(r["tone_scorer"] == "trained:my-tone" for r in rows)
    assert all(r["error"] is None for r in rows)
    for r in rows[:2] + rows[3:]:
        assert -1.0 <= r["tone"] <= 1.0
        assert r["tone_label"] in ("critical", "neutral", "promotional")
        assert sum(r[f"tone_p_{k}"] for k in ("critical", "neutral", "promotional")) == \
            pytest.approx(1.0)
    assert rows[2]["tone"] is None and "no_target_mention" in rows[2]["flags"]
    # the same numbers as the Python API, tone toward each row's target
    an = framing.Analyzer(tiny_dir, tone=str(model_dir), cues=False)
    for a, r in zip(articles, rows):
        res = an.score(a["text"], a["who"] or None)
        assert (res.tone is None) == (r["tone"] is None)
        if res.tone is not None:
            assert r["tone"] == pytest.approx(res.tone, abs=1e-5)
    assert rows[0]["tone"] != pytest.approx(rows[1]["tone"], abs=1e-6)  # targets matter


def test_train_with_label_map(tmp_path, tiny_dir, capsys):
    data = _write_jsonl(tmp_path / "d.jsonl",
                        _rows({"neg": "bad", "neu": "meh", "pos": "good"}))
    out = tmp_path / "mapped"
    rc = _train(data, out, tiny_dir,
                "--label-map", "bad=critical, meh=neutral ,good=promotional", "--name", "mapped")
    err = capsys.readouterr().err
    assert rc == 0, err
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["name"] == "mapped"
    assert cfg["training"]["train_n"] + cfg["training"]["dev_n"] == 45
    # without the map the same labels are unknown
    rc = _train(data, tmp_path / "unmapped", tiny_dir)
    err = capsys.readouterr().err
    assert rc == 2 and "row 1" in err and "'bad'" in err
    assert not (tmp_path / "unmapped" / "config.json").exists()


@pytest.mark.parametrize("bad", ["bad:critical", "bad=critical,meh", "=critical", "bad="])
def test_bad_label_map_entry_exits_2(tmp_path, tiny_dir, capsys, bad):
    data = _write_jsonl(tmp_path / "d.jsonl", _rows())
    rc = _train(data, tmp_path / "m", tiny_dir, "--label-map", bad)
    err = capsys.readouterr().err
    assert rc == 2
    assert "label map" in err and "framing train: error" in err
    assert not (tmp_path / "m").exists()


def test_unknown_label_exits_2_naming_the_row(tmp_path, tiny_dir, capsys):
    rows = _rows()
    rows[6]["label"] = "sarcastic"
    data = _write_jsonl(tmp_path / "d.jsonl", rows)
    rc = _train(data, tmp_path / "m", tiny_dir)
    err = capsys.readouterr().err
    assert rc == 2
    assert "row 7" in err and "sarcastic" in err and str(data) in err
    assert not (tmp_path / "m" / "config.json").exists()


def test_train_input_errors_exit_2(tmp_path, tiny_dir, capsys):
    rows = [{"body": r["text"], "label": r["label"]} for r in _rows()]
    data = _write_jsonl(tmp_path / "d.jsonl", rows)
    rc = _train(data, tmp_path / "m", tiny_dir)  # no "text" column
    err = capsys.readouterr().err
    assert rc == 2 and "text" in err
    rc = _train(tmp_path / "missing.jsonl", tmp_path / "m", tiny_dir)
    assert rc == 2 and "missing.jsonl" in capsys.readouterr().err
    # branch design with as many layers as the encoder has
    data = _write_jsonl(tmp_path / "ok.jsonl", _rows())
    rc = main(["train", "tone", "--data", str(data), "--out", str(tmp_path / "b"), "--model",
               str(tiny_dir), "--design", "branch", "--layers", "2"])
    assert rc == 2 and "n_layers" in capsys.readouterr().err


def test_train_with_separate_dev_file(tmp_path, tiny_dir, capsys):
    rows = _rows()
    train = _write_jsonl(tmp_path / "train.jsonl", rows[::2] + rows[1::4])
    dev = _write_jsonl(tmp_path / "dev.jsonl", rows[3::4])
    rc = _train(train, tmp_path / "m", tiny_dir, "--dev", str(dev), "--seed", "3")
    err = capsys.readouterr().err
    assert rc == 0, err
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["training"]["train_n"] == len(rows[::2] + rows[1::4])
    assert cfg["training"]["dev_n"] == len(rows[3::4])
    assert cfg["training"]["seed"] == 3
