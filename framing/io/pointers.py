"""Labels that point into text kept elsewhere: a pointer names a corpus file, a document
``id`` in it and character offsets into that document's ``text``, with the sha256 of the
pointed-at string so that a changed corpus is caught instead of silently mislabelled.

Corpora are JSONL files (``.jsonl`` or ``.jsonl.gz``) with one document per line holding at
least ``id`` and ``text``. :func:`resolve_pointers` reads only the documents it needs.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from framing.core.tables import open_binary
from framing.errors import InputFormatError

__all__ = ["TextPointer", "text_sha256", "iter_documents", "resolve_pointers", "PointerError"]


class PointerError(InputFormatError):
    """A pointer names a file, document or span that is missing, or whose text changed."""


def text_sha256(text: str) -> str:
    """Hex sha256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TextPointer:
    """``file`` (relative to a corpus root), ``doc`` (the document id), ``start``/``end``
    (character offsets into the document's text) and ``sha256`` of ``text[start:end]``."""

    file: str
    doc: str
    start: int
    end: int
    sha256: str

    @classmethod
    def of(cls, file: str, doc: str, text: str, start: int, end: int) -> "TextPointer":
        """The pointer to ``text[start:end]`` of document ``doc`` in ``file``."""
        if not 0 <= start < end <= len(text):
            raise ValueError(f"offsets {start}:{end} do not lie inside the text ({len(text)})")
        return cls(file, str(doc), int(start), int(end), text_sha256(text[start:end]))

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> "TextPointer":
        """A pointer from a label row's ``file``, ``doc``, ``start``, ``end``, ``sha256``."""
        try:
            return cls(str(row["file"]), str(row["doc"]), int(row["start"]), int(row["end"]),
                       str(row["sha256"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise PointerError(f"not a text pointer ({exc}): {dict(row)!r}"[:300]) from None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "doc": self.doc, "start": self.start, "end": self.end,
                "sha256": self.sha256}


def iter_documents(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """The documents of a JSONL corpus file, one dict per line (blank lines skipped).

    Raises :class:`PointerError` naming the line for a line that is not a JSON object
    with a string ``id`` and ``text``."""
    with open_binary(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                doc = json.loads(raw)
            except ValueError as exc:
                raise PointerError(f"{path}:{lineno}: not JSON ({exc})") from None
            if not isinstance(doc, dict) or not isinstance(doc.get("text"), str) \
                    or "id" not in doc:
                raise PointerError(f"{path}:{lineno}: a document needs an id and a text")
            yield doc


def resolve_pointers(pointers: Iterable[TextPointer], root: str | os.PathLike, *,
                     verify: bool = True) -> list[str]:
    """The strings the pointers point at, in order, read from the corpus files under
    ``root``. Each file is read once, keeping only the documents named.

    Raises :class:`PointerError` for a missing file or document, offsets outside the text,
    or (with ``verify``) a string whose sha256 differs from the pointer's."""
    pointers = list(pointers)
    root = Path(root)
    wanted: dict[str, set[str]] = {}
    for p in pointers:
        wanted.setdefault(p.file, set()).add(p.doc)
    texts: dict[tuple[str, str], str] = {}
    for file, docs in wanted.items():
        path = root / file
        if not path.is_file():
            raise PointerError(f"{path}: corpus file not found")
        for doc in iter_documents(path):
            if str(doc["id"]) in docs:
                texts[(file, str(doc["id"]))] = doc["text"]
    out = []
    for p in pointers:
        text = texts.get((p.file, p.doc))
        if text is None:
            raise PointerError(f"{p.file}: no document {p.doc!r}")
        if not 0 <= p.start < p.end <= len(text):
            raise PointerError(f"{p.file}:{p.doc}: offsets {p.start}:{p.end} outside the text")
        piece = text[p.start:p.end]
        if verify and text_sha256(piece) != p.sha256:
            raise PointerError(f"{p.file}:{p.doc}:{p.start}:{p.end}: the text changed "
                               "(sha256 differs from the label's)")
        out.append(piece)
    return out
