"""A corpus scoring run, whichever engine does it: its options, the key of a text, and
the summary it returns.

:func:`framing.score_corpus` (one machine) and
:func:`framing.io.distributed.score_corpus_ray` (Ray) take the same keyword arguments;
each gathers them into one :class:`ScoreOptions`, checked once, and hands that on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Any

from framing.core.formatting import counted
from framing.core.tables import ColumnMap
from framing.io.readers import resolve_id_column

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_SHARD_SIZE",
    "CorpusSummary",
    "ScoreOptions",
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
