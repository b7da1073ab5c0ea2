"""Trained, target-aware tone models that read the shared encoder pass.

Two designs share one artefact format (a directory with ``config.json``,
``model.safetensors`` and a model card):

- **frozen head** (``layer`` = the encoder's last layer, no branch layers): a linear
  classifier over the mean of the sentence's token states and the mean of the target
  mention's token states. Trained as a scikit-learn estimator, :class:`FrozenToneHead`.
- **branch** (``layer`` = k < last, ``n_layers`` copies of the encoder's top layers,
  fine-tuned, stored as int8 with per-row scales): reads the shared hidden states after
  layer k, adds a learned *target
  marker* vector to the target's tokens, runs its own copies of the top layers and
  classifies the pooled sentence and target states. The shared pass is not repeated:
  the branch costs its own layers only.

Both output probabilities over (critical, neutral, promotional), divided by a
temperature fitted on dev data before the softmax. Without a target the whole sentence
is the "target". Weights are safetensors; the config records the base encoder, which
must match at load time.

A branch model may carry a **sentence branch** (:func:`attach_sentence_branch`): a second
branch on the same encoder (it may read another layer of it), in the subdirectory
:data:`SENTENCE_BRANCH`, that gives the
tone of whole sentences while the main branch keeps tone toward target mentions (the
accurate tier: a branch trained on real labelled sentences, beside one trained mostly on
NewsMTSC's target mentions). The analyzer runs both from its one encoder pass.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from framing.core.labels import TONE_LABELS
from framing.encoding.encoder import resolve_device
from framing.encoding.fingerprints import fingerprint_mismatch
from framing.errors import ModelLoadError
from framing.heads.artefact import copy_model_dir, has_format
from framing.heads.lexical import LEXICAL_CONFIG, LEXICAL_WEIGHTS, LexicalEvidence
from framing.heads.tone.sentence_head import SENTENCE_HEAD, SENTENCE_HEAD_WEIGHTS, SentenceToneHead

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder

__all__ = [
    "TrainedTone",
    "ToneModelConfig",
    "FrozenToneHead",  # noqa: F822  (built on first use by the module __getattr__)
    "branch_classes",
    "load_tone_model",
    "is_tone_model_dir",
    "save_tone_model",
    "relative_buckets",
    "target_token_mask",
    "weights_digest",
    "attach_sentence_branch",
    "attach_lexical",
    "set_label_biases",
    "attach_sentence_head",
    "sentence_head_features",
    "SENTENCE_BRANCH",
    "LABEL_BIASES",
    "ARTICLE_BIASES",
]

FORMAT = "framing-tone"
#: the subdirectory of a tone model that holds its sentence branch, when it has one
SENTENCE_BRANCH = "sentence"
#: the config key of the biases for the label of tone not toward a target
LABEL_BIASES = "label_biases"
#: the config key of the biases for the label of tone aggregated over two or more sentences
ARTICLE_BIASES = "article_biases"
Span = tuple[int, int] | None


# -- the torch modules --------------------------------------------------------------
def _torch():
    import torch

    return torch


def _make_layer_class():
    """The BERT-layout transformer layer class (torch is imported here, on first use)."""
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    class BertStyleLayer(nn.Module):
        """A post-LayerNorm transformer layer with BERT's parameter layout."""

        def __init__(self, hidden: int, heads: int, intermediate: int, eps: float = 1e-12,
                     dropout: float = 0.1) -> None:
            super().__init__()
            self.heads = heads
            self.query = nn.Linear(hidden, hidden)
            self.key = nn.Linear(hidden, hidden)
            self.value = nn.Linear(hidden, hidden)
            self.attn_out = nn.Linear(hidden, hidden)
            self.ln1 = nn.LayerNorm(hidden, eps=eps)
            self.ff_in = nn.Linear(hidden, intermediate)
            self.ff_out = nn.Linear(intermediate, hidden)
            self.ln2 = nn.LayerNorm(hidden, eps=eps)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x, mask, bias=None):
            """``mask``: boolean ``(batch, tokens)``, True for real tokens. ``bias``: an
            additive ``(1 or batch, heads, tokens, tokens)`` attention bias (MPNet's
            relative positions), or None."""
            b, t, h = x.shape
            d = h // self.heads

            def split(z):
                return z.view(b, t, self.heads, d).transpose(1, 2)

            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            keep = mask[:, None, None, :]
            attn = keep if bias is None else bias.masked_fill(~keep, float("-inf"))
            a = F.scaled_dot_product_attention(
                q, k, v, attn_mask=attn, dropout_p=self.dropout.p if self.training else 0.0)
            a = a.transpose(1, 2).reshape(b, t, h)
            x = self.ln1(x + self.dropout(self.attn_out(a)))
            y = self.ff_out(F.gelu(self.ff_in(x)))
            return self.ln2(x + self.dropout(y))

        @classmethod
        def from_bert_layer(cls, layer, config) -> "BertStyleLayer":
            """Copy the weights of a transformers BERT-family or MPNet layer (the two share
            the post-LayerNorm layout; only the attribute names differ)."""
            new = cls(config.hidden_size, config.num_attention_heads, config.intermediate_size,
                      getattr(config, "layer_norm_eps", 1e-12))
            att = layer.attention
            if hasattr(att, "attn"):  # MPNet: attention.attn.{q,k,v,o}, attention.LayerNorm
                qkv_out = (att.attn.q, att.attn.k, att.attn.v, att.attn.o, att.LayerNorm)
            else:
                qkv_out = (att.self.query, att.self.key, att.self.value, att.output.dense,
                           att.output.LayerNorm)
            pairs = dict(zip(("query", "key", "value", "attn_out", "ln1"), qkv_out))
            pairs.update(ff_in=layer.intermediate.dense, ff_out=layer.output.dense,
                         ln2=layer.output.LayerNorm)
            with torch.no_grad():
                for name, src in pairs.items():
                    getattr(new, name).weight.copy_(src.weight)
                    getattr(new, name).bias.copy_(src.bias)
            return new

    return BertStyleLayer


def _make_branch_class(BertStyleLayer):
    """The tone-branch module class: a target marker, copies of ``BertStyleLayer``, a head."""
    torch = _torch()
    nn = torch.nn

    class ToneBranch(nn.Module):
        """Target marker, ``n`` transformer layers, then a linear head on [sentence; target]."""

        def __init__(self, hidden: int, heads: int, intermediate: int, n_layers: int,
                     eps: float = 1e-12, n_classes: int = 3, dropout: float = 0.1,
                     rel_buckets: int = 0, rel_max_distance: int = 128) -> None:
            super().__init__()
            self.layers = nn.ModuleList(
                [BertStyleLayer(hidden, heads, intermediate, eps, dropout) for _ in range(n_layers)])
            self.marker = nn.Parameter(torch.zeros(hidden))
            self.dropout = nn.Dropout(dropout)
            self.head = nn.Linear(2 * hidden, n_classes)
            # MPNet-style encoders add a learned bias per head and relative-distance bucket
            # to every layer's attention scores; BERT-style ones have none (0 buckets)
            self.rel_buckets, self.rel_max_distance = int(rel_buckets), int(rel_max_distance)
            self.rel_bias = nn.Embedding(rel_buckets, heads) if rel_buckets else None

        def position_bias(self, n_tokens: int, device):
            """``(1, heads, n, n)`` relative-position attention bias, or None."""
            if self.rel_bias is None:
                return None
            buckets = relative_buckets(n_tokens, self.rel_buckets, self.rel_max_distance)
            return self.rel_bias(buckets.to(device)).permute(2, 0, 1).unsqueeze(0)

        def features(self, h, mask, target):
            tm = target.to(h.dtype).unsqueeze(-1)
            x = h + tm * self.marker if len(self.layers) else h
            bias = self.position_bias(h.shape[1], h.device) if len(self.layers) else None
            if bias is not None:
                bias = bias.to(h.dtype)
            for layer in self.layers:
                x = layer(x, mask, bias)
            m = mask.to(x.dtype).unsqueeze(-1)
            sent = (x * m).sum(1) / m.sum(1).clamp(min=1.0)
            tgt = (x * tm).sum(1) / tm.sum(1).clamp(min=1.0)
            return torch.cat([sent, tgt], dim=-1)

        def forward(self, h, mask, target):
            return self.head(self.dropout(self.features(h, mask, target)))

    return ToneBranch


def relative_buckets(n_tokens: int, n_buckets: int, max_distance: int):
    """``(n, n)`` long tensor: the relative-position bucket of each (query, key) pair, as
    MPNet (after T5) assigns them. Half the buckets are for keys before the query, half
    for keys after it; within each half, distances below a quarter of the buckets get a
    bucket each and longer ones share logarithmically wider buckets up to
    ``max_distance`` (beyond it, the last bucket)."""
    torch = _torch()
    pos = torch.arange(n_tokens)
    ahead = pos[:, None] - pos[None, :]  # query position minus key position
    half = n_buckets // 2
    exact = half // 2
    base = (ahead < 0).long() * half
    dist = ahead.abs()
    far = exact + (torch.log(dist.float().clamp(min=1) / exact)
                   / math.log(max_distance / exact) * (half - exact)).long()
    far = far.clamp(max=half - 1)
    return base + torch.where(dist < exact, dist, far)


_CLASSES = None


def branch_classes():
    """``(BertStyleLayer, ToneBranch)``: the torch module classes of a tone branch, built
    on first use so that importing this module does not import torch."""
    global _CLASSES
    if _CLASSES is None:
        layer = _make_layer_class()
        _CLASSES = (layer, _make_branch_class(layer))
    return _CLASSES


def target_token_mask(offsets: Sequence[tuple[int, int]], span: Span, n_tokens: int) -> np.ndarray:
    """0/1 mask over ``n_tokens`` marking the tokens that overlap the character ``span``.

    Special tokens (offset ``(0, 0)``) are never marked. ``span=None`` marks every
    non-special token (the whole sentence is the target). A span that overlaps no token
    (it was cut off by the window) also falls back to the whole sentence.
    """
    mask = np.zeros(n_tokens, dtype=np.float32)
    real = [(i, a, b) for i, (a, b) in enumerate(offsets[:n_tokens]) if b > a]
    if span is not None:
        s, e = span
        for i, a, b in real:
            if a < e and b > s:
                mask[i] = 1.0
    if not mask.any():
        for i, _, _ in real:
            mask[i] = 1.0
    if not mask.any() and n_tokens:
        mask[0] = 1.0
    return mask


# -- the scorer ---------------------------------------------------------------------
@dataclass
class ToneModelConfig:
    """The shape and calibration of a trained tone branch, as its config.json records them."""

    layer: int
    n_layers: int
    hidden: int
    heads: int
    intermediate: int
    eps: float
    temperature: float
    name: str
    encoder: dict[str, Any]
    neutral_band: float = 0.1
    rel_buckets: int = 0  # relative-position buckets (MPNet); 0: none
    rel_max_distance: int = 128


class TrainedTone:
    """A trained tone model (frozen head or branch) implementing the ToneScorer protocol.

    It declares ``uses_hidden_states``: the analyzer hands it a tap into the shared
    encoder pass (:meth:`make_tap`) instead of pooled embeddings.
    """

    uses_embeddings = False
    uses_hidden_states = True
    label_by_argmax = True  # calibrated probabilities: the label is the likeliest class

    def __init__(self, module, config: ToneModelConfig, path: str | None = None, *,
                 loader: Callable[[], Any] | None = None) -> None:
        if module is None and loader is None:
            raise ValueError("TrainedTone needs a module or a loader")
        self._module = module.eval() if module is not None else None
        self._loader = loader
        self._device = "cpu"
        self.config = config
        self.path = path
        self.layer = config.layer
        self.temperature = config.temperature
        self.neutral_band = config.neutral_band
        self.name = f"trained:{config.name}"
        self.digest: str | None = None  # sha256 prefix of the weights file, once saved
        #: the branch that gives the tone of whole sentences (None: this model does)
        self.sentence_model: "TrainedTone | None" = None
        #: evidence from a whole sentence's words, added to the log-probabilities of its
        #: tone (:meth:`with_words`; see :func:`attach_lexical`); None: none
        self.lexical: LexicalEvidence | None = None
        #: ``(3,)`` biases (TONE_LABELS order) added to the log-probabilities of tone that
        #: is not toward a target when its label is decided (see :func:`set_label_biases`);
        #: the probabilities and the tone score stay as they are. None: plain argmax
        self.label_biases: np.ndarray | None = None
        #: ``(3,)`` biases that replace :attr:`label_biases` for a text whose tone
        #: aggregates two or more sentences (an article's prior is not a sentence's; see
        #: :func:`set_label_biases` with ``articles=True``). None: :attr:`label_biases`
        self.article_biases: np.ndarray | None = None
        #: the head that gives the tone of whole sentences from pooled branch states,
        #: replacing the branch's own (see :mod:`framing.heads.tone.sentence_head`);
        #: None: the branch's head does
        self.sentence_head: SentenceToneHead | None = None

    def with_words(self, probs: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """The tone probabilities ``probs`` ``(n, 3)`` of whole sentences ``texts`` after
        the model's lexical evidence: ``softmax(log p + logits(text))`` per sentence
        (``probs`` unchanged when the model has none). Tone toward a target never goes
        through here: the words of a sentence say little about one party in it."""
        if self.lexical is None or not len(texts):
            return probs
        z = np.log(np.clip(np.asarray(probs, dtype=float), 1e-12, 1.0)) \
            + self.lexical.logits(texts)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    @property
    def module(self):
        """The torch branch module; a model loaded with ``lazy=True`` builds it (and
        imports torch) here, on first use."""
        if self._module is None:
            self._module = self._loader().eval()
            self._loader = None
            if self._device != "cpu":
                self._module.to(self._device)
        return self._module

    @module.setter
    def module(self, value) -> None:
        self._module = value

    @property
    def loaded(self) -> bool:
        """Whether the torch module is built (see :func:`load_tone_model`'s ``lazy``)."""
        return self._module is not None

    @property
    def device(self) -> str:
        """The torch device the branch runs on (``"cpu"`` unless :meth:`to` moved it)."""
        return self._device

    def to(self, device: str) -> "TrainedTone":
        """Run the branch on ``device`` (a name :func:`framing.encoding.encoder.resolve_device`
        accepts; ``"auto"`` is resolved there). A lazy model moves when it is built. The
        inputs the analyzer's tap hands it go to that device and its outputs come back to
        the CPU, so the branch may sit where the encoder does. Returns the model."""
        self._device = resolve_device(device)
        if self._module is not None:
            self._module.to(self._device)
        return self

    def check_encoder(self, encoder: "Encoder") -> None:
        """Raise :class:`ModelLoadError` if ``encoder`` is not the one this model was trained on."""
        why = fingerprint_mismatch(self.config.encoder, encoder)
        if why:
            raise ModelLoadError(f"Tone model {self.path or self.config.name} {why} and does "
                                 "not fit the analyzer's encoder.")

    def make_tap(self, requests: dict[int, list[Span]]) -> "_ToneTap":
        """A tap scoring, for each text position, the sentence (``None``) and each span."""
        return _ToneTap(self, requests)

    def logits(self, hidden, mask, target):
        return self.module(hidden, mask.bool(), target)

    def logits_and_features(self, hidden, mask, target):
        """Head logits and the L2-normalised pooled sentence states of the branch."""
        torch = _torch()
        feats = self.module.features(hidden, mask.bool(), target)
        sent = torch.nn.functional.normalize(feats[:, :self.config.hidden], p=2, dim=1)
        return self.module.head(feats), sent

    def sentence_features(self, encoder: "Encoder", texts: Sequence[str],
                          batch_size: int | None = None, *, with_layer: bool = False) -> np.ndarray:
        """``(n, hidden)`` branch sentence features of cleaned ``texts`` (one encoder pass,
        stopped at the branch's layer). ``with_layer=True`` gives ``(n, 2 * hidden)``: the
        pooled, unit-normalised shared states the branch reads, then the branch's own."""
        if not len(texts):
            return np.zeros((0, self.config.hidden * (2 if with_layer else 1)), dtype=np.float32)
        tap = self.make_tap({})
        tap.keep_features = True
        tap.keep_layer_states = with_layer
        encoder.encode(list(texts), batch_size, taps=[tap], stop_layer=self.layer)
        feats = np.stack([tap.features[i] for i in range(len(texts))])
        if with_layer:
            feats = np.concatenate(
                [np.stack([tap.layer_states[i] for i in range(len(texts))]), feats], axis=1)
        return feats

    def sentence_tone(self, sentences, embeddings=None):  # pragma: no cover - via the tap
        raise RuntimeError("TrainedTone reads the shared encoder pass; use it through Analyzer")


class _ToneTap:
    def __init__(self, model: TrainedTone, requests: dict[int, list[Span]]) -> None:
        self.model = model
        self.layer = model.layer
        self.requests = requests
        self.out: dict[tuple[int, Span], np.ndarray] = {}
        self.keep_features = False  # also keep each text's pooled branch states
        self.features: dict[int, np.ndarray] = {}
        self.keep_layer_states = False  # also keep the pooled shared states the branch reads
        self.layer_states: dict[int, np.ndarray] = {}

    def plan(self, mask, offsets, positions) -> tuple[list[tuple[int, Span]], np.ndarray]:
        """The ``(batch row, span)`` jobs of one batch, each once, and their target masks.

        A row whose features are kept always gets its untargeted ``(row, None)`` job."""
        width = mask.shape[1]
        jobs: list[tuple[int, Span]] = []
        keep = self.keep_features or self.keep_layer_states
        for r, poss in enumerate(positions):
            spans = dict.fromkeys(sp for pos in poss for sp in self.requests.get(pos, [None]))
            if keep:
                spans.setdefault(None)
            jobs.extend((r, sp) for sp in spans)
        tmasks = np.zeros((len(jobs), width), dtype=np.float32)
        for j, (r, sp) in enumerate(jobs):
            n_tok = int(mask[r].sum())
            tmasks[j, :n_tok] = target_token_mask(offsets[r], sp, n_tok)
        return jobs, tmasks

    def store(self, jobs, positions, logits: np.ndarray, feats: np.ndarray,
              layer_states: np.ndarray | None = None) -> None:
        """Record calibrated probabilities (and kept features) of computed ``jobs``;
        ``layer_states`` has one row per batch row."""
        probs = _softmax(np.asarray(logits, dtype=np.float64) / self.model.temperature)
        computed = {job: j for j, job in enumerate(jobs)}
        for r, poss in enumerate(positions):
            for pos in poss:
                for sp in self.requests.get(pos, [None]):
                    self.out[(pos, sp)] = probs[computed[(r, sp)]]
                if self.keep_features:  # the sentence's own states, without a target
                    self.features[pos] = feats[computed[(r, None)]]
                if self.keep_layer_states and layer_states is not None:
                    self.layer_states[pos] = layer_states[r]

    def consume(self, hidden, mask, offsets, positions) -> None:
        torch = _torch()
        jobs, tmasks = self.plan(mask, offsets, positions)
        if not jobs:
            return
        idx = torch.tensor([r for r, _ in jobs], dtype=torch.long, device=hidden.device)
        dev = self.model.device  # the branch's device (the CPU unless it was moved)
        with torch.inference_mode():
            logits, feats = self.model.logits_and_features(
                hidden[idx].float().to(dev), mask[idx].to(dev), torch.from_numpy(tmasks).to(dev))
            layer_states = None
            if self.keep_layer_states:
                h, m = hidden.float(), mask.unsqueeze(-1).float()
                pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
                layer_states = torch.nn.functional.normalize(pooled, p=2, dim=1).cpu().numpy()
        self.store(jobs, positions, logits.float().cpu().numpy(), feats.cpu().numpy(),
                   layer_states)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# -- frozen head: a scikit-learn estimator -------------------------------------------
def _make_frozen_head_class():
    """The :class:`FrozenToneHead` class; scikit-learn is imported here, on first use of
    the name (``from framing.heads.tone.model import FrozenToneHead`` works as ever), so
    that scoring never pays for importing it."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class FrozenToneHead(ClassifierMixin, BaseEstimator):
        """Multinomial logistic regression on [sentence mean; target mean] token features.

        A scikit-learn-style estimator (``fit``, ``predict_proba``, ``predict``,
        ``get_params``/``set_params``) over feature rows of width ``2 * hidden``, so it
        works with cross-validation and grid search; :meth:`to_branch_state` exports it
        as the zero-layer branch the analyzer runs.
        """

        def __init__(self, C: float = 1.0, class_weight: str | None = "balanced",
                     max_iter: int = 2000) -> None:
            self.C = C
            self.class_weight = class_weight
            self.max_iter = max_iter

        def fit(self, X: np.ndarray, y: Sequence[int]) -> "FrozenToneHead":
            from sklearn.linear_model import LogisticRegression
            from sklearn.preprocessing import StandardScaler

            X = np.asarray(X, dtype=np.float64)
            self.scaler_ = StandardScaler().fit(X)
            self.lr_ = LogisticRegression(C=self.C, class_weight=self.class_weight,
                                          max_iter=self.max_iter)
            self.lr_.fit(self.scaler_.transform(X), np.asarray(y))
            self.classes_ = self.lr_.classes_
            return self

        def decision_function(self, X: np.ndarray) -> np.ndarray:
            return self.lr_.decision_function(
                self.scaler_.transform(np.asarray(X, dtype=np.float64)))

        def predict_proba(self, X: np.ndarray) -> np.ndarray:
            return self.lr_.predict_proba(self.scaler_.transform(np.asarray(X, dtype=np.float64)))

        def predict(self, X: np.ndarray) -> np.ndarray:
            return self.classes_[self.predict_proba(X).argmax(axis=1)]

        def to_branch_state(self) -> dict[str, np.ndarray]:
            """Head weights with the standardisation folded in (``W x + b`` on raw features)."""
            if list(self.classes_) != [0, 1, 2]:
                raise ValueError("FrozenToneHead must be fitted on all three classes 0, 1, 2")
            W = self.lr_.coef_ / self.scaler_.scale_[None, :]
            b = self.lr_.intercept_ - (W * self.scaler_.mean_[None, :]).sum(axis=1)
            return {"head.weight": W.astype(np.float32), "head.bias": b.astype(np.float32)}

    FrozenToneHead.__module__ = __name__
    FrozenToneHead.__qualname__ = "FrozenToneHead"
    return FrozenToneHead


def __getattr__(name: str):
    if name == "FrozenToneHead":  # built once, on first use (see _make_frozen_head_class)
        cls = _make_frozen_head_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- saving and loading -------------------------------------------------------------
_SCALE = ".int8_scale"


def save_tone_model(path: str | os.PathLike, module, config: dict[str, Any], card: str) -> Path:
    """Write ``config.json``, ``model.safetensors`` and ``README.md``.

    The branch layers' weight matrices are stored as int8 with one float32 scale per
    output row (symmetric, ``w = q * scale``): a quarter of their float32 size, which
    keeps a three-layer branch under 10 MB. Biases, LayerNorms, marker and head stay
    float32.
    """
    from safetensors.torch import save_file

    torch = _torch()
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {}
    for k, v in module.state_dict().items():
        v = v.detach().cpu().float().contiguous()
        if k.startswith("layers.") and v.dim() == 2:
            scale = v.abs().amax(dim=1).clamp(min=1e-12) / 127.0
            state[k] = torch.round(v / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
            state[k + _SCALE] = scale.contiguous()
        else:
            state[k] = v
    save_file(state, str(path / "model.safetensors"), metadata={"format": "pt"})
    (path / "config.json").write_text(json.dumps({"format": FORMAT, **config}, indent=2) + "\n")
    (path / "README.md").write_text(card, encoding="utf-8")
    return path


def is_tone_model_dir(path: str | os.PathLike) -> bool:
    """True if ``path`` is a directory holding a framing tone model."""
    return has_format(path, FORMAT)


def load_tone_model(path: str | os.PathLike, *, lazy: bool = False) -> TrainedTone:
    """Load a tone model directory written by :func:`save_tone_model`.

    ``lazy=True`` reads the config, checks the weights file's header and hashes it now,
    and builds the torch module on first use of :attr:`TrainedTone.module` (a run that
    scores through a cached ONNX graph never does, and never imports torch); the
    module's own errors are then raised there.

    Raises :class:`ModelLoadError` naming the file for a missing, corrupt, truncated or
    pickle-only model, or a config that is not a framing tone model.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise ModelLoadError(f"{path}: not a tone model directory (no config.json)")
    try:
        raw = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{cfg_path}: corrupt config ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ModelLoadError(f"{cfg_path}: not a framing tone model (format is not {FORMAT!r})")
    weights = path / "model.safetensors"
    if not weights.is_file():
        pickles = [p.name for p in path.glob("*.bin")] + [p.name for p in path.glob("*.pt")]
        extra = f" (found {', '.join(pickles)}, which framing refuses to load)" if pickles else ""
        raise ModelLoadError(f"{path}: no model.safetensors{extra}")
    try:
        cfg = ToneModelConfig(int(raw["layer"]), int(raw["n_layers"]), int(raw["hidden"]),
                      int(raw["heads"]), int(raw["intermediate"]), float(raw.get("eps", 1e-12)),
                      float(raw.get("temperature", 1.0)), str(raw.get("name", path.name)),
                      dict(raw.get("encoder", {})), float(raw.get("neutral_band", 0.1)),
                      int(raw.get("rel_buckets", 0)), int(raw.get("rel_max_distance", 128)))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"{cfg_path}: missing or invalid field {exc}") from None
    if not (cfg.temperature > 0 and math.isfinite(cfg.temperature)):
        raise ModelLoadError(f"{cfg_path}: temperature must be a positive number")
    if cfg.rel_buckets < 0 or cfg.rel_max_distance <= cfg.rel_buckets // 4:
        raise ModelLoadError(f"{cfg_path}: invalid rel_buckets / rel_max_distance")
    if lazy:
        try:  # the header only: a damaged file is named now, not at first use
            with safe_open(str(weights), framework="numpy") as fh:
                fh.keys()
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelLoadError(f"{weights}: corrupt or truncated weights ({exc})") from None
        model = TrainedTone(None, cfg, str(path), loader=lambda: _build_branch(cfg, weights))
    else:
        model = TrainedTone(_build_branch(cfg, weights), cfg, str(path))
    model.digest = weights_digest(weights)
    sub = raw.get("sentence_branch")
    if sub is not None:
        model.sentence_model = _load_sentence_branch(path, sub, model, lazy)
    if raw.get("lexical") is not None:
        model.lexical = LexicalEvidence.load(path, len(TONE_LABELS))
    if raw.get(LABEL_BIASES) is not None:
        model.label_biases = _label_biases(raw[LABEL_BIASES], cfg_path)
    if raw.get(ARTICLE_BIASES) is not None:
        model.article_biases = _label_biases(raw[ARTICLE_BIASES], cfg_path, ARTICLE_BIASES)
    if raw.get(SENTENCE_HEAD) is not None:
        model.sentence_head = SentenceToneHead.load(path, raw[SENTENCE_HEAD])
        if model.sentence_head.features == "branch+main" and model.sentence_model is None:
            raise ModelLoadError(f"{cfg_path}: a sentence-tone head on 'branch+main' needs "
                                 "a sentence branch")
    return model


def sentence_head_features(model: TrainedTone, encoder: "Encoder", texts: Sequence[str],
                           features: str, batch_size: int | None = None) -> np.ndarray:
    """The feature rows a sentence-tone head on ``features`` reads for cleaned ``texts``,
    from one encoder pass (see :mod:`framing.heads.tone.sentence_head`): the whole-sentence
    branch's pooled shared-layer and own states, then (``"branch+main"``) the main
    branch's pooled states."""
    whole = model.sentence_model or model
    taps = [whole.make_tap({})]
    taps[0].keep_features = taps[0].keep_layer_states = True
    if features == "branch+main":
        if model.sentence_model is None:
            raise ValueError("'branch+main' features need a tone model with a sentence branch")
        taps.append(model.make_tap({}))
        taps[1].keep_features = True
    n = len(texts)
    if not n:
        width = whole.config.hidden * 2 + (model.config.hidden if len(taps) > 1 else 0)
        return np.zeros((0, width), dtype=np.float32)
    encoder.encode(list(texts), batch_size, taps=taps, stop_layer=max(t.layer for t in taps))
    parts = [np.stack([taps[0].layer_states[i] for i in range(n)]),
             np.stack([taps[0].features[i] for i in range(n)])]
    if len(taps) > 1:
        parts.append(np.stack([taps[1].features[i] for i in range(n)]))
    return np.concatenate(parts, axis=1)


def attach_sentence_head(tone_dir: str | os.PathLike, head: SentenceToneHead | None) -> Path:
    """Give the tone model in ``tone_dir`` a sentence-tone head (its weights beside the
    model's, described in its config), or take it away (``None``); the model's weights and
    their digest stay as they are. Checked by loading; on a :class:`ModelLoadError` the
    directory is left as it was. Returns ``tone_dir``."""
    tone_dir = Path(tone_dir)
    load_tone_model(tone_dir, lazy=True)  # a tone model to begin with
    target = tone_dir / SENTENCE_HEAD_WEIGHTS
    saved = target.read_bytes() if target.is_file() else None
    if head is None:
        target.unlink(missing_ok=True)
    else:
        head.save(tone_dir)

    def undo() -> None:
        target.unlink(missing_ok=True)
        if saved is not None:
            target.write_bytes(saved)

    _change_config(tone_dir, SENTENCE_HEAD, None if head is None else head.summary(), undo)
    return tone_dir


def _label_biases(value: Any, where: Path, key: str = LABEL_BIASES) -> np.ndarray:
    """The ``key`` entry of a tone config (``label_biases`` or ``article_biases``) as a
    ``(3,)`` array in TONE_LABELS order; :class:`ModelLoadError` naming the file and the
    entry unless it maps each tone label to a finite number."""
    if not isinstance(value, dict) or set(value) != set(TONE_LABELS):
        raise ModelLoadError(f"{where}: {key} must map each of "
                             f"{', '.join(TONE_LABELS)} to a number")
    try:
        out = np.array([float(value[k]) for k in TONE_LABELS])
    except (TypeError, ValueError):
        out = np.array([np.nan])
    if not np.isfinite(out).all():
        raise ModelLoadError(f"{where}: {key} must be finite numbers")
    return out


def set_label_biases(tone_dir: str | os.PathLike, biases: "dict[str, float] | None",
                     fitted: "dict[str, Any] | None" = None, *, articles: bool = False) -> Path:
    """Give the tone model in ``tone_dir`` biases for the label of tone that is not toward
    a target (``{"critical": b0, "neutral": b1, "promotional": b2}``, added to the
    log-probabilities before the likeliest class is taken; fitted for macro-F1 on held-out
    labelled texts by :func:`framing.heads.calibration.fit_class_biases`), or take them
    away (``None``). ``fitted`` (how they were fitted: data, grid, gain) is recorded beside
    them.

    ``articles=False`` sets ``label_biases``, used for every text; ``articles=True`` sets
    ``article_biases``, used instead for a text whose tone aggregates two or more sentences
    (fit them on labelled articles: an article's prior is not a sentence's). The weights,
    the probabilities and the tone score do not change, nor does tone toward a target. The
    result is checked by loading it; on a :class:`ModelLoadError` the config is left as it
    was. Returns ``tone_dir``."""
    tone_dir = Path(tone_dir)
    load_tone_model(tone_dir, lazy=True)  # a tone model to begin with
    key = ARTICLE_BIASES if articles else LABEL_BIASES
    value = None if biases is None else {k: float(biases[k]) for k in biases}
    _change_config(tone_dir, key, value, lambda: None)
    _change_config(tone_dir, key + "_fitted", fitted if biases is not None else None,
                   lambda: None)
    return tone_dir


def attach_lexical(tone_dir: str | os.PathLike, lexical: LexicalEvidence | None) -> Path:
    """Give the tone model in ``tone_dir`` lexical evidence for whole sentences (its files
    beside the model's, named in its config), or take it away (``None``); the weights and
    their digest stay as they are. The result is checked by loading it; on a
    :class:`ModelLoadError` the directory is left as it was. Returns ``tone_dir``."""
    tone_dir = Path(tone_dir)
    load_tone_model(tone_dir, lazy=True)  # a tone model to begin with
    if lexical is not None and lexical.n_labels != len(TONE_LABELS):
        raise ValueError(f"tone evidence needs one logit per tone class ({len(TONE_LABELS)}), "
                         f"not {lexical.n_labels}")
    files = [tone_dir / LEXICAL_CONFIG, tone_dir / LEXICAL_WEIGHTS]
    saved = {f: f.read_bytes() for f in files if f.is_file()}
    if lexical is None:
        for f in files:
            f.unlink(missing_ok=True)
    else:
        lexical.save(tone_dir)

    def undo() -> None:
        for f in files:
            f.unlink(missing_ok=True)
        for f, data in saved.items():
            f.write_bytes(data)

    _change_config(tone_dir, "lexical", None if lexical is None else lexical.summary(), undo)
    return tone_dir


def _change_config(tone_dir: Path, key: str, value: Any, undo: Callable[[], None]) -> None:
    """Set ``key`` of the tone model's ``config.json`` to ``value`` (remove it for None)
    and check the result by loading it; on a :class:`ModelLoadError` put the config back,
    call ``undo`` (which takes back what the caller wrote beside it) and re-raise."""
    cfg_path = tone_dir / "config.json"
    before = cfg_path.read_text(encoding="utf-8")
    cfg = json.loads(before)
    if value is None:
        cfg.pop(key, None)
    else:
        cfg[key] = value
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    try:
        load_tone_model(tone_dir, lazy=True)
    except ModelLoadError:
        cfg_path.write_text(before, encoding="utf-8")
        undo()
        raise


def _load_sentence_branch(path: Path, sub: Any, model: TrainedTone, lazy: bool) -> TrainedTone:
    """The sentence branch named by a tone model's config (see :func:`attach_sentence_branch`)."""
    if sub != SENTENCE_BRANCH:
        raise ModelLoadError(f"{path / 'config.json'}: a sentence branch lives in "
                             f"{SENTENCE_BRANCH!r}, not {sub!r}")
    where = path / SENTENCE_BRANCH
    if not (where / "config.json").is_file():
        raise ModelLoadError(f"{where}: the sentence branch that {path} names is missing")
    sentence = load_tone_model(where, lazy=lazy)
    if sentence.sentence_model is not None:
        raise ModelLoadError(f"{where}: a sentence branch cannot carry one of its own")
    if not _reads_the_same_encoder(model, sentence):
        raise ModelLoadError(f"{where}: the sentence branch must read a layer (1 to "
                             f"{_encoder_layers(model)}) of the same encoder as the tone model "
                             "that carries it")
    return sentence


def _encoder_layers(model: TrainedTone) -> int:
    """The number of layers of the encoder ``model`` reads: the layer it taps plus its
    copies of the layers above (none for a head on the last layer)."""
    return model.layer + model.config.n_layers


def _reads_the_same_encoder(main: TrainedTone, branch: TrainedTone) -> bool:
    """Whether ``branch`` reads a layer of the encoder that ``main`` reads (the layer may
    differ: the shared pass then runs to the higher of the two and taps both)."""
    return branch.config.encoder == main.config.encoder and \
        1 <= branch.layer <= _encoder_layers(main)


def attach_sentence_branch(tone_dir: str | os.PathLike, branch_dir: str | os.PathLike) -> Path:
    """Make the branch in ``branch_dir`` the tone model ``tone_dir``'s sentence branch.

    Copies the branch's ``config.json``, ``model.safetensors`` and ``README.md`` into
    ``tone_dir/sentence`` and names it in the tone model's config; the result is checked by
    loading it (both must be branches on the same encoder; they may read different layers
    of it, the pass then runs to the higher one and taps both). Returns the
    sentence branch's directory. Raises :class:`ModelLoadError` for a directory that is not
    a tone model, or a pair that does not fit (then nothing is left changed)."""
    tone_dir, branch_dir = Path(tone_dir), Path(branch_dir)
    main, branch = load_tone_model(tone_dir, lazy=True), load_tone_model(branch_dir, lazy=True)
    if not _reads_the_same_encoder(main, branch) or branch.sentence_model is not None:
        raise ModelLoadError(f"{branch_dir} cannot be the sentence branch of {tone_dir}: it "
                             "must be a plain branch on a layer of the same encoder")
    dest = copy_model_dir(branch_dir, tone_dir / SENTENCE_BRANCH)
    _change_config(tone_dir, "sentence_branch", SENTENCE_BRANCH,
                   lambda: shutil.rmtree(dest, ignore_errors=True))
    return dest


def _build_branch(cfg: ToneModelConfig, weights: Path):
    """The torch branch module of ``cfg`` with the (int8-with-scales) weights of the
    safetensors file ``weights``; :class:`ModelLoadError` when they do not fit."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"{weights}: corrupt or truncated weights ({exc})") from None
    _, ToneBranch = branch_classes()
    module = ToneBranch(cfg.hidden, cfg.heads, cfg.intermediate, cfg.n_layers, cfg.eps,
                        rel_buckets=cfg.rel_buckets, rel_max_distance=cfg.rel_max_distance)
    scales = {k[: -len(_SCALE)]: v for k, v in state.items() if k.endswith(_SCALE)}
    try:
        state = {k: (v.float() * scales[k][:, None].float() if k in scales else v.float())
                 for k, v in state.items() if not k.endswith(_SCALE)}
    except RuntimeError as exc:
        raise ModelLoadError(f"{weights}: weights do not fit the config ({exc})") from None
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ModelLoadError(f"{weights}: weights do not fit the config ({exc})") from None
    if missing or unexpected:
        raise ModelLoadError(f"{weights}: weights do not fit the config (missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]})")
    return module


def weights_digest(path: str | os.PathLike) -> str:
    """First 16 hex digits of the sha256 of a weights file (what cue heads pin)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]
