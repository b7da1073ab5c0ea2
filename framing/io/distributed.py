"""Scoring beyond one machine: Ray Data runs one :class:`~framing.Analyzer` per actor.

:func:`score_dataset` adds the scores to a ``ray.data.Dataset`` (lazily, like any Ray
Data transform); :func:`score_corpus_ray` reads JSONL / CSV / TSV / Parquet files or a
directory of ``.txt`` files (or takes a dataset or a table), scores them and writes a
scores directory of Parquet shards, in the columns :func:`framing.score_corpus` writes,
that :func:`framing.read_scores` reads back.

The models are built once per actor, in the worker process, from keyword arguments
(``analyzer_kwargs``) or a zero-argument factory, so nothing heavy is shipped from the
driver. Files are read on the workers with the readers of :mod:`framing.io.readers`
and checked with the same :class:`~framing.core.tables.ColumnMap` as on one machine,
so a bad row (missing or non-string text, malformed JSON or CSV line, bad target)
comes out as a row with ``error`` set: none is dropped and none stops the run.

Ray is an optional extra (``pip install "framing[ray]"``): this module imports without
it, and its functions raise :class:`~framing.errors.MissingExtraError` when it is absent.
"""

from __future__ import annotations

import inspect
import io
import os
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from framing.core.tables import ColumnMap, RowFields, detect_format, plain
from framing.errors import InputFormatError, MissingExtraError, ResumeError
from framing.io.readers import (TXT_SUFFIX, SourceRow, decode_txt, delimited_rows, jsonl_rows,
                                parquet_rows)
from framing.io.runs import DEFAULT_SHARD_SIZE, CorpusSummary, ScoreOptions, text_key
from framing.io.shards import MANIFEST, arrow_schema, shard_index, shard_name
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
        """Scores checked rows (as the file reader passes them on); one output row each."""
        an = self.analyzer
        good = [i for i, r in enumerate(records) if r[_ERROR] is None]
        results: dict[int, Any] = {}
        if good:
            try:
                scored = an.score_many([records[i][_TEXT] for i in good],
                                       ids=[records[i][_ID] for i in good],
                                       targets=[records[i][_TARGET] for i in good],
                                       errors="flag")
                results = dict(zip(good, scored))
            except Exception:  # never lose a batch: find the rows that fail, one at a time
                for i in good:
                    try:
                        results[i] = an.score_many([records[i][_TEXT]], ids=[records[i][_ID]],
                                                   targets=[records[i][_TARGET]],
                                                   errors="flag")[0]
                    except Exception as exc:
                        results[i] = an.failed_result(f"{type(exc).__name__}: {exc}",
                                                      records[i][_ID], None)
        rows = []
        for i, rec in enumerate(records):
            res = results.get(i)
            if res is None:
                res = an.failed_result(rec[_ERROR] or "unreadable row", rec[_ID], None)
            row = flat_row(res, an.cue_ids, evidence=self.evidence,
                           frame_ids=getattr(an, "frame_ids", []))
            for key in self.column_map.meta:
                row[key] = rec.get(_META_PREFIX + key)
            row["target"] = rec[_TARGET]
            row["row"] = rec[_ROW]
            row["id"] = rec[_ID]
            row[HASH_COLUMN] = text_key(rec[_TEXT], rec[_TARGET]) if rec[_ERROR] is None \
                else None
            rows.append(row)
        return rows


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
    if concurrency is None:
        return ray.data.ActorPoolStrategy(min_size=1, max_size=None)
    if isinstance(concurrency, int) and not isinstance(concurrency, bool) and concurrency >= 1:
        return ray.data.ActorPoolStrategy(size=concurrency)
    if isinstance(concurrency, tuple) and len(concurrency) == 2 and \
            all(isinstance(x, int) and x >= 1 for x in concurrency) and \
            concurrency[0] <= concurrency[1]:
        return ray.data.ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
    raise ValueError("concurrency must be None (autoscale from 1 actor), a number of actors, "
                     f"or a (min, max) pair, not {concurrency!r}")


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


# -- reading files on the workers ------------------------------------------------------------
def _is_uri(path: str) -> bool:
    return "://" in path


def _filesystem(path: str):
    """A pyarrow filesystem and the path on it, for a local path or a URI (s3://, gs://, ...)."""
    return pafs.FileSystem.from_uri(path if _is_uri(path) else os.path.abspath(path))


def _path_key(rel: str) -> list[str]:
    # each folder's entries by name, depth first: the order framing.read_corpus uses
    return rel.split("/")


def list_input_files(source: Any, format: str | None,
                     columns: ColumnMap) -> list[dict[str, Any]]:
    """The input files, as ``{"path", "format", "row", "id"}``.

    A directory gives its JSONL / CSV / TSV / Parquet files (of ``format``, if given),
    or, when it has none, its ``.txt`` files: one article each, numbered in order, the
    id being the path relative to the directory without ``.txt`` (as
    :func:`framing.read_corpus` reads such a directory). Hidden files and folders, and
    files named ``_*`` (``_SUCCESS``), are left out.
    """
    paths = [os.fspath(p) for p in source] if isinstance(source, (list, tuple)) \
        else [os.fspath(source)]
    if not paths:
        raise ValueError("no input files given")
    items: list[dict[str, Any]] = []
    for path in paths:
        fs, inner = _filesystem(path)
        info = fs.get_file_info(inner)
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError(f"Corpus file not found: {path}")
        if info.type != pafs.FileType.Directory:
            items.append({"path": path if _is_uri(path) else os.path.abspath(path),
                          "format": detect_format(path, format), "row": None, "id": None})
            continue
        scheme = path[:path.index("://") + 3] if _is_uri(path) else ""
        root = inner.rstrip("/") + "/"
        corpus, txt = [], []
        for entry in fs.get_file_info(pafs.FileSelector(inner, recursive=True)):
            rel = entry.path[len(root):] if entry.path.startswith(root) else entry.base_name
            if entry.type != pafs.FileType.File or \
                    any(part.startswith(".") for part in rel.split("/")):
                continue
            if entry.base_name.lower().endswith(TXT_SUFFIX):
                txt.append((rel, scheme + entry.path))
                continue
            try:
                fmt = detect_format(entry.base_name)
            except InputFormatError:
                continue
            if not entry.base_name.startswith("_") and \
                    (format is None or fmt == detect_format(entry.base_name, format)):
                corpus.append((rel, scheme + entry.path))
        if corpus:
            items += [{"path": p, "format": detect_format(p, format), "row": None, "id": None}
                      for _, p in sorted(corpus, key=lambda x: _path_key(x[0]))]
            continue
        given = [n for n, v in (("id", columns.id), ("outlet", columns.meta.get("outlet")),
                                ("date", columns.meta.get("date")),
                                ("title", columns.meta.get("title")),
                                ("target", columns.target))
                 if v]
        if txt and given:
            raise InputFormatError(
                f"{path} is a directory of .txt files, which has no columns: the id is each "
                f"file's relative path and the text its content, so {', '.join(given)} cannot "
                "be given")
        items += [{"path": p, "format": "txt", "row": k, "id": rel[:-len(TXT_SUFFIX)]}
                  for k, (rel, p) in enumerate(sorted(txt, key=lambda x: _path_key(x[0])),
                                               start=1)]
    if not items:
        raise InputFormatError(
            f"No .jsonl, .csv, .tsv, .parquet or .txt files found in {', '.join(paths)}")
    return items


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


def _read_files_udf(batch: Any, *, columns: ColumnMap, batch_rows: int,
                    many: bool) -> Iterator["pa.Table"]:
    """Ray Data UDF: the rows of the batch's files, in tables of ``batch_rows`` rows."""
    schema = _row_schema(columns)
    chunk: list[dict[str, Any]] = []
    for item in batch.to_dict("records"):
        path, fmt = str(item["path"]), str(item["format"])
        row, rid = plain(item["row"]), plain(item["id"])
        for rec in file_rows(path, fmt, columns, prefix=f"{path}:" if many else "",
                                 batch_rows=batch_rows, row=row, rid=rid):
            chunk.append(rec)
            if len(chunk) >= batch_rows:
                yield pa.Table.from_pylist(chunk, schema=schema)
                chunk = []
    if chunk:
        yield pa.Table.from_pylist(chunk, schema=schema)


def _read_files(ray: Any, items: list[dict[str, Any]], columns: ColumnMap,
                batch_rows: int = 1024) -> "ray.data.Dataset":
    """A dataset of checked input rows, read on the workers: one task per corpus file, or
    blocks of ``.txt`` files."""
    txt = all(it["format"] == "txt" for it in items)
    listing = ray.data.from_items(items, override_num_blocks=None if txt else len(items))
    # Reading is light next to scoring, and reserves no CPU: otherwise actors holding
    # every CPU (concurrency = the number of CPUs) would leave the readers none, and wait
    # on them for ever.
    return listing.map_batches(_read_files_udf, batch_size=None if txt else 1,
                               batch_format="pandas", num_cpus=0,
                               fn_kwargs={"columns": columns, "batch_rows": batch_rows,
                                          "many": len(items) > 1 and not txt})


def _plan_source(ray: Any, source: Any, columns: ColumnMap,
                 format: str | None) -> Callable[[], "ray.data.Dataset"]:
    """Check ``source`` (a path / URI / directory / list of them, a ``ray.data.Dataset``,
    a pandas DataFrame or a ``datasets.Dataset``) and return what makes its Ray dataset.

    Files are listed and the first one's columns checked here, before Ray or any model
    starts; the returned function needs a running Ray."""
    if isinstance(source, ray.data.Dataset):
        return lambda: source
    if isinstance(source, (str, os.PathLike)) or (
            isinstance(source, (list, tuple)) and
            all(isinstance(s, (str, os.PathLike)) for s in source)):
        items = list_input_files(source, format, columns)
        if items[0]["format"] != "txt":
            next(file_rows(items[0]["path"], items[0]["format"], columns, strict=True,
                               batch_rows=1), None)
        return lambda: _read_files(ray, items, columns)
    if hasattr(source, "iloc") and hasattr(source, "columns"):  # pandas
        columns.check([str(c) for c in source.columns], type(source).__name__)
        return lambda: ray.data.from_pandas(source)
    if hasattr(source, "column_names") and hasattr(source, "features"):  # datasets.Dataset
        columns.check(list(source.column_names), type(source).__name__)
        return lambda: ray.data.from_huggingface(source)
    raise TypeError("source must be a path, a URI, a directory or list of them, a "
                    "ray.data.Dataset, a pandas DataFrame or a datasets.Dataset, not "
                    f"{type(source).__name__}")


# -- writing ---------------------------------------------------------------------------------
def _old_scores(fs: Any, inner: str, out: str, overwrite: bool, resume: bool) -> list[str]:
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
            f"{out} already holds scores; engine='ray' does not "
            f"{'resume an earlier run' if resume else 'add to them'}: pass overwrite=True "
            "(--overwrite) to replace them, or name another directory")
    return old


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
    """Score a corpus with Ray and write a scores directory of Parquet shards to ``out``.

    ``source`` is a JSONL (``.gz`` allowed) / CSV / TSV / Parquet file, a directory of
    such files (or, when it holds none, of ``.txt`` files, one article each), a list
    of them (local paths or URIs such as ``s3://bucket/corpus/``), a
    ``ray.data.Dataset``, a pandas DataFrame or a ``datasets.Dataset``. Files are read
    on the workers, one task per file, with the checks and row numbers of
    :func:`framing.read_corpus`. Without ``id``, a column named ``id`` gives the ids
    when the source is one local file or an in-memory table that has one, as with
    :func:`framing.score_corpus`; otherwise (and for directories, lists and URIs, whose
    columns are not looked at up front) the id is the row number (prefixed with the
    file's path when there are several files).

    The keyword arguments are those of :func:`framing.score_corpus`, plus the Ray ones
    of :func:`score_dataset` (``chunk_size`` is its ``batch_size``). ``analyzer`` is
    None (the default models), a dict of ``framing.Analyzer`` keyword arguments, or a
    zero-argument factory, called once per actor. ``shard_size`` is the least number
    of rows per shard (default 2048; the last shards may hold fewer). A Ray run is not
    resumable, and it scores every text (``cache_size`` is not used): a directory that
    already holds scores is refused with :class:`~framing.errors.ResumeError` unless
    ``overwrite=True``, which replaces its shards and manifest once the new shards are
    all written (they are written next to ``out`` first).

    ``out`` gets shards ``part-00000.parquet``, ... in the columns
    :func:`framing.score_corpus` writes, so :func:`framing.read_scores` reads it (rows
    are in no particular order across shards; sort by ``row`` or ``id``). On a
    cluster, ``out`` and the input must be where every node reaches them: shared
    storage or a URI.

    If Ray is not running, it is started (``ray.init(address=ray_address)``: None
    starts a local instance, or joins the cluster named by ``RAY_ADDRESS``) and shut
    down at the end. Returns a :class:`~framing.io.runs.CorpusSummary`. Raises
    :class:`MissingExtraError` without Ray; :class:`ColumnError` when the first file
    (or the table) lacks a named column, and :class:`InputFormatError` for an output
    other than a Parquet directory, both before Ray starts.
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
    gathered in ``options`` (``cache_size`` is not used: a Ray run scores every text)."""
    ray = _require_ray()
    options = options.for_source(source)  # an input column "id" gives the ids, as locally
    out_str = os.fspath(out)
    out_format = options.out_format
    if out_format is not None and out_format.lower() not in ("parquet", "shards", "directory",
                                                             "dir"):
        raise InputFormatError(
            f"engine='ray' writes a directory of Parquet shards, not {out_format!r}")
    if out_format is None and out_str.lower().rstrip("/").endswith(
            (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".gz")):
        raise InputFormatError(
            f"engine='ray' writes a directory of Parquet shards; {out_str} names a "
            f"{Path(out_str.rstrip('/')).suffix} file")
    columns = options.columns
    make_dataset = _plan_source(ray, source, columns, options.format)
    _analyzer_args(analyzer, analyzer_kwargs)  # refuse an Analyzer instance before Ray starts
    fs, inner = _filesystem(out_str)
    old = _old_scores(fs, inner, out_str, options.overwrite, options.resume)
    parent, name = inner.rstrip("/").rsplit("/", 1) if "/" in inner.rstrip("/") \
        else ("", inner.rstrip("/"))
    tmp_inner = f"{parent}/.{name}.partial-{uuid.uuid4().hex[:8]}"

    started = False
    if not ray.is_initialized():
        ray.init(address=ray_address)
        started = True
    elif ray_address is not None:
        warnings.warn("Ray is already initialised; ray_address is ignored", stacklevel=2)
    ctx = ray.data.DataContext.get_current()
    bars = ctx.enable_progress_bars
    ctx.enable_progress_bars = bool(options.progress)
    start = time.perf_counter()
    try:
        scored = _scored(ray, make_dataset(), columns, analyzer=analyzer,
                         analyzer_kwargs=analyzer_kwargs, batch_size=options.chunk_size,
                         concurrency=concurrency, num_cpus_per_actor=num_cpus_per_actor,
                         num_gpus_per_actor=num_gpus_per_actor, evidence=options.evidence)
        write_args = inspect.signature(scored.write_parquet).parameters
        rows_per_file = options.shard_size
        sizing = {"min_rows_per_file": rows_per_file} if "min_rows_per_file" in write_args \
            else {"num_rows_per_file": rows_per_file} if "num_rows_per_file" in write_args else {}
        tmp_uri = _with_scheme(out_str, tmp_inner)
        scored.write_parquet(tmp_uri, compression="zstd", **sizing)
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
        try:
            if fs.get_file_info(tmp_inner).type == pafs.FileType.Directory:
                fs.delete_dir(tmp_inner)
        except OSError:
            pass
        ctx.enable_progress_bars = bars
        if started:
            ray.shutdown()
    n, errors, flagged = _count(fs, shards)
    return CorpusSummary(out_str, n, errors, flagged, seconds, shards=len(shards))


def _with_scheme(uri: str, inner: str) -> str:
    """``inner`` (a path on ``uri``'s filesystem) as a path or URI Ray can write to."""
    return uri[:uri.index("://") + 3] + inner if _is_uri(uri) else inner


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
