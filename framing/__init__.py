"""framing: tone and framing-cue analysis of news, with sentence-level evidence.

>>> import framing
>>> an = framing.Analyzer()                    # offline default models
>>> r = an.score("Both sides hailed the win-win deal.")
>>> r.tone_label, r.present_cues()
"""

from __future__ import annotations

from framing._version import __version__
from framing.pipeline.analyzer import Analyzer
from framing.text.catalogue import Catalogue, Cue, builtin_catalogue_path, load_catalogue
from framing.io.corpus import example_corpus_path, read_corpus, score_corpus
from framing.io.shards import read_scores
from framing.heads.cues.detector import CueDetector
from framing.encoding.encoder import Encoder
from framing.core.samples import Samples, load_samples, split_samples
from framing.evaluation.harness import EvalReport, evaluate
from framing.errors import (
    CatalogueError,
    ColumnError,
    FramingError,
    InputFormatError,
    ModelLoadError,
    ModelNotFoundError,
    OutputLockedError,
    OutputWriteError,
    ResumeError,
)
from framing.evaluation.suite import run_suite
from framing.pipeline.results import ArticleResult, CueResult, Evidence, SentenceResult, results_to_frame
from framing.text.prepare import prepare
from framing.heads.tone.scorers import SimilarityToneBaseline, ToneScorer, VaderToneBaseline

__all__ = [
    "__version__",
    "Analyzer",
    "ArticleResult",
    "Catalogue",
    "CatalogueError",
    "ColumnError",
    "Cue",
    "CueDetector",
    "CueResult",
    "Encoder",
    "EvalReport",
    "Evidence",
    "FramingError",
    "InputFormatError",
    "ModelLoadError",
    "ModelNotFoundError",
    "OutputLockedError",
    "OutputWriteError",
    "ResumeError",
    "Samples",
    "SentenceResult",
    "SimilarityToneBaseline",
    "ToneScorer",
    "VaderToneBaseline",
    "builtin_catalogue_path",
    "evaluate",
    "example_corpus_path",
    "load_catalogue",
    "load_samples",
    "prepare",
    "read_corpus",
    "read_scores",
    "results_to_frame",
    "run_suite",
    "score_corpus",
    "split_samples",
    "OutletComparison",
    "compare_outlets",
    "draw_validation_sample",
    "load_scores",
]

# Statistics and sampling pull in pandas and scipy: load them on first use only.
_LAZY = {
    "OutletComparison": "framing.analysis.compare",
    "compare_outlets": "framing.analysis.compare",
    "load_scores": "framing.analysis.compare",
    "draw_validation_sample": "framing.analysis.sample",
}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
