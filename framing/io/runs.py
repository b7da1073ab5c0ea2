"""A corpus scoring run, whichever engine does it: its options, the key of a text, the
manifest of its scores directory, and the summary it returns.

:func:`framing.score_corpus` (one machine) and
:func:`framing.io.distributed.score_corpus_ray` (Ray) take the same keyword arguments;
each gathers them into one :class:`ScoreOptions`, checked once, and hands that on.

Both engines keep a scores directory's ``manifest.json`` (see :mod:`framing.io.shards`)
through the same steps, so that either can resume the other's directory and both refuse
a changed run alike: :func:`start_manifest` (what is known before any model is built),
:func:`earlier_run` (what an earlier run left, checked against this one),
:func:`record_analyzer` (the analyzer that scores, checked too) or
:func:`adopt_earlier_analyzer` (when none was built), and :func:`finish_manifest`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from typing import Any

from framing._version import __version__
from framing.core.formatting import counted
from framing.core.tables import ColumnMap
from framing.errors import ResumeError
from framing.io.readers import resolve_id_column
from framing.io.shards import (MANIFEST_KIND, MANIFEST_VERSION, check_manifest,
                               input_fingerprint, now_iso)
from framing.io.sources import TXT_SUFFIX, is_uri

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_SHARD_SIZE",
    "CorpusSummary",
    "ScoreOptions",
    "adopt_earlier_analyzer",
    "earlier_run",
    "finish_manifest",
    "input_entry",
    "record_analyzer",
    "start_manifest",
    "text_key",
]

#: Input records per shard of a scores directory (the least per shard with Ray).
DEFAULT_SHARD_SIZE = 2048
#: Distinct texts the cache of repeated texts remembers.
DEFAULT_CACHE_SIZE = 200_000

_COLUMN_OPTIONS = ("text", "id", "outlet", "date", "title", "target")


def _check_count(name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


@dataclass(frozen=True)
class ScoreOptions:
    """What to read, how to score and where to write, as :func:`framing.score_corpus`
    documents each option: the column names (``text`` ... ``target``), the input
    ``format``, the output's ``out_format``, ``chunk_size`` articles per ``score_many``
    call, ``shard_size`` records per shard, ``evidence``, ``progress``, ``resume``,
    ``overwrite`` and ``cache_size``.

    Raises :class:`ValueError` for a ``chunk_size`` or ``shard_size`` that is not an
    integer >= 1, a ``cache_size`` that is not an integer >= 0, or an empty ``text``.
    """

    text: str = "text"
    id: str | None = None
    outlet: str | None = None
    date: str | None = None
    title: str | None = None
    target: str | None = None
    format: str | None = None
    out_format: str | None = None
    chunk_size: int = 256
    shard_size: int = DEFAULT_SHARD_SIZE
    evidence: bool = True
    progress: bool = True
    resume: bool = True
    overwrite: bool = False
    cache_size: int = DEFAULT_CACHE_SIZE

    def __post_init__(self) -> None:
        _check_count("chunk_size", self.chunk_size, 1)
        _check_count("shard_size", self.shard_size, 1)
        _check_count("cache_size", self.cache_size, 0)
        self.columns  # building the column map checks ``text``

    @property
    def columns(self) -> ColumnMap:
        """The column names as a :class:`~framing.core.tables.ColumnMap`."""
        return ColumnMap.from_fields(self.text, self.id, self.outlet, self.date, self.title,
                                     self.target)

    def for_source(self, source: Any) -> "ScoreOptions":
        """These options with ``id`` settled for ``source``: when no id column was named
        and the input has a column called ``id``, that column (see
        :func:`framing.io.readers.resolve_id_column`). Returns ``self`` when nothing
        changes. Both engines call this first, so the manifest records the column used."""
        found = resolve_id_column(self.id, source, self.format)
        return self if found == self.id else replace(self, id=found)

    def column_options(self) -> dict[str, str | None]:
        """The column keyword arguments (``text``, ``id``, ``outlet``, ``date``, ``title``,
        ``target``), as :func:`framing.read_corpus` takes them."""
        values = asdict(self)
        return {k: values[k] for k in _COLUMN_OPTIONS}


def text_key(text: str, target: str | None) -> str:
    """sha256 (hex) of an article's text, stripped of surrounding whitespace, and its
    target: two rows with the same key get the same scores. Scores directories keep it
    in their ``text_sha256`` column."""
    payload = json.dumps([text.strip(), target], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class CorpusSummary:
    """What a scoring run did.

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
        errors = "an error" if self.errors == 1 else "errors"
        return (f"Scored {counted(self.rows, 'article')} ({self.errors} with {errors}, "
                f"{self.flagged} flagged; {self.cached} served from the cache of repeated "
                f"texts; {self.skipped} skipped as already done) in {self.seconds:.1f} s: "
                f"{self.articles_per_second:.1f} articles/s -> {self.output}")


# -- the manifest of a scores directory, kept alike by both engines ---------------------------
def start_manifest(options: ScoreOptions, input_entry: dict[str, Any], *,
                   engine: str = "local") -> dict[str, Any]:
    """Returns the manifest of a run with ``options`` into a scores directory as far as it
    is known before any model is built: status ``running``, no analyzer, schema or request
    yet, ``input_entry`` (from :func:`framing.io.shards.input_fingerprint`) as its input,
    and ``engine`` (``"local"`` or ``"ray"``) among the parameters that are recorded, not
    compared."""
    return {
        "kind": MANIFEST_KIND, "manifest_version": MANIFEST_VERSION,
        "framing_version": __version__, "created": now_iso(), "updated": None,
        "status": "running", "input": input_entry, "columns": options.column_options(),
        "parameters": {"shard_size": options.shard_size, "evidence": options.evidence,
                       "format": options.format, "chunk_size": options.chunk_size,
                       "cache_size": options.cache_size, "engine": engine},
        "analyzer": None, "schema": None, "request": None,
        "progress": {"shards": 0, "rows": 0},
    }


def input_entry(source: Any, listing: Any) -> dict[str, Any]:
    """Returns the manifest's ``input`` entry for ``source``, whose files ``listing`` holds
    (an :class:`~framing.io.sources.InputFiles`; None for an in-memory table): one local
    file by its path and format, a local directory of ``.txt`` articles by its path, any
    other path source (several files, a pattern, a URI) by its listing, a table by
    itself (see :func:`~framing.io.shards.input_fingerprint`). Both engines describe a
    source alike, so that either resumes the other's scores directory."""
    if listing is None:
        return input_fingerprint(source, None)
    local = isinstance(source, (str, os.PathLike)) and not is_uri(os.fspath(source))
    if local and listing.kind == "file":
        return input_fingerprint(source, listing[0].format)
    if local and listing.kind == "txt-directory":
        return input_fingerprint(source, "txt", suffix=TXT_SUFFIX)
    return input_fingerprint(listing, "files")


def earlier_run(out: Any, shard_dir: Any, manifest: dict[str, Any],
                options: ScoreOptions) -> tuple[dict[str, Any] | None, list[tuple[int, Any]]]:
    """What an earlier run left in ``shard_dir`` (a :class:`~framing.io.shards.ShardDir`
    or a directory with the same methods), for this run's ``manifest`` (from
    :func:`start_manifest`) and ``options``.

    With ``overwrite`` the earlier manifest and shards are deleted first. Otherwise the
    earlier manifest is checked against this run's (input, columns, parameters, version;
    not the analyzer, which may not be built yet), and stray temporaries are removed.

    Returns ``(old manifest, complete shards as (index, path))``, the manifest None when
    no shard is complete (nothing to keep, nothing to check against). Raises
    :class:`~framing.errors.ResumeError` for shards without a manifest, shards with
    ``resume=False``, or a manifest that differs, listing the differences.
    """
    old = None if options.overwrite else shard_dir.read_manifest()
    existing = shard_dir.shards()
    if options.overwrite:
        shard_dir.clear()
        existing = []
    elif old is None and existing:
        raise ResumeError(f"{out} holds shards but no manifest.json, so what they hold "
                          "cannot be checked; pass overwrite=True (--overwrite) to replace "
                          "them, or write to another directory")
    elif old is not None and existing and not options.resume:
        raise ResumeError(f"{out} already holds {counted(len(existing), 'shard')} of an "
                          "earlier run and resume=False (--no-resume) was given; pass "
                          "overwrite=True (--overwrite) to replace them, or write to "
                          "another directory")
    if not existing:
        old = None
    if old is not None:
        check_manifest(out, old, manifest, with_analyzer=False)
    shard_dir.remove_temporaries()
    return old, existing


def record_analyzer(out: Any, shard_dir: Any, manifest: dict[str, Any],
                    old: dict[str, Any] | None, *, analyzer: dict[str, Any],
                    schema: list[str], batch_size: Any, request: dict[str, Any]) -> None:
    """Describe the analyzer that scores in ``manifest``: its fingerprint ``analyzer``
    (:func:`~framing.io.shards.analyzer_fingerprint`), the output columns ``schema``, its
    ``batch_size`` and the ``request`` it was built from
    (:func:`~framing.io.shards.analyzer_request`); check them against the earlier
    manifest ``old``, if any (keeping its creation time), and write the manifest.

    Returns nothing. Raises :class:`~framing.errors.ResumeError` when the analyzer or the
    columns differ from the earlier run's."""
    manifest["analyzer"] = analyzer
    manifest["parameters"]["batch_size"] = batch_size
    manifest["schema"] = list(schema)
    manifest["request"] = request
    if old is not None:
        check_manifest(out, old, manifest, with_analyzer=True)
        manifest["created"] = old.get("created", manifest["created"])
        if old.get("schema") != manifest["schema"]:
            raise ResumeError(f"Cannot resume {out}: its shards have other columns; "
                              "pass overwrite=True (--overwrite) to start afresh")
    shard_dir.write_manifest(manifest)


def adopt_earlier_analyzer(manifest: dict[str, Any], old: dict[str, Any]) -> None:
    """Describe the shards in ``manifest`` with the analyzer entries of the earlier run's
    manifest ``old`` (the analyzer, schema, batch size and request that wrote them),
    keeping its creation time, when this run built no analyzer. Returns nothing."""
    for key in ("analyzer", "schema", "request"):
        manifest[key] = old.get(key)
    manifest["parameters"]["batch_size"] = (old.get("parameters") or {}).get("batch_size")
    manifest["created"] = old.get("created", manifest["created"])


def finish_manifest(shard_dir: Any, manifest: dict[str, Any]) -> None:
    """Mark ``manifest`` complete, with the finishing time, and write it to
    ``shard_dir``. Returns nothing; raises
    :class:`~framing.errors.OutputWriteError` when it cannot be written."""
    manifest["status"] = "complete"
    manifest["finished"] = now_iso()
    shard_dir.write_manifest(manifest)
