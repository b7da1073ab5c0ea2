"""Scoring beyond one machine: Ray Data runs one :class:`~framing.Analyzer` per actor.

:func:`score_dataset` adds the scores to a ``ray.data.Dataset`` (lazily, like any Ray
Data transform); :func:`score_corpus_ray` reads JSONL / CSV / TSV / Parquet files or a
directory of ``.txt`` files (or takes a dataset or a table), scores them and writes a
scores directory of Parquet shards, in the columns :func:`framing.score_corpus` writes,
that :func:`framing.read_scores` reads back.

The models are built once per actor, in the worker process, from keyword arguments
(``analyzer_kwargs``) or a zero-argument factory, so nothing heavy is shipped from the
driver. As on one machine, a bad row (missing or non-string text, malformed JSON or
CSV line, bad target) comes out as a row with ``error`` set: none is dropped and none
stops the run.

Ray is an optional extra (``pip install "framing[ray]"``): this module imports without
it, and its functions raise :class:`~framing.errors.MissingExtraError` when it is absent.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import os
import re
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framing.io.corpus import CorpusSummary, _plain, detect_format
from framing.pipeline.schema import output_columns
from framing.errors import ColumnError, InputFormatError, MissingExtraError, ResumeError
from framing.pipeline.results import flat_row

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import ray.data

    from framing.pipeline.analyzer import Analyzer

__all__ = ["AnalyzerActor", "score_dataset", "score_corpus_ray"]

# Columns of the rows the file reader hands to the actors: already checked, plain values.
_ROW, _ID, _TEXT, _TARGET, _ERROR = ("__framing_row", "__framing_id", "__framing_text",
                                     "__framing_target", "__framing_error")
_META_PREFIX = "__framing_meta_"
_META_FIELDS = ("outlet", "date", "title")
try:  # the single-machine scores directory's shard size, where that module defines it
    from framing.io.corpus import DEFAULT_SHARD_SIZE as _DEFAULT_SHARD_SIZE
except ImportError:  # pragma: no cover
    _DEFAULT_SHARD_SIZE = 2048
_ARROW_TYPES = {"int64": "int64", "string": "string", "float64": "float64", "bool": "bool_"}


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


# -- rows: checking the named columns, as framing.corpus does on one machine -----------
def _text_or_none(value: Any) -> str | None:
    value = _plain(value)
    return None if value is None else value if isinstance(value, str) else str(value)


class _Fields:
    """The caller's column names, and the check that turns one input row into plain fields."""

    def __init__(self, text: str = "text", id: str | None = None, outlet: str | None = None,
                 date: str | None = None, title: str | None = None,
                 target: str | None = None) -> None:
        if not isinstance(text, str) or not text:
            raise ValueError("text must name the column that holds the article text")
        self.text, self.id, self.target = text, id, target
        self.meta = {k: v for k, v in zip(_META_FIELDS, (outlet, date, title)) if v}

    @property
    def meta_keys(self) -> list[str]:
        """Metadata columns of the output, in the order :func:`framing.score_corpus` uses."""
        return list(self.meta) + (["target"] if self.target else [])

    def required(self) -> list[str]:
        return list(dict.fromkeys([self.text] + ([self.id] if self.id else []) +
                                  list(self.meta.values()) + ([self.target] if self.target else [])))

    def check(self, present: Sequence[str], source: str) -> None:
        missing = [c for c in self.required() if c not in present]
        if missing:
            raise ColumnError(
                f"{source}: column(s) {', '.join(map(repr, missing))} not found; the columns "
                f"present are: {', '.join(map(repr, present)) or '(none)'}")

    def record(self, obj: Mapping[str, Any], row: int | None = None,
               default_id: str | None = None) -> dict[str, Any]:
        """One input row as plain fields; ``error`` says why it cannot be scored (or None)."""
        rid = _plain(obj.get(self.id)) if self.id else default_id
        error = None
        if self.text not in obj:
            error = f"missing field {self.text!r}"
        text = _plain(obj.get(self.text))
        if error is None and text is None:
            error = f"missing text ({self.text!r} is null)"
        elif error is None and not isinstance(text, str):
            error = f"text must be a string, got {type(text).__name__}"
        elif error is None and not text.isascii() and \
                any("\udc80" <= ch <= "\udcff" for ch in text):  # surrogateescape'd bytes
            error = "invalid UTF-8 in text"
        target = _plain(obj.get(self.target)) if self.target else None
        if isinstance(target, str) and not target.strip():
            target = None
        if error is None and target is not None and not isinstance(target, str):
            error = f"target must be a string, got {type(target).__name__}"
        rec = {_ROW: row, _ID: None if rid is None else str(rid),
               _TEXT: text if error is None else None,
               _TARGET: target if error is None else None, _ERROR: error}
        for key, col in self.meta.items():
            rec[_META_PREFIX + key] = _text_or_none(obj.get(col))
        return rec

    def failed(self, error: str, row: int | None, default_id: str | None) -> dict[str, Any]:
        rec = {_ROW: row, _ID: default_id, _TEXT: None, _TARGET: None, _ERROR: error}
        rec.update({_META_PREFIX + k: None for k in self.meta})
        return rec

    def canonical_schema(self) -> "pa.Schema":
        import pyarrow as pa

        return pa.schema([(_ROW, pa.int64()), (_ID, pa.string()), (_TEXT, pa.string()),
                          (_TARGET, pa.string()), (_ERROR, pa.string())] +
                         [(_META_PREFIX + k, pa.string()) for k in self.meta])


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
        import pyarrow as pa

        from framing.pipeline.analyzer import Analyzer

        if analyzer_factory is not None:
            self.analyzer = analyzer_factory()
        else:
            self.analyzer = Analyzer(**(analyzer_kwargs or {}))
        self.fields = _Fields(text, id, outlet, date, title, target)
        self.evidence = bool(evidence)
        self.columns = output_columns(self.analyzer.cue_ids, self.fields.meta_keys, self.evidence,
                                getattr(self.analyzer, "frame_ids", []))
        self.names = [c for c, _ in self.columns]
        self.schema = pa.schema([(c, getattr(pa, _ARROW_TYPES[t])()) for c, t in self.columns])

    def __call__(self, batch: Any) -> "pa.Table":
        import pyarrow as pa

        rows = self.score_records(self._records(batch))
        return pa.Table.from_pylist([{k: r.get(k) for k in self.names} for r in rows],
                                    schema=self.schema)

    def _records(self, batch: Any) -> list[dict[str, Any]]:
        if _ERROR in batch.columns:  # from the file reader: checked already
            records = [{k: _plain(v) for k, v in obj.items()} for obj in batch.to_dict("records")]
            for rec in records:
                rec[_ROW] = None if rec[_ROW] is None else int(rec[_ROW])
            return records
        present = [c for c in self.fields.required() if c in batch.columns]
        return [self.fields.record(obj) for obj in batch[present].to_dict("records")]

    def score_records(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Scores rows of plain fields (see :meth:`_Fields.record`); one output row each."""
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
                        results[i] = an._failed(f"{type(exc).__name__}: {exc}",
                                                records[i][_ID], None)
        rows = []
        for i, rec in enumerate(records):
            res = results.get(i)
            if res is None:
                res = an._failed(rec[_ERROR] or "unreadable row", rec[_ID], None)
            row = flat_row(res, an.cue_ids, evidence=self.evidence,
                           frame_ids=getattr(an, "frame_ids", []))
            for key in self.fields.meta:
                row[key] = rec.get(_META_PREFIX + key)
            row["target"] = rec[_TARGET]
            row["row"] = rec[_ROW]
            row["id"] = rec[_ID]
            rows.append(row)
        return rows


# -- building the Ray pipeline -------------------------------------------------------------
def _analyzer_args(analyzer: Any, analyzer_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """The actor's constructor arguments for ``analyzer`` / ``analyzer_kwargs``."""
    if analyzer is not None and analyzer_kwargs is not None:
        raise ValueError("pass analyzer or analyzer_kwargs, not both")
    if analyzer is None or isinstance(analyzer, Mapping):
        return {"analyzer_kwargs": dict(analyzer if analyzer is not None else analyzer_kwargs or {})}
    from framing.pipeline.analyzer import Analyzer

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
    fields = _Fields(text, id, outlet, date, title, target)
    names = _schema_names(ds)
    if names is not None and _ERROR not in names:
        fields.check(names, "ray.data.Dataset")
    if int(batch_size) < 1:
        raise ValueError("batch_size must be at least 1")
    ctor = _analyzer_args(analyzer, analyzer_kwargs)
    ctor.update(text=text, id=id, outlet=outlet, date=date, title=title, target=target,
                evidence=evidence)
    same_rows = {"udf_modifying_row_count": False} \
        if "udf_modifying_row_count" in inspect.signature(ds.map_batches).parameters else {}
    if names is None or _ERROR not in names:
        # Check each block on its own first: Ray cannot join blocks whose columns differ
        # in type (a text column that is a number in some rows) into one batch, but the
        # checked rows all have the same plain types. Light work: no CPU reserved (see
        # _read_files).
        ds = ds.map_batches(_check_udf, batch_size=None, batch_format="pandas",
                            fn_kwargs={"fields": fields}, num_cpus=0, **same_rows)
    options: dict[str, Any] = {"num_cpus": num_cpus_per_actor, **same_rows}
    if num_gpus_per_actor:
        options["num_gpus"] = num_gpus_per_actor
    return ds.map_batches(AnalyzerActor, fn_constructor_kwargs=ctor, batch_format="pandas",
                          batch_size=int(batch_size), compute=_actor_pool(ray, concurrency),
                          **options)


def _check_udf(batch: Any, *, fields: _Fields) -> "pa.Table":
    """Ray Data UDF: the rows of a block of the caller's dataset as checked plain fields."""
    import pyarrow as pa

    present = [c for c in fields.required() if c in batch.columns]
    return pa.Table.from_pylist([fields.record(obj) for obj in batch[present].to_dict("records")],
                                schema=fields.canonical_schema())


# -- reading files on the workers ------------------------------------------------------------
_TXT = ".txt"
_SHARD_RX = re.compile(r"^part-\d{5,}\.parquet$")
_MANIFEST = "manifest.json"


def _is_uri(path: str) -> bool:
    return "://" in path


def _filesystem(path: str):
    """A pyarrow filesystem and the path on it, for a local path or a URI (s3://, gs://, ...)."""
    import pyarrow.fs as pafs

    return pafs.FileSystem.from_uri(path if _is_uri(path) else os.path.abspath(path))


def _path_key(rel: str) -> list[str]:
    # each folder's entries by name, depth first: the order framing.read_corpus uses
    return rel.split("/")


def _list_inputs(source: Any, format: str | None, fields: _Fields) -> list[dict[str, Any]]:
    """The input files, as ``{"path", "format", "row", "id"}``.

    A directory gives its JSONL / CSV / TSV / Parquet files (of ``format``, if given),
    or, when it has none, its ``.txt`` files: one article each, numbered in order, the
    id being the path relative to the directory without ``.txt`` (as
    :func:`framing.read_corpus` reads such a directory). Hidden files and folders, and
    files named ``_*`` (``_SUCCESS``), are left out.
    """
    import pyarrow.fs as pafs

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
            if entry.base_name.lower().endswith(_TXT):
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
        given = [n for n, v in (("id", fields.id), ("outlet", fields.meta.get("outlet")),
                                ("date", fields.meta.get("date")),
                                ("title", fields.meta.get("title")), ("target", fields.target))
                 if v]
        if txt and given:
            raise InputFormatError(
                f"{path} is a directory of .txt files, which has no columns: the id is each "
                f"file's relative path and the text its content, so {', '.join(given)} cannot "
                "be given")
        items += [{"path": p, "format": "txt", "row": k, "id": rel[:-len(_TXT)]}
                  for k, (rel, p) in enumerate(sorted(txt, key=lambda x: _path_key(x[0])),
                                               start=1)]
    if not items:
        raise InputFormatError(
            f"No .jsonl, .csv, .tsv, .parquet or .txt files found in {', '.join(paths)}")
    return items


def _file_records(path: str, fmt: str, fields: _Fields, *, prefix: str = "",
                  strict: bool = False, batch_rows: int = 1024, row: int | None = None,
                  rid: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows of one file as plain fields, numbered as :func:`framing.read_corpus` numbers them
    (JSONL: line number; CSV/TSV: line number, the header being 1; Parquet: record number;
    a ``.txt`` file is one article, whose ``row`` and ``rid`` the caller gives).

    Without ``id`` the id is ``prefix`` + row number. ``strict`` raises
    :class:`ColumnError` when the first object or the header lacks a named column;
    otherwise such rows come out with ``error`` set.
    """
    fs, inner = _filesystem(path)

    def default_id(row: int) -> str | None:
        return None if fields.id else f"{prefix}{row}"

    def failed_id(row: int) -> str | None:
        # as on one machine, an unreadable line has no id; with several files the file's
        # path and the line number stand in, so that the row can still be found
        return f"{prefix}{row}" if prefix else None

    if fmt == "txt":
        try:
            with fs.open_input_stream(inner, compression=None) as fh:
                raw = fh.read()
        except OSError as exc:
            yield fields.failed(f"cannot read {path}: {exc}", row, rid)
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield fields.failed(f"invalid UTF-8 in the file (byte {exc.start})", row, rid)
            return
        yield fields.record({fields.text: text.removeprefix("\ufeff")}, row, rid)
        return
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with fs.open_input_file(inner) as fh:
            pf = pq.ParquetFile(fh)
            names = pf.schema_arrow.names
            if strict:
                fields.check(names, path)
            cols = [c for c in fields.required() if c in names]
            n = 0
            # with none of the named columns present, read them all so the rows still count
            for batch in pf.iter_batches(batch_size=batch_rows, columns=cols or None):
                for obj in batch.to_pylist():
                    n += 1
                    yield fields.record(obj, n, default_id(n))
        return
    with io.BufferedReader(fs.open_input_stream(inner)) as fb:  # .gz is decompressed
        if fmt == "jsonl":
            checked = not strict
            for n, raw in enumerate(fb, start=1):
                if not raw.strip():
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    yield fields.failed("invalid UTF-8 on this line", n, failed_id(n))
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield fields.failed(f"malformed JSON line: {exc.msg} (column {exc.colno})",
                                        n, failed_id(n))
                    continue
                if not isinstance(obj, dict):
                    yield fields.failed(f"JSON line is a {type(obj).__name__}, not an object",
                                        n, failed_id(n))
                    continue
                if not checked:
                    fields.check(list(obj), path)
                    checked = True
                yield fields.record(obj, n, default_id(n))
            return
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        fh = io.TextIOWrapper(fb, encoding="utf-8", errors="surrogateescape", newline="")
        reader = csv.reader(fh, delimiter="," if fmt == "csv" else "\t")
        try:
            header = next(reader)
        except StopIteration:
            return
        header = [h.lstrip("\ufeff") if i == 0 else h for i, h in enumerate(header)]
        if strict:
            fields.check(header, path)
        n = 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                n += 1
                yield fields.failed(f"malformed CSV row: {exc}", n, failed_id(n))
                continue
            n += 1
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            if len(values) != len(header):
                yield fields.failed(
                    f"malformed CSV row: {len(values)} fields, header has {len(header)}",
                    n, failed_id(n))
                continue
            yield fields.record(dict(zip(header, values)), n, default_id(n))


def _read_files_udf(batch: Any, *, fields: _Fields, batch_rows: int,
                    many: bool) -> Iterator["pa.Table"]:
    """Ray Data UDF: the rows of the batch's files, in tables of ``batch_rows`` rows."""
    import pyarrow as pa

    schema = fields.canonical_schema()
    chunk: list[dict[str, Any]] = []
    for item in batch.to_dict("records"):
        path, fmt = str(item["path"]), str(item["format"])
        row, rid = _plain(item["row"]), _plain(item["id"])
        for rec in _file_records(path, fmt, fields, prefix=f"{path}:" if many else "",
                                 batch_rows=batch_rows, row=row, rid=rid):
            chunk.append(rec)
            if len(chunk) >= batch_rows:
                yield pa.Table.from_pylist(chunk, schema=schema)
                chunk = []
    if chunk:
        yield pa.Table.from_pylist(chunk, schema=schema)


def _read_files(ray: Any, items: list[dict[str, Any]], fields: _Fields,
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
                               fn_kwargs={"fields": fields, "batch_rows": batch_rows,
                                          "many": len(items) > 1 and not txt})


def _plan_source(ray: Any, source: Any, fields: _Fields,
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
        items = _list_inputs(source, format, fields)
        if items[0]["format"] != "txt":
            next(_file_records(items[0]["path"], items[0]["format"], fields, strict=True,
                               batch_rows=1), None)
        return lambda: _read_files(ray, items, fields)
    if hasattr(source, "iloc") and hasattr(source, "columns"):  # pandas
        fields.check([str(c) for c in source.columns], type(source).__name__)
        return lambda: ray.data.from_pandas(source)
    if hasattr(source, "column_names") and hasattr(source, "features"):  # datasets.Dataset
        fields.check(list(source.column_names), type(source).__name__)
        return lambda: ray.data.from_huggingface(source)
    raise TypeError("source must be a path, a URI, a directory or list of them, a "
                    "ray.data.Dataset, a pandas DataFrame or a datasets.Dataset, not "
                    f"{type(source).__name__}")


# -- writing ---------------------------------------------------------------------------------
def _old_scores(fs: Any, inner: str, out: str, overwrite: bool, resume: bool) -> list[str]:
    """Shards and manifest already in the output directory (to delete once the new ones
    are written); raises if there are some and ``overwrite`` is false."""
    import pyarrow.fs as pafs

    info = fs.get_file_info(inner)
    if info.type == pafs.FileType.NotFound:
        return []
    if info.type != pafs.FileType.Directory:
        raise InputFormatError(f"{out} is a file; engine='ray' writes a scores directory "
                               "(Parquet shards), so name a directory")
    old = [e.path for e in fs.get_file_info(pafs.FileSelector(inner))
           if e.type == pafs.FileType.File and
           (_SHARD_RX.match(e.base_name) or e.base_name == _MANIFEST)]
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
    :func:`framing.read_corpus`; without ``id`` the id is the row number (prefixed
    with the file's path when there are several files).

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
    down at the end. Returns a :class:`~framing.io.corpus.CorpusSummary`. Raises
    :class:`MissingExtraError` without Ray; :class:`ColumnError` when the first file
    (or the table) lacks a named column, and :class:`InputFormatError` for an output
    other than a Parquet directory, both before Ray starts.
    """
    ray = _require_ray()
    import pyarrow.fs as pafs

    out_str = os.fspath(out)
    if out_format is not None and out_format.lower() not in ("parquet", "shards", "directory",
                                                             "dir"):
        raise InputFormatError(
            f"engine='ray' writes a directory of Parquet shards, not {out_format!r}")
    if out_format is None and out_str.lower().rstrip("/").endswith(
            (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".gz")):
        raise InputFormatError(
            f"engine='ray' writes a directory of Parquet shards; {out_str} names a "
            f"{Path(out_str.rstrip('/')).suffix} file")
    for name, value in (("chunk_size", chunk_size), ("shard_size", shard_size)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    fields = _Fields(text, id, outlet, date, title, target)
    make_dataset = _plan_source(ray, source, fields, format)
    _analyzer_args(analyzer, analyzer_kwargs)  # refuse an Analyzer instance before Ray starts
    fs, inner = _filesystem(out_str)
    old = _old_scores(fs, inner, out_str, overwrite, resume)
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
    ctx.enable_progress_bars = bool(progress)
    start = time.perf_counter()
    try:
        scored = score_dataset(make_dataset(), text=text, id=id, outlet=outlet, date=date,
                               title=title, target=target, analyzer=analyzer,
                               analyzer_kwargs=analyzer_kwargs, batch_size=chunk_size,
                               concurrency=concurrency, num_cpus_per_actor=num_cpus_per_actor,
                               num_gpus_per_actor=num_gpus_per_actor, evidence=evidence)
        write_args = inspect.signature(scored.write_parquet).parameters
        rows_per_file = shard_size or _DEFAULT_SHARD_SIZE
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
            shards.append(f"{inner.rstrip('/')}/part-{k:05d}.parquet")
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
    import pyarrow.compute as pc
    import pyarrow.dataset as pads

    if not shards:
        return 0, 0, 0
    table = pads.dataset(shards, filesystem=fs, format="parquet").to_table(
        columns=["error", "flags"])
    has_error = pc.is_valid(table["error"])
    flagged = pc.and_(pc.invert(has_error), pc.not_equal(pc.fill_null(table["flags"], ""), ""))
    return (table.num_rows, int(pc.sum(has_error.cast("int64")).as_py() or 0),
            int(pc.sum(flagged.cast("int64")).as_py() or 0))


def _list_parquet(fs: Any, inner: str) -> list[str]:
    import pyarrow.fs as pafs

    if fs.get_file_info(inner).type == pafs.FileType.NotFound:  # an empty corpus: no shard
        return []
    return sorted(e.path for e in fs.get_file_info(pafs.FileSelector(inner, recursive=True))
                  if e.type == pafs.FileType.File and e.base_name.endswith(".parquet"))
