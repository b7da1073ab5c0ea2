"""Corpus input and output: read articles from files, score them in batches, write rows.

Readers stream: JSONL (optionally gzipped), CSV/TSV and Parquet files are read a row
or a record batch at a time, so memory stays bounded by the chunk size. A bad row
(malformed JSON, a wrong number of CSV fields, missing or non-string text, invalid
UTF-8) becomes a record with ``error`` set and is written out with that error: no
row is dropped. A column the caller names that the file lacks stops the run before
anything is scored, with a :class:`~framing.errors.ColumnError` that lists the
columns present.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .errors import ColumnError, InputFormatError
from .results import flat_row

if TYPE_CHECKING:  # pragma: no cover
    from .analyzer import Analyzer

__all__ = [
    "Record",
    "CorpusSummary",
    "read_corpus",
    "score_corpus",
    "example_corpus_path",
    "detect_format",
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
    """What :func:`score_corpus` did: rows written, errors, time and throughput."""

    output: str
    rows: int
    errors: int
    flagged: int
    seconds: float

    @property
    def articles_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("nan")

    def __str__(self) -> str:
        return (f"Scored {self.rows} articles ({self.errors} with errors, {self.flagged} flagged) "
                f"in {self.seconds:.1f} s: {self.articles_per_second:.1f} articles/s -> {self.output}")


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
    """Stream :class:`Record` objects from a file, a pandas DataFrame or a ``datasets.Dataset``.

    ``text``, ``id``, ``outlet``, ``date``, ``title`` and ``target`` name the source
    columns; without ``id`` the row number is the id. Raises :class:`ColumnError` (listing the columns
    present) when a named column is absent, :class:`InputFormatError` for an unknown
    format, :class:`FileNotFoundError` for a missing file. Bad rows are yielded with
    ``error`` set, never skipped.
    """
    meta = {k: v for k, v in (("outlet", outlet), ("date", date), ("title", title)) if v}
    cols = _Columns(text, id, meta, target)
    if not isinstance(source, (str, os.PathLike)):
        yield from _read_frame(source, cols)
        return
    path = Path(source)
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
def _columns(cue_ids: list[str], meta_keys: list[str], evidence: bool) -> list[tuple[str, str]]:
    cols = [("row", "int64"), ("id", "string")] + [(k, "string") for k in meta_keys] + [
        ("tone", "float64"), ("tone_label", "string"), ("tone_scorer", "string"),
        ("n_sentences", "int64"), ("language", "string"), ("flags", "string"),
        ("error", "string"), ("cues_present", "string"), ("tone_p_critical", "float64"),
        ("tone_p_neutral", "float64"), ("tone_p_promotional", "float64"),
    ]
    for cid in cue_ids:
        cols += [(f"cue_{cid}", "float64"), (f"cue_{cid}_present", "bool")]
        if evidence:
            cols.append((f"cue_{cid}_evidence", "string"))
    if evidence:
        cols += [("most_promotional", "string"), ("most_critical", "string")]
    return cols


class _Writer:
    """Write rows to Parquet, JSONL or CSV with a fixed column set."""

    def __init__(self, path: Path, fmt: str, columns: list[tuple[str, str]]) -> None:
        self.path, self.fmt, self.columns = path, fmt, columns
        self.names = [c for c, _ in columns]
        self._pq = None
        self._fh = None
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            types = {"int64": pa.int64(), "string": pa.string(), "float64": pa.float64(),
                     "bool": pa.bool_()}
            self.schema = pa.schema([(c, types[t]) for c, t in columns])
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
        if fmt is None and hasattr(source, "__len__"):
            return len(source)
    except Exception:
        return None
    return None


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
    evidence: bool = True,
    progress: bool = True,
) -> CorpusSummary:
    """Score every article of ``source`` and write one row per article to ``out``.

    ``source`` is a JSONL/CSV/TSV/Parquet path, a pandas DataFrame or a
    ``datasets.Dataset``; column options as in :func:`read_corpus`. ``out``'s extension
    picks Parquet, JSONL or CSV (or pass ``out_format``). Articles are scored
    ``chunk_size`` at a time; a bad row is written with its ``error`` and the run goes
    on. The output is written to a temporary file and moved into place at the end, so
    an interrupted run never leaves a partial file under the final name.

    ``analyzer`` is an :class:`~framing.Analyzer`, a zero-argument callable that builds
    one (called only once the input's columns check out), or None for the defaults.

    Returns a :class:`CorpusSummary`. Raises :class:`ColumnError` before any model is
    loaded when a named column is missing.
    """
    from .analyzer import Analyzer

    out = Path(out)
    ofmt = detect_format(out, out_format)
    in_fmt = detect_format(source, format) if isinstance(source, (str, os.PathLike)) else None
    records = read_corpus(source, text=text, id=id, outlet=outlet, date=date, title=title,
                          target=target, format=format)
    first = next(records, None)  # raises ColumnError/FileNotFoundError before any work
    if analyzer is None:
        analyzer = Analyzer()
    elif not isinstance(analyzer, Analyzer) and callable(analyzer):
        analyzer = analyzer()
    meta_keys = [k for k, v in (("outlet", outlet), ("date", date), ("title", title),
                                ("target", target)) if v]
    columns = _columns(analyzer.cue_ids, meta_keys, evidence)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    writer = _Writer(tmp, ofmt, columns)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=_count_rows(source, in_fmt), unit="article", desc="scoring",
                   file=sys.stderr, dynamic_ncols=True)
    n = errors = flagged = 0
    start = time.perf_counter()
    try:
        chunk: list[Record] = [first] if first is not None else []
        for rec in records:
            chunk.append(rec)
            if len(chunk) >= chunk_size:
                e, f = _score_chunk(analyzer, chunk, writer, evidence)
                n, errors, flagged = n + len(chunk), errors + e, flagged + f
                if bar is not None:
                    bar.update(len(chunk))
                chunk = []
        if chunk:
            e, f = _score_chunk(analyzer, chunk, writer, evidence)
            n, errors, flagged = n + len(chunk), errors + e, flagged + f
            if bar is not None:
                bar.update(len(chunk))
        writer.close()
        os.replace(tmp, out)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return CorpusSummary(str(out), n, errors, flagged, time.perf_counter() - start)


def _score_chunk(analyzer: "Analyzer", chunk: list[Record], writer: _Writer,
                 evidence: bool) -> tuple[int, int]:
    good = [r for r in chunk if r.error is None]
    results = analyzer.score_many([r.text for r in good], ids=[r.id for r in good],
                                  targets=[r.target for r in good])
    by_row = {id(r): res for r, res in zip(good, results)}
    rows = []
    errors = flagged = 0
    for rec in chunk:
        res = by_row.get(id(rec))
        if res is None:
            res = analyzer._failed(rec.error or "unreadable row", rec.id, None)
        row = flat_row(res, analyzer.cue_ids, evidence=evidence)
        row.update(rec.meta)
        row["target"] = rec.target
        row["row"] = rec.row
        row["id"] = None if rec.id is None else str(rec.id)
        for k in META_FIELDS:
            if k in row and row[k] is not None and not isinstance(row[k], str):
                row[k] = str(row[k])
        errors += row["error"] is not None
        flagged += bool(row["flags"]) and row["error"] is None
        rows.append(row)
    writer.write(rows)
    return errors, flagged
