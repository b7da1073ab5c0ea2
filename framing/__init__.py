"""framing: tone and framing-cue analysis of news, with sentence-level evidence.

>>> import framing
>>> an = framing.Analyzer()                    # offline default models
>>> r = an.score("Both sides hailed the win-win deal.")
>>> r.tone_label, r.present_cues()
"""

from __future__ import annotations

from ._version import __version__
from .analyzer import Analyzer
from .catalogue import Catalogue, Cue, builtin_catalogue_path, load_catalogue
from .corpus import example_corpus_path, read_corpus, score_corpus
from .cues import CueDetector
from .encoder import Encoder
from .evaluate import EvalReport, Samples, evaluate, load_samples, split_samples
from .errors import (
    CatalogueError,
    ColumnError,
    FramingError,
    InputFormatError,
    ModelLoadError,
    ModelNotFoundError,
)
from .suite import run_suite
from .results import ArticleResult, CueResult, Evidence, SentenceResult, results_to_frame
from .text import prepare
from .tone import SimilarityToneBaseline, ToneScorer, VaderToneBaseline

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
    "results_to_frame",
    "run_suite",
    "score_corpus",
    "split_samples",
]
