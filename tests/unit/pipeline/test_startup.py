"""The quick start: ``import framing`` imports neither torch nor transformers, and on a
cached ONNX graph ``Analyzer()`` + ``score()`` never do — tokenising with the tokenizers
library, reading the encoder fingerprint from the weights file and the tone model's
config without building its torch module — with the same outputs as the ONNX backend
behind a torch-loaded encoder.

The fresh-process checks run a new interpreter (``sys.modules`` of this one holds torch
already).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import framing
from framing.encoding.encoder import FastTokenizer
from framing.encoding.fingerprints import encoder_fingerprint
from framing.errors import ModelLoadError
from framing.heads.cues.heads import CueHeads
from framing.heads.frames.heads import FrameHeads
from framing.heads.tone.model import load_tone_model
from framing.pipeline.onnx_backend import record_path, tokenizers_agree
from framing.text.catalogue import load_catalogue
from tiny_models import tiny_tone_branch

ARTICLES = [
    "The union said talks had collapsed and the strike would go on. Hospital managers said "
    "the pay offer was final. Patients waited at home.",
    "Both sides praised the deal, which brings work and water to the region. Critics said "
    "the union was left out.",
    "",
]
TARGETS = [None, "union", None]
PROBES = ["Hello, world!", "Café naïve résumé — “quotes”", "中文 and emoji 😀 ok",
          "  spaced   out\ttabs\n", "", " ".join(["word"] * 400), "U.S.-China 3.5% $10bn"]


def _fresh(code: str, tmp_path: Path, env: dict | None = None, timeout: int = 600) -> dict:
    """Run ``code`` in a new interpreter; return the JSON its last stdout line holds."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _digest(results) -> list:
    """What must not change between the two ONNX paths: probabilities and evidence."""
    return [{"tone": r.tone, "label": r.tone_label, "probs": r.tone_probabilities,
             "flags": r.flags,
             "sentences": [(s.start, s.end, s.tone, s.target_tone, s.cues) for s in r.sentences],
             "cues": {c: (v.probability, v.present, [(e.sentence, e.start, e.end, e.probability,
                                                      [(sp.start, sp.end) for sp in e.spans])
                                                     for e in v.evidence])
                      for c, v in r.cues.items()},
             "promotional": [(e.sentence, e.tone) for e in r.most_promotional],
             "critical": [(e.sentence, e.tone) for e in r.most_critical],
             "frames": {s: {f: (v.probability, v.present, [e.sentence for e in v.evidence])
                            for f, v in fr.items()} for s, fr in r.frames.items()}}
            for r in results]


def _close(a, b, tol: float = 1e-5, where: str = "") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _close(a[k], b[k], tol, f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, tol, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert abs(a - b) <= tol, (where, a, b)
    else:
        assert a == b, (where, a, b)


def test_import_framing_imports_neither_torch_nor_transformers(tmp_path):
    out = _fresh("import json, sys, framing\n"
                 "print(json.dumps({m: m in sys.modules for m in ('torch', 'transformers')}))",
                 tmp_path)
    assert out == {"torch": False, "transformers": False}


# -- the tiny model: its whole pipeline on a tone branch, through a cached graph -----------
@pytest.fixture(scope="module")
def tiny(tiny_model_dir, tmp_path_factory) -> SimpleNamespace:
    """A tiny BERT with a one-layer tone branch, cue heads and frame heads on the branch's
    states, all saved as directories (a fresh process loads them from there)."""
    enc = framing.Encoder(tiny_model_dir)
    root = tmp_path_factory.mktemp("tiny-startup")
    fp = encoder_fingerprint(enc)
    branch = tiny_tone_branch(enc, root / "tone", seed=5)
    digest = load_tone_model(branch).digest
    cat = load_catalogue(None)
    rng = np.random.default_rng(1)
    k, d = len(cat.ids), enc.dim
    feature_model = {"name": "tiny-branch", "digest": digest}
    # biases high enough that some cues pass their threshold: evidence gets compared too
    CueHeads(list(cat.ids), rng.normal(0, 3, (k, d)), rng.normal(1.0, 0.5, k), np.ones(k),
             np.zeros(k), np.full(k, 0.5), catalogue_sha256=cat.sha256, encoder=fp,
             name="tiny-cues", feature_source="tone-branch",
             feature_model=feature_model).save(root / "cues", "# tiny cue heads\n")
    FrameHeads(["alpha", "beta"], rng.normal(0, 3, (2, 2 * d)), rng.normal(0, 0.5, 2),
               np.ones(2), np.zeros(2), np.array([0.4, 0.6]), pooling="mean_top3",
               names=["Alpha", "Beta"], encoder=fp, name="tiny-frames",
               feature_source="tone-branch",
               feature_model=feature_model).save(root / "frames", "# tiny frame heads\n")
    kwargs = {"model": str(tiny_model_dir), "tone": str(branch), "cue_heads": str(root / "cues"),
              "frames": [str(root / "frames")]}
    return SimpleNamespace(kwargs=kwargs, digest=digest, root=root, model_dir=tiny_model_dir)


_CHILD = r"""
import json, sys
import framing
from framing.pipeline import onnx_backend
kwargs, backend, digest = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
if backend == "auto":  # count the tiny branch as a shipped default-tier model
    onnx_backend.auto_onnx_digests = lambda: frozenset({digest})
    onnx_backend.AUTO_BACKEND = "onnx"
an = framing.Analyzer(backend=backend, **kwargs)
articles, targets = json.loads(sys.argv[4]), json.loads(sys.argv[5])
rs = an.score_many(articles, targets=targets)
out = [{"tone": r.tone, "label": r.tone_label, "probs": r.tone_probabilities, "flags": r.flags,
        "sentences": [(s.start, s.end, s.tone, s.target_tone, s.cues) for s in r.sentences],
        "cues": {c: (v.probability, v.present, [(e.sentence, e.start, e.end, e.probability,
                                                 [(sp.start, sp.end) for sp in e.spans])
                                                for e in v.evidence]) for c, v in r.cues.items()},
        "promotional": [(e.sentence, e.tone) for e in r.most_promotional],
        "critical": [(e.sentence, e.tone) for e in r.most_critical],
        "frames": {s: {f: (v.probability, v.present, [e.sentence for e in v.evidence])
                       for f, v in fr.items()} for s, fr in r.frames.items()}} for r in rs]
print(json.dumps({"backend": an.backend, "encoder_loaded": an.encoder.loaded,
                  "tone_loaded": an.tone_scorer.loaded, "results": out,
                  "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}))
"""


@pytest.mark.optional
@pytest.mark.parametrize("backend", ["onnx", "auto"])
def test_a_cached_graph_scores_without_torch_and_as_before(tiny, tmp_path, monkeypatch,
                                                           backend):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    cache = tmp_path / "cache"
    monkeypatch.setenv("FRAMING_CACHE", str(cache))
    # the reference: the ONNX backend behind a torch-loaded encoder (which exports the graph)
    ref = framing.Analyzer(backend="onnx", encoder=framing.Encoder(tiny.kwargs["model"]),
                           **{k: v for k, v in tiny.kwargs.items() if k != "model"})
    assert ref.encoder.loaded and record_path(ref.onnx_graph).is_file()
    want = json.loads(json.dumps(_digest(ref.score_many(ARTICLES, targets=TARGETS))))
    assert any(ev for r in want for _, _, ev in r["cues"].values())  # evidence is compared
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(tiny.kwargs), backend,
                           tiny.digest, json.dumps(ARTICLES), json.dumps(TARGETS)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**os.environ, "FRAMING_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["backend"] == "onnx"
    assert out["torch"] is False and out["transformers"] is False
    assert out["encoder_loaded"] is False and out["tone_loaded"] is False
    _close(out["results"], want)


def test_a_record_saying_the_tokenizers_differ_makes_the_runner_use_transformers(
        tiny, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    monkeypatch.setenv("FRAMING_CACHE", str(tmp_path / "cache"))
    first = framing.Analyzer(backend="onnx", **tiny.kwargs)
    graph = first.onnx_graph
    record = json.loads(record_path(graph).read_text())
    assert record["tokenizers_agree"] is True
    lazy = framing.Analyzer(backend="onnx", **tiny.kwargs)
    assert not lazy.encoder.loaded  # the cached graph, the tokenizers library
    record["tokenizers_agree"] = False
    record_path(graph).write_text(json.dumps(record))
    careful = framing.Analyzer(backend="onnx", **tiny.kwargs)
    assert careful.encoder.loaded  # transformers' tokenizer, as the record asks
    assert careful.onnx_graph == graph
    _close(json.loads(json.dumps(_digest(careful.score_many(ARTICLES, targets=TARGETS)))),
           json.loads(json.dumps(_digest(lazy.score_many(ARTICLES, targets=TARGETS)))))


# -- the pieces of the torch-free path ----------------------------------------------------
def _same_tokens(light, heavy, max_length: int) -> None:
    kw = dict(truncation=True, max_length=max_length, padding=False,
              return_attention_mask=False, return_offsets_mapping=True)
    a, b = light(PROBES, **kw), heavy(PROBES, **kw)
    assert a["input_ids"] == [list(x) for x in b["input_ids"]]
    assert a["offset_mapping"] == [[tuple(o) for o in x] for x in b["offset_mapping"]]
    one = light(PROBES[1], add_special_tokens=False, return_offsets_mapping=True)
    want = heavy(PROBES[1], add_special_tokens=False, return_offsets_mapping=True)
    assert one["input_ids"] == list(want["input_ids"])
    assert one["offset_mapping"] == [tuple(o) for o in want["offset_mapping"]]
    assert light.pad_token_id == heavy.pad_token_id
    assert light.num_special_tokens_to_add(pair=False) == \
        heavy.num_special_tokens_to_add(pair=False)


def _check_lazy_encoder(model, eager: framing.Encoder) -> None:
    lazy = framing.Encoder(model, lazy=True)
    assert not lazy.loaded and isinstance(lazy.tokenizer, FastTokenizer)
    assert (lazy.dim, lazy.n_layers, lazy.max_length, lazy.content_tokens) == \
        (eager.dim, eager.n_layers, eager.max_length, eager.content_tokens)
    _same_tokens(lazy.tokenizer, eager.tokenizer, eager.max_length)
    assert lazy.token_offsets(PROBES[1]) == eager.token_offsets(PROBES[1])
    assert encoder_fingerprint(lazy) == encoder_fingerprint(eager)
    assert not lazy.loaded  # the fingerprint came from the weights file
    np.testing.assert_allclose(lazy.encode(PROBES[:3]), eager.encode(PROBES[:3]), atol=1e-6)
    assert lazy.loaded and lazy.light_fingerprint() is None
    assert encoder_fingerprint(lazy) == encoder_fingerprint(eager)
    assert tokenizers_agree(lazy)


def test_lazy_encoder_on_the_tiny_model(tiny_model_dir, tiny_encoder):
    _check_lazy_encoder(tiny_model_dir, tiny_encoder)


@pytest.mark.real_model
def test_lazy_encoder_on_the_default_model():
    _check_lazy_encoder(None, framing.Encoder())


def test_lazy_encoder_without_tokenizer_json_loads_eagerly(tiny_model_dir, tmp_path):
    import shutil

    copy = tmp_path / "no-tokenizer-json"
    shutil.copytree(tiny_model_dir, copy)
    (copy / "tokenizer.json").unlink()
    assert framing.Encoder(copy, lazy=True).loaded


def test_fast_tokenizer_refuses_a_broken_tokenizer_json(tiny_model_dir, tmp_path):
    import shutil

    copy = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, copy)
    (copy / "tokenizer.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="tokenizer.json"):
        FastTokenizer(copy)
    with pytest.raises(ValueError, match="pad"):
        FastTokenizer(tiny_model_dir)(["a"], padding=True)


def test_lazy_tone_model_builds_its_module_on_first_use(tiny):
    path = tiny.kwargs["tone"]
    eager, lazy = load_tone_model(path), load_tone_model(path, lazy=True)
    assert eager.loaded and not lazy.loaded
    assert lazy.digest == eager.digest and lazy.layer == eager.layer
    assert lazy.config == eager.config
    state = lazy.module.state_dict()
    assert lazy.loaded
    for k, v in eager.module.state_dict().items():
        assert np.array_equal(state[k].numpy(), v.numpy()), k


def test_lazy_tone_model_names_a_damaged_weights_file_at_load(tiny, tmp_path):
    import shutil

    copy = tmp_path / "tone"
    shutil.copytree(tiny.kwargs["tone"], copy)
    (copy / "model.safetensors").write_bytes(b"\x00" * 5)
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        load_tone_model(copy, lazy=True)
