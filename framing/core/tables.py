"""Tables in and out: file formats, reading a table, missing values, and column mapping.

One :class:`ColumnMap` turns a caller's column names into checked row fields for every
reader (the local corpus reader, the Ray reader, validation samples), so that a row that
cannot be scored is described the same way everywhere.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from framing.core.labels import META_FIELDS
from framing.errors import ColumnError, InputFormatError

__all__ = [
    "FORMATS",
    "ColumnMap",
    "RowFields",
    "as_bool",
    "detect_format",
    "error_mask",
    "has_bad_bytes",
    "open_binary",
    "plain",
    "read_table",
]

#: File extensions and the table format each one means (``.gz`` may follow).
FORMATS: dict[str, str] = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv", ".tsv": "tsv",
    ".parquet": "parquet", ".pq": "parquet",
}


def detect_format(path: str | os.PathLike, explicit: str | None = None) -> str:
    """Return ``jsonl``, ``csv``, ``tsv`` or ``parquet`` for ``path`` (``.gz`` allowed).

    Raises :class:`InputFormatError` for an unknown ``explicit`` format or extension.
    """
    if explicit:
        fmt = explicit.lower()
        if fmt not in set(FORMATS.values()):
            raise InputFormatError(f"Unknown format {explicit!r}; use jsonl, csv, tsv or parquet")
        return fmt
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    ext = os.path.splitext(name)[1]
    if ext not in FORMATS:
        raise InputFormatError(
            f"Cannot tell the format of {path} from its extension; name it .jsonl, .csv, .tsv or "
            ".parquet, or pass format=...")
    return FORMATS[ext]


def open_binary(path: str | os.PathLike):
    """Open ``path`` for binary reading, decompressing a ``.gz`` file."""
    return gzip.open(path, "rb") if str(path).lower().endswith(".gz") else open(path, "rb")


def plain(value: Any) -> Any:
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


def has_bad_bytes(s: str) -> bool:
    """True when ``s`` holds undecodable bytes (``surrogateescape`` maps them to
    U+DC80..U+DCFF)."""
    return any("\udc80" <= ch <= "\udcff" for ch in s) if not s.isascii() else False


def read_table(source: Any, fmt: str | None = None, *, what: str = "Table"):
    """Read a whole table: a DataFrame as it is, anything with ``to_pandas()`` (a
    ``datasets.Dataset``, a pyarrow table), or a JSONL / CSV / TSV / Parquet file.

    Returns ``(DataFrame, description of the source)``. CSV cells are read as strings.
    Raises :class:`FileNotFoundError` (naming ``what``) and :class:`InputFormatError`.
    """
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return source, "<DataFrame>"
    if hasattr(source, "to_pandas") and not isinstance(source, (str, os.PathLike)):
        return source.to_pandas(), type(source).__name__
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {path}")
    kind = detect_format(path, fmt)
    try:
        if kind == "jsonl":
            df = pd.read_json(path, lines=True, dtype=False)
        elif kind in ("csv", "tsv"):
            df = pd.read_csv(path, sep="," if kind == "csv" else "\t", dtype=str,
                             keep_default_na=False)
        else:
            df = pd.read_parquet(path)
    except ValueError as exc:
        raise InputFormatError(f"{path}: cannot read {what.lower()}: {exc}") from None
    return df, str(path)


def as_bool(s):
    """A boolean pandas column from bools, 0/1 or strings such as 'True'/'false' (CSV,
    JSON). Missing values become False."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(s):
        return s.fillna(False).astype(bool)
    if pd.api.types.is_numeric_dtype(s):
        return s.fillna(0).astype(float) > 0
    truthy = {"true", "1", "1.0", "yes", "y", "t"}
    return s.map(lambda v: isinstance(v, str) and v.strip().lower() in truthy
                 or (not isinstance(v, str) and bool(v) and v == v and v is not None)
                 ).astype(bool)


def error_mask(df):
    """Rows of a scores table whose ``error`` column is set (all False without one)."""
    import pandas as pd

    if "error" not in df.columns:
        return pd.Series(False, index=df.index)
    err = df["error"]
    return err.notna() & (err.astype(str).str.strip() != "")


@dataclass
class RowFields:
    """One input row after :meth:`ColumnMap.parse`: plain values, and ``error`` saying
    why the row cannot be scored (then ``text`` and ``target`` are None)."""

    id: Any
    text: str | None
    meta: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    error: str | None = None


@dataclass
class ColumnMap:
    """The caller's column names: ``text``, optional ``id`` and ``target``, and
    ``meta`` (output name -> input column, e.g. ``{"outlet": "source"}``)."""

    text: str = "text"
    id: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    target: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text:
            raise ValueError("text must name the column that holds the article text")
        self.meta = {k: v for k, v in dict(self.meta or {}).items() if v}

    @classmethod
    def from_fields(cls, text: str = "text", id: str | None = None, outlet: str | None = None,
                    date: str | None = None, title: str | None = None,
                    target: str | None = None) -> "ColumnMap":
        """The map for the library's metadata fields (outlet, date, title)."""
        return cls(text, id, dict(zip(META_FIELDS, (outlet, date, title))), target)

    @property
    def meta_keys(self) -> list[str]:
        """Metadata columns of the output, in output order (``target`` last, if named)."""
        return list(self.meta) + (["target"] if self.target else [])

    def required(self) -> list[str]:
        """Input columns that must be present, each once."""
        return list(dict.fromkeys([self.text] + ([self.id] if self.id else []) +
                                  list(self.meta.values()) + ([self.target] if self.target else [])))

    def check(self, present: Sequence[str], source: str) -> None:
        """Raise :class:`ColumnError` naming the missing columns and those present."""
        missing = [c for c in self.required() if c not in present]
        if missing:
            raise ColumnError(
                f"{source}: column(s) {', '.join(map(repr, missing))} not found; the columns "
                f"present are: {', '.join(map(repr, present)) or '(none)'}")

    def parse(self, obj: Mapping[str, Any], default_id: Any = None) -> RowFields:
        """Check one row (a mapping of column -> value); never raises for bad content."""
        rid = plain(obj.get(self.id)) if self.id else default_id
        meta = {k: plain(obj.get(c)) for k, c in self.meta.items()}
        error = None
        if self.text not in obj:
            error = f"missing field {self.text!r}"
        text = plain(obj.get(self.text))
        if error is None and text is None:
            error = f"missing text ({self.text!r} is null)"
        elif error is None and not isinstance(text, str):
            error = f"text must be a string, got {type(text).__name__}"
        elif error is None and has_bad_bytes(text):
            error = "invalid UTF-8 in text"
        target = plain(obj.get(self.target)) if self.target else None
        if isinstance(target, str) and not target.strip():
            target = None
        if error is None and target is not None and not isinstance(target, str):
            error = f"target must be a string, got {type(target).__name__}"
        ok = error is None
        return RowFields(rid, text if ok else None, meta, target if ok else None, error)


# -- cue and frame ids of a scores table --------------------------------------------------
