"""Scoring a corpus on one machine: read articles, score them in batches, write rows.

Reading is :mod:`framing.io.readers` (streamed, a bad row kept with its ``error``, a
missing column a :class:`~framing.errors.ColumnError` before anything is scored).

Writers: a directory of Parquet shards (resumable, see :mod:`framing.io.shards`), or a
single ``.parquet`` / ``.jsonl`` / ``.csv`` file written atomically at the end.
``engine="ray"`` hands the run to :mod:`framing.io.distributed`.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from framing.core.formatting import counted
from framing.core.labels import META_FIELDS
from framing.core.tables import detect_format, open_binary
from framing.errors import InputFormatError, OutputWriteError, ResumeError
from framing.io.readers import TXT_SUFFIX, Record, example_corpus_path, read_corpus, txt_files
from framing.io.runs import (DEFAULT_CACHE_SIZE, DEFAULT_SHARD_SIZE, CorpusSummary,
                             ScoreOptions, adopt_earlier_analyzer, earlier_run,
                             finish_manifest, record_analyzer, start_manifest, text_key)
from framing.io.shards import (OutputLock, ShardDir, ShardWriter, analyzer_fingerprint,
                               analyzer_request, analyzer_unchanged, arrow_schema,
                               input_fingerprint)
from framing.io.sources import InputFiles, expand_source, is_path_source, is_uri
from framing.pipeline.analyzer import Analyzer
from framing.pipeline.results import ArticleResult, flat_row
from framing.pipeline.schema import HASH_COLUMN, output_columns

__all__ = [
    "CorpusSummary",
    "Record",
    "ScoreOptions",
    "example_corpus_path",
    "read_corpus",
    "run_local",
    "score_corpus",
    "text_key",
]


# -- writing ---------------------------------------------------------------------------
FILE_CACHE_LIMIT = 10_000  # single-file output keeps cached scores in memory


class _Writer:
    """Write rows to Parquet, JSONL or CSV with a fixed column set."""

    def __init__(self, path: Path, fmt: str, columns: list[tuple[str, str]]) -> None:
        self.path, self.fmt, self.columns = path, fmt, columns
        self.names = [c for c, _ in columns]
        self._pq = None
        self._fh = None
        if fmt == "parquet":
            self.schema = arrow_schema(columns)
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


#: A multi-file source's JSONL lines are counted for the progress bar only up to this
#: many bytes of JSONL files (counting reads them through once more).
COUNT_JSONL_BYTES = 256 << 20


def _count_files(files: InputFiles) -> int | None:
    """Rows of a multi-file source, for the progress bar: the sum over its local files
    (Parquet from each footer, JSONL by counting lines while they total at most
    :data:`COUNT_JSONL_BYTES`), the number of its ``.txt`` articles, or None when a
    count would cost too much or cannot be told (CSV/TSV, URIs)."""
    if all(f.format == "txt" for f in files):
        return len(files)
    if any(is_uri(f.path) or f.format not in ("parquet", "jsonl") for f in files):
        return None
    jsonl_bytes = sum(f.size or 0 for f in files if f.format == "jsonl")
    if jsonl_bytes > COUNT_JSONL_BYTES:
        return None
    total = 0
    for f in files:
        n = _count_rows(f.path, f.format)
        if n is None:
            return None
        total += n
    return total


def _count_rows(source: Any, fmt: str | None) -> int | None:
    """Rows ``source`` holds (of input format ``fmt``, ``"files"`` for a multi-file
    listing), for the progress bar; None when unknown. Never raises."""
    try:
        if fmt == "files":
            return _count_files(source)
        if fmt == "parquet":
            return pq.ParquetFile(source).metadata.num_rows
        if fmt == "jsonl":
            n = 0
            with open_binary(source) as fh:
                for line in fh:
                    n += bool(line.strip())
            return n
        if fmt == "txt":
            return sum(1 for _ in txt_files(source))
        if fmt is None and hasattr(source, "__len__"):
            return len(source)
    except Exception:
        return None
    return None


# -- the cache of repeated texts -----------------------------------------------------------
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
    make = getattr(analyzer, "failed_result", None)
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


def _output_columns(analyzer: Any, options: ScoreOptions) -> list[tuple[str, str]]:
    """``(name, type)`` of every column written for ``analyzer`` with ``options``, the
    text hash last: the same for a scores directory and a single file."""
    return output_columns(analyzer.cue_ids, options.columns.meta_keys, options.evidence,
                          getattr(analyzer, "frame_ids", [])) + [(HASH_COLUMN, "string")]


def _score_columns(names: list[str], meta_keys: list[str]) -> list[str]:
    """The columns of ``names`` that hold scores (what a repeated text copies), not the
    row's identity (row number, id, metadata, text hash)."""
    identity = {"row", "id", HASH_COLUMN, *meta_keys}
    return [c for c in names if c not in identity]


class _ChunkScorer:
    """Turn records into output rows: each distinct (text, target) not already in the
    cache is scored once, in one ``score_many`` call per chunk; repeats copy its scores
    under their own row, id and metadata."""

    def __init__(self, analyzer: Any, evidence: bool, columns: list[tuple[str, str]],
                 meta_keys: list[str], cache: Any) -> None:
        self.analyzer = analyzer
        self.evidence = evidence
        self.score_cols = _score_columns([c for c, _ in columns], meta_keys)
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
    source: Any, out: str | os.PathLike, *, text: str = "text", id: str | None = None,
    outlet: str | None = None, date: str | None = None, title: str | None = None,
    target: str | None = None,
    analyzer: "Analyzer | Mapping[str, Any] | Callable[[], Analyzer] | None" = None,
    format: str | None = None, out_format: str | None = None, chunk_size: int = 256,
    shard_size: int = DEFAULT_SHARD_SIZE, evidence: bool = True, progress: bool = True,
    resume: bool = True, overwrite: bool = False, cache_size: int = DEFAULT_CACHE_SIZE,
    engine: str = "local", ray_address: str | None = None,
) -> CorpusSummary:
    """Score every article of ``source`` and write one row per article to ``out``.

    ``source`` is a JSONL/CSV/TSV/Parquet path (``.gz`` allowed), a directory of such
    files (or, when it holds none, of ``.txt`` files), a glob pattern
    (``"corpus/*.parquet"``, ``"data/**/*.jsonl.gz"``), a URI (``s3://bucket/corpus/``,
    through ``pyarrow.fs`` or ``fsspec``), a list of these, a pandas DataFrame or a
    ``datasets.Dataset``; which files a path source names, and in which order, is
    :func:`framing.io.sources.expand_source`; column options, row numbers and ids (those
    of a multi-file source name their file) as in :func:`read_corpus`. Files are read one
    after the other, a batch of rows at a time. Articles are scored ``chunk_size`` at a
    time; a bad row is written with its ``error`` and the run goes on.

    **Output.** ``out`` is a *scores directory* when it is an existing directory, ends
    with ``/``, has no extension, or ``out_format="shards"``: rows go to Parquet shards
    ``part-00000.parquet``, ``part-00001.parquet``, ... of ``shard_size`` input records
    each, every shard written to a ``.tmp`` file, flushed to disk and renamed into place
    once complete, next to a ``manifest.json`` saying what was scored with what (see
    :mod:`framing.io.shards`). Otherwise ``out``'s extension (or ``out_format``) picks a
    single Parquet, JSONL or CSV file, written to a temporary file and moved into place
    at the end, so an interrupted run never leaves a partial file under the final name
    (and nothing to resume); a second process writing the same file is refused too.
    :func:`framing.read_scores` reads either back.

    **Resuming** (scores directories). With ``resume=True`` (default), running the same
    call again after an interruption, even a SIGKILL, keeps the complete shards, skips
    their records and scores the rest: the result equals an uninterrupted run's, row for
    row. The manifest must match the current input (for one file its size and hashes of
    its first and last MiB; for a directory of ``.txt`` files the names and sizes of its
    files; for any other path source, the list of its files with each one's size and
    modification time, so that a changed, added or removed file is refused, and named),
    the column options,
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
    texts (0 turns it off, leaving only repeats within one chunk scored once). Every
    output, a directory or a single file, keeps each row's hash in a ``text_sha256``
    column (null for a row that could not be read), so a resumed run remembers what the
    interrupted one saw. With shards the cache holds only where each remembered text's
    row is (about 150 bytes a text, some 30 MB at the default size); single-file output
    holds the cached scores themselves in memory, and so remembers at most 10,000 texts.

    ``analyzer`` is an :class:`~framing.Analyzer`, a dict of its keyword arguments, a
    zero-argument callable that builds one, or None for the defaults; the last three are
    built only once the input's columns, and a directory's manifest, check out. Any object
    with ``score_many``, ``cue_ids`` and ``config()`` works too. Given as a dict or None,
    a resume into a scores directory whose analyzer demonstrably has not changed (the
    same arguments, model files and catalogue, see
    :func:`framing.io.shards.analyzer_unchanged`) skips the done rows before building it,
    and does not build it at all when no row is left.

    ``id`` unset, the input's ``id`` column gives the ids if it has one (else the row
    numbers do): see :func:`framing.io.readers.resolve_id_column`.

    ``engine="ray"`` scores on a Ray cluster (``pip install "framing[ray]"``; connects
    to ``ray_address`` or starts a local Ray) through
    :func:`framing.io.distributed.score_corpus_ray`: the same scores directory (shards,
    rows and manifest), resumable in the same way; ``analyzer`` must then be a dict of
    :class:`~framing.Analyzer` arguments or a zero-argument factory.

    Returns a :class:`CorpusSummary`. Raises :class:`ColumnError` before any model is
    loaded when a named column is missing.
    """
    _check_engine(engine)
    options = ScoreOptions(
        text=text, id=id, outlet=outlet, date=date, title=title, target=target, format=format,
        out_format=out_format, chunk_size=chunk_size, shard_size=shard_size, evidence=evidence,
        progress=progress, resume=resume, overwrite=overwrite, cache_size=cache_size)
    return _run_engine(engine, source, out, options, analyzer, ray_address)


def _check_engine(engine: str) -> None:
    """Returns nothing for ``"local"`` or ``"ray"``; raises :class:`ValueError` otherwise
    (before the options are checked or anything is read)."""
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")


def _run_engine(engine: str, source: Any, out: str | os.PathLike, options: ScoreOptions,
                analyzer: Any, ray_address: str | None) -> CorpusSummary:
    """Hand the run to the Ray engine or to :func:`run_local`. Returns its
    :class:`CorpusSummary`; raises what that engine raises."""
    if engine == "ray":
        from framing.io.distributed import run_ray  # Ray is an optional, heavy extra

        return run_ray(source, out, options, analyzer=analyzer, ray_address=ray_address)
    return run_local(source, out, options, analyzer)


def run_local(source: Any, out: str | os.PathLike, options: ScoreOptions,
              analyzer: "Analyzer | Mapping[str, Any] | Callable[[], Analyzer] | None" = None,
              ) -> CorpusSummary:
    """:func:`score_corpus` on this machine, its keyword arguments gathered in ``options``."""
    options = options.for_source(source)
    shards = _is_shard_output(out, options.out_format)
    ofmt = None if shards else detect_format(out, options.out_format)
    listing, source, in_fmt = _input_of(source, options)
    records = read_corpus(listing, format=options.format, **options.column_options())
    first = next(records, None)  # raises ColumnError/FileNotFoundError before any work
    records = itertools.chain([first] if first is not None else [], records)
    if shards:
        return _score_to_shards(source, Path(out), records, options, analyzer, in_fmt)
    return _score_to_file(source, Path(out), ofmt, records, options, analyzer, in_fmt)


def _input_of(source: Any, options: ScoreOptions) -> tuple[Any, Any, str | None]:
    """``(what to read, what the run describes, its format)`` for ``source``: a path
    source is listed once here (:func:`~framing.io.sources.expand_source`) and read from
    that listing. The progress count and the manifest's input fingerprint describe a
    single local file by its path and format, a local directory of ``.txt`` files by its
    path (format ``"txt"``), as they always have, and any other path source by its
    listing (format ``"files"``). An in-memory table is all three (format None). Raises
    what :func:`~framing.io.sources.expand_source` raises."""
    if not is_path_source(source):
        return source, source, None
    files = expand_source(source, options.format, options.columns)
    local = isinstance(source, (str, os.PathLike)) and not is_uri(os.fspath(source))
    if local and files.kind == "file":
        return files, source, files[0].format
    if local and files.kind == "txt-directory":
        return files, source, "txt"
    return files, files, "files"


def _build_analyzer(analyzer: Any) -> Any:
    if analyzer is None:
        return Analyzer()
    if isinstance(analyzer, Mapping):
        return Analyzer(**analyzer)
    if not isinstance(analyzer, Analyzer) and not hasattr(analyzer, "score_many") \
            and callable(analyzer):
        return analyzer()
    return analyzer


def _requested_arguments(analyzer: Any) -> dict[str, Any] | None:
    """The ``Analyzer`` keyword arguments ``analyzer`` stands for: ``{}`` for None (the
    defaults), the dict itself, or None for an object or a factory (whose analyzer
    cannot be told without building it)."""
    if analyzer is None:
        return {}
    return dict(analyzer) if isinstance(analyzer, Mapping) else None


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while True:
        chunk = list(itertools.islice(records, size))
        if not chunk:
            return
        yield chunk


def _score_to_file(source, out: Path, ofmt: str, records: Iterator[Record],
                   options: ScoreOptions, analyzer, in_fmt: str | None) -> CorpusSummary:
    meta_keys = options.columns.meta_keys
    evidence, cache_size = options.evidence, options.cache_size
    if out.is_dir():
        raise InputFormatError(f"{out} is a directory; name a file ending .parquet, .jsonl or "
                               ".csv, or pass out_format='shards' to write shards into it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputWriteError(f"Cannot create the output directory {out.parent}: "
                               f"{exc.strerror or exc}") from exc
    analyzer = _build_analyzer(analyzer)
    columns = _output_columns(analyzer, options)
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
    bar = _progress_bar(options.progress, _count_rows(source, in_fmt))
    n = errors = flagged = cached = 0
    start = time.perf_counter()
    writing = False  # whether an OSError comes from writing the output (not from reading)
    try:
        for chunk in _chunks(records, options.chunk_size):
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
def _score_to_shards(source, out: Path, records: Iterator[Record], options: ScoreOptions,
                     analyzer, in_fmt: str | None) -> CorpusSummary:
    """Score ``records`` into the scores directory ``out`` (see :class:`_ShardRun`), holding
    the directory's lock for the whole run. Returns the run's :class:`CorpusSummary`."""
    shard_dir = ShardDir(out)
    shard_dir.create()
    lock = OutputLock(out).acquire()
    run = _ShardRun(out, shard_dir, records, options)
    try:
        run.execute(source, analyzer, in_fmt)
    finally:
        run.close_progress()
        lock.release()
    return run.summary()


@dataclass
class _Tally:
    """What the records scored in this run came to (skipped records not counted)."""

    rows: int = 0
    errors: int = 0
    flagged: int = 0
    cached: int = 0

    def add(self, size: int, done: _Chunk) -> None:
        """Count a scored chunk of ``size`` records. Returns nothing."""
        self.rows, self.errors = self.rows + size, self.errors + done.errors
        self.flagged, self.cached = self.flagged + done.flagged, self.cached + done.cached


class _ShardRun:
    """One local run into a scores directory whose lock the caller holds. The steps, in
    the order :meth:`execute` takes them: describe the run (:meth:`new_manifest`), look at
    what an earlier run left (:meth:`previous_run`), build the analyzer and settle the
    manifest (:meth:`settle_manifest`), skip the records complete shards already hold
    (:meth:`skip_completed`), score the rest into shards (:meth:`write_shards`) and mark
    the run complete (:meth:`finish`).

    When the files show that the analyzer would be the earlier run's
    (:func:`~framing.io.shards.analyzer_unchanged`), the done records are skipped before
    the analyzer is built, and with none left it is not built at all
    (:meth:`keep_earlier_analyzer`)."""

    def __init__(self, out: Path, shard_dir: ShardDir, records: Iterator[Record],
                 options: ScoreOptions) -> None:
        self.out, self.shard_dir = out, shard_dir
        self.records, self.options = records, options
        self.manifest: dict[str, Any] = {}
        self.tally = _Tally()
        self.bar = None
        self.start = 0.0
        self.skipped = 0
        self.index = 0  # the next shard to write

    def execute(self, source: Any, analyzer: Any, in_fmt: str | None) -> None:
        """Take every step. Returns nothing (see :meth:`summary`); raises what the steps
        raise, leaving the shards completed so far in place."""
        self.manifest = self.new_manifest(source, in_fmt)
        old, existing = self.previous_run()
        arguments = _requested_arguments(analyzer)
        meta_keys = self.options.columns.meta_keys
        if old is not None and analyzer_unchanged(old, analyzer_request(arguments)):
            # the shards' analyzer is the one this run would build: settle what is left
            # first, and build it only for rows still to score
            cache = self.new_cache(_score_columns(list(old.get("schema") or []), meta_keys))
            self.skip(existing, cache)
            if self.input_exhausted():
                self.keep_earlier_analyzer(old)
                self.finish()
                return
            analyzer = _build_analyzer(analyzer)
            columns = self.settle_manifest(analyzer, old, arguments)
        else:
            analyzer = _build_analyzer(analyzer)
            columns = self.settle_manifest(analyzer, old, arguments)
            cache = self.new_cache(_score_columns([c for c, _ in columns], meta_keys))
            self.skip(existing, cache)
        scorer = _ChunkScorer(analyzer, self.options.evidence, columns, meta_keys, cache)
        self.bar = _progress_bar(self.options.progress, _count_rows(source, in_fmt),
                                 self.skipped)
        self.write_shards(scorer, arrow_schema(columns), cache)
        self.finish()

    def new_cache(self, score_cols: list[str]) -> _ShardCache | None:
        """Returns the cache of repeated texts for rows with ``score_cols``, or None when
        ``cache_size`` is 0."""
        size = self.options.cache_size
        return _ShardCache(size, self.shard_dir, score_cols) if size else None

    def skip(self, existing: list[tuple[int, Path]], cache: _ShardCache | None) -> None:
        """Start the clock and skip the records of the complete shards
        (:meth:`skip_completed`); the next shard to write follows them. Returns nothing."""
        self.start = time.perf_counter()
        self.skipped = self.skip_completed(existing, cache)
        self.index = len(existing)
        self.manifest["progress"] = {"shards": self.index, "rows": self.skipped}

    def input_exhausted(self) -> bool:
        """Whether no record is left to score (a record read to tell is put back)."""
        following = next(self.records, None)
        if following is None:
            return True
        self.records = itertools.chain([following], self.records)
        return False

    def keep_earlier_analyzer(self, old: dict[str, Any]) -> None:
        """Describe the shards with the analyzer entries of the earlier run's manifest
        ``old`` (the analyzer, schema, batch size and request that wrote them), keeping
        its creation time, when this run built no analyzer. Returns nothing."""
        adopt_earlier_analyzer(self.manifest, old)

    def new_manifest(self, source: Any, in_fmt: str | None) -> dict[str, Any]:
        """Returns this run's manifest as far as it is known before the analyzer is built
        (status "running", no analyzer or schema yet). Raises what fingerprinting the
        input raises."""
        return start_manifest(self.options,
                              input_fingerprint(source, in_fmt, suffix=TXT_SUFFIX))

    def previous_run(self) -> tuple[dict[str, Any] | None, list[tuple[int, Path]]]:
        """Returns ``(old manifest, complete shards)`` of an earlier run, the manifest None
        when there is nothing to resume; with ``overwrite`` the earlier shards and manifest
        are deleted first. Checks the old manifest against this run (input, columns,
        parameters, version) and removes stray temporaries. Raises :class:`ResumeError`
        for shards without a manifest, shards with ``resume=False``, or a mismatch."""
        return earlier_run(self.out, self.shard_dir, self.manifest, self.options)

    def settle_manifest(self, analyzer: Any, old: dict[str, Any] | None,
                        arguments: dict[str, Any] | None = None) -> list[tuple[str, str]]:
        """Add the analyzer's fingerprint, the output columns and the request (the
        ``Analyzer`` ``arguments`` it was built from, None for an object or a factory) to
        the manifest, check them against ``old`` (keeping its creation time) and write
        the manifest. Returns the output columns, the text hash last. Raises
        :class:`ResumeError` when the analyzer or the columns differ from the earlier
        run's."""
        columns = _output_columns(analyzer, self.options)
        record_analyzer(self.out, self.shard_dir, self.manifest, old,
                        analyzer=analyzer_fingerprint(analyzer),
                        schema=[c for c, _ in columns],
                        batch_size=getattr(analyzer, "batch_size", None),
                        request=analyzer_request(arguments, analyzer))
        return columns

    def skip_completed(self, existing: list[tuple[int, Path]],
                       cache: _ShardCache | None) -> int:
        """Consume the records the complete shards hold (see :func:`_skip_done`). Returns
        their count. Raises :class:`ResumeError` when they differ from the input, or when
        the last shard is short (the input ended there) but the input now goes on."""
        shard_size = self.options.shard_size
        skipped = _skip_done(self.shard_dir, existing, self.records, shard_size, cache)
        if skipped % shard_size and next(self.records, None) is not None:
            raise ResumeError(f"Cannot resume {self.out}: its last shard is short, so the input "
                              "ended there, but the input now has more rows. Pass "
                              "overwrite=True (--overwrite) to start afresh")
        return skipped

    def write_shards(self, scorer: _ChunkScorer, schema: Any,
                     cache: _ShardCache | None) -> None:
        """Score the remaining records into shards from :attr:`index` on, each written to a
        ``.tmp`` file and flushed and renamed into place once complete; the manifest's
        progress is rewritten after each full shard. Returns nothing once a shard comes out
        short or empty (the input ended; an empty one is never written). Raises
        :class:`OutputWriteError` when a shard cannot be written, discarding only that
        shard's temporary file."""
        shard_size = self.options.shard_size
        while True:
            writer = ShardWriter(self.shard_dir.shard_path(self.index), schema)
            if cache is not None:
                cache.open_shard(self.index)
            try:
                self.fill_shard(writer, scorer, cache)
                if writer.rows == 0:
                    break
                writer.commit()
            except BaseException:
                writer.abort()
                raise
            self.index += 1
            self.manifest["progress"] = {"shards": self.index,
                                         "rows": self.skipped + self.tally.rows}
            if writer.rows < shard_size:
                break
            self.shard_dir.write_manifest(self.manifest)

    def fill_shard(self, writer: ShardWriter, scorer: _ChunkScorer,
                   cache: _ShardCache | None) -> None:
        """Score records chunk by chunk into ``writer`` until it holds a shard's worth or
        the input ends, remembering each row's place in the cache. Returns nothing;
        raises what scoring or writing raises."""
        shard_size = self.options.shard_size
        step = min(self.options.chunk_size, shard_size)
        while writer.rows < shard_size:
            chunk = list(itertools.islice(self.records, min(step, shard_size - writer.rows)))
            if not chunk:
                return
            done = scorer.score(chunk)
            offset = writer.rows
            writer.write(done.rows)
            if cache is not None:
                for j, (key, row) in enumerate(zip(done.keys, done.rows)):
                    if key is not None:
                        cache.remember(key, {c: row[c] for c in scorer.score_cols},
                                       (self.index << 32) | (offset + j))
            self.tally.add(len(chunk), done)
            if self.bar is not None:
                self.bar.update(len(chunk))

    def finish(self) -> None:
        """Mark the manifest complete, with the finishing time, and write it. Returns
        nothing; raises :class:`OutputWriteError` when it cannot be written."""
        finish_manifest(self.shard_dir, self.manifest)

    def close_progress(self) -> None:
        """Close the progress bar, if one was opened. Returns nothing."""
        if self.bar is not None:
            self.bar.close()

    def summary(self) -> CorpusSummary:
        """Returns the :class:`CorpusSummary` of a finished run."""
        t = self.tally
        return CorpusSummary(str(self.out), t.rows, t.errors, t.flagged,
                             time.perf_counter() - self.start, skipped=self.skipped,
                             cached=t.cached, shards=self.index)


def _skip_done(shard_dir, existing: list[tuple[int, Path]], records: Iterator[Record],
               shard_size: int, cache: _ShardCache | None) -> int:
    """Consume the records the complete shards already hold, checking that each is the
    same row with the same text (row number and text hash), and replay the shards' text
    hashes into the cache. Returns their count."""
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
            raise ResumeError(f"{path} holds {counted(len(rows), 'row')}, not the shard size "
                              f"{shard_size}; pass overwrite=True (--overwrite) to start afresh")
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
