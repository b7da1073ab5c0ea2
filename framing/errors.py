"""Exceptions raised by :mod:`framing`.

Every error a user can cause by what they pass in (a path, a model name, a
catalogue, a column) is one of these, with a message that says what to do.
"""

from __future__ import annotations

__all__ = [
    "FramingError",
    "ModelNotFoundError",
    "ModelLoadError",
    "CatalogueError",
    "ColumnError",
    "InputFormatError",
    "OutputLockedError",
    "OutputWriteError",
    "ResumeError",
    "MissingExtraError",
]


class FramingError(Exception):
    """Base class of every error raised on purpose by :mod:`framing`."""


class ModelNotFoundError(FramingError, FileNotFoundError):
    """A model could not be located (no such directory, or a hub id without network)."""


class ModelLoadError(FramingError):
    """A model directory exists but could not be loaded (corrupt, incomplete, unsafe)."""


class CatalogueError(FramingError, ValueError):
    """A cue catalogue is missing or invalid; the message names the file, cue and field."""


class ColumnError(FramingError, KeyError):
    """A column named by the caller is absent from a corpus; the message lists those present."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class InputFormatError(FramingError, ValueError):
    """A corpus or output file has a format :mod:`framing` cannot read or write."""


class MissingExtraError(FramingError, ImportError):
    """An optional backend is used whose extra is not installed; the message names the
    ``pip install "framing[...]"`` command that adds it."""


class ResumeError(FramingError):
    """A scores directory cannot be continued: its manifest records another input, other
    models or other parameters, or it already holds output that may not be replaced. The
    message lists what differs; ``overwrite=True`` (``--overwrite``) starts afresh."""


class OutputLockedError(FramingError):
    """Another process is writing the same scores directory; the message names it."""


class OutputWriteError(FramingError):
    """Writing output failed (disk full, no permission, ...); the message names the path.
    Shards written before the failure are left intact, so the run can be resumed."""
