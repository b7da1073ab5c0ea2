"""Scoring beyond one machine: Ray runs one :class:`~framing.Analyzer` per actor.

:func:`score_corpus_ray` scores a corpus (what :func:`framing.score_corpus` reads: files,
directories, glob patterns, URIs, ``.txt`` directories, in-memory tables) on a pool of
Ray actors and writes the scores directory :func:`framing.score_corpus` writes: the
same Parquet shards, rows and ``manifest.json``, resumable in the same way after the
driver dies, and unharmed by an actor that dies (Ray restarts it and it scores its
units again). :func:`score_dataset` adds the scores to a ``ray.data.Dataset`` (lazily,
like any Ray Data transform); such a dataset, whose row order is not fixed, is scored
by Ray Data and is not resumable.

The driver reads the input with the readers of :mod:`framing.io.readers`, in input
order, and hands it to the actors one unit of ``shard_size`` rows at a time, each unit
becoming one shard; rows are checked with the same
:class:`~framing.core.tables.ColumnMap` as on one machine, so a bad row (missing or
non-string text, malformed JSON or CSV line, bad target) comes out as a row with
``error`` set: none is dropped and none stops the run. The models are built once per
actor, in the worker process, from keyword arguments (``analyzer_kwargs``) or a
zero-argument factory, so nothing heavy is shipped from the driver.

Ray is an optional extra (``pip install "framing[ray]"``): this module imports without
it, and its functions raise :class:`~framing.errors.MissingExtraError` when it is absent.
"""

from __future__ import annotations

import inspect
import io
import itertools
import os
import sys
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from framing.core.tables import ColumnMap, RowFields, plain
from framing.errors import InputFormatError, MissingExtraError, OutputWriteError, ResumeError
from framing.io.readers import (Record, SourceRow, decode_txt, delimited_rows, jsonl_rows,
                                parquet_rows, read_corpus)
from framing.io.runs import (DEFAULT_SHARD_SIZE, CorpusSummary, ScoreOptions,
                             adopt_earlier_analyzer, earlier_run, finish_manifest, input_entry,
                             record_analyzer, start_manifest, text_key)
from framing.io.shards import (MANIFEST, OutputLock, ShardDir, UriShardDir,
                               analyzer_fingerprint, analyzer_request, analyzer_unchanged,
                               arrow_schema, shard_index, shard_name)
from framing.io.sources import (InputFiles, expand_source, filesystem, is_path_source,
                                is_uri)
from framing.pipeline.analyzer import Analyzer
from framing.pipeline.results import flat_row
from framing.pipeline.schema import HASH_COLUMN, output_columns

if TYPE_CHECKING:  # pragma: no cover
    import ray.data

__all__ = ["AnalyzerActor", "file_rows", "list_input_files", "run_ray", "score_corpus_ray",
           "score_dataset"]

# Columns of the rows the file reader hands to the actors: already checked, plain values.
_ROW, _ID, _TEXT, _TARGET, _ERROR = ("__framing_row", "__framing_id", "__framing_text",
                                     "__framing_target", "__framing_error")
_META_PREFIX = "__framing_meta_"


def _require_ray():
    """Import and return :mod:`ray` (with Ray Data), or raise :class:`MissingExtraError`."""
    try:
        import ray
        import ray.data  # noqa: F401  (ray without the [data] extra lacks its dependencies)
    except ImportError as exc:
        raise MissingExtraError(
            "Scoring with Ray needs Ray Data, which is not installed "
            f"({exc}). Install it with: pip install \"framing[ray]\"") from exc
    return ray


# -- rows: the checked fields of one input row, as Ray passes them on ---------------------
# The local reader keeps a Record; here a row is a flat dict of strings and numbers (one
# Arrow schema for every block), so ids and metadata become strings already.
def _text_or_none(value: Any) -> str | None:
    value = plain(value)
    return None if value is None else value if isinstance(value, str) else str(value)


def _checked_row(columns: ColumnMap, fields: RowFields, row: int | None) -> dict[str, Any]:
    """The row the actors take for ``fields`` (from :meth:`ColumnMap.parse`)."""
    rec = {_ROW: row, _ID: None if fields.id is None else str(fields.id), _TEXT: fields.text,
           _TARGET: fields.target, _ERROR: fields.error}
    for key in columns.meta:
        rec[_META_PREFIX + key] = _text_or_none(fields.meta.get(key))
    return rec


def _unreadable_row(columns: ColumnMap, error: str, row: int | None,
                    rid: str | None) -> dict[str, Any]:
    """The row the actors take for an input row that could not be read."""
    rec = {_ROW: row, _ID: rid, _TEXT: None, _TARGET: None, _ERROR: error}
    rec.update({_META_PREFIX + k: None for k in columns.meta})
    return rec


def _parse_row(columns: ColumnMap, obj: Mapping[str, Any], row: int | None = None,
               default_id: str | None = None) -> dict[str, Any]:
    return _checked_row(columns, columns.parse(obj, default_id=default_id), row)


def _row_schema(columns: ColumnMap) -> "pa.Schema":
    return pa.schema([(_ROW, pa.int64()), (_ID, pa.string()), (_TEXT, pa.string()),
                      (_TARGET, pa.string()), (_ERROR, pa.string())] +
                     [(_META_PREFIX + k, pa.string()) for k in columns.meta])


def _actor_columns(columns: ColumnMap) -> dict[str, Any]:
    """``columns`` as the column keywords of :class:`AnalyzerActor`."""
    return {"text": columns.text, "id": columns.id, "target": columns.target, **columns.meta}


# -- the actor ---------------------------------------------------------------------------
class AnalyzerActor:
    """A Ray Data callable class: builds one :class:`~framing.Analyzer` per actor and scores
    batches with it.

    ``__init__`` runs once in each worker: it builds the analyzer from
    ``analyzer_kwargs`` (``framing.Analyzer(**analyzer_kwargs)``) or calls
    ``analyzer_factory()``. ``__call__`` takes a pandas batch and returns a
    ``pyarrow.Table`` with one row per input row, in input order, in the schema that
    :func:`framing.score_corpus` writes. Unscorable rows get ``error`` set; an
    unexpected failure of a whole batch falls back to scoring its rows one by one, so
    only the rows that fail carry the error.
    """

    def __init__(self, analyzer_kwargs: dict[str, Any] | None = None,
                 analyzer_factory: "Callable[[], Analyzer] | None" = None, *,
                 text: str = "text", id: str | None = None, outlet: str | None = None,
                 date: str | None = None, title: str | None = None, target: str | None = None,
                 evidence: bool = True) -> None:
        if analyzer_factory is not None:
            self.analyzer = analyzer_factory()
        else:
            self.analyzer = Analyzer(**(analyzer_kwargs or {}))
        self.column_map = ColumnMap.from_fields(text, id, outlet, date, title, target)
        self.evidence = bool(evidence)
        self.columns = output_columns(self.analyzer.cue_ids, self.column_map.meta_keys,
                                      self.evidence, getattr(self.analyzer, "frame_ids", [])
                                      ) + [(HASH_COLUMN, "string")]
        self.names = [c for c, _ in self.columns]
        self.schema = arrow_schema(self.columns)

    def __call__(self, batch: Any) -> "pa.Table":
        rows = self.score_records(self._records(batch))
        return pa.Table.from_pylist([{k: r.get(k) for k in self.names} for r in rows],
                                    schema=self.schema)

    def _records(self, batch: Any) -> list[dict[str, Any]]:
        if _ERROR in batch.columns:  # from the file reader: checked already
            records = [{k: plain(v) for k, v in obj.items()} for obj in batch.to_dict("records")]
            for rec in records:
                rec[_ROW] = None if rec[_ROW] is None else int(rec[_ROW])
            return records
        present = [c for c in self.column_map.required() if c in batch.columns]
        return [_parse_row(self.column_map, obj) for obj in batch[present].to_dict("records")]

    def score_records(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Scores checked rows (as the file reader passes them on) in one ``score_many``
        call; returns one output row each, in order. Rows with the same text and target
        are scored once and share the scores, under their own row, id and metadata (as
        :func:`framing.score_corpus` does within a chunk)."""
        an = self.analyzer
        keys = [text_key(r[_TEXT], r[_TARGET]) if r[_ERROR] is None else None
                for r in records]
        first: dict[str, int] = {}
        for i, key in enumerate(keys):
            if key is not None:
                first.setdefault(key, i)
        todo = list(first.values())
        results: dict[int, Any] = {}
        if todo:
            try:
                scored = an.score_many([records[i][_TEXT] for i in todo],
                                       ids=[records[i][_ID] for i in todo],
                                       targets=[records[i][_TARGET] for i in todo],
                                       errors="flag")
                results = dict(zip(todo, scored))
            except Exception:  # never lose a batch: find the rows that fail, one at a time
                for i in todo:
                    try:
                        results[i] = an.score_many([records[i][_TEXT]], ids=[records[i][_ID]],
                                                   targets=[records[i][_TARGET]],
                                                   errors="flag")[0]
                    except Exception as exc:
                        results[i] = an.failed_result(f"{type(exc).__name__}: {exc}",
                                                      records[i][_ID], None)
        rows = []
        for rec, key in zip(records, keys):
            res = results.get(first[key]) if key is not None else None
            if res is None:
                res = an.failed_result(rec[_ERROR] or "unreadable row", rec[_ID], None)
            row = flat_row(res, an.cue_ids, evidence=self.evidence,
                           frame_ids=getattr(an, "frame_ids", []))
            for name in self.column_map.meta:
                row[name] = rec.get(_META_PREFIX + name)
            row["target"] = rec[_TARGET]
            row["row"] = rec[_ROW]
            row["id"] = rec[_ID]
            row[HASH_COLUMN] = key
            rows.append(row)
        return rows

    def describe(self) -> dict[str, Any]:
        """What a scores directory's manifest records of this actor's analyzer: its
        fingerprint (``analyzer``, :func:`~framing.io.shards.analyzer_fingerprint`, model
        files hashed here, on the worker), the output columns (``schema``), its
        ``batch_size`` and the file its catalogue was read from (``catalogue_path``)."""
        an = self.analyzer
        return {"analyzer": analyzer_fingerprint(an), "schema": list(self.names),
                "batch_size": getattr(an, "batch_size", None),
                "catalogue_path": analyzer_request(None, an)["catalogue_path"]}

    def score_unit(self, rows: "pa.Table", chunk_size: int) -> dict[str, Any]:
        """Score one unit of a resumable run: ``rows`` are checked rows (the columns the
        file reader gives), scored ``chunk_size`` at a time, as
        :func:`framing.score_corpus` scores a shard. Returns ``{"table": the output rows
        as a pyarrow.Table in the scores schema, "errors", "flagged", "repeats"}`` (rows
        with an error; rows flagged without one; rows that shared the scores of an
        earlier row of their chunk)."""
        records = rows.to_pylist()
        out: list[dict[str, Any]] = []
        repeats = 0
        for start in range(0, len(records), max(1, int(chunk_size))):
            chunk = records[start:start + max(1, int(chunk_size))]
            keys = [text_key(r[_TEXT], r[_TARGET]) for r in chunk if r[_ERROR] is None]
            repeats += len(keys) - len(set(keys))
            out += self.score_records(chunk)
        errors = sum(r["error"] is not None for r in out)
        flagged = sum(bool(r["flags"]) and r["error"] is None for r in out)
        table = pa.Table.from_pylist([{k: r.get(k) for k in self.names} for r in out],
                                     schema=self.schema)
        return {"table": table, "errors": errors, "flagged": flagged, "repeats": repeats}


# -- building the Ray pipeline -------------------------------------------------------------
def _analyzer_args(analyzer: Any, analyzer_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """The actor's constructor arguments for ``analyzer`` / ``analyzer_kwargs``."""
    if analyzer is not None and analyzer_kwargs is not None:
        raise ValueError("pass analyzer or analyzer_kwargs, not both")
    if analyzer is None or isinstance(analyzer, Mapping):
        given = analyzer if analyzer is not None else analyzer_kwargs
        return {"analyzer_kwargs": dict(given or {})}
    if isinstance(analyzer, Analyzer) or not callable(analyzer):
        raise TypeError(
            "With Ray each worker builds its own Analyzer: pass analyzer_kwargs (the keyword "
            "arguments of framing.Analyzer, e.g. {'tone': 'vader'}) or a zero-argument "
            f"function that returns an Analyzer, not {type(analyzer).__name__}")
    return {"analyzer_factory": analyzer}


def _actor_pool(ray: Any, concurrency: int | tuple[int, int] | None):
    least, most = _pool_bounds(concurrency)
    if least == most:
        return ray.data.ActorPoolStrategy(size=least)
    return ray.data.ActorPoolStrategy(min_size=least, max_size=most)


def _schema_names(ds: Any) -> list[str] | None:
    """The dataset's column names when Ray knows them cheaply, else None."""
    try:
        schema = ds.schema()
    except Exception:  # e.g. blocks whose types do not unify (mixed-type text columns)
        return None
    return list(schema.names) if schema is not None else None


def score_dataset(
    ds: "ray.data.Dataset",
    *,
    text: str = "text",
    id: str | None = None,
    outlet: str | None = None,
    date: str | None = None,
    title: str | None = None,
    target: str | None = None,
    analyzer: "Callable[[], Analyzer] | Mapping[str, Any] | None" = None,
    analyzer_kwargs: dict[str, Any] | None = None,
    batch_size: int = 256,
    concurrency: int | tuple[int, int] | None = None,
    num_cpus_per_actor: float = 1,
    num_gpus_per_actor: float = 0,
    evidence: bool = True,
) -> "ray.data.Dataset":
    """Score the articles of a Ray dataset; returns a (lazy) dataset of scores rows.

    Column options are as in :func:`framing.score_corpus`; the output has the columns
    that function writes (``row``, ``id``, metadata, ``tone``, ``tone_label``, ...,
    one probability/flag/evidence column per cue), one row per input row. ``row`` is
    null (a Ray dataset has no row numbers) and ``id`` is null unless ``id`` names a
    column. Rows that cannot be scored have ``error`` set.

    Each actor builds ``framing.Analyzer(**analyzer_kwargs)`` once (or calls
    ``analyzer``, a zero-argument factory; a dict there is taken as the kwargs), so
    the models must be loadable on every worker: the default ones ship in the
    package. ``batch_size`` articles go to one ``score_many`` call; ``concurrency`` is
    the number of actors (an int, a ``(min, max)`` pair, or None to autoscale from
    one), each reserving ``num_cpus_per_actor`` CPUs and ``num_gpus_per_actor`` GPUs
    (pass ``analyzer_kwargs={"device": "cuda", ...}`` with GPUs).

    Raises :class:`MissingExtraError` without Ray, :class:`ColumnError` when a named
    column is absent from the dataset's schema, :class:`TypeError` for an
    ``analyzer`` that is an Analyzer instance (it cannot be shared between workers).
    """
    ray = _require_ray()
    columns = ColumnMap.from_fields(text, id, outlet, date, title, target)
    return _scored(ray, ds, columns, analyzer=analyzer, analyzer_kwargs=analyzer_kwargs,
                   batch_size=batch_size, concurrency=concurrency,
                   num_cpus_per_actor=num_cpus_per_actor,
                   num_gpus_per_actor=num_gpus_per_actor, evidence=evidence)


def _scored(ray: Any, ds: "ray.data.Dataset", columns: ColumnMap, *, analyzer: Any,
            analyzer_kwargs: dict[str, Any] | None, batch_size: int,
            concurrency: int | tuple[int, int] | None, num_cpus_per_actor: float,
            num_gpus_per_actor: float, evidence: bool) -> "ray.data.Dataset":
    """:func:`score_dataset` for a checked column map."""
    names = _schema_names(ds)
    if names is not None and _ERROR not in names:
        columns.check(names, "ray.data.Dataset")
    if int(batch_size) < 1:
        raise ValueError("batch_size must be at least 1")
    ctor = _analyzer_args(analyzer, analyzer_kwargs)
    ctor.update(_actor_columns(columns), evidence=evidence)
    same_rows = {"udf_modifying_row_count": False} \
        if "udf_modifying_row_count" in inspect.signature(ds.map_batches).parameters else {}
    if names is None or _ERROR not in names:
        # Check each block on its own first: Ray cannot join blocks whose columns differ
        # in type (a text column that is a number in some rows) into one batch, but the
        # checked rows all have the same plain types. Light work: no CPU reserved (see
        # _read_files).
        ds = ds.map_batches(_check_udf, batch_size=None, batch_format="pandas",
                            fn_kwargs={"columns": columns}, num_cpus=0, **same_rows)
    options: dict[str, Any] = {"num_cpus": num_cpus_per_actor, **same_rows}
    if num_gpus_per_actor:
        options["num_gpus"] = num_gpus_per_actor
    return ds.map_batches(AnalyzerActor, fn_constructor_kwargs=ctor, batch_format="pandas",
                          batch_size=int(batch_size), compute=_actor_pool(ray, concurrency),
                          **options)


def _check_udf(batch: Any, *, columns: ColumnMap) -> "pa.Table":
    """Ray Data UDF: the rows of a block of the caller's dataset as checked rows."""
    present = [c for c in columns.required() if c in batch.columns]
    return pa.Table.from_pylist([_parse_row(columns, obj)
                                 for obj in batch[present].to_dict("records")],
                                schema=_row_schema(columns))


# -- files as checked rows, through pyarrow: helpers for reading on a worker ----------------
# (a resumable run reads on the driver, with framing.read_corpus: see _open_input below)
def _filesystem(path: str):
    """A pyarrow filesystem and the path on it, for a local path or a URI (s3://, gs://, ...)."""
    return pafs.FileSystem.from_uri(path if is_uri(path) else os.path.abspath(path))


def list_input_files(source: Any, format: str | None,
                     columns: ColumnMap) -> list[dict[str, Any]]:
    """The input files, as ``{"path", "format", "row", "id"}``, listed by
    :func:`framing.io.sources.expand_source` exactly as :func:`framing.read_corpus` lists
    them (same files, same order): a file, a directory, a glob pattern, a URI or a list
    of these. ``row`` and ``id`` are set for ``.txt`` articles only (one article each,
    numbered in order, the id being the path relative to the directory without
    ``.txt``).

    Raises what :func:`~framing.io.sources.expand_source` raises, and
    :class:`InputFormatError` for a URI whose scheme only fsspec knows (``memory://``):
    the workers open files through pyarrow's filesystems.
    """
    files = expand_source(source, format, columns)
    for scheme in dict.fromkeys(f.path.split("://", 1)[0] for f in files if is_uri(f.path)):
        path = next(f.path for f in files if f.path.startswith(f"{scheme}://"))
        try:
            _filesystem(path)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InputFormatError(
                f"engine='ray' reads {scheme}:// URIs through pyarrow's filesystems, which "
                f"cannot open {path}; use the local engine, or a scheme pyarrow supports "
                "(s3://, gs://, hdfs://, file://)") from None
    return [{"path": f.path, "format": f.format, "row": f.row, "id": f.id} for f in files]


def _checked_rows(rows: Iterable[SourceRow], columns: ColumnMap,
                  prefix: str) -> Iterator[dict[str, Any]]:
    """The reader's rows as checked rows. Without ``id`` the id is ``prefix`` + row number;
    as on one machine an unreadable row has no id, except that with several files
    (``prefix`` set) the file's path and the row number stand in, so that the row can
    still be found."""
    for src in rows:
        if src.error is not None:
            yield _unreadable_row(columns, src.error, src.row,
                                  f"{prefix}{src.row}" if prefix else None)
        else:
            yield _parse_row(columns, src.values, src.row, f"{prefix}{src.row}")


def file_rows(path: str, fmt: str, columns: ColumnMap, *, prefix: str = "",
              strict: bool = False, batch_rows: int = 1024, row: int | None = None,
              rid: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows of one file (a local path or a URI) as the checked rows the actors take
    (dicts of ``__framing_row``, ``__framing_id``, ``__framing_text``, ``__framing_target``,
    ``__framing_error`` and ``__framing_meta_<key>``, ids and metadata as strings), read
    by the readers of :func:`framing.read_corpus` and numbered as it numbers them
    (JSONL: line number; CSV/TSV: line number, the header being 1; Parquet: record
    number; a ``.txt`` file is one article, whose ``row`` and ``rid`` the caller gives).

    Without ``id`` the id is ``prefix`` + row number. ``strict`` raises
    :class:`ColumnError` when the first object or the header lacks a named column;
    otherwise such rows come out with ``error`` set.
    """
    fs, inner = _filesystem(path)
    if fmt == "txt":
        try:
            with fs.open_input_stream(inner, compression=None) as fh:
                raw = fh.read()
        except OSError as exc:
            yield _unreadable_row(columns, f"cannot read {path}: {exc}", row, rid)
            return
        text, error = decode_txt(raw)
        if error is not None:
            yield _unreadable_row(columns, error, row, rid)
        else:
            yield _parse_row(columns, {columns.text: text}, row, rid)
        return
    if fmt == "parquet":
        with fs.open_input_file(inner) as fh:
            yield from _checked_rows(parquet_rows(fh, columns, path, batch_rows=batch_rows,
                                                  check=strict), columns, prefix)
        return
    with io.BufferedReader(fs.open_input_stream(inner)) as fb:  # .gz is decompressed
        if fmt == "jsonl":
            rows = jsonl_rows(fb, columns, path, check=strict)
        else:
            rows = delimited_rows(fb, columns, path, "," if fmt == "csv" else "\t", check=strict)
        yield from _checked_rows(rows, columns, prefix)


# -- a resumable run: the input, read on the driver in input order ------------------------------
#: ``.txt`` articles are read this many files per batch, and this many batches at once: an
#: object store answers each read after a delay, and one read after another would leave
#: the actors waiting.
TXT_BATCH = 64
TXT_THREADS = 8


def _record_row(columns: ColumnMap, rec: Record) -> dict[str, Any]:
    """The checked row the actors take for a record of :func:`framing.read_corpus`."""
    row = {_ROW: rec.row, _ID: None if rec.id is None else str(rec.id),
           _TEXT: rec.text if rec.error is None else None, _TARGET: rec.target,
           _ERROR: rec.error}
    for key in columns.meta:
        row[_META_PREFIX + key] = _text_or_none(rec.meta.get(key))
    return row


def _row_key(row: dict[str, Any]) -> str | None:
    """The text hash a scores row keeps for the checked row ``row`` (None for a row with
    an error)."""
    return text_key(row[_TEXT], row[_TARGET]) if row[_ERROR] is None else None


def _txt_records(listing: InputFiles, options: ScoreOptions) -> Iterator[Record]:
    """:func:`framing.read_corpus` of ``.txt`` articles, with :data:`TXT_THREADS` batches
    of :data:`TXT_BATCH` files read at a time; the records come out in order."""
    def read(part: tuple[Any, ...]) -> list[Record]:
        piece = InputFiles(part, listing.given, listing.kind)
        return list(read_corpus(piece, format=options.format, **options.column_options()))

    parts = (listing.files[i:i + TXT_BATCH] for i in range(0, len(listing), TXT_BATCH))
    with ThreadPoolExecutor(TXT_THREADS) as pool:
        pending = deque(pool.submit(read, p) for p in itertools.islice(parts, TXT_THREADS))
        while pending:
            records = pending.popleft().result()
            following = next(parts, None)
            if following is not None:
                pending.append(pool.submit(read, following))
            yield from records


def _open_input(source: Any, options: ScoreOptions) -> tuple[InputFiles | None,
                                                             Iterator[Record]]:
    """``(listing, records)`` of ``source``: a path source's files
    (:func:`~framing.io.sources.expand_source`; None for an in-memory table) and its
    records, read as :func:`framing.read_corpus` reads them (the same files, order, row
    numbers and ids as the local engine).

    The first record is read here, so that a missing column
    (:class:`~framing.errors.ColumnError`), a missing file or an unknown format is
    reported before Ray starts. Raises :class:`TypeError` for a source that is neither
    a path source nor a pandas DataFrame or ``datasets.Dataset``."""
    listing = None
    if is_path_source(source):
        listing = expand_source(source, options.format, options.columns)
        if listing[0].format == "txt":  # .txt articles are never mixed with other files
            records = _txt_records(listing, options)
        else:
            records = read_corpus(listing, format=options.format, **options.column_options())
    elif (hasattr(source, "iloc") and hasattr(source, "columns")) or \
            (hasattr(source, "column_names") and hasattr(source, "features")):
        records = read_corpus(source, format=options.format, **options.column_options())
    else:
        raise TypeError("source must be a path, a URI, a glob pattern, a directory or a list "
                        "of them, a ray.data.Dataset, a pandas DataFrame or a "
                        f"datasets.Dataset, not {type(source).__name__}")
    first = next(records, None)
    return listing, itertools.chain([first] if first is not None else [], records)


def _units(records: Iterator[Record], columns: ColumnMap,
           size: int) -> Iterator[list[dict[str, Any]]]:
    """The checked rows of ``records``, ``size`` at a time: unit ``k`` holds the rows of
    shard ``k`` (the last unit may be short; an empty input has none)."""
    while True:
        rows = [_record_row(columns, rec) for rec in itertools.islice(records, size)]
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return


def _open_output(out: str) -> tuple[Any, OutputLock | None]:
    """The scores directory ``out`` names, created if needed: a
    :class:`~framing.io.shards.ShardDir` and its lock (held) for a local path, a
    :class:`~framing.io.shards.UriShardDir` and None for a URI. Raises
    :class:`InputFormatError` when ``out`` is a file, :class:`OutputWriteError` when the
    directory cannot be created, :class:`~framing.errors.OutputLockedError` when another
    process writes it."""
    if is_uri(out):
        fs, inner = filesystem(out)
        shard_dir = UriShardDir(fs, inner, out)
        shard_dir.create()
        return shard_dir, None
    shard_dir = ShardDir(out)
    shard_dir.create()
    return shard_dir, OutputLock(shard_dir.path).acquire()


# -- a resumable run: a pool of actors scoring one unit (one shard) at a time ------------------
#: Ray restarts an actor whose process dies up to this many times, and gives the units it
#: held to the restarted actor (``max_restarts`` / ``max_task_retries``).
ACTOR_RESTARTS = 3
#: A unit whose actor Ray gave up on goes to another actor, up to this many tries in all.
UNIT_TRIES = 3
#: Units handed to one actor at a time: one being scored while the next one's rows arrive.
UNITS_PER_ACTOR = 2


class _UnitScorer:
    """The actor of a resumable run: an :class:`AnalyzerActor`, built in the worker. A
    build that fails is kept and raised by :meth:`describe`, so that the driver sees the
    error itself (a missing model, a bad argument) rather than a dead actor."""

    def __init__(self, ctor: dict[str, Any]) -> None:
        self.scorer: AnalyzerActor | None = None
        self.failure: Exception | None = None
        try:
            self.scorer = AnalyzerActor(**ctor)
        except Exception as exc:
            self.failure = exc

    def describe(self) -> dict[str, Any]:
        """:meth:`AnalyzerActor.describe`; raises what building the analyzer raised."""
        if self.failure is not None:
            raise self.failure
        return self.scorer.describe()

    def score_unit(self, rows: "pa.Table", chunk_size: int) -> dict[str, Any]:
        """:meth:`AnalyzerActor.score_unit`."""
        return self.scorer.score_unit(rows, chunk_size)


def _pool_bounds(concurrency: int | tuple[int, int] | None) -> tuple[int, int | None]:
    """``(least, most)`` actors for ``concurrency`` (most None: as many as fit). Raises
    :class:`ValueError` for anything but None, an int >= 1 or an ordered pair of them."""
    if concurrency is None:
        return 1, None
    if isinstance(concurrency, int) and not isinstance(concurrency, bool) and concurrency >= 1:
        return concurrency, concurrency
    if isinstance(concurrency, tuple) and len(concurrency) == 2 and \
            all(isinstance(x, int) and not isinstance(x, bool) and x >= 1
                for x in concurrency) and concurrency[0] <= concurrency[1]:
        return concurrency
    raise ValueError("concurrency must be None (autoscale from 1 actor), a number of actors, "
                     f"or a (min, max) pair, not {concurrency!r}")


def _pool_size(ray: Any, bounds: tuple[int, int | None], num_cpus: float,
               num_gpus: float) -> int:
    """How many actors a resumable run starts, at most: as many as the cluster's CPUs
    (and GPUs, when each actor takes some) hold, within ``bounds``."""
    least, most = bounds
    if least == most:
        return least
    resources = ray.cluster_resources()
    cpus = float(resources.get("CPU", 1))
    fit = int(cpus // num_cpus) if num_cpus > 0 else int(cpus)
    if num_gpus > 0:
        fit = min(fit, int(float(resources.get("GPU", 0)) // num_gpus))
    return max(least, min(fit, most) if most is not None else fit, 1)


class _Member:
    """An actor of the pool: its handle, whether it has described its analyzer, and how
    many units it holds."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.ready, self.busy = handle, False, 0


class _UnitRun:
    """One resumable Ray run into a scores directory whose lock (if any) the caller holds.

    The driver reads the input in order and cuts it into units of ``shard_size`` rows:
    unit ``k`` becomes shard ``k``, the rows a local run puts there. A unit whose shard an
    earlier run completed is checked against it (row numbers and text hashes) and
    skipped; any other goes, as a ``pyarrow.Table`` in the object store, to the actor
    holding the fewest units, and its scored rows come back to the driver, which writes
    shard ``k`` (a ``.tmp`` file renamed into place) and the manifest's progress. At most
    :data:`UNITS_PER_ACTOR` units per actor are in flight, so the driver never holds more
    than that many units' rows.

    Actors are started as units wait for one, up to ``size``; each describes its
    analyzer once built, and the first description settles the manifest
    (:func:`~framing.io.runs.record_analyzer`) before any unit is scored. When the files
    show that the analyzer would be the earlier run's
    (:func:`~framing.io.shards.analyzer_unchanged`), no actor starts until a unit needs
    scoring, and none at all when no unit does."""

    def __init__(self, ray: Any, out: str, shard_dir: Any, options: ScoreOptions,
                 ctor: dict[str, Any], actor_options: dict[str, Any]) -> None:
        self.ray, self.out, self.shard_dir, self.options = ray, out, shard_dir, options
        self.ctor = ctor
        self.size = 1  # actors at most: set once Ray runs (see _pool_size)
        self.actor_class = ray.remote(_UnitScorer).options(**actor_options)
        self.arguments = ctor.get("analyzer_kwargs")  # None for a factory
        self.manifest: dict[str, Any] = {}
        self.old: dict[str, Any] | None = None
        self.description: dict[str, Any] | None = None
        self.done: dict[int, Any] = {}  # shards an earlier run completed: index -> path
        self.members: list[_Member] = []
        self.started = 0
        self.waiting: dict[Any, tuple] = {}  # object ref -> what it is the answer to
        self.queue: deque = deque()  # units waiting for an actor: (index, rows ref, tries)
        self.complete_shards = self.complete_rows = 0
        self.rows = self.errors = self.flagged = self.repeats = self.skipped = 0
        self.start = time.perf_counter()
        self.bar = None

    # -- the steps ----------------------------------------------------------------------
    def look_back(self, entry: dict[str, Any]) -> None:
        """Describe the run (its input ``entry`` from
        :func:`~framing.io.runs.input_entry`) and look at what an earlier run left: its
        manifest checked against this run, its complete shards. Needs no Ray. Returns
        nothing; raises :class:`ResumeError` when the earlier run differs (input, columns,
        parameters) or may not be resumed."""
        self.manifest = start_manifest(replace(self.options, cache_size=0), entry,
                                       engine="ray")
        self.old, existing = earlier_run(self.out, self.shard_dir, self.manifest,
                                         self.options)
        self.done = dict(existing)
        self.complete_shards = len(existing)
        self.complete_rows = sum(self.shard_rows(path) for _, path in existing)
        self.manifest["progress"] = {"shards": self.complete_shards,
                                     "rows": self.complete_rows}

    def execute(self, records: Iterator[Record]) -> None:
        """Score the units of ``records`` that no earlier run finished (after
        :meth:`look_back`) and mark the run complete. Returns nothing; raises
        :class:`ResumeError` when the analyzer or the input differs from the earlier
        run's, leaving the shards completed so far in place."""
        options = self.options
        unchanged = self.old is not None and \
            analyzer_unchanged(self.old, analyzer_request(self.arguments))
        if not unchanged:  # build it now: a changed analyzer is refused before any work
            self.wait_for_description()
        if options.progress:
            self.bar = tqdm(unit="article", desc="scoring", file=sys.stderr,
                            dynamic_ncols=True)
        last = -1
        for k, rows in enumerate(_units(records, options.columns, options.shard_size)):
            last = k
            if k in self.done:
                self.check_done(k, rows)
                self.skipped += len(rows)
                if self.bar is not None:
                    self.bar.update(len(rows))
                continue
            self.wait_for_description()
            table = pa.Table.from_pylist(rows, schema=_row_schema(options.columns))
            self.queue.append((k, self.ray.put(table), 1))
            self.pump(until_idle=False)
        self.pump(until_idle=True)
        beyond = sorted(k for k in self.done if k > last)
        if beyond:
            raise ResumeError(
                f"Cannot resume {self.out}: the input changed (it ends before "
                f"{shard_name(beyond[0])}, which an earlier run wrote). Pass overwrite=True "
                "(--overwrite) to start afresh")
        if self.description is None:
            adopt_earlier_analyzer(self.manifest, self.old)
        self.manifest["progress"] = {"shards": self.complete_shards,
                                     "rows": self.complete_rows}
        finish_manifest(self.shard_dir, self.manifest)

    def shard_rows(self, path: Any) -> int:
        """Rows in the complete shard at ``path`` (0 when it cannot be read: checking it
        against the input says why)."""
        try:
            return self.shard_dir.read_columns(path, []).num_rows
        except Exception:
            return 0

    def check_done(self, k: int, rows: list[dict[str, Any]]) -> None:
        """Check that shard ``k``, complete already, holds the rows of unit ``k``: the same
        row numbers and text hashes, in order. Returns nothing; raises
        :class:`ResumeError` saying where the input and the shard part."""
        path = self.done[k]
        name = shard_name(k)
        try:
            table = self.shard_dir.read_columns(path, ["row", HASH_COLUMN])
        except Exception as exc:
            raise ResumeError(f"{path} cannot be read ({exc}); delete it and run again to "
                              "rescore its rows") from None
        have = list(zip(table.column("row").to_pylist(),
                        table.column(HASH_COLUMN).to_pylist()))
        want = [(r[_ROW], _row_key(r)) for r in rows]
        if have == want:
            return
        if len(have) < len(want) and have == want[:len(have)]:
            what = f"{name} is short, so the input ended there, but the input now has more rows"
        else:
            i = next((i for i, (a, b) in enumerate(zip(have, want)) if a != b),
                     min(len(have), len(want)))
            if i >= len(want):
                what = f"no more rows where {name} holds row {have[i][0]}"
            elif i < len(have) and have[i][0] == want[i][0]:
                what = f"row {want[i][0]} has another text"
            else:
                where = f"holds row {have[i][0]}" if i < len(have) else "ends"
                what = f"row {want[i][0]} where {name} {where}"
        raise ResumeError(f"Cannot resume {self.out}: the input changed ({what}). Pass "
                          "overwrite=True (--overwrite) to start afresh")

    # -- the pool -------------------------------------------------------------------------
    def add_actor(self) -> None:
        """Start one more actor (it reports when its analyzer is built). Raises
        :class:`RuntimeError` when actors keep dying: more have been started than twice
        the pool's size."""
        if self.started >= 2 * self.size + 1:
            raise RuntimeError(
                f"The Ray actors scoring {self.out} keep dying ({self.started} started); the "
                "shards completed so far are kept: see the Ray logs (memory, the model), "
                "then run the same command again to resume")
        handle = self.actor_class.remote(self.ctor)
        member = _Member(handle)
        self.members.append(member)
        self.started += 1
        self.waiting[handle.describe.remote()] = ("described", member)

    def wait_for_description(self) -> None:
        """Returns once an actor has described its analyzer and the manifest records it
        (starting an actor if none is). Raises what building the analyzer raised, or
        :class:`ResumeError` when it differs from the earlier run's."""
        while self.description is None:
            if not any(w[0] == "described" for w in self.waiting.values()):
                self.add_actor()
            self.handle_one()

    def pump(self, until_idle: bool) -> None:
        """Hand queued units to actors with room and handle what comes back, starting
        actors (up to the pool's size) while more units wait than actors are being
        built. Returns once each queued unit is handed out or has an actor being built
        for it (``until_idle``: once no unit is queued or in flight; actors still being
        built are left to :meth:`close`)."""
        while True:
            free = [m for m in self.members if m.ready and m.busy < UNITS_PER_ACTOR]
            while self.queue and free:
                member = min(free, key=lambda m: m.busy)
                k, ref, tries = self.queue.popleft()
                member.busy += 1
                task = member.handle.score_unit.remote(ref, self.options.chunk_size)
                self.waiting[task] = ("scored", member, k, ref, tries)
                free = [m for m in free if m.busy < UNITS_PER_ACTOR]
            building = sum(not m.ready for m in self.members)
            if len(self.queue) > building and len(self.members) < self.size:
                self.add_actor()
                continue
            if until_idle and not self.queue and \
                    not any(w[0] == "scored" for w in self.waiting.values()):
                return
            if not until_idle and len(self.queue) <= building:
                return
            if not self.waiting:  # every actor died with units left: start another
                self.add_actor()
            self.handle_one()

    def handle_one(self) -> None:
        """Wait for the next answer (an analyzer described, a unit scored) and act on it.
        Returns nothing; raises what the answer raises, apart from an actor's death."""
        [ref], _ = self.ray.wait(list(self.waiting), num_returns=1)
        what = self.waiting.pop(ref)
        if what[0] == "described":
            self.described(ref, what[1])
        else:
            self.scored(ref, *what[1:])

    def drop(self, member: _Member) -> None:
        """Forget an actor Ray gave up on (its process died more often than it restarts)."""
        if member in self.members:
            self.members.remove(member)
        try:
            self.ray.kill(member.handle, no_restart=True)
        except Exception:
            pass

    def described(self, ref: Any, member: _Member) -> None:
        """Take an actor's description of its analyzer: the first settles the manifest,
        the others must match it."""
        try:
            desc = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:  # building the analyzer failed
            cause = getattr(exc, "cause", None)
            raise (cause if isinstance(cause, Exception) else exc) from None
        except self.ray.exceptions.RayActorError:
            self.drop(member)
            return
        if self.description is None:
            request = analyzer_request(self.arguments)
            request["catalogue_path"] = desc["catalogue_path"]
            record_analyzer(self.out, self.shard_dir, self.manifest, self.old,
                            analyzer=desc["analyzer"], schema=desc["schema"],
                            batch_size=desc["batch_size"], request=request)
            self.description = desc
        elif (desc["analyzer"], desc["schema"]) != (self.description["analyzer"],
                                                    self.description["schema"]):
            raise RuntimeError(
                "Two Ray actors built different analyzers (other model files or settings on "
                "different nodes); every node must hold the same models and framing version")
        member.ready = True

    def scored(self, ref: Any, member: _Member, k: int, rows_ref: Any, tries: int) -> None:
        """Take a scored unit: write it as shard ``k`` and record the progress. A unit
        whose actor died goes back to the queue (at most :data:`UNIT_TRIES` tries)."""
        member.busy -= 1
        try:
            result = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:
            self.drop(member)
            if tries >= UNIT_TRIES:
                raise RuntimeError(
                    f"Scoring the rows of {shard_name(k)} killed {tries} Ray actors ({exc}); "
                    f"the shards completed so far in {self.out} are kept: see the Ray logs "
                    "(memory, the model), then run the same command again to resume") from None
            self.queue.appendleft((k, rows_ref, tries + 1))
            return
        table = result["table"]
        self.shard_dir.write_table(k, table)
        n = table.num_rows
        self.rows += n
        self.errors += result["errors"]
        self.flagged += result["flagged"]
        self.repeats += result["repeats"]
        self.complete_shards += 1
        self.complete_rows += n
        self.manifest["progress"] = {"shards": self.complete_shards,
                                     "rows": self.complete_rows}
        self.shard_dir.write_manifest(self.manifest)
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        """Stop the actors and close the progress bar. Returns nothing."""
        for member in list(self.members):
            self.drop(member)
        if self.bar is not None:
            self.bar.close()

    def summary(self) -> CorpusSummary:
        """Returns the :class:`CorpusSummary` of a finished run."""
        return CorpusSummary(self.out, self.rows, self.errors, self.flagged,
                             time.perf_counter() - self.start, skipped=self.skipped,
                             cached=self.repeats, shards=self.complete_shards)


# -- a ray.data.Dataset: scored by Ray Data, not resumable ------------------------------------
def _old_scores(fs: Any, inner: str, out: str, overwrite: bool) -> list[str]:
    """Shards and manifest already in the output directory (to delete once the new ones
    are written); raises if there are some and ``overwrite`` is false."""
    info = fs.get_file_info(inner)
    if info.type == pafs.FileType.NotFound:
        return []
    if info.type != pafs.FileType.Directory:
        raise InputFormatError(f"{out} is a file; engine='ray' writes a scores directory "
                               "(Parquet shards), so name a directory")
    old = [e.path for e in fs.get_file_info(pafs.FileSelector(inner))
           if e.type == pafs.FileType.File and
           (shard_index(e.base_name) is not None or e.base_name == MANIFEST)]
    if old and not overwrite:
        raise ResumeError(
            f"{out} already holds scores, and a ray.data.Dataset input cannot resume them "
            "(its row order is not fixed): pass overwrite=True (--overwrite) to replace them, "
            "or name another directory")
    return old


def _score_dataset_into(ray: Any, ds: "ray.data.Dataset", out: str, options: ScoreOptions,
                        ray_address: str | None, **scoring: Any) -> CorpusSummary:
    """Score the Ray dataset ``ds`` with :func:`score_dataset` (``scoring``: its analyzer
    and actor arguments) and write its rows to the scores directory ``out`` with
    ``write_parquet``: into a folder next to ``out`` first, then moved into place, the
    earlier shards and manifest (``overwrite``) deleted only then. Rows are in no
    particular order, and no manifest is written: such a run is not resumable."""
    fs, inner = _filesystem(out)
    old = _old_scores(fs, inner, out, options.overwrite)
    lock = None
    if not is_uri(out):
        try:
            Path(out).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputWriteError(f"Cannot create the output directory {out}: "
                                   f"{exc.strerror or exc}") from exc
        lock = OutputLock(Path(out)).acquire()
    parent, name = inner.rstrip("/").rsplit("/", 1) if "/" in inner.rstrip("/") \
        else ("", inner.rstrip("/"))
    tmp_inner = f"{parent}/.{name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        with _ray_running(ray, ray_address):
            ctx = ray.data.DataContext.get_current()
            bars = ctx.enable_progress_bars
            ctx.enable_progress_bars = bool(options.progress)
            start = time.perf_counter()
            try:
                scored = _scored(ray, ds, options.columns, batch_size=options.chunk_size,
                                 evidence=options.evidence, **scoring)
                write_args = inspect.signature(scored.write_parquet).parameters
                rows_per_file = options.shard_size
                sizing = {"min_rows_per_file": rows_per_file} \
                    if "min_rows_per_file" in write_args \
                    else {"num_rows_per_file": rows_per_file} \
                    if "num_rows_per_file" in write_args else {}
                scored.write_parquet(_with_scheme(out, tmp_inner), compression="zstd",
                                     **sizing)
                written = _list_parquet(fs, tmp_inner)
                for path in old:
                    fs.delete_file(path)
                fs.create_dir(inner, recursive=True)
                shards = []
                for k, path in enumerate(written):
                    shards.append(f"{inner.rstrip('/')}/{shard_name(k)}")
                    fs.move(path, shards[-1])
                seconds = time.perf_counter() - start
            finally:
                ctx.enable_progress_bars = bars
    finally:
        try:
            if fs.get_file_info(tmp_inner).type == pafs.FileType.Directory:
                fs.delete_dir(tmp_inner)
        except OSError:
            pass
        if lock is not None:
            lock.release()
    n, errors, flagged = _count(fs, shards)
    return CorpusSummary(out, n, errors, flagged, seconds, shards=len(shards))


# -- the entry points ------------------------------------------------------------------------
def score_corpus_ray(
    source: Any,
    out: str | os.PathLike,
    *,
    text: str = "text",
    id: str | None = None,
    outlet: str | None = None,
    date: str | None = None,
    title: str | None = None,
    target: str | None = None,
    analyzer: "Callable[[], Analyzer] | Mapping[str, Any] | None" = None,
    analyzer_kwargs: dict[str, Any] | None = None,
    format: str | None = None,
    out_format: str | None = None,
    chunk_size: int = 256,
    shard_size: int | None = None,
    evidence: bool = True,
    progress: bool = True,
    resume: bool = True,
    overwrite: bool = False,
    cache_size: int | None = None,
    concurrency: int | tuple[int, int] | None = None,
    num_cpus_per_actor: float = 1,
    num_gpus_per_actor: float = 0,
    ray_address: str | None = None,
) -> CorpusSummary:
    """Score a corpus with Ray and write a scores directory of Parquet shards to ``out``:
    the directory :func:`framing.score_corpus` writes, resumable in the same way.

    ``source`` is what :func:`framing.score_corpus` takes (a JSONL / CSV / TSV / Parquet
    file, ``.gz`` allowed; a directory of such files or of ``.txt`` files; a glob
    pattern; a URI such as ``s3://bucket/corpus/``; a list of these; a pandas DataFrame
    or a ``datasets.Dataset``), or a ``ray.data.Dataset`` (see below). The keyword
    arguments are those of :func:`framing.score_corpus`, plus the Ray ones of
    :func:`score_dataset`. ``analyzer`` is None (the default models), a dict of
    ``framing.Analyzer`` keyword arguments, or a zero-argument factory, called once per
    actor; ``concurrency`` is the number of actors (an int; a ``(min, max)`` pair or None:
    as many as the cluster's CPUs, or GPUs, hold, within the pair), each reserving
    ``num_cpus_per_actor`` CPUs and ``num_gpus_per_actor`` GPUs.

    **How it runs.** The driver reads the input in order, with the readers of
    :func:`framing.read_corpus` (the same files, row numbers, ids and bad-row errors as
    a local run), and cuts it into units of ``shard_size`` rows (default 2048): unit
    ``k`` holds the rows a local run writes to shard ``k``. Each unit goes to one actor,
    which scores it ``chunk_size`` rows at a time, as a local run scores a shard; the
    driver writes the scored unit as ``part-0000k.parquet`` (a ``.tmp`` file flushed and
    renamed into place) and keeps ``manifest.json`` up to date, as a local run does
    (:mod:`framing.io.shards`). So :func:`framing.read_scores` of a Ray run equals that of
    a local run, row for row; only rows whose text repeats one in an earlier chunk may
    differ in the last digits, as a local run copies their scores from its cache of
    repeated texts where the actors score them again (``cache_size`` is not used). At
    most two units per actor are in flight, so the driver never holds the corpus. A
    directory of ``.txt`` files is read by several threads at once.

    **Faults and resuming.** An actor whose process dies is restarted by Ray and scores
    its units again (up to three times; then another actor takes them). When the
    driver dies, the shards written stay: running the same call again (``resume=True``,
    the default) checks each complete shard against the input (row numbers and text
    hashes) and scores only the units whose shard is missing; the manifest must match
    the input, the column options, ``evidence``, ``shard_size``, the framing version and
    the analyzer, or :class:`~framing.errors.ResumeError` lists what differs, exactly as
    for :func:`framing.score_corpus`. A directory either engine started can be resumed by
    this one (the local engine, which writes shards in order, refuses one with a gap).
    ``resume=False`` refuses a directory that holds shards; ``overwrite=True`` deletes
    its shards and manifest (other files stay) and starts afresh. A local ``out`` is
    locked while the run writes (:class:`~framing.errors.OutputLockedError` for a second
    writer); a URI ``out`` is written through ``pyarrow.fs`` without a lock.

    **A ray.data.Dataset** is scored by Ray Data (:func:`score_dataset`) and written
    with ``write_parquet``: its row order is not fixed, so such a run is not resumable.
    Its shards hold rows in no particular order (``row`` is null), no manifest is
    written, and a directory that already holds scores is refused unless
    ``overwrite=True``, which replaces them once the new shards are all written.

    If Ray is not running, it is started (``ray.init(address=ray_address)``: None
    starts a local instance, or joins the cluster named by ``RAY_ADDRESS``) and shut
    down at the end. On a cluster, the driver must reach the input and ``out``; the
    workers need only the models. Returns a :class:`~framing.io.runs.CorpusSummary`
    (``cached`` counts rows that shared the scores of an earlier row of their chunk).
    Raises :class:`MissingExtraError` without Ray; before Ray starts,
    :class:`ColumnError` when the input lacks a named column, :class:`InputFormatError`
    for an output other than a Parquet directory, :class:`ResumeError` as above (an
    analyzer that differs is told once an actor has built it, before any unit is
    scored), :class:`ValueError` for a bad ``concurrency`` and :class:`TypeError` for an
    ``analyzer`` that is an Analyzer instance (each worker builds its own). When Ray
    gives up on a unit (its actors kept dying) the run stops with :class:`RuntimeError`,
    keeping the shards done.
    """
    options = ScoreOptions(
        text=text, id=id, outlet=outlet, date=date, title=title, target=target, format=format,
        out_format=out_format, chunk_size=chunk_size,
        shard_size=DEFAULT_SHARD_SIZE if shard_size is None else shard_size,
        evidence=evidence, progress=progress, resume=resume, overwrite=overwrite,
        cache_size=0 if cache_size is None else cache_size)
    return run_ray(source, out, options, analyzer=analyzer, analyzer_kwargs=analyzer_kwargs,
                   concurrency=concurrency, num_cpus_per_actor=num_cpus_per_actor,
                   num_gpus_per_actor=num_gpus_per_actor, ray_address=ray_address)


def _check_output_name(out: str, out_format: str | None) -> None:
    """Raise :class:`InputFormatError` unless ``out`` / ``out_format`` can name a scores
    directory. Returns nothing."""
    if out_format is not None and out_format.lower() not in ("parquet", "shards", "directory",
                                                             "dir"):
        raise InputFormatError(
            f"engine='ray' writes a directory of Parquet shards, not {out_format!r}")
    if out_format is None and out.lower().rstrip("/").endswith(
            (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".gz")):
        raise InputFormatError(
            f"engine='ray' writes a directory of Parquet shards; {out} names a "
            f"{Path(out.rstrip('/')).suffix} file")


@contextmanager
def _ray_running(ray: Any, address: str | None) -> Iterator[None]:
    """Ray, started for the block (and shut down after it) unless it runs already."""
    started = False
    if not ray.is_initialized():
        ray.init(address=address)
        started = True
    elif address is not None:
        warnings.warn("Ray is already initialised; ray_address is ignored", stacklevel=3)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def run_ray(
    source: Any,
    out: str | os.PathLike,
    options: ScoreOptions,
    *,
    analyzer: "Callable[[], Analyzer] | Mapping[str, Any] | None" = None,
    analyzer_kwargs: dict[str, Any] | None = None,
    concurrency: int | tuple[int, int] | None = None,
    num_cpus_per_actor: float = 1,
    num_gpus_per_actor: float = 0,
    ray_address: str | None = None,
) -> CorpusSummary:
    """:func:`score_corpus_ray` with the options it shares with :func:`framing.score_corpus`
    gathered in ``options`` (``cache_size`` is not used: the actors keep no cache of
    repeated texts across chunks)."""
    ray = _require_ray()
    options = options.for_source(source)  # an input column "id" gives the ids, as locally
    out_str = os.fspath(out)
    _check_output_name(out_str, options.out_format)
    ctor = _analyzer_args(analyzer, analyzer_kwargs)  # refuses an Analyzer instance
    bounds = _pool_bounds(concurrency)
    if isinstance(source, ray.data.Dataset):
        return _score_dataset_into(ray, source, out_str, options, ray_address,
                                   analyzer=analyzer, analyzer_kwargs=analyzer_kwargs,
                                   concurrency=concurrency,
                                   num_cpus_per_actor=num_cpus_per_actor,
                                   num_gpus_per_actor=num_gpus_per_actor)
    listing, records = _open_input(source, options)
    entry = input_entry(source, listing)
    shard_dir, lock = _open_output(out_str)
    ctor.update(_actor_columns(options.columns), evidence=options.evidence)
    actor_options: dict[str, Any] = {"num_cpus": num_cpus_per_actor,
                                     "max_restarts": ACTOR_RESTARTS,
                                     "max_task_retries": ACTOR_RESTARTS}
    if num_gpus_per_actor:
        actor_options["num_gpus"] = num_gpus_per_actor
    run = _UnitRun(ray, out_str, shard_dir, options, ctor, actor_options)
    try:
        run.look_back(entry)  # a run that may not resume is refused before Ray starts
        with _ray_running(ray, ray_address):
            run.size = _pool_size(ray, bounds, num_cpus_per_actor, num_gpus_per_actor)
            try:
                run.execute(records)
            finally:
                run.close()
    finally:
        if lock is not None:
            lock.release()
    return run.summary()


def _with_scheme(uri: str, inner: str) -> str:
    """``inner`` (a path on ``uri``'s filesystem) as a path or URI Ray can write to."""
    return uri[:uri.index("://") + 3] + inner if is_uri(uri) else inner


def _count(fs: Any, shards: list[str]) -> tuple[int, int, int]:
    """(rows, rows with an error, rows flagged without an error) of the written shards."""
    n = errors = flagged = 0
    for path in shards:
        with fs.open_input_file(path) as fh:
            table = pq.ParquetFile(fh).read(columns=["error", "flags"])
        has_error = pc.is_valid(table["error"])
        flag = pc.and_(pc.invert(has_error), pc.not_equal(pc.fill_null(table["flags"], ""), ""))
        n += table.num_rows
        errors += int(pc.sum(has_error.cast("int64")).as_py() or 0)
        flagged += int(pc.sum(flag.cast("int64")).as_py() or 0)
    return n, errors, flagged


def _list_parquet(fs: Any, inner: str) -> list[str]:
    if fs.get_file_info(inner).type == pafs.FileType.NotFound:  # an empty corpus: no shard
        return []
    return sorted(e.path for e in fs.get_file_info(pafs.FileSelector(inner, recursive=True))
                  if e.type == pafs.FileType.File and e.base_name.endswith(".parquet"))
