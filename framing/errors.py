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
