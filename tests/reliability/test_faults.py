"""Fault injection: damaged model files and catalogues, failing writes.

Already covered elsewhere, and not repeated here:

* SIGKILL at random moments, then resume == an uninterrupted run:
  ``tests/integration/test_corpus_resume.py::test_sigkill_at_random_moments_then_resume_equals_uninterrupted``
  (slow) and ``::test_sigkill_then_resume_with_the_tiny_model``;
* a second writer of one output refused, a dead writer's lock taken over:
  ``::test_a_second_writer_is_refused_and_a_dead_ones_lock_taken_over``,
  ``::test_a_second_writer_of_one_output_file_is_refused``, ``::test_a_stale_lock_file_is_taken_over``;
* disk full (ENOSPC) / permission denied on a shard, earlier shards intact and resumable:
  ``::test_disk_full_gives_a_clear_error_and_keeps_earlier_shards``,
  ``::test_permission_denied_on_a_shard_is_a_clear_error``, ``::test_unwritable_output_directory``.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import framing
from framing.text.catalogue import load_catalogue
from framing.cli import main
from framing.errors import CatalogueError, ModelLoadError, OutputWriteError

COMPONENTS = ["encoder", "tone-model", "hf-classifier", "cue-heads", "frame-heads"]


# -- building one small model directory of each kind ---------------------------------------
def build_model_dirs(root: Path, tiny_model_dir: Path) -> dict[str, Path]:
    import torch
    import transformers

    from framing.heads.cues.heads import CueHeads
    from framing.heads.frames.heads import FrameHeads
    from framing.heads.tone.model import branch_classes, save_tone_model

    dirs = {}
    enc = root / "encoder"
    shutil.copytree(tiny_model_dir, enc)
    dirs["encoder"] = enc

    _, branch = branch_classes()
    torch.manual_seed(0)
    dirs["tone-model"] = save_tone_model(
        root / "tone-model", branch(32, 2, 37, 1, 1e-12),
        {"layer": 1, "n_layers": 1, "hidden": 32, "heads": 2, "intermediate": 37,
         "name": "tiny-tone", "encoder": {}}, "# tiny tone model\n")

    clf = root / "hf-classifier"
    labels = ("negative", "neutral", "positive")
    tok = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
    config = transformers.BertConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=37, max_position_embeddings=128, id2label=dict(enumerate(labels)),
        label2id={lab: i for i, lab in enumerate(labels)})
    transformers.BertForSequenceClassification(config).save_pretrained(clf,
                                                                       safe_serialization=True)
    tok.save_pretrained(clf)
    dirs["hf-classifier"] = clf

    k, dim = 3, 32
    rng = np.random.default_rng(0)
    dirs["cue-heads"] = CueHeads(
        ids=["a", "b", "c"], W=rng.normal(size=(k, dim)), b=np.zeros(k), platt_a=np.ones(k),
        platt_c=np.zeros(k), thresholds=np.full(k, 0.5), name="tiny-cues",
    ).save(root / "cue-heads", "# card\n")
    dirs["frame-heads"] = FrameHeads(
        ids=["x", "y"], W=rng.normal(size=(2, 2 * dim)), b=np.zeros(2), platt_a=np.ones(2),
        platt_c=np.zeros(2), thresholds=np.full(2, 0.5), pooling="mean_max", names=["X", "Y"],
    ).save(root / "frame-heads", "# card\n")
    return dirs


def load(component: str, path: Path):
    """Load one model directory the way framing does; returns the loaded object."""
    if component == "encoder":
        return framing.Encoder(path)
    if component == "tone-model":
        from framing.heads.tone.model import load_tone_model

        return load_tone_model(path)
    if component == "hf-classifier":
        from framing.heads.tone.hf import HFToneClassifier

        return HFToneClassifier(path)
    if component == "cue-heads":
        from framing.heads.cues.heads import load_cue_heads

        return load_cue_heads(path)
    from framing.heads.frames.heads import load_frame_heads

    return load_frame_heads(path)


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory, tiny_model_dir) -> dict[str, Path]:
    return build_model_dirs(tmp_path_factory.mktemp("models"), tiny_model_dir)


@pytest.fixture
def damaged(model_dirs, tmp_path):
    """Copy a component's directory into ``tmp_path`` to damage it."""
    def copy(component: str) -> Path:
        dst = tmp_path / f"{component}-copy"
        shutil.copytree(model_dirs[component], dst)
        return dst
    return copy


@pytest.mark.parametrize("component", COMPONENTS)
def test_intact_model_dirs_load(model_dirs, component):
    assert load(component, model_dirs[component]) is not None


DAMAGES = {
    "truncated-half": lambda b: b[: len(b) // 2],
    "truncated-100-bytes": lambda b: b[:100],
    "truncated-header": lambda b: b[:5],
    "empty": lambda b: b"",
    "garbage": lambda b: os.urandom(len(b)),
    "header-length-lies": lambda b: (2**40).to_bytes(8, "little") + b[8:],
    "bit-flipped-header": lambda b: b[:8] + bytes([b[8] ^ 0xFF]) + b[9:],
}


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
@pytest.mark.parametrize("component", COMPONENTS)
def test_damaged_weights_are_a_clear_error_naming_the_file(damaged, component, damage):
    d = damaged(component)
    weights = d / "model.safetensors"
    weights.write_bytes(DAMAGES[damage](weights.read_bytes()))
    with pytest.raises(ModelLoadError) as info:
        load(component, d)
    msg = str(info.value)
    assert d.name in msg, msg
    assert "model.safetensors" in msg or "safetensors" in msg.lower(), msg


CONFIG_DAMAGES = {
    "not-json": "{not json",
    "empty": "",
    "a-list": '["a", "list"]',
    "binary": "\udcff\udcfe",
}


@pytest.mark.parametrize("damage", list(CONFIG_DAMAGES), ids=list(CONFIG_DAMAGES))
@pytest.mark.parametrize("component", COMPONENTS)
def test_damaged_config_is_a_clear_error_naming_the_directory(damaged, component, damage):
    d = damaged(component)
    (d / "config.json").write_bytes(CONFIG_DAMAGES[damage].encode("utf-8", "surrogateescape"))
    with pytest.raises(ModelLoadError) as info:
        load(component, d)
    assert d.name in str(info.value)


@pytest.mark.parametrize("component", COMPONENTS)
def test_missing_weights_file_is_a_clear_error(damaged, component):
    d = damaged(component)
    (d / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="safetensors") as info:
        load(component, d)
    assert d.name in str(info.value)


@pytest.mark.parametrize("component", ["encoder", "tone-model", "cue-heads", "frame-heads"])
def test_analyzer_passes_model_load_errors_through(damaged, tiny_model_dir, component):
    d = damaged(component)
    weights = d / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:64])
    kwargs = {"encoder": dict(model=d), "tone-model": dict(model=tiny_model_dir, tone=str(d)),
              "cue-heads": dict(model=tiny_model_dir, tone=None, cue_heads=d),
              "frame-heads": dict(model=tiny_model_dir, tone=None, cues=False, frames=[str(d)])}
    with pytest.raises(ModelLoadError) as info:
        framing.Analyzer(**kwargs[component])
    assert d.name in str(info.value)


def test_cli_damaged_encoder_exit_2(damaged, tmp_path, capsys):
    d = damaged("encoder")
    (d / "model.safetensors").write_bytes(b"\x00" * 10)
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "A sentence."}\n')
    assert main(["score", str(src), "-o", str(tmp_path / "o.parquet"), "--model", str(d),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("framing score: error: ") and d.name in err and "Traceback" not in err


# -- catalogues ----------------------------------------------------------------------------
CATALOGUE_DAMAGES = {
    "syntax-error": b"name: x\ncues: [unclosed\n",
    "tab-indentation": b"name: x\ncues:\n\t- id: a\n",
    "binary-junk": bytes(range(256)) * 4,
    "not-utf8": "name: café\n".encode("latin-1"),
    "empty-file": b"",
    "truncated": b"name: x\ncues:\n  - id: a\n    name: A\n    descrip",
    "top-level-list": b"- a\n- b\n",
    "alias-bomb": (b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                   b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nname: bomb\ncues: [*c]\n"),
    "duplicate-cue-ids": (b"name: x\ncues:\n- {id: a, name: A, description: d, exemplars: [e]}\n"
                          b"- {id: a, name: A, description: d, exemplars: [e]}\n"),
    "bad-regex": (b"name: x\ncues:\n- {id: a, name: A, description: d, exemplars: [e], "
                  b"patterns: ['(unclosed']}\n"),
}


@pytest.mark.parametrize("damage", list(CATALOGUE_DAMAGES), ids=list(CATALOGUE_DAMAGES))
def test_corrupt_catalogue_is_a_one_line_error_naming_the_file(tmp_path, damage):
    path = tmp_path / "cat.yaml"
    path.write_bytes(CATALOGUE_DAMAGES[damage])
    with pytest.raises(CatalogueError) as info:
        load_catalogue(path)
    msg = str(info.value)
    assert msg.startswith(str(path)) and "\n" not in msg, msg


def test_corrupt_catalogue_copy_in_cue_heads_dir(model_dirs, tmp_path, tiny_model_dir):
    d = tmp_path / "heads"
    shutil.copytree(model_dirs["cue-heads"], d)
    (d / "catalogue.yaml").write_bytes(b"name: x\ncues: [unclosed\n")
    with pytest.raises(CatalogueError, match="catalogue.yaml"):
        framing.Analyzer(tiny_model_dir, tone=None, cue_heads=d)


def test_catalogue_directory_and_unreadable(tmp_path):
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path)


# -- failing writes (single output file; shards are covered in test_corpus_resume.py) -----
def _src(tmp_path, n=12) -> Path:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": f"Article number {i} is here."}) + "\n"
                           for i in range(n)))
    return src


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_disk_full_on_a_single_output_file(tmp_path, tiny_analyzer, monkeypatch, fmt):
    import framing.io.corpus as corpus

    out = tmp_path / f"o.{fmt}"
    out.write_bytes(b"an earlier result")  # must survive a failed run untouched
    real, calls = corpus._Writer.write, []

    def full(self, rows):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, rows)

    monkeypatch.setattr(corpus._Writer, "write", full)
    with pytest.raises(OutputWriteError) as info:
        framing.score_corpus(_src(tmp_path), out, analyzer=tiny_analyzer, chunk_size=4,
                             progress=False)
    assert str(out) in str(info.value) and os.strerror(errno.ENOSPC) in str(info.value)
    assert out.read_bytes() == b"an earlier result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", f"o.{fmt}"]  # no leftovers
    monkeypatch.setattr(corpus._Writer, "write", real)
    framing.score_corpus(_src(tmp_path), out, analyzer=tiny_analyzer, progress=False)
    assert len(framing.read_scores(out)) == 12


def test_disk_full_when_moving_the_file_into_place(tmp_path, tiny_analyzer, monkeypatch):
    import framing.io.corpus as corpus

    def no_space(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(corpus.os, "replace", no_space)
    with pytest.raises(OutputWriteError, match="o.parquet"):
        framing.score_corpus(_src(tmp_path), tmp_path / "o.parquet", analyzer=tiny_analyzer,
                             progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_disk_full_on_the_manifest(tmp_path, tiny_analyzer, monkeypatch):
    import framing.io.shards as shards

    real, calls = shards.write_bytes_atomic, []

    def full(path, data):
        calls.append(path)
        if len(calls) == 2:  # the manifest after the first complete shard
            try:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            except OSError as exc:
                raise OutputWriteError(f"Cannot write {path}: {exc.strerror}") from exc
        return real(path, data)

    monkeypatch.setattr(shards, "write_bytes_atomic", full)
    out = tmp_path / "scores"
    with pytest.raises(OutputWriteError, match="manifest.json"):
        framing.score_corpus(_src(tmp_path), out, analyzer=tiny_analyzer, shard_size=5,
                             chunk_size=5, progress=False)
    assert (out / "part-00000.parquet").is_file()
    monkeypatch.setattr(shards, "write_bytes_atomic", real)
    summary = framing.score_corpus(_src(tmp_path), out, analyzer=tiny_analyzer, shard_size=5,
                                   chunk_size=5, progress=False)
    assert summary.skipped == 5 and len(framing.read_scores(out)) == 12


def test_output_under_a_file_is_a_clear_error(tmp_path, tiny_analyzer, capsys, tiny_model_dir):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputWriteError, match="file"):
        framing.score_corpus(_src(tmp_path), blocker / "o.parquet", analyzer=tiny_analyzer,
                             progress=False)
    with pytest.raises(OutputWriteError, match="file"):
        framing.score_corpus(_src(tmp_path), blocker / "scores", analyzer=tiny_analyzer,
                             progress=False)
    assert main(["score", str(_src(tmp_path)), "-o", str(blocker / "o.parquet"), "--model",
                 str(tiny_model_dir), "--tone", "similarity", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("framing score: error: ") and err.count("\n") == 1, err


def test_cli_disk_full_exit_2(tmp_path, tiny_model_dir, monkeypatch, capsys):
    import framing.io.corpus as corpus

    def full(self, rows):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(corpus._Writer, "write", full)
    assert main(["score", str(_src(tmp_path)), "-o", str(tmp_path / "o.jsonl"), "--model",
                 str(tiny_model_dir), "--tone", "similarity", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("framing score: error: ") and "o.jsonl" in err
    assert os.strerror(errno.ENOSPC) in err and "Traceback" not in err


def test_corrupt_shard_in_a_scores_directory(tmp_path, tiny_analyzer):
    out = tmp_path / "scores"
    framing.score_corpus(_src(tmp_path), out, analyzer=tiny_analyzer, shard_size=5,
                         progress=False)
    (out / "part-00001.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(framing.errors.FramingError, match="scores"):
        framing.compare_outlets(out, n_boot=20, n_permutations=9)
