"""Building a tone scorer from what a user names: ``"trained"`` (the shipped model), a
baseline's name, a tone-model directory, a Hugging Face classifier, or a ready object."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framing.core.resources import SHIPPED_TONE_MODEL, TIERS, Tier, shipped_model_path
from framing.encoding.fingerprints import fingerprint_mismatch
from framing.errors import ModelLoadError, ModelNotFoundError
from framing.heads.tone.hf import load_hf_tone
from framing.heads.tone.model import (SENTENCE_BRANCH, is_tone_model_dir, load_tone_model,
                                     weights_digest)
from framing.heads.tone.scorers import SimilarityToneBaseline, ToneScorer, VaderToneBaseline

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder

__all__ = ["TONE_SCORERS", "SHIPPED_TONE_MODEL", "make_tone_scorer", "resolve_feature_model",
           "shipped_tone_model_path", "tier_for_encoder"]


TONE_SCORERS = {
    "similarity": SimilarityToneBaseline,
    "vader": VaderToneBaseline,
}




def shipped_tone_model_path(encoder: "Encoder | None" = None):
    """Directory of the shipped tone model (``framing.models``) of the tier that fits
    ``encoder`` (the default tier's without one)."""
    return shipped_model_path(tier_for_encoder(encoder).tone)


def _trained_on(tier: Tier) -> dict[str, Any] | None:
    """The encoder fingerprint in a tier's shipped tone config, or None if it is absent."""
    try:
        cfg = json.loads((shipped_model_path(tier.tone) / "config.json").read_text("utf-8"))
    except (OSError, ValueError, ModuleNotFoundError):
        return None
    enc = cfg.get("encoder") if isinstance(cfg, dict) else None
    return enc if isinstance(enc, dict) and enc else None


def tier_for_encoder(encoder: "Encoder | None") -> Tier:
    """The shipped tier whose models were trained on ``encoder`` (matched by the encoder
    fingerprint in each tier's tone config); the default tier when none matches or
    ``encoder`` is None, so that the caller's own check names the mismatch."""
    if encoder is not None:
        for tier in TIERS.values():
            want = _trained_on(tier)
            if want is not None and fingerprint_mismatch(want, encoder) is None:
                return tier
    return TIERS["default"]


def make_tone_scorer(spec: "str | os.PathLike | ToneScorer", encoder: "Encoder | None", *,
                     label_map: dict[str, str] | None = None,
                     allow_network: bool = False, lazy: bool = False) -> ToneScorer:
    """Build a tone scorer from a name, a model directory, or return a ready one.

    Names: ``"trained"`` (the shipped NewsMTSC model, the default), ``"similarity"`` and
    ``"vader"`` (baselines). A directory holding a framing tone model (written by
    ``framing train tone``) is loaded and checked against ``encoder``; any other model
    directory is taken as a Hugging Face sequence classifier mapped to tone labels
    through ``label_map`` (see :mod:`framing.heads.tone.hf`); ``"nli:DIR"`` takes a zero-shot NLI
    model, refused unless its config has an entailment label; a hub id works with
    ``allow_network=True``.

    ``lazy=True`` loads a framing tone model's torch module on first use (see
    :func:`~framing.heads.tone.model.load_tone_model`).

    Raises :class:`ValueError` for an unknown name, and the loaders' errors
    (:class:`~framing.errors.ModelLoadError`, :class:`~framing.errors.ModelNotFoundError`).
    """
    if not isinstance(spec, (str, os.PathLike)):
        if not isinstance(spec, ToneScorer):
            raise TypeError("tone must be a scorer name, a model directory, or an object with "
                            "sentence_tone()")
        if encoder is not None and hasattr(spec, "check_encoder"):
            spec.check_encoder(encoder)
        return spec
    key = str(spec).lower().removeprefix("baseline-")
    if key.startswith("nli:"):  # a zero-shot NLI model directory (needs an entailment label)
        return load_hf_tone(str(spec)[4:], nli=True, allow_network=allow_network)
    if key == "vader":
        return VaderToneBaseline()
    if key == "similarity":
        return SimilarityToneBaseline(encoder)
    path = shipped_tone_model_path(encoder) if key in ("trained", "default") else Path(spec)
    if key in ("trained", "default") and not is_tone_model_dir(path):
        raise ModelNotFoundError(f"The shipped tone model is missing from {path}; reinstall "
                                 "framing, or choose tone='similarity' or tone='vader'")
    if path.is_dir():
        if is_tone_model_dir(path):
            model = load_tone_model(path, lazy=lazy)
            if encoder is not None:
                model.check_encoder(encoder)
            return model
        return load_hf_tone(path, label_map=label_map, allow_network=allow_network)
    if allow_network and "/" in str(spec) and not path.exists():
        return load_hf_tone(str(spec), label_map=label_map, allow_network=True)
    unknown = (f"Unknown tone scorer {str(spec)!r}: not one of trained, similarity, vader, "
               "and not a model directory")
    if _looks_like_hub_id(str(spec)) and not path.exists():
        # as Analyzer(model=...) does for a hub id: say how to allow it, or stay offline
        raise ValueError(f"{unknown}. If it is a Hugging Face Hub id: framing downloads no "
                         "model unless you allow it; pass allow_network=True (CLI: "
                         "--allow-network) to fetch it, or, to stay offline, download the "
                         "model yourself and pass its local directory.")
    raise ValueError(unknown)


def _looks_like_hub_id(text: str) -> bool:
    """Whether ``text`` has the shape of a hub id, ``owner/name``, rather than of a path."""
    owner, sep, name = text.partition("/")
    return bool(sep and owner and name) and "/" not in name and \
        not text.startswith((".", "~")) and os.sep not in text.replace("/", "")


def resolve_feature_model(heads: Any, encoder: Any, tone_model: Any = None, *,
                          what: str = "Heads"):
    """The trained tone branch whose sentence states ``heads`` read (cue or frame heads
    with ``features="tone-branch"`` and the branch's weights digest in ``feature_model``).

    ``tone_model`` (or its sentence branch) is used when its weights are the pinned ones;
    otherwise the branch the heads carry (``heads.bundled_branch``, whose digest must
    match), else the shipped tone models and their sentence branches are tried. Raises
    :class:`ModelLoadError` when none matches.
    """
    want = heads.feature_model.get("digest")
    if tone_model is not None and getattr(tone_model, "digest", None) == want:
        return tone_model
    sentence = getattr(tone_model, "sentence_model", None)
    if sentence is not None and sentence.digest == want:  # the tone model's sentence branch
        return sentence
    bundled = getattr(heads, "bundled_branch", None)
    if bundled is not None:  # the heads carry their own branch (a cue branch)
        model = load_tone_model(bundled, lazy=True)  # built on first use (torch path)
        if model.digest != want:
            raise ModelLoadError(
                f"{bundled}: the branch {what.lower()} {heads.path or heads.name} carry has "
                f"weights digest {model.digest}, not the {want} they were fitted on")
        if encoder is not None:
            model.check_encoder(encoder)
        return model
    for tier in TIERS.values():
        path = shipped_model_path(tier.tone)
        if not is_tone_model_dir(path):
            continue
        sub = path / SENTENCE_BRANCH / "model.safetensors"
        if weights_digest(path / "model.safetensors") == want or \
                (sub.is_file() and weights_digest(sub) == want):
            model = load_tone_model(path)
            if model.digest != want:
                model = model.sentence_model
            if model is not None and model.digest == want:
                if encoder is not None:
                    model.check_encoder(encoder)
                return model
    raise ModelLoadError(
        f"{what} {heads.path or heads.name} read the sentence states of tone model "
        f"{heads.feature_model.get('name')!r} (weights digest {want}), which is not the "
        "shipped tone model; pass that tone model to the Analyzer (tone=DIR).")

