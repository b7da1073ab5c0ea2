"""``backend="auto"``: the policy in one place and both of its resolutions, the backend
recorded in the configuration and the scores manifest (a resume never mixes backends),
the ``--backend`` option, and damaged cached graphs.

Analyzers here run a tiny BERT with a one-layer tone branch on it; ``auto_onnx_digests``
is patched to count that branch as a shipped default-tier model where a test needs
``"auto"`` to be able to pick ONNX.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import framing
from framing.cli import main
from framing.cli.app import build_parser
from framing.cli.common import BACKEND_CHOICES
from framing.errors import ModelLoadError, ResumeError
from framing.heads.tone.model import weights_digest
from framing.io.corpus import score_corpus
from framing.pipeline import onnx_backend
from framing.pipeline.onnx_backend import record_path, resolve_backend
from tiny_models import tiny_tone_branch

ARTICLES = ["The union said talks had collapsed and the strike would go on. Patients waited "
            "at home.", "Both sides praised the deal, which brings work and water to the region."]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir, tmp_path_factory) -> SimpleNamespace:
    branch = tiny_tone_branch(framing.Encoder(tiny_model_dir),
                              tmp_path_factory.mktemp("tiny-branch"))
    return SimpleNamespace(model=str(tiny_model_dir), tone=str(branch),
                           digest=weights_digest(branch / "model.safetensors"))


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty graph cache of this test's own."""
    monkeypatch.setenv("FRAMING_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "onnx"


@pytest.fixture
def auto_may_use_tiny(monkeypatch, tiny) -> None:
    """Count the tiny branch among the tone models ``"auto"`` may run as ONNX, and the
    policy as ONNX-preferring, whatever the shipped line says."""
    monkeypatch.setattr(onnx_backend, "auto_onnx_digests", lambda: frozenset({tiny.digest}))
    monkeypatch.setattr(onnx_backend, "AUTO_BACKEND", "onnx")


def _analyzer(tiny, **kwargs) -> framing.Analyzer:
    return framing.Analyzer(tiny.model, tone=tiny.tone, cues=False, frames=None, **kwargs)


def _needs_onnx():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")


# -- the resolution, as a function ---------------------------------------------------------
def test_explicit_backends_are_kept_whatever_the_policy(monkeypatch):
    for policy in ("onnx", "torch"):
        monkeypatch.setattr(onnx_backend, "AUTO_BACKEND", policy)
        assert resolve_backend("torch", tone=None) == "torch"
        assert resolve_backend("onnx", tone=None) == "onnx"
    with pytest.raises(ValueError, match="backend must be one of auto, torch, onnx"):
        resolve_backend("tensorrt")


def test_auto_resolves_to_onnx_only_where_everything_allows_it(monkeypatch):
    tone = SimpleNamespace(digest="d1")
    monkeypatch.setattr(onnx_backend, "auto_onnx_digests", lambda: frozenset({"d1"}))
    monkeypatch.setattr(onnx_backend, "onnx_installed", lambda: True)
    monkeypatch.setattr(onnx_backend, "AUTO_BACKEND", "onnx")
    assert resolve_backend("auto", tone=tone, graph_serves=True) == "onnx"
    # each condition alone turns it back to torch
    assert resolve_backend("auto", tone=tone, graph_serves=False) == "torch"
    assert resolve_backend("auto", tone=tone, graph_serves=True, device="cuda") == "torch"
    assert resolve_backend("auto", tone=SimpleNamespace(digest="d2"), graph_serves=True) == "torch"
    assert resolve_backend("auto", tone=None, graph_serves=True) == "torch"
    monkeypatch.setattr(onnx_backend, "onnx_installed", lambda: False)
    assert resolve_backend("auto", tone=tone, graph_serves=True) == "torch"
    monkeypatch.setattr(onnx_backend, "onnx_installed", lambda: True)
    monkeypatch.setattr(onnx_backend, "AUTO_BACKEND", "torch")  # the policy's one line
    assert resolve_backend("auto", tone=tone, graph_serves=True) == "torch"


def test_auto_may_use_onnx_for_the_shipped_default_tone_model_only():
    from framing.core.resources import TIERS, shipped_model_path

    digests = onnx_backend.auto_onnx_digests()
    default = shipped_model_path(TIERS["default"].tone) / "model.safetensors"
    if not default.is_file():
        pytest.skip("the shipped default tone model is not in this checkout")
    assert weights_digest(default) in digests
    accurate = shipped_model_path(TIERS["accurate"].tone) / "model.safetensors"
    if accurate.is_file():
        assert weights_digest(accurate) not in digests


# -- the resolution, in the Analyzer --------------------------------------------------------
def test_auto_picks_onnx_and_records_it(tiny, cache, auto_may_use_tiny):
    _needs_onnx()
    an = _analyzer(tiny)
    assert an.backend_requested == "auto" and an.backend == "onnx"
    assert an.config()["backend"] == "onnx"
    assert an.onnx_graph is not None and an.onnx_graph.parent == cache
    torch_an = _analyzer(tiny, backend="torch")  # an explicit torch is always torch
    assert torch_an.backend == "torch" and torch_an.onnx_graph is None
    assert torch_an.config()["backend"] == "torch"
    a, b = an.score_many(ARTICLES), torch_an.score_many(ARTICLES)
    for x, y in zip(a, b):  # the same analyzer up to int8 rounding
        assert x.tone == pytest.approx(y.tone, abs=0.15)
        assert [s.text for s in x.sentences] == [s.text for s in y.sentences]


def test_auto_picks_torch_under_a_torch_policy(tiny, cache, auto_may_use_tiny, monkeypatch):
    monkeypatch.setattr(onnx_backend, "AUTO_BACKEND", "torch")
    an = _analyzer(tiny)
    assert an.backend == "torch" and an.config()["backend"] == "torch"
    assert an.onnx_graph is None and not cache.exists()  # nothing exported
    assert an.encoder.loaded  # torch from the start: nothing deferred


def test_auto_picks_torch_without_onnxruntime(tiny, cache, auto_may_use_tiny, monkeypatch):
    monkeypatch.setattr(onnx_backend, "onnx_installed", lambda: False)
    an = _analyzer(tiny)
    assert an.backend == "torch" and not cache.exists()


def test_auto_picks_torch_for_analyzers_the_graph_does_not_serve(tiny, cache,
                                                                  auto_may_use_tiny):
    # few-shot cues read the final-layer embedding: the graph does not hold it
    an = framing.Analyzer(tiny.model, tone=tiny.tone, cues="few-shot", frames=None)
    assert an.backend == "torch"
    assert framing.Analyzer(tiny.model, tone="similarity", cues=False,
                            frames=None).backend == "torch"
    assert not cache.exists()


def test_auto_picks_torch_for_a_tone_model_that_is_not_shipped(tiny, cache):
    # without the patch the tiny branch is not a shipped default-tier model
    assert _analyzer(tiny).backend == "torch"


def test_explicit_onnx_still_refuses_a_baseline(tiny):
    with pytest.raises(ValueError, match="onnx"):
        framing.Analyzer(tiny.model, tone="similarity", cues=False, frames=None,
                         backend="onnx")
    with pytest.raises(ValueError, match="backend must be one of"):
        _analyzer(tiny, backend="tensorrt")


# -- the command line -------------------------------------------------------------------
def test_backend_option_matches_the_pipeline_choices():
    assert BACKEND_CHOICES == onnx_backend.BACKENDS
    parser = build_parser()
    assert parser.parse_args(["score", "in.jsonl", "-o", "out"]).backend == "auto"
    assert parser.parse_args(["score", "in.jsonl", "-o", "out", "--backend", "torch"]
                             ).backend == "torch"
    assert parser.parse_args(["eval", "x.jsonl", "--backend", "onnx"]).backend == "onnx"
    with pytest.raises(SystemExit):
        parser.parse_args(["score", "in.jsonl", "-o", "out", "--backend", "fast"])


def _corpus(path: Path, n: int = 6) -> Path:
    rows = [{"id": f"a{i}", "text": ARTICLES[i % 2] + f" Item {i}."} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_cli_records_the_backend_and_refuses_to_mix_them(tiny, cache, tmp_path, capsys):
    _needs_onnx()
    corpus, out = _corpus(tmp_path / "in.jsonl"), tmp_path / "scores"
    base = ["score", str(corpus), "-o", str(out), "--model", tiny.model, "--tone", tiny.tone,
            "--frames", "none", "--no-progress"]
    assert main(base + ["--backend", "onnx"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["analyzer"]["backend"] == "onnx"
    assert manifest["request"]["analyzer"]["backend"] == "onnx"
    capsys.readouterr()
    assert main(base + ["--backend", "torch"]) == 2
    err = capsys.readouterr().err
    assert "backend" in err and "'onnx' then, 'torch' now" in err


# -- resuming (the local engine) ----------------------------------------------------------
def test_a_torch_run_is_not_resumed_under_auto_resolving_to_onnx(tiny, cache, tmp_path,
                                                                 auto_may_use_tiny, monkeypatch):
    """The earlier run's backend wins over a changed resolution: the resume is refused
    with the difference named (the user reruns with backend="torch" to continue, or
    overwrites); a run that resolves as before resumes."""
    _needs_onnx()
    corpus, out = _corpus(tmp_path / "in.jsonl"), tmp_path / "scores"
    args = {"model": tiny.model, "tone": tiny.tone, "cues": False, "frames": None}
    score_corpus(corpus, out, analyzer={**args, "backend": "torch"}, progress=False)
    first = framing.read_scores(out)
    assert json.loads((out / "manifest.json").read_text())["analyzer"]["backend"] == "torch"
    with pytest.raises(ResumeError, match=r"analyzer\.backend: 'torch' then, 'onnx' now"):
        score_corpus(corpus, out, analyzer={**args, "backend": "auto"}, progress=False)
    # what is asked explicitly, or what auto resolves to under a torch policy, resumes
    score_corpus(corpus, out, analyzer={**args, "backend": "torch"}, progress=False)
    monkeypatch.setattr(onnx_backend, "AUTO_BACKEND", "torch")
    score_corpus(corpus, out, analyzer={**args, "backend": "auto"}, progress=False)
    again = framing.read_scores(out)
    assert list(again["id"]) == list(first["id"])
    np.testing.assert_allclose(again["tone"].to_numpy(float), first["tone"].to_numpy(float))
    assert json.loads((out / "manifest.json").read_text())["analyzer"]["backend"] == "torch"


# -- the cached graph ---------------------------------------------------------------------
def _outputs(an: framing.Analyzer) -> list:
    return [(r.tone, r.tone_probabilities, [s.tone for s in r.sentences])
            for r in an.score_many(ARTICLES, targets=[None, "deal"])]


def _same(a, b, tol: float = 1e-6) -> None:
    for x, y in zip(a, b):
        assert x[0] == pytest.approx(y[0], abs=tol)
        assert x[1] == pytest.approx(y[1], abs=tol)
        assert x[2] == pytest.approx(y[2], abs=tol)


def test_a_damaged_cached_graph_is_detected_and_exported_again(tiny, cache):
    _needs_onnx()
    first = _analyzer(tiny, backend="onnx")
    graph, want = first.onnx_graph, _outputs(first)
    assert record_path(graph).is_file()
    record = json.loads(record_path(graph).read_text())
    assert record["graph_sha256"] == hashlib.sha256(graph.read_bytes()).hexdigest()
    # a flipped byte that may still parse: the sha256 in the record tells
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph.write_bytes(bytes(data))
    second = _analyzer(tiny, backend="onnx")
    assert hashlib.sha256(graph.read_bytes()).hexdigest() == \
        json.loads(record_path(graph).read_text())["graph_sha256"]
    assert graph.read_bytes() != bytes(data)
    _same(_outputs(second), want)


def test_a_graph_that_hashes_as_recorded_but_does_not_load_is_exported_again(tiny, cache):
    _needs_onnx()
    graph = _analyzer(tiny, backend="onnx").onnx_graph
    want = _outputs(_analyzer(tiny, backend="onnx"))
    junk = b"not an onnx graph"
    graph.write_bytes(junk)
    record = json.loads(record_path(graph).read_text())
    record["graph_sha256"] = hashlib.sha256(junk).hexdigest()
    record_path(graph).write_text(json.dumps(record))
    again = _analyzer(tiny, backend="onnx")
    assert graph.read_bytes() != junk
    _same(_outputs(again), want)


def test_a_graph_without_its_record_is_exported_again(tiny, cache):
    _needs_onnx()
    graph = _analyzer(tiny, backend="onnx").onnx_graph
    record_path(graph).unlink()
    _analyzer(tiny, backend="onnx")
    assert record_path(graph).is_file()


def test_a_graph_that_never_loads_is_a_clear_error(tiny, cache, monkeypatch):
    _needs_onnx()
    import onnxruntime

    def refuse(*args, **kwargs):
        raise RuntimeError("simulated: ONNX Runtime cannot read this graph")

    monkeypatch.setattr(onnxruntime, "InferenceSession", refuse)
    with pytest.raises(ModelLoadError, match="does not load"):
        _analyzer(tiny, backend="onnx")


# -- the shipped policy: the float32 graph; the int8 graph's batch independence ------------
def test_the_shipped_policy_is_the_float32_graph_with_torchs_scores(tiny, cache, monkeypatch):
    _needs_onnx()
    assert onnx_backend.AUTO_BACKEND == "onnx-fp32"  # the measured decision (README, Speed)
    monkeypatch.setattr(onnx_backend, "auto_onnx_digests", lambda: frozenset({tiny.digest}))
    an = _analyzer(tiny)
    assert an.backend == "onnx-fp32" and an.config()["backend"] == "onnx-fp32"
    assert "fp32" in an.onnx_graph.name
    torch_an = _analyzer(tiny, backend="torch")
    for x, y in zip(an.score_many(ARTICLES), torch_an.score_many(ARTICLES)):
        assert x.tone == pytest.approx(y.tone, abs=1e-5)  # float rounding only
        assert x.tone_label == y.tone_label
        for s, t in zip(x.sentences, y.sentences):
            assert s.tone == pytest.approx(t.tone, abs=1e-5)


def test_int8_scores_do_not_depend_on_the_batch(tiny, cache):
    _needs_onnx()
    an = _analyzer(tiny, backend="onnx")
    together = an.score_many(ARTICLES)
    for article, batched in zip(ARTICLES, together):
        alone = an.score(article)
        assert alone.tone == batched.tone  # exactly: each text runs alone through the graph
        assert [s.tone for s in alone.sentences] == [s.tone for s in batched.sentences]
