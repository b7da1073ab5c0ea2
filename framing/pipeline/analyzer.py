"""The :class:`Analyzer`: one object that scores articles for tone and framing cues.

The data path: text -> :func:`framing.text.prepare` (normalise, segment, split long
sentences) -> one encoder pass over every distinct sentence of the call -> tone
scorer and cue detector read the same embeddings -> per-article aggregation with
sentence-level evidence.
"""

from __future__ import annotations

import numbers
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from framing._version import __version__
from framing.core.labels import TONE_LABELS
from framing.core.resources import get_tier
from framing.encoding.encoder import Encoder
from framing.heads.calibration import biased_argmax
from framing.heads.cues.detector import CueDetector
from framing.heads.frames.scorers import make_frame_scorers
from framing.heads.tone.factory import make_tone_scorer
from framing.heads.tone.scorers import ToneScorer, aggregate_probabilities, aggregate_tone, tone_label
from framing.pipeline import onnx_backend
from framing.pipeline.onnx_backend import OnnxBranchRunner
from framing.pipeline.results import (
    ArticleResult,
    CueResult,
    Evidence,
    FrameResult,
    SentenceResult,
    Span,
    ToneEvidence,
)
from framing.text.catalogue import Catalogue
from framing.text.furniture import find_furniture
from framing.text.prepare import PreparedText, detect_language, main_content_extractor, prepare

__all__ = ["Analyzer"]

Target = str | tuple[int, int] | None


class Analyzer:
    """Score news articles on tone and framing cues, offline by default.

    Parameters
    ----------
    model:
        Encoder: ``None`` for the bundled all-MiniLM-L6-v2, ``"all-mpnet-base-v2"`` (the
        accurate tier's encoder, from the ``framing[mpnet]`` extra), a local directory,
        or a hub id with ``allow_network=True``. The shipped tone model, cue heads and
        frame heads that ``"trained"`` / ``"auto"`` pick are those trained on this encoder.
    profile:
        ``"default"`` (all-MiniLM-L6-v2 and its models: fast) or ``"accurate"``
        (all-mpnet-base-v2 and its own tone model, cue heads and frame heads: slower,
        more accurate; needs ``pip install "framing[mpnet]"``). Same outputs and API
        either way. ``None`` (default) is ``"default"`` unless ``model`` says otherwise.
    tone:
        ``"trained"`` (default: the shipped target-aware model trained on NewsMTSC),
        ``"similarity"`` (zero-shot baseline), ``"vader"`` (lexicon baseline),
        any object implementing :class:`~framing.heads.tone.scorers.ToneScorer`, or ``None`` to skip
        tone.
        A directory works too: a tone model trained with ``framing train tone``, or
        any Hugging Face sequence classifier, whose labels ``tone_label_map`` maps to
        critical / neutral / promotional (e.g. ``{"negative": "critical", ...}``).
    tone_model:
        A tone model directory; the same as passing it as ``tone`` (and wins over it).
    cues:
        ``True`` (default): the shipped trained cue heads for the built-in catalogue,
        few-shot exemplar similarity for any other; ``"few-shot"`` forces the latter;
        ``False`` skips cue detection (results then carry no cues).
    catalogue:
        Cue catalogue: ``None`` for the built-in one, a YAML path, the name of a shipped
        one (``"policy_frames"``), or a :class:`~framing.text.catalogue.Catalogue`.
    cue_heads:
        A directory of cue heads trained with ``framing train cues`` (or a
        :class:`~framing.heads.cues.heads.CueHeads`) for ``catalogue``; when ``catalogue`` is
        not given, the copy of the catalogue saved with the heads is used.
    cue_operating_point:
        Which thresholds decide that a cue is present, among those the trained heads
        offer: the shipped heads have ``"balanced"`` (their default: the F1-best threshold
        per cue on the real dev sentences) and ``"strict"`` (the F1-best threshold that
        flags at most 2% of the cue-free dev sentences of each source group: far fewer
        false positives, lower recall). ``None``: the heads' default. It is recorded in
        :meth:`config` (and a scores manifest), and ``compare_outlets`` then corrects
        prevalences with that point's error rates.
    frames:
        Article-level frame schemes: ``"narrative"`` (conflict, economic, human interest,
        morality, resolution from the shipped trained heads; the default ``"auto"`` uses
        them whenever they fit the encoder), ``"policy"`` (the
        fourteen Media Frames Corpus policy frames, few-shot from the ``policy_frames``
        catalogue), ``"all"``, a list of these or of frame-heads directories, or ``None``.
    batch_size:
        Sentences per encoder forward pass.
    max_chars:
        Cleaned characters scored per article; text beyond is not scored and the
        result is flagged ``truncated``. ``None`` for no limit.
    evidence_k:
        Evidence sentences kept per cue and per tone direction.
    furniture:
        ``True`` (default): sentences that are page furniture, not prose (bylines,
        timestamps, photo credits, author bios, newsletter and social prompts, copyright
        lines, related links, tags, editors' notes: see
        :func:`framing.text.furniture.find_furniture`) are listed with their reason in
        :attr:`SentenceResult.furniture` but left out of the article's tone, cues, frames
        and evidence; an article that is all furniture is flagged ``furniture_only`` and
        gets no scores. ``False`` scores every sentence as prose.
    main_content:
        ``True`` (default): a web page given as HTML is cut down to its main content
        (trafilatura, when installed; offsets still index the page), so navigation,
        headers, footers and cookie banners are not scored; an article whose page could
        not be cut down is flagged ``html_fallback``. ``False`` strips the tags and
        scores all the page's text.
    device:
        The torch device: ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"``, ``"mps"``, or
        ``"auto"`` for a CUDA GPU when torch sees one (checked now: a device torch cannot
        use here raises :class:`ValueError`). The encoder and the trained branches run
        there; the heads on their pooled states run on the CPU. The ONNX backends run on
        the CPU, so ``backend="auto"`` takes torch on a GPU. With ``encoder=`` given, that
        encoder's device is used instead.
    encoder, cue_detector:
        Ready-made components to share between analyzers (they win over ``model`` and
        ``catalogue``).
    backend:
        ``"auto"`` (default), ``"torch"``, ``"onnx-fp32"`` or ``"onnx"``. The ONNX
        backends run the encoder layers up to the tone branch and the branch itself as one
        ONNX Runtime graph (needs ``framing[onnx]``): ``"onnx-fp32"`` with the float32
        weights (torch's scores to float rounding, about 1.4x faster here), ``"onnx"``
        with int8 dynamically quantised weights (faster again, but it moves real-text cue
        macro-F1 by −0.016; each text runs alone so that its scores never depend on the
        batch). They serve calls whose heads all read the trained tone branch (the default
        configuration); a call that needs the encoder's final-layer embedding (few-shot
        cues, policy frames, embedding frame heads) runs through torch. The graph is
        exported on first use (torch is imported, a few seconds) into a user cache
        directory; later analyzers load it and score without importing torch or
        transformers at all.
        ``"auto"`` is resolved once, here, by
        :func:`framing.pipeline.onnx_backend.resolve_backend`: the project's policy,
        ``AUTO_BACKEND`` (``"onnx-fp32"``), where ONNX is installed and serves this whole
        analyzer with the default tier's shipped tone model on the CPU, torch otherwise.
        An explicit backend is always honoured. The backend in force is :attr:`backend` and is
        recorded in :meth:`config` (so a scores directory never mixes backends).
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        profile: str | None = None,
        tone: str | ToneScorer | None = "trained",
        tone_model: str | os.PathLike | None = None,
        tone_label_map: dict[str, str] | None = None,
        cues: bool | str = True,
        catalogue: str | os.PathLike | Catalogue | None = None,
        cue_heads: Any = None,
        cue_operating_point: str | None = None,
        frames: Any = "auto",
        allow_network: bool = False,
        batch_size: int = 64,
        max_chars: int | None = 100_000,
        evidence_k: int = 3,
        furniture: bool = True,
        main_content: bool = True,
        language_check: bool = True,
        device: str = "cpu",
        encoder: Encoder | None = None,
        cue_detector: CueDetector | None = None,
        backend: str = "auto",
    ) -> None:
        if backend not in onnx_backend.BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(onnx_backend.BACKENDS)}, "
                             f"not {backend!r}")
        # where ONNX may serve, load nothing with torch until something needs it: a cached
        # graph then scores without torch or transformers
        light = backend in onnx_backend.ONNX_BACKENDS or (
            backend == "auto" and onnx_backend.AUTO_BACKEND in onnx_backend.ONNX_BACKENDS
            and onnx_backend.onnx_installed())
        if profile is not None:
            tier = get_tier(profile)
            if model is None and encoder is None:
                model = None if tier.name == "default" else tier.encoder
            elif tier.name != "default" and str(model or "") not in ("", tier.encoder):
                raise ValueError(f"profile={profile!r} is the {tier.encoder} encoder and its "
                                 f"models; it cannot be combined with model={str(model)!r}")
        self.encoder = encoder or Encoder(model, allow_network=allow_network,
                                          batch_size=batch_size, device=device, lazy=light)
        if tone_model is not None:
            tone = tone_model
        self.tone_scorer = make_tone_scorer(tone, self.encoder, label_map=tone_label_map,
                                            allow_network=allow_network, lazy=light) \
            if tone is not None else None
        if cue_detector is None and cues:
            # the shipped trained heads serve the built-in catalogue; any other catalogue
            # (or cues="few-shot") works few-shot from its exemplars, unless heads trained
            # for it are given
            heads = "auto" if cues is True or cues == "trained" else None
            if cue_heads is not None:
                heads = cue_heads
                saved = Path(cue_heads) / "catalogue.yaml" \
                    if isinstance(cue_heads, (str, os.PathLike)) else None
                if catalogue is None and saved is not None and saved.is_file():
                    catalogue = saved
            cue_detector = CueDetector(catalogue, self.encoder, heads=heads,
                                       tone_model=self.tone_scorer,
                                       operating_point=cue_operating_point)
        elif cue_detector is not None:  # one branch pass for tone and cues when they share it
            if cue_operating_point is not None:
                raise ValueError("cue_operating_point goes with the analyzer's own cue "
                                 "detector; give a CueDetector its operating_point instead")
            cue_detector.use_tone_model(self.tone_scorer)
        elif cue_operating_point is not None:
            raise ValueError(f"cue_operating_point={cue_operating_point!r} needs cues, "
                             "but cues are off")
        self.cue_detector = cue_detector
        self.frame_scorers = make_frame_scorers(frames, self.encoder, tone_model=self.tone_scorer)
        self.batch_size = int(batch_size)
        self.max_chars = max_chars
        self.evidence_k = int(evidence_k)
        self.furniture = bool(furniture)
        self.main_content = bool(main_content)
        self.language_check = language_check
        #: when every head reads a tone branch (no head needs the final-layer embedding),
        #: run the encoder only up to the branch's layer; False forces the full pass
        #: (the outputs are the same; this is for tests and comparisons)
        self.truncated_pass = True
        #: the backend asked for (``"auto"``, ``"torch"``, ``"onnx"``); :attr:`backend` is
        #: the one in force
        self.backend_requested = backend
        self.backend = self._choose_backend(backend, device)
        self._onnx = None
        if self.backend in onnx_backend.ONNX_BACKENDS:
            self._onnx = OnnxBranchRunner(self.encoder, self.tone_scorer,
                                          quantize=self.backend == "onnx",
                                          extra=self._extra_branches())
        self._place_branches()
        self.warm_up()

    def _choose_backend(self, requested: str, device: str) -> str:
        """``"torch"`` or ``"onnx"`` for this analyzer (see ``backend`` in the class
        docstring); raises :class:`ValueError` for ``"onnx"`` without a trained tone
        branch to serve."""
        needs, tone = self.needs, self.tone_scorer
        branch = needs.tone_reads_states and tone.layer < self.encoder.n_layers
        if requested in onnx_backend.ONNX_BACKENDS and not branch:
            raise ValueError(f"backend={requested!r} serves the trained tone branch; this "
                             f"analyzer's tone scorer is {self.tone_name!r}")
        serves = branch and not needs.embedding and \
            all(m is tone or getattr(m, "digest", None)
                for m in needs.branches + needs.layer_branches)
        return onnx_backend.resolve_backend(requested, tone=tone, graph_serves=serves,
                                            device=str(getattr(self.encoder, "device", device)))

    def _extra_branches(self) -> list:
        """The branches other than the tone model's that the analyzer reads (a cue branch,
        the tone model's sentence branch), each on its own layer: the ONNX graph runs them
        in the same pass."""
        tone = self.tone_scorer
        return [m for m in self.needs.branches if m is not tone]

    def _place_branches(self) -> None:
        """Put the trained branches the torch backend runs (the tone model's, its sentence
        branch, a cue or frame branch) on the encoder's device, so that a GPU analyzer
        runs them there too instead of on the CPU."""
        device = str(getattr(self.encoder, "device", "cpu"))
        if self.backend != "torch" or device == "cpu":
            return
        needs = self.needs
        for m in [self.tone_scorer, *needs.branches, *needs.layer_branches]:
            if getattr(m, "uses_hidden_states", False) and callable(getattr(m, "to", None)):
                m.to(device)

    def warm_up(self) -> "Analyzer":
        """Fit what the components fit lazily (exemplar and prototype embeddings) now, so
        that the first call's time and throughput figures measure scoring alone."""
        if self.cue_detector is not None and not self.cue_detector.fitted:
            self.cue_detector.fit()
        self.score_many(["A short sentence to warm the models up."], errors="raise")
        return self

    @property
    def onnx_graph(self) -> Path | None:
        """The cached ONNX graph this analyzer runs (None on the torch backend)."""
        return self._onnx.path if self._onnx is not None else None

    @property
    def catalogue(self) -> Catalogue | None:
        return self.cue_detector.catalogue if self.cue_detector is not None else None

    @property
    def cue_ids(self) -> list[str]:
        return self.catalogue.ids if self.catalogue is not None else []

    @property
    def frame_ids(self) -> list[tuple[str, str]]:
        """``(scheme, frame id)`` of every frame this analyzer scores, in output order."""
        return [(f.scheme, fid) for f in self.frame_scorers for fid in f.ids]

    @property
    def tone_name(self) -> str | None:
        return self.tone_scorer.name if self.tone_scorer is not None else None

    @property
    def needs(self) -> "PassNeeds":
        """What this analyzer's components declare they read (see :class:`PassNeeds`)."""
        return PassNeeds.of(self.tone_scorer, self.cue_detector, self.frame_scorers)

    def config(self) -> dict[str, Any]:
        """What this analyzer is made of, for manifests and reports."""
        cat = self.catalogue
        return {
            "framing_version": __version__,
            "encoder": self.encoder.model_name,
            "encoder_location": self.encoder.location,
            "max_length": self.encoder.max_length,
            "tone_scorer": self.tone_name,
            **({"tone_sentence_branch": self.tone_scorer.sentence_model.name}
               if getattr(self.tone_scorer, "sentence_model", None) is not None else {}),
            "cue_detector": self.cue_detector.name if self.cue_detector else None,
            "cue_operating_point": getattr(self.cue_detector, "operating_point", None),
            "catalogue": cat.name if cat else None,
            "catalogue_version": cat.version if cat else None,
            "catalogue_sha256": cat.sha256 if cat else None,
            "frames": {f.scheme: f.name for f in self.frame_scorers},
            "max_chars": self.max_chars,
            "backend": self.backend,
            # what counts as prose changes every score: a resumed run must not mix settings
            "furniture": self.furniture,
            "html_main_content": (main_content_extractor() or "unavailable")
            if self.main_content else "off",
        }

    def artefact_paths(self) -> dict[str, str]:
        """Where each loaded model artefact lives (a local directory, or a hub id): the
        encoder, the tone model (and its sentence branch), the cue heads (and the branch
        they carry, if any) and each scheme's frame heads. A resumed
        corpus run hashes these to notice a changed model."""
        tone = self.tone_scorer
        places = {
            "encoder": self.encoder.location,
            "tone": getattr(tone, "path", None) or getattr(tone, "location", None),
            "cue_heads": getattr(getattr(self.cue_detector, "heads", None), "path", None),
        }
        sentence = getattr(tone, "sentence_model", None)
        if sentence is not None:
            places["tone_sentence"] = sentence.path
        branch = getattr(self.cue_detector, "feature_model", None)
        if branch is not None and branch is not tone and branch is not sentence:
            places["cue_branch"] = getattr(branch, "path", None)  # heads with their own branch
        for f in self.frame_scorers:
            places[f"frames:{f.scheme}"] = f.artefact_path
        return {k: str(v) for k, v in places.items() if v is not None}

    # -- public API ------------------------------------------------------------------
    def prepare(self, text: str) -> PreparedText:
        """Normalise and segment ``text`` with this analyzer's limits (no scoring)."""
        return prepare(text, max_chars=self.max_chars, max_tokens=self.encoder.content_tokens,
                       token_offsets=self.encoder.token_offsets, main_content=self.main_content)

    def find_furniture(self, prep: PreparedText) -> list[str | None]:
        """Each sentence's furniture reason (None: prose), or all None with the filter off."""
        if not self.furniture:
            return [None] * len(prep.sentences)
        return find_furniture(prep.sentences, prep.clean)

    def score(self, text: str, target: Target = None, *, id: Any = None) -> ArticleResult:
        """Score one article.

        ``target`` is a name (its mentions are found as whole words, case-insensitive)
        or a ``(start, end)`` pair of character offsets into ``text``. Tone is then the
        tone *toward the target* in the sentences that mention it (a target-aware
        model scores each mention; a baseline scores the sentence); if none does, tone
        is None and the result is flagged ``no_target_mention``. Cues always cover the
        whole article.

        Raises :class:`TypeError` if ``text`` is not a string.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        return self.score_many([text], targets=[target], ids=[id], errors="raise")[0]

    @staticmethod
    def _check_target(target: Any) -> Target:
        if target is None:
            return None
        if isinstance(target, (tuple, list)) and len(target) == 2 and \
                all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in target):
            if not 0 <= target[0] < target[1]:
                raise ValueError(f"target offsets must satisfy 0 <= start < end, got {tuple(target)}")
            return (int(target[0]), int(target[1]))
        if not isinstance(target, str):
            raise TypeError("target must be a string, a (start, end) pair of character offsets, "
                            f"or None, not {type(target).__name__}")
        if not target.strip():
            raise ValueError("target must name something (it is empty)")
        return target.strip()

    def score_many(
        self,
        texts: Iterable[Any],
        batch_size: int | None = None,
        *,
        targets: Sequence[Target] | None = None,
        ids: Sequence[Any] | None = None,
        errors: str = "flag",
    ) -> list[ArticleResult]:
        """Score many articles; returns one result per input, in input order.

        All sentences of the call are encoded together (each distinct sentence once),
        so larger calls batch better. With ``errors="flag"`` (default) an input that
        is not a string, or a malformed target, gives a result with ``error`` set
        instead of an exception; ``errors="raise"`` raises :class:`TypeError` /
        :class:`ValueError`.

        The steps: :meth:`_prepare_batch` (check and segment each input) ->
        :meth:`_plan_pass` (what the one encoder pass must yield for the heads) ->
        :meth:`_encode` -> :meth:`_run_heads` (tone, cues, frames per sentence) ->
        :meth:`_assemble` per article.
        """
        if errors not in ("flag", "raise"):
            raise ValueError("errors must be 'flag' or 'raise'")
        batch = self._prepare_batch(list(texts), targets, ids, errors)
        plan = self._plan_pass(batch, self.needs)
        encoded = self._encode(batch, plan, batch_size or self.batch_size)
        sentences = self._run_heads(batch, plan, encoded)
        pos = 0
        for i in batch.order:
            k = len(batch.prepared[i].sentences)
            furniture = batch.furniture[i]
            prose = np.array([j for j in range(k) if furniture[j] is None], dtype=int)
            batch.results[i] = self._assemble(batch.prepared[i],
                                              sentences.slice(pos, k, batch.target_spans),
                                              batch.targets[i], batch.ids[i],
                                              self._score_frames(batch, encoded, pos, prose),
                                              plan.needs, furniture)
            pos += k
        return batch.results  # type: ignore[return-value]

    # -- the steps of score_many -------------------------------------------------------
    def _prepare_batch(self, texts: list[Any], targets: Sequence[Target] | None,
                       ids: Sequence[Any] | None, errors: str) -> "_Batch":
        """Check every input and segment the good ones; a bad input gets its failed
        result here (or raises, with ``errors="raise"``)."""
        n = len(texts)
        targets = list(targets) if targets is not None else [None] * n
        ids = list(ids) if ids is not None else [None] * n
        if len(targets) != n or len(ids) != n:
            raise ValueError("targets and ids must have one entry per text")
        batch = _Batch(targets, ids, [None] * n)
        for i, text in enumerate(texts):
            try:
                targets[i] = self._check_target(targets[i])
            except (TypeError, ValueError) as exc:  # a bad target spoils only its own row
                if errors == "raise":
                    raise
                batch.results[i] = self.failed_result(f"{type(exc).__name__}: {exc}", ids[i], None)
                continue
            if not isinstance(text, str):
                what = "missing text (None)" if text is None else \
                    f"text must be str, not {type(text).__name__}"
                if errors == "raise":
                    raise TypeError(what)
                batch.results[i] = self.failed_result(what, ids[i], targets[i])
                continue
            try:
                batch.prepared[i] = self.prepare(text)
            except Exception as exc:  # never lose a row to an unexpected text
                if errors == "raise":
                    raise
                batch.results[i] = self.failed_result(f"{type(exc).__name__}: {exc}", ids[i],
                                                      targets[i])
        for i in batch.order:
            batch.furniture[i] = self.find_furniture(batch.prepared[i])
            by_sentence = self._target_spans(batch.prepared[i], targets[i])
            for j, sent in enumerate(batch.prepared[i].sentences):
                if j in by_sentence:
                    batch.target_spans[len(batch.cleans)] = by_sentence[j]
                batch.cleans.append(sent.clean)
        return batch

    def _plan_pass(self, batch: "_Batch", needs: "PassNeeds") -> "_Plan":
        """What the encoder pass must produce: taps into the layer states for the tone
        branch and for heads that read a branch's states, the final-layer embedding for
        heads that read it, and the layer at which the pass may stop."""
        plan = _Plan(needs=needs)
        if not batch.cleans:
            return plan
        tone = self.tone_scorer
        if needs.tone_reads_states:
            plan.tone_tap = tone.make_tap(
                {pos: [None, *spans] for pos, spans in batch.target_spans.items()})
        for m in needs.branches:
            if id(m) not in plan.feature_taps:
                tap = plan.tone_tap if plan.tone_tap is not None and plan.tone_tap.model is m \
                    else m.make_tap({})
                tap.keep_features = True
                plan.feature_taps[id(m)] = tap
        for m in needs.layer_branches:
            plan.feature_taps[id(m)].keep_layer_states = True
        plan.taps = ([plan.tone_tap] if plan.tone_tap is not None else []) + \
            [t for t in plan.feature_taps.values() if t is not plan.tone_tap]
        plan.need_embedding = needs.embedding
        if plan.taps and not needs.embedding and self.truncated_pass:
            plan.stop_layer = max(t.layer for t in plan.taps)  # layers above are not read
        return plan

    def _encode(self, batch: "_Batch", plan: "_Plan", batch_size: int) -> "_Encoded":
        """The one encoder pass over the batch's sentences (the ONNX graph when it serves
        the whole plan); returns the final-layer embeddings (when needed) and the pooled
        branch states per branch."""
        cleans = batch.cleans
        emb = None
        if self._onnx is not None and plan.stop_layer is not None and plan.taps and \
                plan.taps[0] is plan.tone_tap and \
                all(any(t.model is m for m in self._onnx.extra) for t in plan.taps[1:]):
            # one graph: the encoder up to the branch, the branch and its head (and the
            # other branches that heads read)
            self._onnx.run(cleans, plan.tone_tap, batch_size, extra_taps=plan.taps[1:])
        elif (plan.need_embedding or plan.taps) and cleans:
            emb = self.encoder.encode(cleans, batch_size, taps=plan.taps,
                                      stop_layer=plan.stop_layer)
        if plan.stop_layer is not None:
            emb = None  # pooled intermediate states, not sentence embeddings
        n = len(cleans)
        feats = {k: np.stack([t.features[p] for p in range(n)])
                 for k, t in plan.feature_taps.items()}
        layer_feats = {k: np.concatenate([np.stack([t.layer_states[p] for p in range(n)]),
                                          feats[k]], axis=1)
                       for k, t in plan.feature_taps.items() if t.keep_layer_states}
        return _Encoded(emb, feats, layer_feats)

    def _rows_for(self, model: Any, source: str, encoded: "_Encoded") -> np.ndarray | None:
        """The sentence rows a head reads: the embeddings, or a branch's states (with the
        shared layer's states first for ``layer+tone-branch``)."""
        if model is None:
            return encoded.embeddings
        table = encoded.layer_features if source == "layer+tone-branch" else encoded.features
        return table.get(id(model))

    def _run_heads(self, batch: "_Batch", plan: "_Plan", encoded: "_Encoded") -> "_SentenceScores":
        """Tone (per sentence, and toward each target mention) and cue probabilities for
        every sentence of the batch."""
        cleans, tone, cues, needs = batch.cleans, self.tone_scorer, self.cue_detector, plan.needs
        n = len(cleans)
        if cues is not None:
            cue_probs, matches = cues.predict(
                cleans, encoded.embeddings,
                features=self._rows_for(needs.cue_branch, needs.cue_source, encoded)
                if needs.cue_branch is not None else None)
        else:
            cue_probs, matches = np.zeros((n, 0)), [[] for _ in cleans]
        out = _SentenceScores(cue_probs, matches, np.full(n, np.nan))
        if tone is None or not n:
            return out
        tap = plan.tone_tap
        emb = encoded.embeddings if tone.uses_embeddings else None
        if tap is not None:
            whole = plan.feature_taps.get(id(needs.sentence_branch), tap)  # whole sentences
            out.tone_probs = np.stack([whole.out[(pos, None)] for pos in range(n)])
            head = needs.sentence_head
            if head is not None:  # the head on the pooled states replaces the branch's own
                rows = encoded.layer_features[id(whole.model)]
                if head.features == "branch+main":
                    rows = np.concatenate([rows, encoded.features[id(tone)]], axis=1)
                if head.articles == "branch":  # articles aggregate the branch's, as without
                    out.article_tone_probs = out.tone_probs
                out.tone_probs = head.probabilities(rows)
            if getattr(tone, "lexical", None) is not None:  # the words of whole sentences
                out.tone_probs = tone.with_words(out.tone_probs, cleans)
                if out.article_tone_probs is not None:
                    out.article_tone_probs = tone.with_words(out.article_tone_probs, cleans)
            for pos, spans in batch.target_spans.items():
                out.target_probs[pos] = np.mean([tap.out[(pos, sp)] for sp in spans], axis=0)
        elif needs.tone_gives_probabilities:
            out.tone_probs = np.asarray(tone.sentence_probabilities(cleans, emb), dtype=float)
        else:
            out.tones = np.asarray(tone.sentence_tone(cleans, emb), dtype=float)
        if out.tone_probs is not None:
            out.tones = out.tone_probs[:, 2] - out.tone_probs[:, 0]
            for pos in batch.target_spans:
                out.target_probs.setdefault(pos, out.tone_probs[pos])
        out.tones = np.clip(np.nan_to_num(out.tones), -1.0, 1.0)
        return out

    def _score_frames(self, batch: "_Batch", encoded: "_Encoded", pos: int,
                      prose: np.ndarray) -> list:
        """Each frame scheme's article and per-sentence probabilities for the article whose
        sentences start at row ``pos`` of the batch, read from its prose sentences alone
        (``prose``: their indices in the article; per-sentence rows follow that order)."""
        out = []
        cleans = [batch.cleans[pos + j] for j in prose]
        for f in self.frame_scorers:
            src = self._rows_for(f.feature_model, f.feature_source, encoded)
            rows = src[pos + prose] if src is not None else np.zeros((0, self.encoder.dim))
            out.append((f, *f.score(rows, cleans)))
        return out

    @staticmethod
    def _target_spans(prep: PreparedText, target: Target) -> dict[int, list[tuple[int, int]]]:
        """Target mentions per sentence index, as spans of that sentence's clean text."""
        if target is None:
            return {}
        out: dict[int, list[tuple[int, int]]] = {}
        if isinstance(target, str):
            rx = re.compile(r"(?<!\w)" + re.escape(target) + r"(?!\w)", re.IGNORECASE)
            for j, sent in enumerate(prep.sentences):
                spans = [(m.start(), m.end()) for m in rx.finditer(sent.clean)]
                if spans:
                    out[j] = spans
            return out
        a, b = prep.to_clean(*target)
        for j, sent in enumerate(prep.sentences):
            s, e = max(a, sent.clean_start), min(b, sent.clean_end)
            if e > s:
                out[j] = [(s - sent.clean_start, e - sent.clean_start)]
        return out

    # -- assembly --------------------------------------------------------------------
    def _empty_cues(self) -> dict[str, CueResult]:
        cues = self.catalogue.cues if self.catalogue is not None else ()
        return {c.id: CueResult(c.id, c.name, 0.0, False) for c in cues}

    def failed_result(self, error: str, id: Any = None, target: Target = None) -> ArticleResult:
        """The result for an input that could not be scored: flagged ``error``, every cue
        absent, ``error`` set to the message."""
        return ArticleResult(None, None, self._empty_cues(), [], tone_scorer=self.tone_name,
                             target=target, flags=["error"], error=error, id=id)

    def _assemble(self, prep: PreparedText, scores: "_SentenceScores", target: Target, id: Any,
                  frame_out: Sequence[Any], needs: "PassNeeds",
                  furniture: Sequence[str | None] | None = None) -> ArticleResult:
        """One article's result from its sentences' scores: flags, cue probabilities and
        evidence, tone (toward the target's mentions when there is a target) and frames.
        Every sentence is listed (with its ``furniture`` reason); only the prose ones count
        toward the article."""
        flags, language = self._flags(prep)
        sents = prep.sentences
        furniture = list(furniture) if furniture is not None else [None] * len(sents)
        prose = np.array([j for j, f in enumerate(furniture) if f is None], dtype=int)
        if sents and not prose.size:
            flags.append("furniture_only")
        cues = self.catalogue.cues if self.catalogue is not None else ()
        has_tone = self.tone_scorer is not None
        sentence_results = [
            SentenceResult(s.index, s.start, s.end, s.text,
                           float(scores.tones[j]) if has_tone else None,
                           {c.id: float(scores.cue_probs[j, ci]) for ci, c in enumerate(cues)},
                           s.part, furniture=furniture[j])
            for j, s in enumerate(sents)
        ]
        tone = self._article_tone(prep, scores, target, sentence_results, flags,
                                  needs.tone_label_by_argmax, prose)
        frames = {f.scheme: self._frame_results(f, art, per, [sents[j] for j in prose])
                  for f, art, per in frame_out}
        return ArticleResult(
            tone.value, tone.label, self._cue_results(prep, scores, prose), sentence_results,
            tone.most_promotional, tone.most_critical, tone_scorer=self.tone_name,
            tone_probabilities=tone.class_probs, target=target, language=language,
            flags=flags, id=id, frames=frames,
        )

    def _flags(self, prep: PreparedText) -> tuple[list[str], str | None]:
        """``(flags, language)`` of a prepared article: empty, html, html_fallback (a page
        whose main content could not be found: all its text was scored), truncated and,
        with the language check on, non_english (language None when not checked)."""
        flags: list[str] = []
        if not prep.sentences:
            flags.append("empty")
        if prep.is_html:
            flags.append("html")
        if prep.html_extraction == "tags_fallback":
            flags.append("html_fallback")
        if prep.truncated_at is not None:
            flags.append("truncated")
        language = None
        if self.language_check and prep.sentences:
            language, _ = detect_language(prep.clean)
            if language not in ("en", "und"):
                flags.append("non_english")
        return flags, language

    def _cue_results(self, prep: PreparedText, scores: "_SentenceScores",
                     prose: np.ndarray | None = None) -> dict[str, CueResult]:
        """Each cue's article probability (its most probable prose sentence), presence at
        the cue's threshold, and up to ``evidence_k`` evidence sentences above it with the
        pattern spans matched in them (offsets into the original text). ``prose``: the
        indices of the sentences that count (default: all)."""
        sents, probs, matches = prep.sentences, scores.cue_probs, scores.matches
        if prose is None:
            prose = np.arange(len(sents))
        cues = self.catalogue.cues if self.catalogue is not None else ()
        thresholds = self.cue_detector.thresholds if self.cue_detector is not None else []
        out: dict[str, CueResult] = {}
        for ci, cue in enumerate(cues):
            col = probs[prose, ci] if prose.size else np.zeros(0)
            p = float(col.max()) if col.size else 0.0
            evidence = []
            for r in np.argsort(-col, kind="stable")[: self.evidence_k] if col.size else []:
                if col[r] < thresholds[ci]:
                    break
                j = int(prose[r])
                s = sents[j]
                spans = []
                for m in matches[j]:
                    if m.cue == cue.id:
                        a, b = prep.to_original(s.clean_start + m.start, s.clean_start + m.end)
                        spans.append(Span(a, b, prep.original[a:b], m.pattern))
                evidence.append(Evidence(s.index, s.start, s.end, s.text, float(col[r]), spans))
            out[cue.id] = CueResult(cue.id, cue.name, p, bool(p >= thresholds[ci]), evidence)
        return out

    def _article_tone(self, prep: PreparedText, scores: "_SentenceScores", target: Target,
                      sentence_results: list[SentenceResult], flags: list[str],
                      label_by_argmax: bool, prose: np.ndarray | None = None) -> "_ArticleTone":
        """The article's tone, label, class probabilities and most promotional / critical
        sentences, from its prose sentences (``prose``: their indices; default all). With
        a target, only the prose sentences that mention it count, each scored toward the
        mention (their ``target_tone`` is set; ``no_target_mention`` is flagged when none
        does)."""
        sents, tones, tone_probs = prep.sentences, scores.tones, scores.tone_probs
        has_tone = self.tone_scorer is not None
        tone_idx = np.arange(len(sents)) if prose is None else np.asarray(prose, dtype=int)
        if target is not None:
            counted = set(tone_idx.tolist())
            tone_idx = np.array([j for j in sorted(scores.target_probs) if j in counted],
                                dtype=int)
            if tone_idx.size == 0 and counted:
                flags.append("no_target_mention")
            tones = tones.copy()
            if tone_probs is not None:
                tone_probs = tone_probs.copy()
            for j, p in scores.target_probs.items():
                if p is not None:
                    tone_probs[j] = p
                    tones[j] = float(p[2] - p[0])
                sentence_results[j].target_tone = float(tones[j]) if has_tone else None
        if not has_tone:
            tone_idx = np.zeros(0, dtype=int)
        band = self.tone_scorer.neutral_band if has_tone else 0.0
        # the aggregate: of the sentences' own tones, or of the branch's probabilities
        # where a sentence-tone head is for sentences only and two or more are aggregated
        agg_probs, agg_tones = tone_probs, tones
        if target is None and scores.article_tone_probs is not None and tone_idx.size >= 2:
            agg_probs = scores.article_tone_probs
            agg_tones = agg_probs[:, 2] - agg_probs[:, 0]
        value = aggregate_tone(agg_tones[tone_idx]) if tone_idx.size else None
        class_probs = None
        if agg_probs is not None and tone_idx.size:
            class_probs = dict(zip(TONE_LABELS, map(float, aggregate_probabilities(
                agg_probs[tone_idx], agg_tones[tone_idx]))))
        label = tone_label(value, band)
        if class_probs is not None and label_by_argmax:
            # calibrated: the likeliest class, after the tone model's label biases for
            # tone that is not toward a target (fitted for macro-F1; none: plain argmax),
            # its article biases when it has them and two or more sentences are aggregated
            biases = None
            if target is None:
                biases = getattr(self.tone_scorer, "label_biases", None)
                per_article = getattr(self.tone_scorer, "article_biases", None)
                if per_article is not None and tone_idx.size >= 2:
                    biases = per_article
            row = np.array([[class_probs[k] for k in TONE_LABELS]])
            label = TONE_LABELS[int(biased_argmax(row, biases)[0])]
        sel = tones[tone_idx] if tone_idx.size else np.zeros(0)
        order_desc = tone_idx[np.argsort(-sel, kind="stable")] if sel.size else []
        most_prom = [self._tone_ev(sents[j], tones[j]) for j in order_desc
                     if tones[j] > band][: self.evidence_k]
        most_crit = [self._tone_ev(sents[j], tones[j]) for j in list(order_desc)[::-1]
                     if tones[j] < -band][: self.evidence_k]
        return _ArticleTone(value, label, class_probs, most_prom, most_crit)

    def _frame_results(self, scorer, article: np.ndarray, per: np.ndarray,
                       sents) -> dict[str, FrameResult]:
        out: dict[str, FrameResult] = {}
        for j, fid in enumerate(scorer.ids):
            p = float(article[j])
            present = bool(p >= scorer.thresholds[j]) and len(sents) > 0
            evidence = []
            if present:  # the sentences that carry the frame most
                for i in np.argsort(-per[:, j], kind="stable")[: self.evidence_k]:
                    s = sents[i]
                    evidence.append(Evidence(s.index, s.start, s.end, s.text, float(per[i, j])))
            out[fid] = FrameResult(fid, scorer.names[j], scorer.scheme, p, present, evidence)
        return out

    @staticmethod
    def _tone_ev(s, value: float) -> ToneEvidence:
        return ToneEvidence(s.index, s.start, s.end, s.text, float(value))


# -- what the steps of score_many pass along ---------------------------------------------
@dataclass
class PassNeeds:
    """What the components of an analyzer read from the one encoder pass, as they declare
    it: a tone scorer's ``uses_embeddings`` / ``uses_hidden_states`` /
    ``label_by_argmax`` and ``sentence_probabilities``; a cue detector's
    ``needs_branch_features`` and its heads' ``feature_source``; each frame scorer's
    ``feature_model`` and ``feature_source``. Read once per call, in one place."""

    tone_reads_states: bool = False
    tone_gives_probabilities: bool = False
    tone_label_by_argmax: bool = False
    #: the tone branch cue heads read (None: they read the embedding, or there are none)
    cue_branch: Any = None
    cue_source: str = "embedding"
    #: tone branches whose pooled states some head reads, and those whose shared-layer
    #: states are needed too
    branches: list[Any] = field(default_factory=list)
    layer_branches: list[Any] = field(default_factory=list)
    #: whether some component reads the encoder's final-layer sentence embedding
    embedding: bool = False
    #: the tone model's sentence branch (tone of whole sentences), when it has one
    sentence_branch: Any = None
    #: the tone model's sentence-tone head (tone of whole sentences from pooled branch
    #: states), when it has one
    sentence_head: Any = None

    @classmethod
    def of(cls, tone: Any, cues: Any, frames: Sequence[Any]) -> "PassNeeds":
        needs = cls()
        if tone is not None:
            needs.tone_reads_states = bool(getattr(tone, "uses_hidden_states", False))
            needs.tone_gives_probabilities = hasattr(tone, "sentence_probabilities")
            needs.tone_label_by_argmax = bool(getattr(tone, "label_by_argmax", False))
            needs.embedding = bool(tone.uses_embeddings)
            needs.sentence_branch = getattr(tone, "sentence_model", None)
            if needs.sentence_branch is not None and needs.tone_reads_states:
                needs.branches.append(needs.sentence_branch)
            needs.sentence_head = getattr(tone, "sentence_head", None) \
                if needs.tone_reads_states else None
        if cues is not None and cues.use_similarity:
            if cues.needs_branch_features:
                needs.cue_branch = cues.feature_model
                needs.cue_source = cues.heads.feature_source
            else:
                needs.embedding = True
        reads = [(needs.cue_branch, needs.cue_source)] if needs.cue_branch is not None else []
        for f in frames:
            if f.feature_model is None:
                needs.embedding = True
            else:
                reads.append((f.feature_model, f.feature_source))
        if needs.sentence_head is not None:  # the whole-sentence branch's states, and the main's
            reads.append((needs.sentence_branch or tone, "layer+tone-branch"))
            if needs.sentence_head.features == "branch+main":
                reads.append((tone, "tone-branch"))
        for model, source in reads:
            if all(m is not model for m in needs.branches):
                needs.branches.append(model)
            if source == "layer+tone-branch" and all(m is not model for m in needs.layer_branches):
                needs.layer_branches.append(model)
        return needs


@dataclass
class _Batch:
    """The inputs of one score_many call: checked targets and ids, a result slot per
    input (filled early for a bad input), prepared texts and their sentences in order."""

    targets: list[Any]
    ids: list[Any]
    results: list[ArticleResult | None]
    prepared: dict[int, PreparedText] = field(default_factory=dict)
    cleans: list[str] = field(default_factory=list)
    #: batch sentence position -> target mention spans in that sentence's clean text
    target_spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    #: input position -> each sentence's furniture reason (None: prose)
    furniture: dict[int, list[str | None]] = field(default_factory=dict)

    @property
    def order(self) -> list[int]:
        """Input positions that were prepared, in input order."""
        return list(self.prepared)


@dataclass
class _Plan:
    needs: PassNeeds = field(default_factory=PassNeeds)
    tone_tap: Any = None
    feature_taps: dict[int, Any] = field(default_factory=dict)
    taps: list[Any] = field(default_factory=list)
    need_embedding: bool = False
    stop_layer: int | None = None


@dataclass
class _Encoded:
    embeddings: np.ndarray | None
    features: dict[int, np.ndarray]
    layer_features: dict[int, np.ndarray]


@dataclass
class _SentenceScores:
    cue_probs: np.ndarray
    matches: list[Any]
    tones: np.ndarray
    tone_probs: np.ndarray | None = None
    target_probs: dict[int, np.ndarray] = field(default_factory=dict)
    #: what a text of two or more sentences aggregates when it is not ``tone_probs`` (a
    #: sentence-tone head for sentences only: the branch's own probabilities); else None
    article_tone_probs: np.ndarray | None = None

    def slice(self, pos: int, k: int, target_spans: dict[int, Any]) -> "_SentenceScores":
        """The scores of sentences ``pos .. pos + k`` (one article), target positions local."""
        local = {p - pos: self.target_probs.get(p) for p in range(pos, pos + k) if p in target_spans}

        def part(a: np.ndarray | None) -> np.ndarray | None:
            return a[pos:pos + k] if a is not None else None

        return _SentenceScores(self.cue_probs[pos:pos + k], self.matches[pos:pos + k],
                               self.tones[pos:pos + k], part(self.tone_probs), local,
                               part(self.article_tone_probs))


@dataclass
class _ArticleTone:
    value: float | None
    label: str | None
    class_probs: dict[str, float] | None
    most_promotional: list[ToneEvidence]
    most_critical: list[ToneEvidence]
