"""Where training and scoring run: ``device=`` for the encoder, the analyzer, trained tone
branches and ``train_tone`` (and ``--device`` on ``framing train tone``).

This machine has no GPU, so most tests check the choice of device and the refusals, with
``torch.cuda`` patched where a test needs a GPU to seem present; the tests at the end run
only where torch sees a CUDA GPU and compare GPU training and scoring with the CPU's.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import framing
from tiny_models import die_after_epoch, with_working_tokenizer
from framing.cli import main
from framing.encoding.encoder import resolve_device
from framing.heads.tone.model import load_tone_model
from framing.training.tone import ToneExample, split_examples, train_tone

HAS_CUDA = torch.cuda.is_available()
no_gpu_here = pytest.mark.skipif(HAS_CUDA, reason="torch sees a GPU on this machine")
needs_gpu = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")

# sentences written for these tests, in the tiny tokenizer's vocabulary
_TEMPLATES = {
    0: ["the people say {n} is no good", "{n} never did any work for them"],
    1: ["{n} came back on the third day", "{n} said the number was two"],
    2: ["all the people say {n} is great", "{n} did good work for the people"],
}
_NAMES = ["Anna", "Boris", "Carla", "Dmitri", "Elena"]
KW = dict(design="branch", n_layers=1, epochs=2, lr=1e-3, head_lr=1e-2, batch_size=8,
          seed=5, progress=False)


def _examples() -> list[ToneExample]:
    out = []
    for label, templates in _TEMPLATES.items():
        for t in templates:
            for name in _NAMES:
                text = t.format(n=name)
                i = text.index(name)
                span = (i, i + len(name)) if len(out) % 2 else None
                out.append(ToneExample(text, label, span, group=f"g{len(out)}"))
    return out


@pytest.fixture(scope="module")
def tiny_dir(tiny_model_dir, tmp_path_factory):
    return with_working_tokenizer(tiny_model_dir, tmp_path_factory.mktemp("tiny-dev"))


@pytest.fixture(scope="module")
def encoder(tiny_dir) -> framing.Encoder:
    return framing.Encoder(tiny_dir)


@pytest.fixture(scope="module")
def split():
    return split_examples(_examples(), 0.3, seed=2)


@pytest.fixture(scope="module")
def cpu_run(split, encoder):
    train, dev = split
    return train_tone(train, dev, encoder, **KW)


def _weights(result) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in result.model.module.state_dict().items()}


def _no_cuda(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


# -- choosing the device --------------------------------------------------------------
def test_cpu_and_none_are_the_cpu():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device(None) == "cpu"


def test_auto_takes_a_gpu_only_when_torch_sees_one(monkeypatch):
    _no_cuda(monkeypatch)
    assert resolve_device("auto") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"


def test_a_gpu_that_is_not_there_is_refused_with_the_way_out(monkeypatch):
    _no_cuda(monkeypatch)
    with pytest.raises(ValueError, match="no CUDA GPU") as info:
        resolve_device("cuda")
    assert "device='cpu'" in str(info.value) and "'auto'" in str(info.value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(ValueError, match="2 CUDA GPU"):
        resolve_device("cuda:2")


@pytest.mark.parametrize("name", ["gpu", "cuda:x", ""])
def test_names_torch_does_not_know_are_refused(name):
    with pytest.raises(ValueError, match="not a device torch knows"):
        resolve_device(name)


def test_devices_framing_does_not_run_on_are_refused():
    with pytest.raises(ValueError, match="framing runs on"):
        resolve_device("meta")


@no_gpu_here
def test_encoder_and_analyzer_refuse_a_missing_gpu_at_construction(tiny_dir):
    with pytest.raises(ValueError, match="no CUDA GPU"):
        framing.Encoder(tiny_dir, device="cuda")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        framing.Analyzer(model=tiny_dir, cues=False, frames=None, device="cuda")
    enc = framing.Encoder(tiny_dir, device="auto")
    assert enc.device == "cpu"
    assert enc.encode(["the people say Anna is great"]).shape == (1, enc.dim)


# -- trained branches -----------------------------------------------------------------
def test_a_trained_branch_knows_its_device_and_a_lazy_one_remembers_it(cpu_run, tmp_path):
    model = cpu_run.model
    assert model.device == "cpu"
    assert model.to("auto") is model and model.device == ("cuda" if HAS_CUDA else "cpu")
    model.to("cpu")
    path = cpu_run.save(tmp_path / "m")
    lazy = load_tone_model(path, lazy=True)
    lazy.to("cpu")
    assert not lazy.loaded and lazy.device == "cpu"
    assert next(lazy.module.parameters()).device.type == "cpu"
    if not HAS_CUDA:
        with pytest.raises(ValueError, match="no CUDA GPU"):
            lazy.to("cuda")
        assert lazy.device == "cpu"  # a refused move leaves it where it was


def test_scores_are_the_same_after_a_move_to_the_cpu(cpu_run, tiny_dir, tmp_path):
    path = cpu_run.save(tmp_path / "m")
    texts = ["all the people say Anna is great", "Boris never did any work for them"]
    a = framing.Analyzer(model=tiny_dir, tone=str(path), cues=False, frames=None,
                         backend="torch")
    b = framing.Analyzer(model=tiny_dir, tone=str(path), cues=False, frames=None,
                         backend="torch", device="auto" if not HAS_CUDA else "cpu")
    ra, rb = a.score_many(texts), b.score_many(texts)
    assert [r.tone for r in ra] == pytest.approx([r.tone for r in rb], abs=1e-6)


# -- training ---------------------------------------------------------------------------
@no_gpu_here
def test_training_on_a_missing_gpu_is_refused_before_any_encoding(split, encoder,
                                                                   monkeypatch):
    calls = []
    real = encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda *a, **k: calls.append(1) or real(*a, **k))
    train, dev = split
    with pytest.raises(ValueError, match="no CUDA GPU"):
        train_tone(train, dev, encoder, **{**KW, "device": "cuda"})
    assert calls == []


def test_auto_on_the_cpu_trains_what_cpu_trains_and_says_where(split, encoder, cpu_run,
                                                              monkeypatch):
    _no_cuda(monkeypatch)
    train, dev = split
    auto = train_tone(train, dev, encoder, **{**KW, "device": "auto"})
    a, b = _weights(cpu_run), _weights(auto)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert auto.config["training"]["device"] == "cpu"
    assert cpu_run.config["training"]["device"] == "cpu"
    assert next(auto.model.module.parameters()).device.type == "cpu"  # saved from the CPU


def test_a_checkpoint_resumes_whatever_device_the_resumed_run_names(split, encoder, cpu_run,
                                                                    tmp_path, monkeypatch):
    _no_cuda(monkeypatch)
    train, dev = split
    ckpt = tmp_path / "ckpt"
    with monkeypatch.context() as m:
        die_after_epoch(m)
        with pytest.raises(KeyboardInterrupt):
            train_tone(train, dev, encoder, checkpoint=ckpt, **KW)
    resumed = train_tone(train, dev, encoder, checkpoint=ckpt, resume=True,
                         **{**KW, "device": "auto"})
    a, b = _weights(cpu_run), _weights(resumed)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert resumed.history == cpu_run.history


@no_gpu_here
def test_the_cli_reports_a_missing_gpu_as_a_usage_error(tmp_path, tiny_dir, capsys):
    rows = [{"text": e.text, "label": ["critical", "neutral", "promotional"][e.label]}
            for e in _examples()]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    rc = main(["train", "tone", "--data", str(data), "--out", str(tmp_path / "m"), "--model",
               str(tiny_dir), "--design", "frozen", "--device", "cuda"])
    assert rc == 2 and "no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
    rc = main(["train", "tone", "--data", str(data), "--out", str(tmp_path / "m"), "--model",
               str(tiny_dir), "--design", "frozen", "--device", "auto"])
    assert rc == 0
    assert json.loads((tmp_path / "m" / "config.json").read_text())["training"]["device"] == "cpu"


@no_gpu_here
def test_scoring_on_a_missing_gpu_is_a_usage_error_that_writes_nothing(tmp_path, tiny_dir,
                                                                      capsys):
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps({"text": "the people say Anna is great"}) + "\n",
                    encoding="utf-8")
    rc = main(["score", str(data), "-o", str(tmp_path / "out"), "--model", str(tiny_dir),
               "--tone", "similarity", "--no-progress", "--device", "cuda"])
    assert rc == 2 and "no CUDA GPU" in capsys.readouterr().err
    out = tmp_path / "out"
    assert not out.exists() or not any(out.rglob("*"))  # no shard, no manifest
    rc = main(["score", str(data), "-o", str(out), "--model", str(tiny_dir), "--tone",
               "similarity", "--no-progress", "--device", "auto"])
    assert rc == 0 and any(out.rglob("*.parquet"))


@no_gpu_here
def test_an_evaluation_on_a_missing_gpu_is_a_usage_error_before_the_suite_is_read(tmp_path,
                                                                                 capsys):
    from framing.evaluation.suite import run_suite

    with pytest.raises(ValueError, match="no CUDA GPU"):
        run_suite(tmp_path / "no-such-suite.yaml", device="cuda")
    rc = main(["eval", "--suite", str(tmp_path / "no-such-suite.yaml"), "--device", "cuda"])
    assert rc == 2 and "no CUDA GPU" in capsys.readouterr().err


# -- on a GPU ---------------------------------------------------------------------------
@needs_gpu
def test_gpu_training_learns_what_cpu_training_learns(split, tiny_dir, cpu_run):
    train, dev = split
    gpu = train_tone(train, dev, framing.Encoder(tiny_dir, device="cuda"),
                     **{**KW, "device": "cuda"})
    assert gpu.config["training"]["device"] == "cuda"
    assert next(gpu.model.module.parameters()).device.type == "cpu"
    a, b = _weights(cpu_run), _weights(gpu)
    assert all(np.allclose(a[k], b[k], atol=1e-2) for k in a)


@needs_gpu
def test_a_gpu_analyzer_runs_its_branches_on_the_gpu_and_scores_as_the_cpu(cpu_run, tiny_dir,
                                                                          tmp_path):
    path = cpu_run.save(tmp_path / "m")
    texts = ["all the people say Anna is great", "Boris never did any work for them"]
    cpu = framing.Analyzer(model=tiny_dir, tone=str(path), cues=False, frames=None,
                           backend="torch")
    gpu = framing.Analyzer(model=tiny_dir, tone=str(path), cues=False, frames=None,
                           device="cuda")
    assert gpu.backend == "torch" and gpu.tone_scorer.device == "cuda"
    assert next(gpu.tone_scorer.module.parameters()).device.type == "cuda"
    ra, rb = cpu.score_many(texts), gpu.score_many(texts)
    assert [r.tone for r in ra] == pytest.approx([r.tone for r in rb], abs=1e-3)
