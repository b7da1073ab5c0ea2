"""Labels that point into text kept elsewhere: a pointer names a corpus file, a document
``id`` in it and character offsets into that document's ``text``, with the sha256 of the
pointed-at string so that a changed corpus is caught instead of silently mislabelled.

Corpora are JSONL files (``.jsonl`` or ``.jsonl.gz``) with one document per line holding at
least ``id`` and ``text``. :func:`resolve_pointers` reads only the documents it needs.

Label files are JSONL too, one pointer per row plus its labels under ``final`` (``cues``,
``tone`` and, for sentences, ``targets`` with document offsets); :func:`pointer_samples`
turns them into a labelled table, one row per sentence (or article) or per target.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from framing.core.tables import open_binary
from framing.errors import InputFormatError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TextPointer", "text_sha256", "iter_documents", "resolve_pointers", "PointerError",
           "UNITS", "read_document_list", "pointer_samples"]

#: What :func:`pointer_samples` makes a row of: a labelled sentence (or article), or a target.
UNITS = ("sentence", "target")


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


def read_document_list(path: str | os.PathLike) -> set[tuple[str, str]]:
    """The ``(file, doc)`` pairs of a document list: one ``file<TAB>doc`` per line (blank
    lines and lines starting with ``#`` skipped).

    Raises :class:`PointerError` for a missing file or a line without a tab."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise PointerError(f"{path}: document list not found") from None
    out = set()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        file, sep, doc = line.rstrip("\r\n").partition("\t")
        if not sep or not file.strip() or not doc.strip():
            raise PointerError(f"{path}:{lineno}: expected 'file<TAB>doc', got {line[:80]!r}")
        out.add((file.strip(), doc.strip()))
    return out


def _label_rows(path: str | os.PathLike) -> Iterator[tuple[str, dict[str, Any]]]:
    """``("path:line", row)`` for every label row of a JSONL label file with a ``final``."""
    if not Path(path).is_file():
        raise PointerError(f"{path}: label file not found")
    with open_binary(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                row = json.loads(raw)
            except ValueError as exc:
                raise PointerError(f"{where}: not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise PointerError(f"{where}: a label row must be a JSON object")
            final = row.get("final")
            if final is None:
                continue  # not labelled (yet): no agreed or adjudicated label
            if not isinstance(final, dict):
                raise PointerError(f"{where}: 'final' must be an object, got {final!r}"[:300])
            yield where, row


def _row_id(row: Mapping[str, Any]) -> str:
    for key in ("uid", "aid"):
        if row.get(key) not in (None, ""):
            return str(row[key])
    return f"{row['file']}|{row['doc']}|{row['start']}"


def pointer_samples(label_files: str | os.PathLike | Sequence[str | os.PathLike],
                    corpus: str | os.PathLike, *,
                    documents: str | os.PathLike | None = None, unit: str = "sentence",
                    verify: bool = True) -> "pd.DataFrame":
    """A labelled table from pointer label files (JSONL, ``.gz`` allowed), the texts read
    from the corpus under ``corpus`` with one :func:`resolve_pointers` call.

    Rows without ``final`` are skipped; with ``documents`` (a list read by
    :func:`read_document_list`) only rows whose ``(file, doc)`` it names are kept. A row's
    ``id`` is its ``uid``, else its ``aid``, else ``"file|doc|start"``.

    ``unit="sentence"``: one row per label row, columns ``id``, ``text``, ``cues`` (a list),
    ``tone``, ``group``, ``source``. ``unit="target"``: one row per entry of
    ``final["targets"]``, columns ``id`` (``"<id>#<k>"``, ``k`` counting from 0),
    ``text`` (the sentence), ``target_start``/``target_end`` (the target's offsets, made
    relative to the text), ``target`` (the text they cover), ``tone`` (the target's),
    ``group``, ``source``.

    Raises :class:`PointerError` for a missing or malformed label file (naming file and
    line), any pointer :func:`resolve_pointers` refuses, and a target outside its text;
    :class:`ValueError` for an unknown ``unit``."""
    import pandas as pd

    if unit not in UNITS:
        raise ValueError(f"Unknown unit {unit!r}; choose one of: {', '.join(UNITS)}")
    if isinstance(label_files, (str, os.PathLike)):
        label_files = [label_files]
    keep = read_document_list(documents) if documents is not None else None
    rows: list[tuple[str, dict[str, Any], TextPointer]] = []
    for path in label_files:
        for where, row in _label_rows(path):
            try:
                pointer = TextPointer.from_dict(row)
            except PointerError as exc:
                raise PointerError(f"{where}: {exc}") from None
            if keep is None or (pointer.file, pointer.doc) in keep:
                rows.append((where, row, pointer))
    texts = resolve_pointers([p for _, _, p in rows], corpus, verify=verify)
    if unit == "sentence":
        columns = ["id", "text", "cues", "tone", "group", "source"]
        out = [{"id": _row_id(row), "text": text, "cues": list(row["final"].get("cues") or []),
                "tone": row["final"].get("tone"), "group": row.get("group"),
                "source": row.get("source")}
               for (_, row, _), text in zip(rows, texts)]
        return pd.DataFrame(out, columns=columns)
    columns = ["id", "text", "target_start", "target_end", "target", "tone", "group", "source"]
    out = []
    for (where, row, pointer), text in zip(rows, texts):
        rid = _row_id(row)
        for k, t in enumerate(row["final"].get("targets") or []):
            try:
                a, b = int(t["start"]) - pointer.start, int(t["end"]) - pointer.start
            except (KeyError, TypeError, ValueError):
                raise PointerError(f"{where}: row {rid!r}: target {k} needs numeric start "
                                   f"and end, got {t!r}"[:300]) from None
            if not 0 <= a < b <= len(text):
                raise PointerError(f"{where}: row {rid!r}: target {k} ({t['start']}:{t['end']}) "
                                   f"lies outside the text ({pointer.start}:{pointer.end})")
            out.append({"id": f"{rid}#{k}", "text": text, "target_start": a, "target_end": b,
                        "target": text[a:b], "tone": t.get("tone"), "group": row.get("group"),
                        "source": row.get("source")})
    return pd.DataFrame(out, columns=columns)
