"""Corpus input and output: read articles, score them in batches, write rows.

Readers stream: JSONL (optionally gzipped), CSV/TSV and Parquet files are read a row
or a record batch at a time, and a directory of ``.txt`` files a file at a time, so
memory stays bounded by the chunk size. A bad row (malformed JSON, a wrong number of
CSV fields, missing or non-string text, invalid UTF-8) becomes a record with
``error`` set and is written out with that error: no row is dropped. A column the
caller names that the file lacks stops the run before anything is scored, with a
:class:`~framing.errors.ColumnError` that lists the columns present.

Writers: a directory of Parquet shards (resumable, see :mod:`framing.shards`), or a
single ``.parquet`` / ``.jsonl`` / ``.csv`` file written atomically at the end.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import itertools
import json
import os
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from framing.errors import ColumnError, InputFormatError, ResumeError
from framing.pipeline.results import ArticleResult, flat_row
from framing.pipeline.schema import HASH_COLUMN, output_columns

if TYPE_CHECKING:  # pragma: no cover
    from framing.pipeline.analyzer import Analyzer

__all__ = [
    "Record",
    "CorpusSummary",
    "read_corpus",
    "score_corpus",
    "example_corpus_path",
    "detect_format",
    "text_key",
]

META_FIELDS = ("outlet", "date", "title")
_FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv", ".tsv": "tsv",
    ".parquet": "parquet", ".pq": "parquet",
}


@dataclass
class Record:
    """One input row: its 1-based ``row`` number, id, text, metadata and any error."""

    row: int
    id: Any
    text: Any
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    target: str | None = None


@dataclass
class CorpusSummary:
    """What :func:`score_corpus` did in this run.

    ``rows`` were written by this run (``errors`` of them with an error, ``flagged``
    with a flag, ``cached`` of them copied from an earlier row with the same text and
    target instead of being scored again); ``skipped`` rows were already done by an
    earlier, interrupted run and were left as they were; ``shards`` is the number of
    shards in the output directory (None for single-file output).
    """

    output: str
    rows: int
    errors: int
    flagged: int
    seconds: float
    skipped: int = 0
    cached: int = 0
    shards: int | None = None

    @property
    def total(self) -> int:
        """Rows in the output: written now plus already done."""
        return self.rows + self.skipped

    @property
    def articles_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("nan")

    def __str__(self) -> str:
        return (f"Scored {self.rows} articles ({self.errors} with errors, {self.flagged} flagged; "
                f"{self.cached} served from the cache of repeated texts; {self.skipped} skipped "
                f"as already done) in {self.seconds:.1f} s: {self.articles_per_second:.1f} "
                f"articles/s -> {self.output}")


def example_corpus_path() -> Path:
    """Path of the example corpus shipped with the package (48 articles, 4 outlets)."""
    return Path(str(resources.files("framing") / "data" / "example_news.jsonl"))


def detect_format(path: str | os.PathLike, explicit: str | None = None) -> str:
    """Return ``jsonl``, ``csv``, ``tsv`` or ``parquet`` for ``path`` (``.gz`` allowed)."""
    if explicit:
        fmt = explicit.lower()
        if fmt not in set(_FORMATS.values()):
            raise InputFormatError(f"Unknown format {explicit!r}; use jsonl, csv, tsv or parquet")
        return fmt
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    ext = os.path.splitext(name)[1]
    if ext not in _FORMATS:
        raise InputFormatError(
            f"Cannot tell the format of {path} from its extension; name it .jsonl, .csv, .tsv or "
            ".parquet, or pass format=...")
    return _FORMATS[ext]


def _open_binary(path: Path):
    return gzip.open(path, "rb") if str(path).lower().endswith(".gz") else open(path, "rb")


class _Columns:
    def __init__(self, text: str, id: str | None, meta: dict[str, str],
                 target: str | None = None) -> None:
        self.text, self.id, self.meta, self.target = text, id, meta, target

    def required(self) -> list[str]:
        return [self.text] + ([self.id] if self.id else []) + list(self.meta.values()) + \
            ([self.target] if self.target else [])

    def check(self, present: list[str], source: str) -> None:
        missing = [c for c in self.required() if c not in present]
        if missing:
            raise ColumnError(
                f"{source}: column(s) {', '.join(map(repr, missing))} not found; the columns "
                f"present are: {', '.join(map(repr, present)) or '(none)'}")

    def record(self, row: int, obj: dict[str, Any]) -> Record:
        rid = _plain(obj.get(self.id)) if self.id else row
        meta = {k: _plain(obj.get(c)) for k, c in self.meta.items()}
        error = None
        if self.text not in obj:
            error = f"missing field {self.text!r}"
        text = _plain(obj.get(self.text))
        if error is None and text is None:
            error = f"missing text ({self.text!r} is null)"
        elif error is None and not isinstance(text, str):
            error = f"text must be a string, got {type(text).__name__}"
        elif error is None and _has_bad_bytes(text):
            error = "invalid UTF-8 in text"
        target = _plain(obj.get(self.target)) if self.target else None
        if isinstance(target, str) and not target.strip():
            target = None
        if error is None and target is not None and not isinstance(target, str):
            error = f"target must be a string, got {type(target).__name__}"
        return Record(row, rid, text if error is None else None, meta, error,
                      target if error is None else None)


def _plain(value: Any) -> Any:
    """Missing values of tables (NaN, NaT, pandas NA) become None; 3.0 becomes 3."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, float):
        if value != value:
            return None
        return int(value) if value.is_integer() else value
    try:
        import pandas as pd

        if pd.isna(value) is True:
            return None
    except (ImportError, TypeError, ValueError):
        pass
    return value


def _has_bad_bytes(s: str) -> bool:
    # surrogateescape maps undecodable bytes to U+DC80..U+DCFF
    return any("\udc80" <= ch <= "\udcff" for ch in s) if not s.isascii() else False


def _read_jsonl(path: Path, cols: _Columns) -> Iterator[Record]:
    checked = False
    with _open_binary(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            if lineno == 1:  # a UTF-8 byte-order mark (Windows editors) is not content
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield Record(lineno, None, None, {}, "invalid UTF-8 on this line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Record(lineno, None, None, {}, f"malformed JSON line: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                yield Record(lineno, None, None, {},
                             f"JSON line is a {type(obj).__name__}, not an object")
                continue
            if not checked:
                cols.check(list(obj), str(path))
                checked = True
            yield cols.record(lineno, obj)


def _read_csv(path: Path, cols: _Columns, delimiter: str) -> Iterator[Record]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with _open_binary(path) as fb:
        fh = io.TextIOWrapper(fb, encoding="utf-8", errors="surrogateescape", newline="")
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        header = [h.lstrip("\ufeff") if i == 0 else h for i, h in enumerate(header)]
        cols.check(header, str(path))
        row = 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row += 1
                yield Record(row, None, None, {}, f"malformed CSV row: {exc}")
                continue
            row += 1
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            if len(values) != len(header):
                yield Record(row, None, None, {},
                             f"malformed CSV row: {len(values)} fields, header has {len(header)}")
                continue
            yield cols.record(row, dict(zip(header, values)))


def _read_parquet(path: Path, cols: _Columns, batch_rows: int) -> Iterator[Record]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise InputFormatError(f"{path}: not a readable Parquet file ({exc})") from None
    cols.check(pf.schema_arrow.names, str(path))
    row = 0
    for batch in pf.iter_batches(batch_size=batch_rows, columns=list(dict.fromkeys(cols.required()))):
        for obj in batch.to_pylist():
            row += 1
            yield cols.record(row, obj)


TXT_SUFFIX = ".txt"


def _txt_files(root: Path, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """``(id, path)`` of the ``.txt`` files under ``root``: the id is the path relative
    to the top folder, ``/``-separated, without the extension. Hidden files and folders
    are left out; folder symlinks are not followed. Order: each folder's entries sorted
    by name, depth first (so the order is fixed by the names alone)."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _txt_files(Path(entry.path), f"{prefix}{entry.name}/")
        elif entry.name.lower().endswith(TXT_SUFFIX) and entry.is_file():
            yield prefix + entry.name[: -len(TXT_SUFFIX)], Path(entry.path)


def _read_txt_dir(root: Path) -> Iterator[Record]:
    for row, (rid, path) in enumerate(_txt_files(root), start=1):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            yield Record(row, rid, None, {}, f"cannot read {path}: {exc.strerror or exc}")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Record(row, rid, None, {}, f"invalid UTF-8 in the file (byte {exc.start})")
            continue
        yield Record(row, rid, text.removeprefix("\ufeff"))


def _read_frame(frame: Any, cols: _Columns) -> Iterator[Record]:
    names = list(getattr(frame, "column_names", None) or getattr(frame, "columns", []))
    cols.check([str(c) for c in names], type(frame).__name__)
    if hasattr(frame, "to_dict") and hasattr(frame, "iloc"):  # pandas
        rows = frame.to_dict("records")
    else:  # datasets.Dataset and other row iterables
        rows = iter(frame)
    for row, obj in enumerate(rows, start=1):
        yield cols.record(row, obj)


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
    """Stream :class:`Record` objects from a file, a directory of ``.txt`` files, a pandas
    DataFrame or a ``datasets.Dataset``.

    ``text``, ``id``, ``outlet``, ``date``, ``title`` and ``target`` name the source
    columns; without ``id`` the row number is the id. A directory yields one record per
    ``.txt`` file (sorted by path; the id is the path relative to the directory without
    ``.txt``, the text the file's content; a file that is not valid UTF-8 gives a record
    with ``error`` set); it has no columns, so ``id`` and the metadata options do not
    apply to it. Raises :class:`ColumnError` (listing the columns present) when a named
    column is absent, :class:`InputFormatError` for an unknown format (or column options
    given for a directory), :class:`FileNotFoundError` for a missing file. Bad rows are
    yielded with ``error`` set, never skipped.
    """
    meta = {k: v for k, v in (("outlet", outlet), ("date", date), ("title", title)) if v}
    cols = _Columns(text, id, meta, target)
    if not isinstance(source, (str, os.PathLike)):
        yield from _read_frame(source, cols)
        return
    path = Path(source)
    if path.is_dir():
        given = [n for n, v in (("id", id), ("outlet", outlet), ("date", date),
                                ("title", title), ("target", target)) if v]
        if given:
            raise InputFormatError(
                f"{path} is a directory of .txt files, which has no columns: the id is each "
                f"file's relative path and the text its content, so {', '.join(given)} cannot "
                "be given")
        yield from _read_txt_dir(path)
        return
    if not path.is_file():
        raise FileNotFoundError(f"Corpus file not found: {path}")
    fmt = detect_format(path, format)
    if fmt == "jsonl":
        yield from _read_jsonl(path, cols)
    elif fmt in ("csv", "tsv"):
        yield from _read_csv(path, cols, "," if fmt == "csv" else "\t")
    else:
        yield from _read_parquet(path, cols, batch_rows)


# -- writing ---------------------------------------------------------------------------
DEFAULT_SHARD_SIZE = 2048
DEFAULT_CACHE_SIZE = 200_000
FILE_CACHE_LIMIT = 10_000  # single-file output keeps cached scores in memory


def _arrow_schema(columns: list[tuple[str, str]]):
    import pyarrow as pa

    types = {"int64": pa.int64(), "string": pa.string(), "float64": pa.float64(),
             "bool": pa.bool_()}
    return pa.schema([(c, types[t]) for c, t in columns])


class _Writer:
    """Write rows to Parquet, JSONL or CSV with a fixed column set."""

    def __init__(self, path: Path, fmt: str, columns: list[tuple[str, str]]) -> None:
        self.path, self.fmt, self.columns = path, fmt, columns
        self.names = [c for c, _ in columns]
        self._pq = None
        self._fh = None
        if fmt == "parquet":
            import pyarrow.parquet as pq

            self.schema = _arrow_schema(columns)
            self._pq = pq.ParquetWriter(path, self.schema, compression="zstd")
        elif fmt == "jsonl":
            self._fh = open(path, "w", encoding="utf-8")
        else:
            self._fh = open(path, "w", encoding="utf-8", newline="")
            self._csv = csv.DictWriter(self._fh, fieldnames=self.names,
                                       delimiter="," if fmt == "csv" else "\t")
            self._csv.writeheader()

    def write(self, rows: list[dict[str, Any]]) -> None:
        rows = [{k: r.get(k) for k in self.names} for r in rows]
        if self._pq is not None:
            import pyarrow as pa

            self._pq.write_table(pa.Table.from_pylist(rows, schema=self.schema))
        elif self.fmt == "jsonl":
            for r in rows:
                self._fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        else:
            self._csv.writerows(rows)

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()
        if self._fh is not None:
            self._fh.close()


def _count_rows(source: Any, fmt: str | None) -> int | None:
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(source).metadata.num_rows
        if fmt == "jsonl":
            n = 0
            with _open_binary(Path(source)) as fh:
                for line in fh:
                    n += bool(line.strip())
            return n
        if fmt == "txt":
            return sum(1 for _ in _txt_files(Path(source)))
        if fmt is None and hasattr(source, "__len__"):
            return len(source)
    except Exception:
        return None
    return None


# -- the cache of repeated texts -----------------------------------------------------------
def text_key(text: str, target: str | None) -> str:
    """sha256 (hex) of an article's text, stripped of surrounding whitespace, and its
    target: two rows with the same key get the same scores."""
    payload = json.dumps([text.strip(), target], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


class _LRU:
    """Least-recently-remembered map with a fixed capacity; keys are the first 64 bits of
    a text key (the full key is checked on every hit, so a collision costs a rescoring,
    never a wrong row). Lookups do not reorder: the state after a run depends only on the
    sequence of :meth:`remember` calls, which a resumed run replays from its shards."""

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self._items: OrderedDict[int, Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> Any:
        return self._items.get(int(key[:16], 16))

    def remember(self, key: str, value: Any) -> None:
        k = int(key[:16], 16)
        if k in self._items:
            self._items.move_to_end(k)
            return
        self._items[k] = value
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)


class _MemoryCache:
    """Single-file output: the cache holds the scores themselves."""

    def __init__(self, capacity: int) -> None:
        self._lru = _LRU(capacity)

    def lookup(self, key: str) -> dict[str, Any] | None:
        hit = self._lru.get(key)
        return hit[1] if hit is not None and hit[0] == key else None

    def remember(self, key: str, scores: dict[str, Any], where: int) -> None:
        self._lru.remember(key, (key, scores))


class _ShardCache:
    """Shard output: the cache holds where an earlier row is (shard, position); its scores
    are read back from that shard on a hit, or from memory while its shard is open. Memory
    per remembered text is about 150 bytes, whatever the row's size."""

    def __init__(self, capacity: int, shards, score_cols: list[str]) -> None:
        self._lru = _LRU(capacity)
        self._shards = shards
        self._cols = score_cols
        self._open_index: int | None = None
        self._open_rows: dict[int, tuple[str, dict[str, Any]]] = {}
        self._tables: OrderedDict[int, Any] = OrderedDict()  # the last shards read back

    def open_shard(self, index: int) -> None:
        self._open_index, self._open_rows = index, {}

    def lookup(self, key: str) -> dict[str, Any] | None:
        loc = self._lru.get(key)
        if loc is None:
            return None
        shard, pos = divmod(loc, 1 << 32)
        if shard == self._open_index:
            stored = self._open_rows.get(pos)
            return stored[1] if stored is not None and stored[0] == key else None
        table = self._load(shard)
        if table is None or pos >= table.num_rows or table.column(HASH_COLUMN)[pos].as_py() != key:
            return None
        row = table.slice(pos, 1).to_pylist()[0]
        del row[HASH_COLUMN]
        return row

    def _load(self, shard: int):
        if shard in self._tables:
            return self._tables[shard]
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(self._shards.shard_path(shard),
                                  columns=self._cols + [HASH_COLUMN])
        except (OSError, ValueError):
            return None
        self._tables[shard] = table
        if len(self._tables) > 2:
            self._tables.popitem(last=False)
        return table

    def remember(self, key: str, scores: dict[str, Any], where: int) -> None:
        shard, pos = divmod(where, 1 << 32)
        if shard == self._open_index:
            self._open_rows[pos] = (key, scores)
        self._lru.remember(key, where)

    def replay(self, shard: int, keys: list[str | None]) -> None:
        """Remember a complete shard's rows in order, as the run that wrote it did."""
        for pos, key in enumerate(keys):
            if key:
                self._lru.remember(key, (shard << 32) | pos)


# -- scoring -------------------------------------------------------------------------------
def _failed(analyzer: Any, error: str, rid: Any) -> ArticleResult:
    make = getattr(analyzer, "_failed", None)
    if make is not None:
        return make(error, rid, None)
    return ArticleResult(None, None, {}, [], tone_scorer=None, flags=["error"], error=error,
                         id=rid)


@dataclass
class _Chunk:
    rows: list[dict[str, Any]]
    keys: list[str | None]
    errors: int
    flagged: int
    cached: int


class _ChunkScorer:
    """Turn records into output rows: each distinct (text, target) not already in the
    cache is scored once, in one ``score_many`` call per chunk; repeats copy its scores
    under their own row, id and metadata."""

    def __init__(self, analyzer: Any, evidence: bool, columns: list[tuple[str, str]],
                 meta_keys: list[str], cache: Any) -> None:
        self.analyzer = analyzer
        self.evidence = evidence
        identity = {"row", "id", HASH_COLUMN, *meta_keys}
        self.score_cols = [c for c, _ in columns if c not in identity]
        self.cache = cache

    def _scores(self, result: ArticleResult) -> dict[str, Any]:
        row = flat_row(result, self.analyzer.cue_ids, evidence=self.evidence,
                       frame_ids=getattr(self.analyzer, "frame_ids", []))
        return {c: row.get(c) for c in self.score_cols}

    def score(self, chunk: list[Record]) -> _Chunk:
        keys = [text_key(r.text, r.target) if r.error is None else None for r in chunk]
        scores: list[dict[str, Any] | None] = [None] * len(chunk)
        first: dict[str, int] = {}
        todo: list[int] = []
        cached = 0
        for i, key in enumerate(keys):
            if key is None:
                continue
            if key in first:
                cached += 1
                continue
            first[key] = i
            hit = self.cache.lookup(key) if self.cache is not None else None
            if hit is not None:
                scores[i] = hit
                cached += 1
            else:
                todo.append(i)
        if todo:
            results = self.analyzer.score_many(
                [chunk[i].text for i in todo], ids=[chunk[i].id for i in todo],
                targets=[chunk[i].target for i in todo])
            for i, res in zip(todo, results):
                scores[i] = self._scores(res)
        rows = []
        errors = flagged = 0
        for i, (rec, key) in enumerate(zip(chunk, keys)):
            sc = scores[i] if key is None else scores[first[key]]
            if sc is None:
                sc = self._scores(_failed(self.analyzer, rec.error or "unreadable row", rec.id))
            scores[i] = sc
            row = dict(sc)
            row.update(rec.meta)
            row["target"] = rec.target
            row["row"] = rec.row
            row["id"] = None if rec.id is None else str(rec.id)
            row[HASH_COLUMN] = key
            for k in META_FIELDS:
                if k in row and row[k] is not None and not isinstance(row[k], str):
                    row[k] = str(row[k])
            errors += row["error"] is not None
            flagged += bool(row["flags"]) and row["error"] is None
            rows.append(row)
        return _Chunk(rows, keys, errors, flagged, cached)


def _progress_bar(progress: bool, total: int | None, initial: int = 0):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="article", desc="scoring", file=sys.stderr,
                dynamic_ncols=True)


def _is_shard_output(out: str | os.PathLike, out_format: str | None) -> bool:
    """Whether ``out`` names a shard directory (see :func:`score_corpus`)."""
    if out_format is not None:
        return out_format.lower() in ("shards", "directory", "dir")
    text = os.fspath(out)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return True
    return Path(text).suffix == ""


def score_corpus(
    source: Any,
    out: str | os.PathLike,
    *,
    text: str = "text",
    id: str | None = None,
    outlet: str | None = None,
    date: str | None = None,
    title: str | None = None,
    target: str | None = None,
    analyzer: "Analyzer | Callable[[], Analyzer] | None" = None,
    format: str | None = None,
    out_format: str | None = None,
    chunk_size: int = 256,
    shard_size: int = DEFAULT_SHARD_SIZE,
    evidence: bool = True,
    progress: bool = True,
    resume: bool = True,
    overwrite: bool = False,
    cache_size: int = DEFAULT_CACHE_SIZE,
    engine: str = "local",
    ray_address: str | None = None,
) -> CorpusSummary:
    """Score every article of ``source`` and write one row per article to ``out``.

    ``source`` is a JSONL/CSV/TSV/Parquet path, a directory of ``.txt`` files, a pandas
    DataFrame or a ``datasets.Dataset``; column options as in :func:`read_corpus`.
    Articles are scored ``chunk_size`` at a time; a bad row is written with its
    ``error`` and the run goes on.

    **Output.** ``out`` is a *scores directory* when it is an existing directory, ends
    with ``/``, has no extension, or ``out_format="shards"``: rows go to Parquet shards
    ``part-00000.parquet``, ``part-00001.parquet``, ... of ``shard_size`` input records
    each, every shard written to a ``.tmp`` file, flushed to disk and renamed into place
    once complete, next to a ``manifest.json`` saying what was scored with what (see
    :mod:`framing.shards`). Otherwise ``out``'s extension (or ``out_format``) picks a
    single Parquet, JSONL or CSV file, written to a temporary file and moved into place
    at the end, so an interrupted run never leaves a partial file under the final name
    (and nothing to resume); a second process writing the same file is refused too.
    :func:`framing.read_scores` reads either back.

    **Resuming** (scores directories). With ``resume=True`` (default), running the same
    call again after an interruption, even a SIGKILL, keeps the complete shards, skips
    their records and scores the rest: the result equals an uninterrupted run's, row for
    row. The manifest must match the current input (size and hashes of its first and last
    MiB; for a directory the names and sizes of its files), the column options,
    ``evidence``, ``shard_size``, the framing version, the analyzer's configuration and
    the hashes of its model files; otherwise :class:`~framing.errors.ResumeError` lists
    what differs. ``resume=False`` refuses a directory that already holds shards;
    ``overwrite=True`` deletes its shards and manifest (other files stay) and starts
    afresh. Two processes writing one directory are refused
    (:class:`~framing.errors.OutputLockedError`); a write that fails (disk full, no
    permission) raises :class:`~framing.errors.OutputWriteError` naming the path and
    leaves the shards written before it intact.

    **Repeated texts** are scored once: rows whose text (stripped of surrounding
    whitespace) and target hash alike reuse the scores of the first such row, under their
    own row number, id and metadata. The cache remembers the last ``cache_size`` distinct
    texts (0 turns it off, leaving only repeats within one chunk scored once); shards keep
    each row's hash in a ``text_sha256`` column, so a resumed run remembers what the
    interrupted one saw. With shards the cache holds only where each remembered text's
    row is (about 150 bytes a text, some 30 MB at the default size); single-file output
    holds the cached scores themselves in memory, and so remembers at most 10,000 texts.

    ``analyzer`` is an :class:`~framing.Analyzer`, a zero-argument callable that builds
    one (called only once the input's columns, and a directory's manifest, check out),
    or None for the defaults. Any object with ``score_many``, ``cue_ids`` and ``config()``
    works too.

    ``engine="ray"`` scores on a Ray cluster (``pip install "framing[ray]"``; connects
    to ``ray_address`` or starts a local Ray) through
    :func:`framing.io.distributed.score_corpus_ray`: a scores directory of Parquet shards
    with the same columns, not resumable; ``analyzer`` must then be a dict of
    :class:`~framing.Analyzer` arguments or a zero-argument factory.

    Returns a :class:`CorpusSummary`. Raises :class:`ColumnError` before any model is
    loaded when a named column is missing.
    """
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    for name, value, low in (("chunk_size", chunk_size, 1), ("shard_size", shard_size, 1),
                             ("cache_size", cache_size, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if engine == "ray":
        from framing.io.distributed import score_corpus_ray

        return score_corpus_ray(
            source, out, text=text, id=id, outlet=outlet, date=date, title=title, target=target,
            analyzer=analyzer, format=format, out_format=out_format, chunk_size=chunk_size,
            shard_size=shard_size, evidence=evidence, progress=progress, resume=resume,
            overwrite=overwrite, cache_size=cache_size, ray_address=ray_address)
    opts = dict(text=text, id=id, outlet=outlet, date=date, title=title, target=target)
    shards = _is_shard_output(out, out_format)
    ofmt = None if shards else detect_format(out, out_format)
    if isinstance(source, (str, os.PathLike)):
        in_fmt = "txt" if Path(source).is_dir() else detect_format(source, format)
    else:
        in_fmt = None
    records = read_corpus(source, format=format, **opts)
    first = next(records, None)  # raises ColumnError/FileNotFoundError before any work
    records = itertools.chain([first] if first is not None else [], records)
    meta_keys = [k for k, v in (("outlet", outlet), ("date", date), ("title", title),
                                ("target", target)) if v]
    if shards:
        return _score_to_shards(source, Path(out), records, opts, meta_keys, analyzer, in_fmt,
                                format, chunk_size, shard_size, evidence, progress, resume,
                                overwrite, cache_size)
    return _score_to_file(source, Path(out), ofmt, records, meta_keys, analyzer, in_fmt,
                          chunk_size, evidence, progress, cache_size)


def _build_analyzer(analyzer: Any) -> Any:
    from framing.pipeline.analyzer import Analyzer

    if analyzer is None:
        return Analyzer()
    if not isinstance(analyzer, Analyzer) and not hasattr(analyzer, "score_many") \
            and callable(analyzer):
        return analyzer()
    return analyzer


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while True:
        chunk = list(itertools.islice(records, size))
        if not chunk:
            return
        yield chunk


def _score_to_file(source, out: Path, ofmt: str, records, meta_keys, analyzer, in_fmt,
                   chunk_size, evidence, progress, cache_size) -> CorpusSummary:
    from framing.errors import OutputWriteError
    from framing.io.shards import OutputLock

    if out.is_dir():
        raise InputFormatError(f"{out} is a directory; name a file ending .parquet, .jsonl or "
                               ".csv, or pass out_format='shards' to write shards into it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputWriteError(f"Cannot create the output directory {out.parent}: "
                               f"{exc.strerror or exc}") from exc
    analyzer = _build_analyzer(analyzer)
    columns = output_columns(analyzer.cue_ids, meta_keys, evidence,
                       getattr(analyzer, "frame_ids", []))
    cache = _MemoryCache(min(cache_size, FILE_CACHE_LIMIT)) if cache_size else None
    scorer = _ChunkScorer(analyzer, evidence, columns, meta_keys, cache)
    lock = OutputLock(out.parent, f".{out.name}.lock").acquire()
    tmp = out.with_name(f".{out.name}.partial")
    try:
        writer = _Writer(tmp, ofmt, columns)
    except BaseException as exc:
        lock.release()
        if isinstance(exc, OSError):
            raise OutputWriteError(f"Cannot write {tmp}: {exc.strerror or exc}") from exc
        raise
    bar = _progress_bar(progress, _count_rows(source, in_fmt))
    n = errors = flagged = cached = 0
    start = time.perf_counter()
    writing = False  # whether an OSError comes from writing the output (not from reading)
    try:
        for chunk in _chunks(records, chunk_size):
            done = scorer.score(chunk)
            writing = True
            writer.write(done.rows)
            writing = False
            if cache is not None:
                for key, row in zip(done.keys, done.rows):
                    if key is not None:
                        cache.remember(key, {c: row[c] for c in scorer.score_cols}, 0)
            n, errors, flagged = n + len(chunk), errors + done.errors, flagged + done.flagged
            cached += done.cached
            if bar is not None:
                bar.update(len(chunk))
        writing = True
        writer.close()
        os.replace(tmp, out)
    except BaseException as exc:
        try:
            writer.close()
        except OSError:
            pass
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and writing:  # disk full, no permission, ...
            raise OutputWriteError(
                f"Cannot write {out}: {exc.strerror or exc}. Nothing was written under that "
                "name; free space or fix permissions and run again.") from exc
        raise
    finally:
        if bar is not None:
            bar.close()
        lock.release()
    return CorpusSummary(str(out), n, errors, flagged, time.perf_counter() - start,
                         cached=cached)


# -- scores directories ------------------------------------------------------------
def _score_to_shards(source, out: Path, records, opts, meta_keys, analyzer, in_fmt, format,
                     chunk_size, shard_size, evidence, progress, resume, overwrite,
                     cache_size) -> CorpusSummary:
    from framing._version import __version__
    from framing.errors import OutputWriteError
    from framing.io.shards import (OutputLock, ShardDir, ShardWriter, analyzer_fingerprint,
                         check_manifest, input_fingerprint, now_iso)

    if out.exists() and not out.is_dir():
        raise InputFormatError(f"{out} exists and is not a directory; a scores directory "
                               "(or a file name ending .parquet, .jsonl or .csv) is needed")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputWriteError(f"Cannot create the output directory {out}: "
                               f"{exc.strerror or exc}") from exc
    shard_dir = ShardDir(out)
    lock = OutputLock(out).acquire()
    bar = None
    try:
        manifest = {
            "kind": "framing-scores", "manifest_version": 1, "framing_version": __version__,
            "created": now_iso(), "updated": None, "status": "running",
            "input": input_fingerprint(source, in_fmt, suffix=TXT_SUFFIX),
            "columns": dict(opts),
            "parameters": {"shard_size": shard_size, "evidence": evidence, "format": format,
                           "chunk_size": chunk_size, "cache_size": cache_size},
            "analyzer": None, "schema": None, "progress": {"shards": 0, "rows": 0},
        }
        old = None if overwrite else shard_dir.read_manifest()
        existing = shard_dir.shards()
        if overwrite:
            shard_dir.clear()
            existing = []
        elif old is None and existing:
            raise ResumeError(f"{out} holds shards but no manifest.json, so what they hold "
                              "cannot be checked; pass overwrite=True (--overwrite) to replace "
                              "them, or write to another directory")
        elif old is not None and existing and not resume:
            raise ResumeError(f"{out} already holds {len(existing)} shard(s) of an earlier run "
                              "and resume=False (--no-resume) was given; pass overwrite=True "
                              "(--overwrite) to replace them, or write to another directory")
        if not existing:
            old = None  # nothing finished yet: nothing to keep, nothing to check against
        if old is not None:
            check_manifest(out, old, manifest, with_analyzer=False)
        shard_dir.remove_temporaries()

        analyzer = _build_analyzer(analyzer)
        manifest["analyzer"] = analyzer_fingerprint(analyzer)
        manifest["parameters"]["batch_size"] = getattr(analyzer, "batch_size", None)
        columns = output_columns(analyzer.cue_ids, meta_keys, evidence,
                       getattr(analyzer, "frame_ids", [])) + [(HASH_COLUMN, "string")]
        manifest["schema"] = [c for c, _ in columns]
        if old is not None:
            check_manifest(out, old, manifest, with_analyzer=True)
            manifest["created"] = old.get("created", manifest["created"])
            if old.get("schema") != manifest["schema"]:
                raise ResumeError(f"Cannot resume {out}: its shards have other columns; pass "
                                  "overwrite=True (--overwrite) to start afresh")
        shard_dir.write_manifest(manifest)

        schema = _arrow_schema(columns)
        scorer = _ChunkScorer(analyzer, evidence, columns, meta_keys, None)
        cache = _ShardCache(cache_size, shard_dir, scorer.score_cols) if cache_size else None
        scorer.cache = cache
        start = time.perf_counter()
        skipped = _skip_done(shard_dir, existing, records, shard_size, cache)
        if skipped % shard_size and next(records, None) is not None:
            raise ResumeError(f"Cannot resume {out}: its last shard is short, so the input ended "
                              "there, but the input now has more rows. Pass overwrite=True "
                              "(--overwrite) to start afresh")
        index = len(existing)
        manifest["progress"] = {"shards": index, "rows": skipped}
        bar = _progress_bar(progress, _count_rows(source, in_fmt), skipped)
        n = errors = flagged = cached = 0
        step = min(chunk_size, shard_size)
        while True:
            writer = ShardWriter(shard_dir.shard_path(index), schema)
            if cache is not None:
                cache.open_shard(index)
            try:
                while writer.rows < shard_size:
                    chunk = list(itertools.islice(records, min(step, shard_size - writer.rows)))
                    if not chunk:
                        break
                    done = scorer.score(chunk)
                    offset = writer.rows
                    writer.write(done.rows)
                    if cache is not None:
                        for j, (key, row) in enumerate(zip(done.keys, done.rows)):
                            if key is not None:
                                cache.remember(key, {c: row[c] for c in scorer.score_cols},
                                               (index << 32) | (offset + j))
                    n, errors = n + len(chunk), errors + done.errors
                    flagged, cached = flagged + done.flagged, cached + done.cached
                    if bar is not None:
                        bar.update(len(chunk))
                if writer.rows == 0:
                    break
                writer.commit()
            except BaseException:
                writer.abort()
                raise
            index += 1
            manifest["progress"] = {"shards": index, "rows": skipped + n}
            if writer.rows < shard_size:
                break
            shard_dir.write_manifest(manifest)
        manifest["status"] = "complete"
        manifest["finished"] = now_iso()
        shard_dir.write_manifest(manifest)
    finally:
        if bar is not None:
            bar.close()
        lock.release()
    return CorpusSummary(str(out), n, errors, flagged, time.perf_counter() - start,
                         skipped=skipped, cached=cached, shards=index)


def _skip_done(shard_dir, existing: list[tuple[int, Path]], records: Iterator[Record],
               shard_size: int, cache: _ShardCache | None) -> int:
    """Consume the records the complete shards already hold, checking that each is the
    same row with the same text (row number and text hash), and replay the shards' text
    hashes into the cache. Returns their count."""
    import pyarrow.parquet as pq

    skipped = 0
    for expected, (index, path) in enumerate(existing):
        if index != expected:
            raise ResumeError(f"{shard_dir.path}: shard {shard_dir.shard_path(expected).name} "
                              "is missing, so the shards after it cannot be trusted; pass "
                              "overwrite=True (--overwrite) to start afresh")
        try:
            table = pq.read_table(path, columns=["row", HASH_COLUMN])
        except Exception as exc:
            raise ResumeError(f"{path} cannot be read ({exc}); delete it (and the shards after "
                              "it) and run again to rescore those rows") from None
        rows = table.column("row").to_pylist()
        keys = table.column(HASH_COLUMN).to_pylist()
        last = expected == len(existing) - 1
        if len(rows) != shard_size and not (last and 0 < len(rows) < shard_size):
            raise ResumeError(f"{path} holds {len(rows)} rows, not the shard size {shard_size}; "
                              "pass overwrite=True (--overwrite) to start afresh")
        for want, key in zip(rows, keys):
            rec = next(records, None)
            if rec is not None and rec.row == want:
                now = text_key(rec.text, rec.target) if rec.error is None else None
                if now == key:
                    continue
                what = f"row {want} has another text"
            else:
                what = f"{'no more rows' if rec is None else f'row {rec.row}'} where " \
                       f"{path.name} holds row {want}"
            raise ResumeError(
                f"Cannot resume {shard_dir.path}: the input changed ({what}). Pass "
                "overwrite=True (--overwrite) to start afresh")
        skipped += len(rows)
        if cache is not None:
            cache.replay(index, keys)
    return skipped
