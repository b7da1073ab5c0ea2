"""Where a corpus is: one listing of its input files, used by both engines.

:func:`expand_source` turns what the caller names (a file, a directory, a glob pattern,
a URI, or a list of these) into an :class:`InputFiles` listing: the files to read, in the
order to read them, each with its format. :func:`framing.read_corpus` reads from it, and
both engines read through that (the Ray engine on its driver), so both see the same files
in the same order and number their rows alike.

What each kind of name gives:

- **a file**: that file, in ``format`` if given, else in the format its extension says
  (``.jsonl``/``.ndjson``/``.json``, ``.csv``, ``.tsv``, ``.parquet``/``.pq``, each
  optionally followed by ``.gz``); any other extension is refused.
- **a directory**: the corpus files below it, in every sub-folder; with ``format``,
  only those whose extension says that format. Hidden files and folders (``.name``),
  files named ``_name`` (``_SUCCESS``, ``_metadata``) and files of any other extension
  are passed over. A directory holding no corpus file gives its ``.txt`` files instead,
  one article each (:func:`framing.read_corpus` describes them).
- **a glob pattern** (a name that is no existing file and holds ``*``, ``?`` or
  ``[...]``): the files it matches. ``*``, ``?`` and ``[...]`` stay within one path
  component; a component that is just ``**`` matches any number of folders, none
  included (``data/**/*.jsonl.gz`` finds ``data/a.jsonl.gz`` and
  ``data/2024/05/b.jsonl.gz``). Matching is case-sensitive. Hidden files and folders and
  ``_name`` files are never matched; a matched file whose extension says no format is
  refused (pass ``format`` to read every match in one format). A pattern that matches
  nothing is refused, naming it.
- **a URI** (``scheme://...``, e.g. ``s3://bucket/corpus/``, ``file:///data/x.parquet``):
  as a path, on the filesystem the URI names, pattern included
  (``s3://bucket/corpus/*.parquet``; the bucket or host may not be a pattern). Opened
  through ``pyarrow.fs`` when pyarrow knows the scheme, else through ``fsspec``; a
  missing library is a :class:`~framing.errors.MissingExtraError` naming what to install.
- **a list** of the above: each expanded in turn, in the order given. The same file named
  twice is refused, as are ``.txt`` articles mixed with corpus files and several ``.txt``
  directories (their ids, paths relative to each directory, could clash). Corpus files of
  different formats mix freely: each is read by its own reader and every row is checked
  against the same columns.

**Order.** Lists keep the caller's order. Within a directory or a pattern, files are
ordered by their path below it, compared folder by folder, names by Unicode code point:
each folder's entries by name, depth first (folder ``a`` and all it holds come before
``a.jsonl``, since ``"a" < "a.jsonl"``; ``B.jsonl`` before ``a.jsonl``). The order
depends on the names alone, never on the filesystem or the time, so every run and both
engines read the same files in the same order.

Nothing here reads a file's content: listing costs one directory listing per folder
(one request per listing on object stores).
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Sequence

import pyarrow as pa
import pyarrow.fs as pafs

from framing.core.tables import ColumnMap, detect_format, open_binary
from framing.errors import InputFormatError, MissingExtraError

__all__ = [
    "LISTED_FILES",
    "TXT_SUFFIX",
    "InputFile",
    "InputFiles",
    "expand_source",
    "filesystem",
    "has_pattern",
    "is_path_source",
    "is_uri",
    "open_input",
    "open_parquet",
    "read_bytes",
    "regular_files",
]

#: The extension of the files a directory of plain-text articles holds.
TXT_SUFFIX = ".txt"
#: Up to this many files, a multi-file source's manifest entry lists every file (so a
#: resume refused for a changed input names the file); beyond, only counts and a hash.
LISTED_FILES = 1000

_PATTERN = re.compile(r"[*?\[]")


def is_uri(path: str) -> bool:
    """Whether ``path`` is a URI (``scheme://...``) rather than a local path."""
    return "://" in path


def has_pattern(path: str) -> bool:
    """Whether ``path`` holds a glob wildcard (``*``, ``?`` or ``[``)."""
    return bool(_PATTERN.search(path))


def is_path_source(source: Any) -> bool:
    """Whether :func:`expand_source` takes ``source``: a path, a URI, a pattern, a
    non-empty list or tuple of them, or an :class:`InputFiles` listing (anything else is
    an in-memory table)."""
    if isinstance(source, (str, os.PathLike, InputFiles)):
        return True
    return isinstance(source, (list, tuple)) and bool(source) and \
        all(isinstance(s, (str, os.PathLike)) for s in source)


# -- filesystems --------------------------------------------------------------------------
def filesystem(path: str) -> tuple[pafs.FileSystem, str]:
    """A ``pyarrow.fs`` filesystem and the path on it for ``path``: the local filesystem
    and the absolute path for a local path; for a URI, pyarrow's filesystem for its scheme
    (``s3``, ``gs``, ``hdfs``, ``file``, ...) or, for a scheme pyarrow does not know,
    ``fsspec``'s (``memory``, ``az``, ``http``, ...), wrapped for pyarrow.

    Raises :class:`~framing.errors.MissingExtraError` when the library the scheme needs is
    not installed (fsspec itself, or its package for that scheme such as ``s3fs``), and
    :class:`~framing.errors.InputFormatError` for a scheme no library knows or a URI
    pyarrow refuses.
    """
    if not is_uri(path):
        return pafs.LocalFileSystem(), os.path.abspath(path)
    scheme = path.split("://", 1)[0]
    try:
        return pafs.FileSystem.from_uri(path)
    except pa.ArrowNotImplementedError:  # pyarrow built without this filesystem
        pass
    except pa.ArrowInvalid as exc:
        if "Unrecognized filesystem" not in str(exc):
            raise InputFormatError(f"{path}: not a URI that can be opened ({exc})") from None
    try:
        import fsspec
    except ImportError as exc:
        raise MissingExtraError(
            f"Reading {path} needs fsspec: pyarrow has no filesystem for {scheme}:// URIs "
            f"({exc}). Install it with: pip install fsspec (plus the package for "
            f"{scheme}://, e.g. s3fs, gcsfs or adlfs)") from exc
    try:
        fs, inner = fsspec.core.url_to_fs(path)
    except ImportError as exc:  # fsspec knows the scheme; its package is not installed
        raise MissingExtraError(
            f"Reading {path} needs the fsspec filesystem for {scheme}://, which is not "
            f"installed: {exc}") from exc
    except ValueError as exc:
        raise InputFormatError(f"{path}: unknown URI scheme {scheme}:// ({exc}); use a local "
                               "path or a scheme pyarrow or fsspec can open") from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), inner


def _with_scheme(uri: str, inner: str) -> str:
    """``inner``, a path on ``uri``'s filesystem, as a URI of the same scheme."""
    return uri[:uri.index("://") + 3] + inner


def open_input(path: str) -> BinaryIO:
    """A binary stream of the file at ``path`` (a local path or a URI), decompressed when
    its name ends ``.gz``. Raises :class:`OSError` when it cannot be opened."""
    if not is_uri(path):
        return open_binary(path)
    fs, inner = filesystem(path)
    return io.BufferedReader(fs.open_input_stream(inner))  # .gz is decompressed


def open_parquet(path: str) -> Any:
    """A random-access file of ``path`` (local or URI) for ``pyarrow.parquet.ParquetFile``
    (close it when done). Raises :class:`OSError` when it cannot be opened."""
    if not is_uri(path):
        return open(path, "rb")
    fs, inner = filesystem(path)
    return fs.open_input_file(inner)


def read_bytes(path: str) -> bytes:
    """The bytes of the file at ``path`` (local or URI), not decompressed."""
    if not is_uri(path):
        return Path(path).read_bytes()
    fs, inner = filesystem(path)
    with fs.open_input_stream(inner, compression=None) as fh:
        return fh.read()


# -- walking folders ---------------------------------------------------------------------------
def _walk(root: str | os.PathLike, prefix: str, depth: int | None) -> Iterator[tuple[str, Path]]:
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            if depth is None or depth > 1:
                yield from _walk(entry.path, f"{prefix}{entry.name}/",
                                 None if depth is None else depth - 1)
        elif entry.is_file():
            yield prefix + entry.name, Path(entry.path)


def regular_files(root: str | os.PathLike, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """``(relative path, path)`` of the non-hidden regular files under ``root``, the
    relative path ``/``-separated. Folder symlinks are not followed. Order: each folder's
    entries sorted by name, depth first (so the order is fixed by the names alone)."""
    yield from _walk(root, prefix, None)


def _path_key(rel: str) -> list[str]:
    """Sort key of a ``/``-separated relative path: the order :func:`regular_files` walks."""
    return rel.split("/")


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


@dataclass(frozen=True)
class _Entry:
    """A file found below a folder: its path relative to it, full path or URI, stats."""

    rel: str
    path: str
    size: int | None
    mtime: float | None


def _local_entries(root: str, depth: int | None) -> list[_Entry]:
    out = []
    for rel, path in _walk(root, "", depth):
        try:
            st = path.stat()
        except OSError:  # vanished, or a dangling link: the reader reports it
            size = mtime = None
        else:
            size, mtime = st.st_size, st.st_mtime
        out.append(_Entry(rel, os.path.abspath(path), size, mtime))
    return out


def _uri_entries(uri: str, fs: pafs.FileSystem, inner: str, depth: int | None) -> list[_Entry]:
    root = inner.rstrip("/") + "/"
    out = []
    infos = fs.get_file_info(pafs.FileSelector(inner, recursive=depth != 1))
    for info in infos:
        if info.type != pafs.FileType.File:
            continue
        rel = info.path[len(root):] if info.path.startswith(root) else info.base_name
        if _hidden(rel) or (depth is not None and rel.count("/") >= depth):
            continue
        mtime = info.mtime.timestamp() if info.mtime is not None else None
        out.append(_Entry(rel, _with_scheme(uri, info.path), info.size, mtime))
    return sorted(out, key=lambda e: _path_key(e.rel))


def _entries(place: str, depth: int | None) -> list[_Entry]:
    """The non-hidden files below the folder ``place`` (a local path or a URI), at most
    ``depth`` folders down (1: its own files; None: any depth), in listing order."""
    if not is_uri(place):
        return _local_entries(place, depth)
    fs, inner = filesystem(place)
    return _uri_entries(place, fs, inner, depth)


def _stat(place: str) -> tuple[str, int | None, float | None]:
    """``(type, size, mtime)`` of ``place``: type ``file``, ``dir`` or ``missing``."""
    if not is_uri(place):
        try:
            st = os.stat(place)
        except OSError:
            return "missing", None, None
        if os.path.isdir(place):
            return "dir", None, None
        return "file", st.st_size, st.st_mtime
    fs, inner = filesystem(place)
    info = fs.get_file_info(inner)
    if info.type == pafs.FileType.NotFound:
        return "missing", None, None
    if info.type == pafs.FileType.Directory:
        return "dir", None, None
    return "file", info.size, info.mtime.timestamp() if info.mtime is not None else None


# -- the listing --------------------------------------------------------------------------------
@dataclass(frozen=True)
class InputFile:
    """One file of a source: ``path`` (an absolute local path, or a URI), ``format``
    (``jsonl``, ``csv``, ``tsv``, ``parquet``, or ``txt`` for a plain-text article),
    ``size`` in bytes and ``mtime`` (POSIX seconds) as listed (None where the
    filesystem does not say), and for a ``.txt`` article its ``row`` number and ``id``
    (its path below the directory, without ``.txt``)."""

    path: str
    format: str
    size: int | None = None
    mtime: float | None = None
    row: int | None = None
    id: str | None = None


@dataclass(frozen=True)
class InputFiles(Sequence[InputFile]):
    """The files of a source, in reading order (see the module docstring), as
    :func:`expand_source` lists them.

    ``given`` holds the names the caller gave (local paths made absolute, patterns and URIs
    as written); ``kind`` is ``"file"`` (one name, naming one file), ``"txt-directory"``
    (one directory of ``.txt`` articles) or ``"files"`` (anything else: a directory of
    corpus files, a pattern, a list).
    """

    files: tuple[InputFile, ...]
    given: tuple[str, ...]
    kind: str

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index):  # type: ignore[override]
        return self.files[index]

    def __iter__(self) -> Iterator[InputFile]:
        return iter(self.files)

    @property
    def ids_name_the_file(self) -> bool:
        """Whether row ids name the file they come from: true for more than one corpus
        file. Rows are then numbered within their file, and a row without an id column
        gets ``"<path>:<row>"`` as its id (see :func:`framing.read_corpus`)."""
        return len(self.files) > 1 and self.files[0].format != "txt"

    def check_columns(self, columns: ColumnMap) -> None:
        """Raise :class:`InputFormatError` when these are ``.txt`` articles and
        ``columns`` names an id, metadata or target column (``.txt`` files have no
        columns). Returns nothing."""
        if not self.files or self.files[0].format != "txt":
            return
        given = [n for n, v in (("id", columns.id), ("outlet", columns.meta.get("outlet")),
                                ("date", columns.meta.get("date")),
                                ("title", columns.meta.get("title")),
                                ("target", columns.target)) if v]
        if given:
            raise InputFormatError(
                f"{self.given[0]} is a directory of .txt files, which has no columns: the id is "
                f"each file's relative path and the text its content, so {', '.join(given)} "
                "cannot be given")

    def fingerprint(self) -> dict[str, Any]:
        """The manifest's ``input`` entry for these files (see
        :func:`framing.io.shards.input_fingerprint`): ``source`` (the names given),
        ``kind`` (``"files"``), ``files`` (their number), ``bytes`` (their total size,
        None when a filesystem does not say), ``sha256`` over every file's path, format,
        size and modification time in reading order, and, for at most
        :data:`LISTED_FILES` files, ``listing``: per file (by its path below the folder
        all the files share) its ``format``, ``size`` and ``mtime`` (UTC, seconds), so
        that a resume refused for a changed, added or removed file names it."""
        base = _common_folder([f.path for f in self.files])
        h = hashlib.sha256()
        listing: dict[str, Any] = {}
        sizes = [f.size for f in self.files]
        for f in self.files:
            rel = f.path[len(base):].lstrip("/") if base else f.path
            mtime = None if f.mtime is None else datetime.fromtimestamp(
                f.mtime, timezone.utc).isoformat(timespec="seconds")
            h.update(f"{rel}\0{f.format}\0{f.size}\0{mtime}\n".encode("utf-8",
                                                                     "surrogateescape"))
            listing[rel] = {"format": f.format, "size": f.size, "mtime": mtime}
        info: dict[str, Any] = {
            "source": list(self.given), "kind": "files", "files": len(self.files),
            "bytes": None if None in sizes else sum(sizes), "sha256": h.hexdigest()}
        if len(self.files) <= LISTED_FILES:
            info["listing"] = listing
        return info


def _common_folder(paths: list[str]) -> str:
    """The folder every path lies in (their longest common folder prefix), or ``""`` when
    they share none (local paths mixed with URIs, or URIs of different schemes)."""
    if not paths:
        return ""
    schemes = {p[:p.index("://") + 3] if is_uri(p) else "" for p in paths}
    if len(schemes) != 1:
        return ""
    scheme = schemes.pop()
    folders = [p[len(scheme):].rsplit("/", 1)[0] if "/" in p[len(scheme):] else ""
               for p in paths]
    parts = [f.split("/") for f in folders]
    common = []
    for names in zip(*parts):
        if len(set(names)) != 1:
            break
        common.append(names[0])
    return scheme + "/".join(common)


def _table_format(name: str, format: str | None) -> str | None:
    """The format a file named ``name`` is read in (``format`` when given), or None when
    its extension says no table format."""
    if format:
        return format
    try:
        return detect_format(name)
    except InputFormatError:
        return None


def _from_directory(place: str, format: str | None) -> tuple[str, list[InputFile]]:
    """``(kind, files)`` of a directory: its corpus files (``kind`` ``files``) or, without
    any, its ``.txt`` articles (``txt-directory``)."""
    entries = _entries(place, None)
    corpus, txt = [], []
    for e in entries:
        name = e.rel.rsplit("/", 1)[-1]
        if name.lower().endswith(TXT_SUFFIX):
            txt.append(e)
            continue
        try:
            fmt = detect_format(name)
        except InputFormatError:
            continue
        if not name.startswith("_") and (format is None or fmt == format):
            corpus.append(InputFile(e.path, fmt, e.size, e.mtime))
    if corpus:
        return "files", corpus
    if txt:
        return "txt-directory", [InputFile(e.path, "txt", e.size, e.mtime, row=k,
                                           id=e.rel[:-len(TXT_SUFFIX)])
                                 for k, e in enumerate(txt, start=1)]
    which = f".{format} files" if format else ".jsonl, .csv, .tsv, .parquet or .txt files"
    raise InputFormatError(f"No {which} found in the directory {place}")


def _split_pattern(pattern: str) -> tuple[str, list[str]]:
    """``(fixed folder, pattern components)``: the leading components without a
    wildcard, and the rest."""
    parts = pattern.split("/")
    first = next(i for i, p in enumerate(parts) if has_pattern(p))
    base = "/".join(parts[:first])
    if is_uri(pattern):
        if base.count("/") < 2 or base.endswith("://") or base.endswith(":/"):
            raise InputFormatError(f"{pattern}: the scheme, bucket or host of a URI cannot "
                                   "be a pattern; put wildcards in the path only")
    elif not base:
        base = "/" if pattern.startswith("/") else "."
    return base, [p for p in parts[first:] if p and p != "."]


def _matches(names: list[str], pats: list[str]) -> bool:
    """Whether the path components ``names`` match the pattern components ``pats``."""
    if not pats:
        return not names
    head = pats[0]
    if head == "**":
        return any(_matches(names[k:], pats[1:]) for k in range(len(names) + 1))
    return bool(names) and fnmatch.fnmatchcase(names[0], head) and \
        _matches(names[1:], pats[1:])


def _from_pattern(pattern: str, format: str | None, name: str) -> list[InputFile]:
    """The files ``pattern`` (absolute, or a URI) matches; ``name`` is the pattern as
    the caller wrote it, for messages."""
    base, pats = _split_pattern(pattern)
    depth = None if "**" in pats else len(pats)
    kind = _stat(base)[0]
    entries = _entries(base, depth) if kind == "dir" else []
    found = [e for e in entries if _matches(e.rel.split("/"), pats)
             and not e.rel.rsplit("/", 1)[-1].startswith("_")]
    if not found:
        raise FileNotFoundError(
            f"No file matches {name}" +
            ("" if kind == "dir" else f" (there is no folder {base})"))
    unknown = [e.path for e in found if _table_format(e.path, format) is None]
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5
                                          else "")
        hint = " (.txt articles are read from a directory: name the directory)" \
            if any(p.lower().endswith(TXT_SUFFIX) for p in unknown) else ""
        raise InputFormatError(
            f"{name} matches {len(unknown)} file(s) whose extension says no corpus format: "
            f"{shown}{hint}. Narrow the pattern (e.g. *.jsonl), rename them .jsonl, .csv, "
            ".tsv or .parquet (.gz allowed), or pass format=...")
    return [InputFile(e.path, _table_format(e.path, format), e.size, e.mtime) for e in found]


def _expand_one(name: str, format: str | None) -> tuple[str, str, list[InputFile]]:
    """``(absolute name, kind, files)`` of one name (see :func:`expand_source`)."""
    if is_uri(name) and has_pattern(name):  # object names with wildcards: not looked up
        return name, "files", _from_pattern(name, format, name)
    place = name if is_uri(name) else os.path.abspath(name)
    what, size, mtime = _stat(place)
    if what == "file":
        return place, "file", [InputFile(place, detect_format(place, format), size, mtime)]
    if what == "dir":
        kind, files = _from_directory(place, format)
        return place, kind, files
    if has_pattern(name):
        pattern = name if is_uri(name) or os.path.isabs(name) else os.path.join(os.getcwd(),
                                                                                name)
        return name, "files", _from_pattern(pattern, format, name)
    raise FileNotFoundError(f"Corpus file not found: {name}")


def expand_source(source: Any, format: str | None = None,
                  columns: ColumnMap | None = None) -> InputFiles:
    """The files of ``source`` (a path, a directory, a glob pattern, a URI, a list of
    them, or an :class:`InputFiles` listing, returned as it is) as an
    :class:`InputFiles` listing, in the order the module docstring defines.

    ``format`` (``jsonl``, ``csv``, ``tsv`` or ``parquet``) reads a named file or every
    match of a pattern in that format, and keeps only that format's files of a
    directory. With ``columns``, ``.txt`` articles are refused when an id, metadata or
    target column is named (they have none).

    Raises :class:`FileNotFoundError` for a name that is no file, directory or matching
    pattern (naming it); :class:`~framing.errors.InputFormatError` for an unknown format,
    a named file or a pattern's match whose extension says no format, a directory with
    no corpus or ``.txt`` file, a file named twice, ``.txt`` articles mixed with corpus
    files or from several directories; :class:`~framing.errors.MissingExtraError` for a
    URI whose filesystem library is not installed; :class:`ValueError` for an empty list
    and :class:`TypeError` for a source that is none of these.
    """
    if isinstance(source, InputFiles):
        if columns is not None:
            source.check_columns(columns)
        return source
    if not is_path_source(source):
        if isinstance(source, (list, tuple)) and not source:
            raise ValueError("no input files given: the list of sources is empty")
        raise TypeError("a corpus source must be a path, a URI, a glob pattern or a list of "
                        f"them, not {type(source).__name__}")
    if format:
        format = detect_format("", format)  # checks the name; raises for an unknown one
    names = [os.fspath(s) for s in source] if isinstance(source, (list, tuple)) \
        else [os.fspath(source)]
    given, files, kinds = [], [], []
    seen: dict[str, str] = {}
    for name in names:
        place, kind, found = _expand_one(name, format)
        given.append(place)
        kinds.append(kind)
        for f in found:
            if f.path in seen:
                raise InputFormatError(
                    f"{f.path} is named twice (by {seen[f.path]} and by {name}); each file "
                    "may be read once: drop one of the names or narrow the pattern")
            seen[f.path] = name
        files += found
    if "txt-directory" in kinds and len(kinds) > 1:
        raise InputFormatError(
            "A directory of .txt articles cannot be read together with other sources "
            f"({', '.join(names)}): .txt files have no columns and each directory numbers its "
            "articles from 1; score them separately, or name one folder holding them all")
    kind = kinds[0] if len(kinds) == 1 and isinstance(source, (str, os.PathLike)) else "files"
    listing = InputFiles(tuple(files), tuple(given), kind)
    if columns is not None:
        listing.check_columns(columns)
    return listing
