"""Reading a corpus: articles from files, directories, glob patterns, URIs and in-memory
tables.

The readers stream. JSONL (optionally gzipped), CSV/TSV and Parquet are read a line, a
row or a record batch at a time, a directory of ``.txt`` files a file at a time, and the
files of a multi-file source one after the other, so memory stays bounded by the batch
size. A line or row that cannot be read (malformed JSON, a wrong number of CSV fields,
bytes that are not UTF-8) comes out with ``error`` set, as does a row whose text is
missing or not a string: no row is dropped. A column the caller names that the input
lacks stops the read before the first row, with a :class:`~framing.errors.ColumnError`
that lists the columns present.

Which files a source names, and in which order, is :mod:`framing.io.sources`.

Two layers: the ``*_rows`` functions turn an opened file into :class:`SourceRow` items
(a row number and the row's values, or why the row could not be read), shared by the
single-machine reader here and the Ray reader (:mod:`framing.io.distributed`), which
opens its files through pyarrow filesystems; :func:`read_corpus` turns them into
:class:`Record` objects through a :class:`~framing.core.tables.ColumnMap`.

Nothing here loads a model: analysis code can read texts without torch.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Mapping, NamedTuple

import pyarrow.parquet as pq

from framing.core.tables import ColumnMap, RowFields, detect_format, open_binary
from framing.errors import InputFormatError
from framing.io.sources import (TXT_SUFFIX, InputFile, InputFiles, expand_source,
                                is_path_source, open_input, open_parquet, read_bytes,
                                regular_files)

__all__ = [
    "DEFAULT_ID_COLUMN",
    "Record",
    "SourceRow",
    "TXT_SUFFIX",
    "decode_txt",
    "delimited_rows",
    "example_corpus_path",
    "file_records",
    "jsonl_rows",
    "parquet_rows",
    "read_corpus",
    "resolve_id_column",
    "source_columns",
    "table_rows",
    "txt_files",
    "regular_files",
]

#: The input column that holds the article ids when the caller names none.
DEFAULT_ID_COLUMN = "id"


@dataclass
class Record:
    """One input row: its 1-based ``row`` number, id, text, metadata and any error."""

    row: int
    id: Any
    text: Any
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    target: str | None = None

    @classmethod
    def from_fields(cls, row: int, fields: RowFields) -> "Record":
        """The record of a row checked by :meth:`ColumnMap.parse`."""
        return cls(row, fields.id, fields.text, fields.meta, fields.error, fields.target)

    @classmethod
    def unreadable(cls, row: int, error: str, id: Any = None) -> "Record":
        """The record of a row that could not be read at all."""
        return cls(row, id, None, {}, error)


class SourceRow(NamedTuple):
    """One row as a reader found it: its number, and its values (column -> value) or
    ``error`` saying why it could not be read (then ``values`` is None)."""

    row: int
    values: Mapping[str, Any] | None
    error: str | None = None


def example_corpus_path() -> Path:
    """Path of the example corpus shipped with the package (48 articles, 4 outlets)."""
    return Path(str(resources.files("framing") / "data" / "example_news.jsonl"))


# -- rows of an opened file ------------------------------------------------------------------
# What a failing read raises: I/O errors, a truncated or corrupt .gz (EOFError, zlib.error,
# gzip.BadGzipFile), a damaged Parquet page (pyarrow's ArrowInvalid is a ValueError).
_READ_ERRORS = (OSError, EOFError, ValueError, zlib.error)


def _cut_short(done: int, unit: str, source: str, exc: BaseException,
               strict: bool) -> SourceRow:
    """The row that ends a file whose reading failed after ``done`` lines or rows: one row
    with the error, numbered ``done + 1``. With ``strict`` a file that fails before its
    first ``unit`` raises :class:`InputFormatError` instead (it cannot be read at all)."""
    reason = f"{type(exc).__name__}: {exc}"
    if strict and done == 0:
        raise InputFormatError(f"{source}: cannot be read ({reason})") from None
    where = f"after {unit} {done}" if done else "from its start"
    return SourceRow(done + 1, None, f"cannot read {source} {where} ({reason})")


def jsonl_rows(fh: BinaryIO, columns: ColumnMap, source: str, *,
               check: bool = True) -> Iterator[SourceRow]:
    """Rows of a JSONL stream (bytes; decompressed already), numbered by line. Blank lines
    are skipped but counted. With ``check`` the first object's keys must hold the named
    columns (else :class:`ColumnError`).

    A read that fails part-way (a truncated or corrupt ``.gz``, an I/O error) ends the
    file with one row whose ``error`` says so, numbered after the last line read; with
    ``check``, a stream that fails before its first line raises :class:`InputFormatError`
    instead."""
    checked = not check
    lines = iter(fh)
    lineno = 0
    while True:
        try:
            raw = next(lines)
        except StopIteration:
            return
        except _READ_ERRORS as exc:
            yield _cut_short(lineno, "line", source, exc, check)
            return
        lineno += 1
        if not raw.strip():
            continue
        if lineno == 1:  # a UTF-8 byte-order mark (Windows editors) is not content
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield SourceRow(lineno, None, "invalid UTF-8 on this line")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield SourceRow(lineno, None,
                            f"malformed JSON line: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield SourceRow(lineno, None, f"JSON line is a {type(obj).__name__}, not an object")
            continue
        if not checked:
            columns.check(list(obj), source)
            checked = True
        yield SourceRow(lineno, obj)


def delimited_rows(fh: BinaryIO, columns: ColumnMap, source: str, delimiter: str, *,
                   check: bool = True) -> Iterator[SourceRow]:
    """Rows of a CSV (``delimiter=","``) or TSV (``"\\t"``) stream of bytes, numbered by
    line, the header being line 1. Cells are strings; bytes that are not UTF-8 are kept
    (escaped), so that the row is reported rather than the read stopped. With ``check``
    the header must hold the named columns. A read that fails part-way ends the file with
    one row saying so, as in :func:`jsonl_rows`."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    text = io.TextIOWrapper(fh, encoding="utf-8", errors="surrogateescape", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except _READ_ERRORS as exc:
        yield _cut_short(0, "line", source, exc, check)
        return
    header = [h.lstrip("\ufeff") if i == 0 else h for i, h in enumerate(header)]
    if check:
        columns.check(header, source)
    row = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row += 1
            yield SourceRow(row, None, f"malformed CSV row: {exc}")
            continue
        except _READ_ERRORS as exc:
            yield _cut_short(row, "line", source, exc, False)
            return
        row += 1
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        if len(values) != len(header):
            yield SourceRow(row, None,
                            f"malformed CSV row: {len(values)} fields, header has {len(header)}")
            continue
        yield SourceRow(row, dict(zip(header, values)))


def parquet_rows(file: Any, columns: ColumnMap, source: str, *, batch_rows: int = 1024,
                 check: bool = True) -> Iterator[SourceRow]:
    """Rows of a Parquet file (a path or an open file), numbered from 1, read
    ``batch_rows`` at a time and only in the named columns. With ``check`` those columns
    must all be present, and a file that is not Parquet raises :class:`InputFormatError`;
    without, such a file gives one row with ``error`` set. A read that fails part-way (a
    damaged row group) ends the file with one row saying so, numbered after the last row
    read."""
    try:
        pf = pq.ParquetFile(file)
    except Exception as exc:
        if check:
            raise InputFormatError(f"{source}: not a readable Parquet file ({exc})") from None
        yield SourceRow(1, None, f"{source}: not a readable Parquet file ({exc})")
        return
    names = pf.schema_arrow.names
    if check:
        columns.check(names, source)
    wanted = [c for c in columns.required() if c in names]
    row = 0
    # with none of the named columns present, read them all so the rows still count
    batches = pf.iter_batches(batch_size=batch_rows, columns=wanted or None)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except _READ_ERRORS as exc:
            yield _cut_short(row, "row", source, exc, check)
            return
        for obj in batch.to_pylist():
            row += 1
            yield SourceRow(row, obj)


def table_rows(table: Any, columns: ColumnMap) -> Iterator[SourceRow]:
    """Rows of a pandas DataFrame or a ``datasets.Dataset`` (any iterable of mappings with
    ``column_names`` or ``columns``), numbered from 1, after checking the named columns."""
    names = list(getattr(table, "column_names", None) or getattr(table, "columns", []))
    columns.check([str(c) for c in names], type(table).__name__)
    if hasattr(table, "to_dict") and hasattr(table, "iloc"):  # pandas
        rows: Iterable[Mapping[str, Any]] = table.to_dict("records")
    else:  # datasets.Dataset and other row iterables
        rows = iter(table)
    for row, obj in enumerate(rows, start=1):
        yield SourceRow(row, obj)


# -- .txt directories --------------------------------------------------------------------------
def txt_files(root: str | os.PathLike) -> Iterator[tuple[str, Path]]:
    """``(id, path)`` of the ``.txt`` files under ``root`` (see :func:`regular_files`):
    the id is the relative path without the extension."""
    for rel, path in regular_files(root):
        if rel.lower().endswith(TXT_SUFFIX):
            yield rel[: -len(TXT_SUFFIX)], path


def decode_txt(raw: bytes) -> tuple[str | None, str | None]:
    """``(text, None)`` for the bytes of a ``.txt`` article (a leading byte-order mark
    dropped), or ``(None, error)`` when they are not UTF-8."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 in the file (byte {exc.start})"
    return text.removeprefix("\ufeff"), None


def _txt_record(f: InputFile) -> Record:
    """The record of the ``.txt`` article ``f`` (its row and id from the listing)."""
    try:
        raw = read_bytes(f.path)
    except OSError as exc:
        return Record.unreadable(f.row, f"cannot read {f.path}: {exc.strerror or exc}", f.id)
    text, error = decode_txt(raw)
    return Record(f.row, f.id, text, {}, error)


# -- which columns an input has -----------------------------------------------------------------
def _first_object_keys(fh: BinaryIO) -> list[str] | None:
    """The keys of the first JSON object in a JSONL stream (lines that are blank or not
    an object are passed over, as the reader reports them as bad rows)."""
    for raw in fh:
        try:
            obj = json.loads(raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(obj, dict):
            return list(obj)
    return None


def _header(fh: BinaryIO, delimiter: str) -> list[str] | None:
    text = io.TextIOWrapper(fh, encoding="utf-8", errors="surrogateescape", newline="")
    header = next(csv.reader(text, delimiter=delimiter), None)
    if not header:
        return None
    return [header[0].lstrip("\ufeff"), *header[1:]]


def source_columns(source: Any, format: str | None = None) -> list[str] | None:
    """The column names the readers will find in ``source``: a CSV/TSV header, a Parquet
    schema, the keys of a JSONL file's first object, a DataFrame's or a
    ``datasets.Dataset``'s columns.

    Returns None where there are none to know before reading: a directory of ``.txt``
    files, a path that is not a file, an input with no rows, an iterable without column
    names, or a file that cannot be read (its reader then says why). Never raises.
    """
    if not isinstance(source, (str, os.PathLike)):
        names = getattr(source, "column_names", None)
        if names is None or callable(names):
            names = getattr(source, "columns", None)
        if names is None or callable(names):
            return None
        return [str(c) for c in names]
    path = Path(source)
    try:
        if not path.is_file():
            return None
        fmt = detect_format(path, format)
        if fmt == "parquet":
            return list(pq.ParquetFile(path).schema_arrow.names)
        with open_binary(path) as fh:
            if fmt == "jsonl":
                return _first_object_keys(fh)
            return _header(fh, "," if fmt == "csv" else "\t")
    except Exception:  # an unreadable input is reported by its reader, not here
        return None


def resolve_id_column(id: str | None, source: Any, format: str | None = None) -> str | None:
    """The column to take article ids from: ``id`` when the caller named one (an empty
    name asks for row numbers), else :data:`DEFAULT_ID_COLUMN` when ``source`` has a
    column of that name (see :func:`source_columns`), else None (row numbers).

    An ``id`` column found this way is read exactly as one named explicitly: values are
    kept as they are, duplicates included, and a row whose id is missing or null gets a
    null id (its ``row`` number still tells it apart).
    """
    if id is not None:
        return id
    names = source_columns(source, format)
    return DEFAULT_ID_COLUMN if names is not None and DEFAULT_ID_COLUMN in names else None


# -- records ----------------------------------------------------------------------------------
def _records(rows: Iterable[SourceRow], columns: ColumnMap) -> Iterator[Record]:
    for src in rows:
        if src.error is not None:
            yield Record.unreadable(src.row, src.error)
        else:
            yield Record.from_fields(src.row, columns.parse(src.values, default_id=src.row))


def _file_rows(f: InputFile, columns: ColumnMap, check: bool,
               batch_rows: int) -> Iterator[SourceRow]:
    """Rows of the corpus file ``f`` (see the ``*_rows`` readers). A file that cannot be
    opened raises :class:`InputFormatError` with ``check``, else gives one row saying so."""
    if f.format == "parquet":
        try:
            opened = open_parquet(f.path)
        except OSError as exc:
            yield _cut_short(0, "row", f.path, exc, check)
            return
        try:
            yield from parquet_rows(opened, columns, f.path, batch_rows=batch_rows, check=check)
        finally:
            opened.close()
        return
    try:
        fh = open_input(f.path)
    except OSError as exc:
        yield _cut_short(0, "line", f.path, exc, check)
        return
    with fh:
        if f.format == "jsonl":
            yield from jsonl_rows(fh, columns, f.path, check=check)
        else:
            yield from delimited_rows(fh, columns, f.path, "," if f.format == "csv" else "\t",
                                      check=check)


def file_records(files: InputFiles, columns: ColumnMap, *,
                 batch_rows: int = 1024) -> Iterator[Record]:
    """The :class:`Record` objects of every file of ``files``, file after file, as
    :func:`read_corpus` documents them (the first corpus file checked against ``columns``
    before its first row; the others' rows flagged instead)."""
    files.check_columns(columns)
    prefixed = files.ids_name_the_file
    for k, f in enumerate(files):
        if f.format == "txt":
            yield _txt_record(f)
            continue
        rows = _file_rows(f, columns, k == 0, batch_rows)
        if not prefixed:
            yield from _records(rows, columns)
            continue
        for src in rows:
            rid = f"{f.path}:{src.row}"
            if src.error is not None:
                yield Record.unreadable(src.row, src.error, rid)
            else:
                yield Record.from_fields(src.row, columns.parse(src.values, default_id=rid))


def read_corpus(
    source: Any,
    *,
    text: str = "text",
    id: str | None = None,
    outlet: str | None = None,
    date: str | None = None,
    title: str | None = None,
    target: str | None = None,
    format: str | None = None,
    batch_rows: int = 1024,
) -> Iterator[Record]:
    """Stream :class:`Record` objects from a corpus: a JSONL / CSV / TSV / Parquet file, a
    directory of such files or of ``.txt`` files, a glob pattern (``corpus/*.parquet``,
    ``data/**/*.jsonl.gz``), a URI (``s3://bucket/corpus/``), a list of these, a pandas
    DataFrame or a ``datasets.Dataset``. Which files a source names, and their order, is
    :func:`framing.io.sources.expand_source`.

    ``text``, ``id``, ``outlet``, ``date``, ``title`` and ``target`` name the source
    columns; without ``id`` the input's ``id`` column gives the ids when it has one, and
    the row number otherwise (``id=""`` asks for row numbers; see
    :func:`resolve_id_column`: only a single local file or an in-memory table is looked
    at for an ``id`` column, so name it for a multi-file source).

    **Rows.** A file's rows are numbered as in the file: a JSONL line number, a CSV/TSV
    line number (the header being 1), a Parquet record number. Several corpus files are
    read one after the other, each numbered from 1, and each row's default id names its
    file: ``"<path>:<row>"`` (``path`` absolute, or the URI); an unreadable row gets that
    id too, so it can be found. The Ray engine numbers and names rows the same way.

    **Checks.** The first corpus file is checked before its first row is read: a named
    column it lacks raises :class:`ColumnError` (listing the columns present), and a file
    that cannot be read at all raises :class:`InputFormatError`. Later files are not
    checked up front: a row lacking the text column comes out with ``error`` set, and a
    later file that cannot be read at all gives one row (row 1) whose ``error`` names the
    file. A read that fails part-way through any file (a truncated ``.gz``, a damaged
    Parquet row group) gives one row with the error, numbered after the last row read,
    and reading goes on with the next file. Bad rows are yielded with ``error`` set, never
    skipped.

    A directory of ``.txt`` files yields one record per file (sorted by path; the id is
    the path relative to the directory without ``.txt``, the text the file's content; a
    file that is not valid UTF-8 gives a record with ``error`` set); it has no columns,
    so ``id`` and the metadata options do not apply to it (:class:`InputFormatError`).

    Raises :class:`FileNotFoundError` for a missing file or a pattern that matches
    nothing, :class:`InputFormatError` for an unknown format and the other refusals of
    :func:`~framing.io.sources.expand_source`, and
    :class:`~framing.errors.MissingExtraError` for a URI whose filesystem library is not
    installed; all before the first record.
    """
    id = resolve_id_column(id, source, format)
    columns = ColumnMap.from_fields(text, id, outlet, date, title, target)
    if not is_path_source(source):
        yield from _records(table_rows(source, columns), columns)
        return
    yield from file_records(expand_source(source, format, columns), columns,
                            batch_rows=batch_rows)
