"""Cue catalogues: loading and validating YAML files of framing cues.

A catalogue is a YAML mapping with ``name``, optional ``version`` and ``description``,
and ``cues``: a list of cues, each with ``id``, ``name``, ``description``, optional
``patterns`` (Python regular expressions, matched case-insensitively within one
sentence), ``exemplars`` (sentences that carry the cue), optional
``counter_exemplars`` (sentences that look alike but do not) and optional
``threshold`` (probability at which the cue counts as present, default 0.5).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from framing.errors import CatalogueError

__all__ = ["Cue", "Catalogue", "load_catalogue", "builtin_catalogue_path", "shipped_catalogues",
           "BUILTIN"]

BUILTIN = "builtin"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MAX_PATTERN_LEN = 500


@dataclass(frozen=True)
class Cue:
    """One framing cue of a catalogue."""

    id: str
    name: str
    description: str
    patterns: tuple[str, ...] = ()
    exemplars: tuple[str, ...] = ()
    counter_exemplars: tuple[str, ...] = ()
    threshold: float = 0.5
    compiled: tuple[re.Pattern, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class Catalogue:
    """A named, versioned list of cues, with the file it came from and its hash."""

    name: str
    cues: tuple[Cue, ...]
    version: str = "1"
    description: str = ""
    source: str = "<memory>"
    sha256: str = ""

    def __len__(self) -> int:
        return len(self.cues)

    def __iter__(self):
        return iter(self.cues)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.cues]

    def __getitem__(self, cue_id: str) -> Cue:
        for cue in self.cues:
            if cue.id == cue_id:
                return cue
        raise KeyError(f"No cue {cue_id!r} in catalogue {self.name!r}; cues: {', '.join(self.ids)}")


def builtin_catalogue_path(name: str = BUILTIN) -> Path:
    """Path of a catalogue shipped inside the package (default: the built-in cues)."""
    return Path(str(resources.files("framing") / "catalogues" / f"{name}.yaml"))


def shipped_catalogues() -> list[str]:
    """Names of the catalogues shipped with the package (``builtin`` first)."""
    folder = builtin_catalogue_path().parent
    names = sorted(p.stem for p in folder.glob("*.yaml"))
    return sorted(names, key=lambda n: n != BUILTIN)


def yaml_error_line(exc: Exception) -> str:
    """A YAML error in one line: what is wrong and where (PyYAML's own message spans
    several lines, with a quoted snippet and a caret)."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem is None:
        return " ".join(str(exc).split())
    context = getattr(exc, "context", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{context + ': ' if context else ''}{problem}{where}"


def _err(source: str, where: str, msg: str) -> CatalogueError:
    return CatalogueError(f"{source}: {where}: {msg}")


def _str_list(value: Any, source: str, where: str, *, min_len: int = 0) -> tuple[str, ...]:
    if value is None:
        value = []
    if not isinstance(value, list):
        raise _err(source, where, f"must be a list of strings, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise _err(source, f"{where}[{i}]", "must be a non-empty string")
    if len(value) < min_len:
        raise _err(source, where, f"needs at least {min_len} entries, has {len(value)}")
    return tuple(s.strip() for s in value)


def _parse(data: Any, source: str, sha: str, *, min_exemplars: int) -> Catalogue:
    if not isinstance(data, dict):
        raise _err(source, "top level", "must be a mapping with 'name' and 'cues'")
    unknown = set(data) - {"name", "version", "description", "cues"}
    if unknown:
        raise _err(source, "top level", f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _err(source, "field 'name'", "must be a non-empty string")
    cues_raw = data.get("cues")
    if not isinstance(cues_raw, list) or not cues_raw:
        raise _err(source, "field 'cues'", "must be a non-empty list of cues")
    cues: list[Cue] = []
    seen: set[str] = set()
    allowed = {"id", "name", "description", "patterns", "exemplars", "counter_exemplars",
               "threshold"}
    for i, raw in enumerate(cues_raw):
        if not isinstance(raw, dict):
            raise _err(source, f"cues[{i}]", "must be a mapping")
        cue_id = raw.get("id")
        if not isinstance(cue_id, str) or not _ID.match(cue_id):
            raise _err(source, f"cues[{i}] field 'id'",
                       f"{cue_id!r} is not valid: use lower-case letters, digits and underscores, "
                       "starting with a letter")
        where = f"cue {cue_id!r}"
        if cue_id in seen:
            raise _err(source, where, "duplicate id")
        seen.add(cue_id)
        extra = set(raw) - allowed
        if extra:
            raise _err(source, where, f"unknown field(s): {', '.join(sorted(map(str, extra)))}")
        for key in ("name", "description"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise _err(source, f"{where} field '{key}'", "must be a non-empty string")
        patterns = _str_list(raw.get("patterns"), source, f"{where} field 'patterns'")
        compiled = []
        for j, pat in enumerate(patterns):
            if len(pat) > _MAX_PATTERN_LEN:
                raise _err(source, f"{where} field 'patterns[{j}]'",
                           f"longer than {_MAX_PATTERN_LEN} characters")
            try:
                compiled.append(re.compile(pat, re.IGNORECASE))
            except re.error as exc:
                raise _err(source, f"{where} field 'patterns[{j}]'",
                           f"invalid regular expression {pat!r}: {exc}") from None
        exemplars = _str_list(raw.get("exemplars"), source, f"{where} field 'exemplars'",
                              min_len=min_exemplars)
        if not exemplars and not patterns:
            raise _err(source, where, "needs exemplars or patterns (it has neither)")
        counters = _str_list(raw.get("counter_exemplars"), source,
                             f"{where} field 'counter_exemplars'")
        threshold = raw.get("threshold", 0.5)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
                or not 0.0 < float(threshold) < 1.0:
            raise _err(source, f"{where} field 'threshold'", "must be a number between 0 and 1")
        cues.append(Cue(cue_id, raw["name"].strip(), raw["description"].strip(), patterns,
                        exemplars, counters, float(threshold), tuple(compiled)))
    return Catalogue(name.strip(), tuple(cues), str(data.get("version", "1")),
                     str(data.get("description", "") or ""), source, sha)


def load_catalogue(source: str | Path | dict | Catalogue | None = None, *,
                   min_exemplars: int = 1) -> Catalogue:
    """Load and validate a cue catalogue.

    ``source`` is ``None`` or ``"builtin"`` for the built-in catalogue, the name of
    another shipped catalogue (see :func:`shipped_catalogues`), a path to a YAML file,
    an already-parsed mapping, or a :class:`Catalogue` (returned as is).

    Raises :class:`CatalogueError` naming the file, the cue and the field at fault.
    """
    if isinstance(source, Catalogue):
        return source
    if isinstance(source, dict):
        return _parse(source, "<dict>", "", min_exemplars=min_exemplars)
    if source is None:
        source = BUILTIN
    name = str(source)
    is_name = isinstance(source, str) and _ID.match(name) is not None and "." not in name
    path = builtin_catalogue_path(name) if is_name and builtin_catalogue_path(name).is_file() \
        else Path(source)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CatalogueError(f"{path}: catalogue file not found") from None
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read catalogue: {exc}") from None
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{path}: not UTF-8 text ({exc})") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: invalid YAML: {yaml_error_line(exc)}") from None
    return _parse(data, str(path), hashlib.sha256(raw).hexdigest(), min_exemplars=min_exemplars)
