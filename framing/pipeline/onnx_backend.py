"""The ONNX Runtime backend for the default pipeline's encoder pass, and which backend
``Analyzer(backend="auto")`` picks.

``Analyzer(backend="onnx")`` runs the part of the model the default pipeline uses — the
encoder's embeddings and its layers up to the highest layer a branch reads, then each
branch's own layers and head on its own layer (the tone branch, and a sentence or cue
branch beside it) — as one ONNX graph with int8 dynamically quantised weights
(:func:`onnxruntime.quantization.quantize_dynamic`). The graph returns the tone logits,
the branch's pooled sentence states and the pooled shared states the branch reads, which
is everything tone, cue heads and frame heads on branch features need.

The graph is exported from the loaded weights on first use (this needs torch, the
``onnx`` package and a few seconds) and cached in a user cache directory
(``$FRAMING_CACHE``, else the per-user cache such as ``~/.cache/framing``; never inside
the installed package), under a name keyed by the encoder fingerprint and the tone
model's weights digest, next to a small JSON record (the graph's sha256, and whether the
``tokenizers`` library alone tokenises as transformers does for this model). Later runs
load the cached graph without torch or transformers: the encoder reads its config and
``tokenizer.json`` only (``Encoder(lazy=True)``) and the tone model's torch module is never
built. A cached graph that does not match its record, or does not load, is exported again.
Needs the ``onnx`` and ``onnxruntime`` packages (``pip install framing[onnx]``).

**The default backend.** ``backend="auto"`` (the Analyzer's default) is resolved by
:func:`resolve_backend`, the one place the policy lives: with :data:`AUTO_BACKEND` =
``"onnx"`` it is ONNX where the backend is installed and serves the whole analyzer — the
shipped tone model of a tier in :data:`AUTO_ONNX_TIERS` (the default tier) with heads that
read only its branch, on the CPU — and torch everywhere else. Setting
``AUTO_BACKEND = "torch"`` makes ``"auto"`` mean torch everywhere. An explicit
``backend="torch"`` or ``"onnx"`` is always honoured.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from framing._version import __version__
from framing.core.resources import TIERS, file_sha256, shipped_model_path
from framing.encoding.encoder import FastTokenizer, available_cpus
from framing.encoding.fingerprints import encoder_fingerprint
from framing.encoding.mpnet import cache_root
from framing.errors import ModelLoadError
from framing.heads.tone.model import branch_classes, relative_buckets, weights_digest

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder
    from framing.heads.tone.model import TrainedTone

__all__ = ["OnnxBranchRunner", "onnx_cache_dir", "onnx_available", "onnx_installed",
           "resolve_backend", "auto_onnx_digests", "BACKENDS", "ONNX_BACKENDS", "AUTO_BACKEND",
           "AUTO_ONNX_TIERS", "GRAPH_VERSION", "onnx_threads", "record_path",
           "tokenizers_agree"]

GRAPH_VERSION = 2  # bump when the exported graph changes

#: the values ``Analyzer(backend=...)`` takes
BACKENDS = ("auto", "torch", "onnx", "onnx-fp32")
#: the backends that run the exported graph: ``"onnx"`` with int8 weights,
#: ``"onnx-fp32"`` with the float32 weights as they are (the same scores as torch, to
#: float rounding)
ONNX_BACKENDS = ("onnx", "onnx-fp32")

#: What ``backend="auto"`` becomes where the ONNX backend can serve the analyzer:
#: ``"onnx-fp32"``, ``"onnx"`` or ``"torch"``. The one line that sets the project's policy.
#: The rule for choosing an ONNX backend: no row of the evaluation suite
#: (``eval/onnx_vs_torch.py --candidate ...``) loses more than one point of macro-F1
#: against torch. The int8 graph failed it (real test cues −0.016, real target tone
#: −0.011); the float32 graph gives torch's scores to float rounding and passes.
AUTO_BACKEND = "onnx-fp32"

#: tiers whose shipped tone model ``backend="auto"`` may run as an ONNX graph (the tiers
#: whose ONNX quality was measured)
AUTO_ONNX_TIERS = ("default",)


def onnx_available() -> bool:
    """Whether ``onnx`` and ``onnxruntime`` import (this imports them)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def onnx_installed() -> bool:
    """Whether ``onnx`` and ``onnxruntime`` are installed, told without importing them
    (what ``backend="auto"`` asks: importing them costs time the cached path need not pay
    for ``onnx``)."""
    try:
        return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))
    except (ImportError, ValueError):  # pragma: no cover - a broken installation
        return False


@functools.lru_cache(maxsize=1)
def auto_onnx_digests() -> frozenset[str]:
    """Weights digests of the shipped tone models that ``backend="auto"`` may run as an
    ONNX graph (those of :data:`AUTO_ONNX_TIERS`; a tier whose model is missing adds
    none)."""
    out = set()
    for name in AUTO_ONNX_TIERS:
        weights = shipped_model_path(TIERS[name].tone) / "model.safetensors"
        if weights.is_file():
            out.add(weights_digest(weights))
    return frozenset(out)


def resolve_backend(requested: str, *, tone: Any = None, graph_serves: bool = False,
                    device: str = "cpu") -> str:
    """The backend an analyzer runs: ``"torch"``, ``"onnx"`` or ``"onnx-fp32"``.

    An explicit backend is returned as it is. ``"auto"`` is :data:`AUTO_BACKEND` when that
    is an ONNX backend, the ONNX packages are installed
    (:func:`onnx_installed`), the analyzer runs on the CPU, ``graph_serves`` (every head
    reads the tone branch the graph holds, none the final-layer embedding) and ``tone``
    is a shipped tone model whose weights digest is in :func:`auto_onnx_digests`;
    otherwise ``"torch"``. Raises :class:`ValueError` for anything but
    :data:`BACKENDS`."""
    if requested not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {requested!r}")
    if requested != "auto":
        return requested
    fits = graph_serves and device == "cpu" and \
        getattr(tone, "digest", None) in auto_onnx_digests()
    return AUTO_BACKEND if AUTO_BACKEND in ONNX_BACKENDS and fits and onnx_installed() \
        else "torch"


def onnx_cache_dir() -> Path:
    """Where exported graphs are kept: ``onnx/`` in framing's cache directory
    (``$FRAMING_CACHE``, else the per-user cache, e.g. ``~/.cache/framing``)."""
    return cache_root() / "onnx"


def _graph_module(encoder: "Encoder", tone: "TrainedTone", extra: Sequence["TrainedTone"] = ()):
    """A plain torch module: embeddings + encoder layers 1..k + the tone branch (reading
    layer k), and any ``extra`` branches (a cue branch, a sentence branch), each reading its
    own layer; k is the highest layer read. Of the extra branches only the rows of
    whole-sentence jobs are used.

    BERT-style encoders (absolute positions, token types) and MPNet (positions counted
    from the padding index, a relative-position attention bias shared by every layer)."""
    import torch

    BertStyleLayer, _ = branch_classes()
    nn = torch.nn
    cfg = encoder.model.config
    mpnet = getattr(cfg, "model_type", "") == "mpnet"
    if getattr(cfg, "position_embedding_type", "absolute") != "absolute" or \
            getattr(cfg, "hidden_act", "gelu") != "gelu":
        raise ModelLoadError("the ONNX backend supports BERT-style and MPNet encoders with "
                             "absolute positions and gelu activations")
    emb, layers = encoder.layer_modules()
    top = max([tone.layer] + [m.layer for m in extra])

    class Graph(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word = emb.word_embeddings
            self.position = emb.position_embeddings
            self.token_type = None if mpnet else emb.token_type_embeddings
            self.padding_idx = int(getattr(emb, "padding_idx", 0) or 0)
            self.ln = emb.LayerNorm
            self.layers = nn.ModuleList(
                [BertStyleLayer.from_bert_layer(layers[i], cfg) for i in range(top)])
            self.branch = tone.module
            self.extra = nn.ModuleList([m.module for m in extra])
            self.reads = [tone.layer] + [m.layer for m in extra]  # the layer each reads
            self.hidden = tone.config.hidden
            rel = getattr(encoder.model.encoder, "relative_attention_bias", None) if mpnet \
                else None
            self.rel = rel
            self.rel_buckets = int(rel.num_embeddings) if rel is not None else 0

        def embed(self, input_ids, attention_mask):
            t = input_ids.shape[1]
            if self.token_type is None:  # MPNet: real tokens count up from padding_idx + 1
                pos = torch.cumsum(attention_mask, dim=1) * attention_mask + self.padding_idx
                return self.ln(self.word(input_ids) + self.position(pos))
            pos = torch.arange(t, device=input_ids.device).unsqueeze(0)
            x = self.word(input_ids) + self.position(pos) + self.token_type(
                torch.zeros_like(input_ids))
            return self.ln(x)

        def forward(self, input_ids, attention_mask, target_mask):
            x = self.embed(input_ids, attention_mask)
            m = attention_mask.bool()
            bias = None
            if self.rel is not None:
                buckets = relative_buckets(input_ids.shape[1], self.rel_buckets, 128)
                bias = self.rel(buckets).permute(2, 0, 1).unsqueeze(0)
            states = {}
            for i, layer in enumerate(self.layers, start=1):
                x = layer(x, m, bias)
                if i in self.reads:
                    states[i] = x
            mf = attention_mask.to(x.dtype).unsqueeze(-1)

            def pooled(h):
                h = (h * mf).sum(1) / mf.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(h, p=2, dim=1)

            outs = []
            for b, k in zip([self.branch, *self.extra], self.reads):
                # only the extra branches' whole-sentence jobs are read (see run)
                f = b.features(states[k], m, target_mask)
                outs += [b.head(f), torch.nn.functional.normalize(f[:, :self.hidden], p=2, dim=1),
                         pooled(states[k])]
            return tuple(outs)

    return Graph().eval()


#: texts on which the tokenizers library must tokenise as transformers does before a
#: cached graph is run with it (accents, other scripts, emoji, odd spacing, a long text
#: that the window truncates)
_TOKENIZER_PROBES = (
    "Leaders hailed the win-win deal; critics called it a debt trap.",
    "Café naïve résumé: “quoted” ‘words’ — and dashes – too.",
    "中文字符, кириллица, العربية and emoji 😀 in one sentence.",
    "  spaced   out\ttabs\nand newlines  ",
    "U.S.-China trade rose 3.5% to $10bn in Q3 (2023), didn't it?",
    "",
    " ".join(["lengthy"] * 600),
)
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def _tokenizer_digest(encoder: "Encoder") -> str:
    """sha256 over the tokenizer files of the encoder's directory and its window."""
    h = hashlib.sha256(str(encoder.max_length).encode())
    for name in _TOKENIZER_FILES:
        f = Path(encoder.location) / name
        h.update(name.encode() + (file_sha256(f).encode() if f.is_file() else b"-"))
    return h.hexdigest()


def tokenizers_agree(encoder: "Encoder") -> bool:
    """Whether the ``tokenizers`` library alone (:class:`FastTokenizer` on the model's
    ``tokenizer.json``) gives the same ids and offsets as the encoder's loaded transformers
    tokenizer on a fixed set of probe texts (the weights are loaded if they are not)."""
    encoder.model  # noqa: B018  (a lazy encoder loads transformers' tokenizer with it)
    if not (Path(encoder.location) / "tokenizer.json").is_file():
        return False
    try:
        light = FastTokenizer(encoder.location)
    except ModelLoadError:
        return False
    kw = dict(truncation=True, max_length=encoder.max_length, padding=False,
              return_attention_mask=False, return_offsets_mapping=True)
    want, got = encoder.tokenizer(list(_TOKENIZER_PROBES), **kw), light(list(_TOKENIZER_PROBES),
                                                                         **kw)
    same = [list(a) == list(b) for a, b in zip(want["input_ids"], got["input_ids"])] + \
        [[tuple(o) for o in a] == [tuple(o) for o in b]
         for a, b in zip(want["offset_mapping"], got["offset_mapping"])]
    return all(same) and (encoder.tokenizer.pad_token_id or 0) == (light.pad_token_id or 0) \
        and encoder.tokenizer.num_special_tokens_to_add(pair=False) == \
        light.num_special_tokens_to_add(pair=False)


def _export(encoder: "Encoder", tone: "TrainedTone", path: Path, quantize: bool,
            extra: Sequence["TrainedTone"] = ()) -> None:
    """Export the graph to ``path`` (loading the encoder's and the tone model's torch
    weights, and those of the ``extra`` branches), then write its record
    (:func:`record_path`). Both land atomically."""
    import torch

    graph = _graph_module(encoder, tone, extra)
    names = [f"extra{i}_{k}" for i in range(len(extra)) for k in ("logits", "sentence", "shared")]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + f".tmp{os.getpid()}.onnx")
    ids = torch.ones((2, 7), dtype=torch.long)
    mask = torch.ones((2, 7), dtype=torch.long)
    tm = torch.ones((2, 7), dtype=torch.float32)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph, (ids, mask, tm), str(tmp), dynamo=False, opset_version=17,
            input_names=["input_ids", "attention_mask", "target_mask"],
            output_names=["logits", "sentence", "shared", *names],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                          "attention_mask": {0: "batch", 1: "tokens"},
                          "target_mask": {0: "batch", 1: "tokens"},
                          "logits": {0: "batch"}, "sentence": {0: "batch"},
                          "shared": {0: "batch"}, **{n: {0: "batch"} for n in names}})
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        qtmp = path.with_name(path.stem + f".q{os.getpid()}.onnx")
        # weights only (MatMulConstBOnly: the attention products of two activations stay
        # float), one scale per output channel; the small classifier head stays float
        head = [n.name for n in _onnx_nodes(tmp) if "head" in n.name or
                any("head" in i for i in n.input)]
        import logging

        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # quantize_dynamic advises pre-processing on the root logger
        try:
            quantize_dynamic(str(tmp), str(qtmp), weight_type=QuantType.QInt8, per_channel=True,
                             nodes_to_exclude=head, extra_options={"MatMulConstBOnly": True})
        finally:
            root.setLevel(level)
        os.replace(qtmp, path)
        tmp.unlink(missing_ok=True)
    else:
        os.replace(tmp, path)
    record = {"graph_sha256": file_sha256(path), "graph_version": GRAPH_VERSION,
              "tokenizer_sha256": _tokenizer_digest(encoder),
              "tokenizers_agree": tokenizers_agree(encoder)}
    rtmp = path.with_name(path.stem + f".rec{os.getpid()}.json")
    rtmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(rtmp, record_path(path))


def record_path(graph: Path) -> Path:
    """The JSON record kept next to a cached graph (``<graph>.json``)."""
    return graph.with_suffix(".json")


def _read_record(graph: Path) -> dict | None:
    """The graph's record when it exists, parses and names the graph's current sha256;
    else None (the graph is then treated as damaged)."""
    try:
        record = json.loads(record_path(graph).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("graph_version") != GRAPH_VERSION:
        return None
    try:
        if record.get("graph_sha256") != file_sha256(graph):
            return None
    except OSError:
        return None
    return record


def _onnx_nodes(path: Path):
    import onnx

    return list(onnx.load(str(path)).graph.node)


def onnx_threads() -> int:
    """ONNX Runtime intra-op threads when none are given: ``OMP_NUM_THREADS`` when set,
    else the CPUs this process may use."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS") or 0) or available_cpus())
    except ValueError:
        return available_cpus()


class OnnxBranchRunner:
    """Runs the exported graph over sentences and fills a tone tap's outputs.

    On a cached graph whose record checks out this needs neither torch nor transformers:
    the encoder's :class:`~framing.encoding.encoder.FastTokenizer` tokenises (when the
    record says it agrees with transformers for this model; otherwise the encoder's
    weights and transformers' tokenizer are loaded). With no graph cached yet, or a
    damaged one (its sha256 differs from the record, or ONNX Runtime refuses it), the
    graph is exported from the torch weights — seconds, and torch is imported — and
    cached; a graph that still does not load raises :class:`ModelLoadError`.

    Parameters
    ----------
    encoder, tone:
        The analyzer's encoder (its tokenizer and weights) and trained tone branch.
    extra:
        Other branches that heads read (a cue branch, the tone model's sentence branch):
        the graph runs them too, each on the states of its own layer of the same pass.
    quantize:
        int8 dynamic quantisation of the weights (default); ``False`` keeps float32.
    threads:
        ONNX Runtime intra-op threads; default :func:`onnx_threads`.
    cache_dir:
        Where graphs are cached; default :func:`onnx_cache_dir`.
    """

    def __init__(self, encoder: "Encoder", tone: "TrainedTone", *, quantize: bool = True,
                 threads: int | None = None, cache_dir: str | os.PathLike | None = None,
                 extra: Sequence["TrainedTone"] = ()) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ImportError("backend='onnx' needs the onnx and onnxruntime packages: "
                              "pip install 'framing[onnx]'") from None
        if not getattr(tone, "digest", None):
            raise ModelLoadError("backend='onnx' needs a saved tone model (its weights digest "
                                 "keys the exported graph)")
        self.encoder, self.tone = encoder, tone
        #: the other branches the graph runs (their outputs follow the tone branch's)
        self.extra = list(extra)
        for m in self.extra:
            if not getattr(m, "digest", None) or not 1 <= m.layer <= encoder.n_layers:
                raise ValueError(f"an extra branch of the ONNX graph must be a saved branch "
                                 f"reading one of the encoder's layers (1 to {encoder.n_layers})")
        #: int8 graphs run one text per call (see :meth:`run`)
        self.quantized = bool(quantize)
        key = hashlib.sha256(json.dumps(
            [encoder_fingerprint(encoder), tone.digest, tone.layer, quantize, GRAPH_VERSION,
             __version__, ort.__version__] + [[m.digest, m.layer] for m in self.extra],
            sort_keys=True).encode()).hexdigest()[:20]
        self.path = Path(cache_dir or onnx_cache_dir()) / \
            f"branch-{'int8' if quantize else 'fp32'}-{key}.onnx"
        #: whether this runner exported the graph (False: it loaded a cached one)
        self.exported = False
        record = _read_record(self.path) if self.path.is_file() else None
        if record is None:  # not cached yet, or damaged: export (needs torch)
            self._export(quantize)
            record = _read_record(self.path) or {}
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or onnx_threads())
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(self.path), opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # a graph that hashes as recorded and still fails
            if self.exported:
                raise ModelLoadError(f"ONNX graph {self.path} does not load: {exc}") from None
            self._export(quantize)
            record = _read_record(self.path) or {}
            try:
                self.session = ort.InferenceSession(str(self.path), opts,
                                                    providers=["CPUExecutionProvider"])
            except Exception:
                raise ModelLoadError(f"ONNX graph {self.path} does not load: {exc}") from None
        if not getattr(encoder, "loaded", True) and not (
                record.get("tokenizers_agree") is True
                and record.get("tokenizer_sha256") == _tokenizer_digest(encoder)):
            encoder.model  # noqa: B018  (tokenise with transformers' own tokenizer)

    def _export(self, quantize: bool) -> None:
        self.path.unlink(missing_ok=True)
        record_path(self.path).unlink(missing_ok=True)
        _export(self.encoder, self.tone, self.path, quantize, self.extra)
        self.exported = True

    def run(self, texts: Sequence[str], tap: Any, batch_size: int = 64,
            extra_taps: Sequence[Any] = ()) -> np.ndarray:
        """Score ``texts`` into ``tap`` (a tone tap, as :meth:`Encoder.encode` would) and
        into ``extra_taps`` (taps of the runner's :attr:`extra` branches, in any order),
        and return the ``(n, dim)`` pooled shared states after the branch's layer.

        The same scheduling as the torch pass: each distinct text once, length-sorted
        batches, dynamic padding. An int8 graph quantises its activations with one scale
        per call, taken over the whole input (every row and every padding position), so in
        a batch a text's scores would depend on what else was scored with it (by up to
        0.02 in tone and 0.08 in a cue probability). It therefore runs each text alone, and
        each of its jobs (the whole sentence, each target mention) alone (``batch_size`` is
        not used): the same text always gets the same scores, whatever the batch, at about
        a fifth less throughput than batches of 64."""
        texts = list(texts)
        enc = self.encoder
        slot = {id(m): i for i, m in enumerate(self.extra)}
        if any(id(t.model) not in slot for t in extra_taps):
            raise ValueError("a tap of a branch that this graph does not hold")
        dim = enc.dim
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        unique: dict[str, int] = {}
        inverse = np.fromiter((unique.setdefault(t, len(unique)) for t in texts),
                              dtype=np.int64, count=len(texts))
        distinct = list(unique)
        positions: list[list[int]] = [[] for _ in distinct]
        for pos, d in enumerate(inverse.tolist()):
            positions[d].append(pos)
        tok = enc.tokenizer(distinct, truncation=True, max_length=enc.max_length, padding=False,
                            return_attention_mask=False, return_offsets_mapping=True)
        ids, offsets = tok["input_ids"], tok["offset_mapping"]
        order = sorted(range(len(distinct)), key=lambda i: len(ids[i]), reverse=True)
        out = np.empty((len(distinct), dim), dtype=np.float32)
        pad_id = enc.tokenizer.pad_token_id or 0
        step = 1 if self.quantized else int(batch_size)
        for b in range(0, len(order), step):
            idx = order[b:b + step]
            width = len(ids[idx[0]])
            input_ids = np.full((len(idx), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for r, i in enumerate(idx):
                input_ids[r, :len(ids[i])] = ids[i]
                mask[r, :len(ids[i])] = 1
            poss = [positions[i] for i in idx]
            jobs, tmasks = tap.plan(mask, [offsets[i] for i in idx], poss)
            rows = np.array([r for r, _ in jobs], dtype=np.int64)
            feeds = {"input_ids": input_ids[rows], "attention_mask": mask[rows],
                     "target_mask": tmasks}
            if self.quantized and len(rows) > 1:  # each job alone (a target marks other rows)
                parts = [self.session.run(None, {k: v[j:j + 1] for k, v in feeds.items()})
                         for j in range(len(rows))]
                logits, sent, shared, *more = (np.concatenate(x) for x in zip(*parts))
            else:
                logits, sent, shared, *more = self.session.run(None, feeds)
            # shared states do not depend on the target: take each row's first job
            first = {}
            for j, (r, _) in enumerate(jobs):
                first.setdefault(r, j)
            firsts = [first[r] for r in range(len(idx))]
            layer_states = shared[firsts]
            tap.store(jobs, poss, logits, sent, layer_states)
            for t in extra_taps:  # each extra branch's untargeted job of every row
                i = slot[id(t.model)]
                t.store(jobs, poss, more[3 * i], more[3 * i + 1], more[3 * i + 2][firsts])
            out[idx] = layer_states
        enc.sentences_encoded += len(distinct)
        return out[inverse]
