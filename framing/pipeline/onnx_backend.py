"""An optional ONNX Runtime backend for the default pipeline's encoder pass.

``Analyzer(backend="onnx")`` runs the part of the model the default pipeline uses — the
encoder's embeddings and its layers up to the tone branch's layer, then the branch's own
layers and head — as one ONNX graph with int8 dynamically quantised weights
(:func:`onnxruntime.quantization.quantize_dynamic`). The graph returns the tone logits,
the branch's pooled sentence states and the pooled shared states the branch reads, which
is everything tone, cue heads and frame heads on branch features need.

The graph is exported from the loaded weights on first use and cached in a user cache
directory (``$FRAMING_CACHE``, else the per-user cache such as ``~/.cache/framing``;
never inside the installed package), under a name keyed by the encoder fingerprint and
the tone model's weights digest; later runs load the cached file. Needs the ``onnx`` and
``onnxruntime`` packages (``pip install framing[onnx]``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from framing._version import __version__
from framing.encoding.fingerprints import encoder_fingerprint
from framing.encoding.mpnet import cache_root
from framing.errors import ModelLoadError
from framing.heads.tone.model import branch_classes, relative_buckets

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder
    from framing.heads.tone.model import TrainedTone

__all__ = ["OnnxBranchRunner", "onnx_cache_dir", "onnx_available"]

GRAPH_VERSION = 1  # bump when the exported graph changes


def onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def onnx_cache_dir() -> Path:
    """Where exported graphs are kept: ``onnx/`` in framing's cache directory
    (``$FRAMING_CACHE``, else the per-user cache, e.g. ``~/.cache/framing``)."""
    return cache_root() / "onnx"


def _graph_module(encoder: "Encoder", tone: "TrainedTone"):
    """A plain torch module: embeddings + encoder layers 1..k + the tone branch.

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

    class Graph(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word = emb.word_embeddings
            self.position = emb.position_embeddings
            self.token_type = None if mpnet else emb.token_type_embeddings
            self.padding_idx = int(getattr(emb, "padding_idx", 0) or 0)
            self.ln = emb.LayerNorm
            self.layers = nn.ModuleList(
                [BertStyleLayer.from_bert_layer(layers[i], cfg) for i in range(tone.layer)])
            self.branch = tone.module
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
            for layer in self.layers:
                x = layer(x, m, bias)
            mf = attention_mask.to(x.dtype).unsqueeze(-1)
            shared = (x * mf).sum(1) / mf.sum(1).clamp(min=1e-9)
            shared = torch.nn.functional.normalize(shared, p=2, dim=1)
            feats = self.branch.features(x, m, target_mask)
            logits = self.branch.head(feats)
            sent = torch.nn.functional.normalize(feats[:, :self.hidden], p=2, dim=1)
            return logits, sent, shared

    return Graph().eval()


def _export(encoder: "Encoder", tone: "TrainedTone", path: Path, quantize: bool) -> None:
    import torch

    graph = _graph_module(encoder, tone)
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
            output_names=["logits", "sentence", "shared"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                          "attention_mask": {0: "batch", 1: "tokens"},
                          "target_mask": {0: "batch", 1: "tokens"},
                          "logits": {0: "batch"}, "sentence": {0: "batch"},
                          "shared": {0: "batch"}})
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


def _onnx_nodes(path: Path):
    import onnx

    return list(onnx.load(str(path)).graph.node)


class OnnxBranchRunner:
    """Runs the exported graph over sentences and fills a tone tap's outputs.

    Parameters
    ----------
    encoder, tone:
        The analyzer's encoder (its tokenizer and weights) and trained tone branch.
    quantize:
        int8 dynamic quantisation of the weights (default); ``False`` keeps float32.
    threads:
        ONNX Runtime intra-op threads; default: torch's thread count.
    """

    def __init__(self, encoder: "Encoder", tone: "TrainedTone", *, quantize: bool = True,
                 threads: int | None = None, cache_dir: str | os.PathLike | None = None) -> None:
        if not onnx_available():
            raise ImportError("backend='onnx' needs the onnx and onnxruntime packages: "
                              "pip install 'framing[onnx]'")
        import onnxruntime as ort
        import torch

        if not getattr(tone, "digest", None):
            raise ModelLoadError("backend='onnx' needs a saved tone model (its weights digest "
                                 "keys the exported graph)")
        self.encoder, self.tone = encoder, tone
        key = hashlib.sha256(json.dumps(
            [encoder_fingerprint(encoder), tone.digest, tone.layer, quantize, GRAPH_VERSION,
             __version__, ort.__version__], sort_keys=True).encode()).hexdigest()[:20]
        self.path = Path(cache_dir or onnx_cache_dir()) / \
            f"branch-{'int8' if quantize else 'fp32'}-{key}.onnx"
        if not self.path.is_file():
            _export(encoder, tone, self.path, quantize)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or torch.get_num_threads())
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(self.path), opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # a damaged cache file: export again once
            self.path.unlink(missing_ok=True)
            _export(encoder, tone, self.path, quantize)
            try:
                self.session = ort.InferenceSession(str(self.path), opts,
                                                    providers=["CPUExecutionProvider"])
            except Exception:
                raise ModelLoadError(f"ONNX graph {self.path} does not load: {exc}") from None

    def run(self, texts: Sequence[str], tap: Any, batch_size: int = 64) -> np.ndarray:
        """Score ``texts`` into ``tap`` (a tone tap, as :meth:`Encoder.encode` would) and
        return the ``(n, dim)`` pooled shared states after the branch's layer.

        The same scheduling as the torch pass: each distinct text once, length-sorted
        batches, dynamic padding."""
        texts = list(texts)
        enc = self.encoder
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
        for b in range(0, len(order), int(batch_size)):
            idx = order[b:b + int(batch_size)]
            width = len(ids[idx[0]])
            input_ids = np.full((len(idx), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for r, i in enumerate(idx):
                input_ids[r, :len(ids[i])] = ids[i]
                mask[r, :len(ids[i])] = 1
            poss = [positions[i] for i in idx]
            jobs, tmasks = tap.plan(mask, [offsets[i] for i in idx], poss)
            rows = np.array([r for r, _ in jobs], dtype=np.int64)
            logits, sent, shared = self.session.run(None, {
                "input_ids": input_ids[rows], "attention_mask": mask[rows],
                "target_mask": tmasks})
            # shared states do not depend on the target: take each row's first job
            first = {}
            for j, (r, _) in enumerate(jobs):
                first.setdefault(r, j)
            layer_states = shared[[first[r] for r in range(len(idx))]]
            tap.store(jobs, poss, logits, sent, layer_states)
            out[idx] = layer_states
        enc.sentences_encoded += len(distinct)
        return out[inverse]
