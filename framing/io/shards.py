"""A scores directory: Parquet shards, a manifest, a lock, and reading it back.

Layout of a directory written by :func:`framing.score_corpus`::

    out/
      manifest.json          what was scored, by which models, with which parameters
      part-00000.parquet     rows of input records 1..shard_size (in input order)
      part-00001.parquet     the next shard_size records, and so on
      .lock                  present while a process writes (pid and host inside)

Each shard is written to ``part-NNNNN.parquet.tmp``, flushed to disk (fsync) and
renamed into place, so a shard under its final name is always complete: a run killed
at any moment leaves complete shards plus at most one stray ``.tmp`` file, which the
next run deletes. Progress is what the complete shards hold; nothing else needs to
survive a crash. Every row carries its input ``row`` number and ``text_sha256``, the hash
of its text and target (:func:`framing.io.runs.text_key`; null for an unreadable row):
a resumed run checks both against the input row by row, and reuses the hashes to serve
repeated texts from the cache.

``manifest.json`` (written atomically, rewritten after each shard):

- ``kind`` (``"framing-scores"``), ``manifest_version``, ``framing_version``;
  ``created``, ``updated``, ``finished`` (UTC, ISO 8601); ``status`` (``running`` or
  ``complete``); ``progress`` (``shards``, ``rows`` done).
- ``input``: ``source`` (absolute path), ``kind`` (``jsonl``, ``csv``, ``tsv``,
  ``parquet``, ``txt-directory`` or the class of an in-memory table); for a file its
  ``size``, ``mtime`` and the sha256 of its first and last MiB (``sha256_head``,
  ``sha256_tail``); for a ``.txt`` directory ``files``, ``bytes`` and a sha256 over every
  file's relative path and size; for a ``datasets.Dataset`` its ``rows`` and
  ``fingerprint``; for a pandas DataFrame its ``rows`` and a sha256 of its values.
- ``columns``: the column options (``text``, ``id``, ``outlet``, ``date``, ``title``,
  ``target``).
- ``parameters``: ``shard_size``, ``evidence``, ``format`` (compared on resume);
  ``chunk_size``, ``cache_size``, ``batch_size`` and ``engine`` (``local`` or ``ray``;
  recorded only: they change speed, not which rows are written).
- ``analyzer``: ``Analyzer.config()`` (encoder, tone scorer, cue detector, catalogue and
  its sha256, ``max_chars``, ...) plus ``model_files``: per artefact the analyzer loaded
  (``encoder``, ``tone``, ``cue_heads``, ``frames:<scheme>`` for each scheme's frame
  heads; see ``Analyzer.artefact_paths()``) its ``path`` and, for a local directory,
  ``files``, ``bytes`` and a sha256 over every file's bytes.
- ``schema``: the output columns in order.
- ``request``: what the analyzer was asked for, recorded so that a later run can tell
  without loading any model whether it would build the same one: ``analyzer`` (the
  ``Analyzer`` keyword arguments when the caller gave them as such, or None when it
  gave an object or a factory), ``catalogue_path`` (the file the cue catalogue was read
  from), ``cwd`` and ``prefix`` (the working directory and Python environment, which
  relative paths and installed models depend on).

Resuming compares everything above except times, ``status``, ``progress``, the input's
``source`` and ``mtime`` (so a moved or copied input still resumes), the recorded-only
parameters, model paths and ``request``. When the request is the same and every model
directory and the catalogue file still hash as recorded (:func:`analyzer_unchanged`),
the analyzer would be the same, and a resume decides what is left, and finishes when
nothing is, before any model is built.

Both engines write this directory alike, through the manifest steps of
:mod:`framing.io.runs`: :mod:`framing.io.corpus` (one machine) writes the shards in order;
:mod:`framing.io.distributed` (Ray) writes each shard as its actor finishes it, so a Ray
run that was killed may leave a gap (``part-00003`` missing, ``part-00004`` complete),
which it fills when resumed (the local engine refuses a gap). A scores directory named by
a URI (``s3://...``) is a :class:`UriShardDir`: the same files, written through
``pyarrow.fs``, without the lock.

This module knows nothing of models or scoring.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from framing.core.resources import file_sha256
from framing.errors import InputFormatError, OutputLockedError, OutputWriteError, ResumeError
from framing.io.readers import regular_files

__all__ = ["read_scores", "ShardDir", "ShardWriter", "OutputLock", "arrow_schema",
           "file_fingerprint", "dir_fingerprint", "input_fingerprint", "analyzer_fingerprint",
           "analyzer_request", "analyzer_unchanged", "check_manifest", "shard_index",
           "shard_name", "UriShardDir"]

MANIFEST = "manifest.json"
LOCK = ".lock"
MANIFEST_KIND = "framing-scores"
MANIFEST_VERSION = 1
_SHARD_RX = re.compile(r"^part-(\d{5,})\.parquet$")
_HEAD = 1 << 20  # bytes hashed at each end of an input file


def shard_name(index: int) -> str:
    """File name of shard ``index``."""
    return f"part-{index:05d}.parquet"


def shard_index(name: str) -> int | None:
    """The index of the shard named ``name``, or None when it names no shard."""
    m = _SHARD_RX.match(name)
    return int(m.group(1)) if m else None


_ARROW_TYPES = {"int64": "int64", "string": "string", "float64": "float64", "bool": "bool_"}


def arrow_schema(columns: list[tuple[str, str]]):
    """The ``pyarrow.Schema`` of output columns given as ``(name, type)`` (see
    :func:`framing.pipeline.schema.output_columns`)."""
    return pa.schema([(c, getattr(pa, _ARROW_TYPES[t])()) for c, t in columns])


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- fingerprints ---------------------------------------------------------------------
def file_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Size, modification time and sha256 of the first and last MiB of ``path``.

    Cheap on files of any size; resuming compares size and both hashes (the time is
    recorded for people, not compared: copying a file changes it).
    """
    path = Path(path)
    st = path.stat()
    with open(path, "rb") as fh:
        head = hashlib.sha256(fh.read(_HEAD)).hexdigest()
        if st.st_size > _HEAD:
            fh.seek(max(_HEAD, st.st_size - _HEAD))
            tail = hashlib.sha256(fh.read(_HEAD)).hexdigest()
        else:
            tail = head
    return {"size": st.st_size,
            "mtime": datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat(
                timespec="seconds"),
            "sha256_head": head, "sha256_tail": tail}


def dir_fingerprint(root: str | os.PathLike, *, contents: bool = True,
                    suffix: str | None = None) -> dict[str, Any]:
    """A hash over the files under ``root`` (hidden ones left out).

    With ``contents`` every file's bytes are hashed (model directories); without, only
    each file's relative path and size (a directory of input texts, where hashing
    gigabytes at every start would cost more than it guards). ``suffix`` keeps only
    files whose name ends with it (case-insensitive).
    """
    h = hashlib.sha256()
    n = total = 0
    for rel, path in regular_files(root):
        if suffix and not rel.lower().endswith(suffix):
            continue
        size = path.stat().st_size
        n, total = n + 1, total + size
        h.update(f"{rel}\0{size}\0".encode("utf-8", "surrogateescape"))
        if contents:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return {"files": n, "bytes": total, "sha256": h.hexdigest()}


# -- the lock -----------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return False
    return True


class OutputLock:
    """An exclusive lock on a scores directory, held in ``DIR/.lock`` (or on any output,
    held in the file ``name`` in ``directory``).

    ``fcntl.flock`` does the locking, so a lock whose process died (even by SIGKILL) is
    free again at once and is simply taken over; the file holds the pid, host and start
    time only to name the holder in the error. Where ``flock`` is unavailable the file
    itself is the lock (created with ``O_CREAT | O_EXCL``), and a lock left by a dead
    process on this host is taken over.
    """

    def __init__(self, directory: str | os.PathLike, name: str = LOCK) -> None:
        self.path = Path(directory) / name
        self._fd: int | None = None

    def _describe_holder(self) -> str:
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
            return (f"process {info.get('pid')} on {info.get('hostname')} "
                    f"(since {info.get('started')})")
        except (OSError, ValueError):
            return "another process"

    def _refuse(self) -> OutputLockedError:
        what = self.path.parent if self.path.name == LOCK else \
            self.path.parent / self.path.name[1:].removesuffix(".lock")
        return OutputLockedError(
            f"{what} is being written by {self._describe_holder()}: two runs "
            f"must not write the same output. Wait for it to finish (or stop it) and run "
            f"again; the lock is {self.path}.")

    def _stamp(self, fd: int) -> None:
        info = {"pid": os.getpid(), "hostname": socket.gethostname(), "started": now_iso()}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(info) + "\n").encode())

    def acquire(self) -> "OutputLock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self._acquire_exclusive_file()
        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise OutputWriteError(f"Cannot create the lock file {self.path}: "
                                       f"{exc.strerror or exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise self._refuse() from None
                return self._acquire_exclusive_file()  # a filesystem without flock
            try:  # the holder may have removed the file between our open and flock
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            self._stamp(fd)
            self._fd = fd
            return self
        raise self._refuse()  # pragma: no cover - lost the race ten times

    def _acquire_exclusive_file(self) -> "OutputLock":
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                try:
                    info = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    info = {}
                if info.get("hostname") == socket.gethostname() and \
                        isinstance(info.get("pid"), int) and not _pid_alive(info["pid"]):
                    self.path.unlink(missing_ok=True)  # stale: its process is gone
                    continue
                raise self._refuse() from None
            except OSError as exc:
                raise OutputWriteError(f"Cannot create the lock file {self.path}: "
                                       f"{exc.strerror or exc}") from exc
            self._stamp(fd)
            self._fd = fd
            return self
        raise self._refuse()

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


# -- the directory ------------------------------------------------------------------------
def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms that cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a flushed ``.tmp`` file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise OutputWriteError(f"Cannot write {path}: {exc.strerror or exc}") from exc


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


class ShardWriter:
    """Rows for one shard: written chunk by chunk (one row group each) to a ``.tmp``
    file, then flushed and renamed into place by :meth:`commit`."""

    def __init__(self, final: Path, schema) -> None:
        self.final = final
        self.tmp = final.with_name(final.name + ".tmp")
        self.schema = schema
        self.rows = 0
        self._writer = None

    def _fail(self, exc: OSError, what: str) -> OutputWriteError:
        self.abort()
        return OutputWriteError(
            f"Cannot {what} {self.tmp if what == 'write' else self.final}: "
            f"{exc.strerror or exc}. The shards completed before it in {self.final.parent} "
            "are intact; free space or fix permissions and run the same command again to "
            "resume.")

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.write_table(pa.Table.from_pylist(rows, schema=self.schema))

    def write_table(self, table: "pa.Table") -> None:
        """Add ``table`` (in :attr:`schema`) to the shard as one row group. Returns
        nothing; raises :class:`OutputWriteError` when it cannot be written."""
        try:
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
            self._writer.write_table(table)
        except OSError as exc:
            raise self._fail(exc, "write") from exc
        self.rows += table.num_rows

    def commit(self) -> None:
        try:
            if self._writer is None:  # pragma: no cover - commit is called after rows
                self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
            self._writer.close()
            self._writer = None
            _fsync_file(self.tmp)
            os.replace(self.tmp, self.final)
            _fsync_dir(self.final.parent)
        except OSError as exc:
            raise self._fail(exc, "finish") from exc

    def abort(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:
                pass
            self._writer = None
        _unlink_quietly(self.tmp)


class ShardDir:
    """The files of a scores directory: manifest, complete shards, stray temporaries."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def create(self) -> None:
        """Create the directory (and its parents) if needed, as :meth:`UriShardDir.create`
        does on a URI. Raises :class:`InputFormatError` when the path is an existing file
        and :class:`OutputWriteError` when the directory cannot be created."""
        if self.path.exists() and not self.path.is_dir():
            raise InputFormatError(f"{self.path} is a file; a scores directory (Parquet "
                                   "shards) is needed, so name a directory (a single output "
                                   "file of engine='local' is named .parquet, .jsonl or .csv)")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputWriteError(f"Cannot create the output directory {self.path}: "
                                   f"{exc.strerror or exc}") from exc

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def shard_path(self, index: int) -> Path:
        return self.path / shard_name(index)

    def shards(self) -> list[tuple[int, Path]]:
        """Complete shards as ``(index, path)``, in index order."""
        if not self.path.is_dir():
            return []
        found = []
        for entry in os.scandir(self.path):
            index = shard_index(entry.name)
            if index is not None and entry.is_file():
                found.append((index, Path(entry.path)))
        return sorted(found)

    def read_manifest(self) -> dict[str, Any] | None:
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # ValueError: bytes that are not UTF-8
            raise _unreadable_manifest(self.manifest_path, exc) from None
        return _parsed_manifest(text, self.manifest_path)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        manifest["updated"] = now_iso()
        data = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
        write_bytes_atomic(self.manifest_path, data.encode("utf-8"))

    def remove_temporaries(self) -> list[str]:
        """Delete ``*.tmp`` files left by an interrupted run; returns their names."""
        gone = []
        if self.path.is_dir():
            for entry in os.scandir(self.path):
                if entry.name.endswith(".tmp") and (
                        shard_index(entry.name[:-4]) is not None
                        or entry.name == MANIFEST + ".tmp"):
                    _unlink_quietly(Path(entry.path))
                    gone.append(entry.name)
        return gone

    def clear(self) -> None:
        """Delete this run's files (manifest first, then shards); other files stay."""
        try:
            self.manifest_path.unlink(missing_ok=True)
            self.remove_temporaries()
            for _, path in self.shards():
                path.unlink()
        except OSError as exc:
            raise OutputWriteError(f"Cannot clear {self.path} for overwrite: "
                                   f"{exc.strerror or exc}") from exc

    def write_table(self, index: int, table: "pa.Table") -> None:
        """Write ``table`` as shard ``index`` through a flushed ``.tmp`` file and a rename
        (see :class:`ShardWriter`). Returns nothing; raises :class:`OutputWriteError`."""
        writer = ShardWriter(self.shard_path(index), table.schema)
        try:
            writer.write_table(table)
            writer.commit()
        except BaseException:
            writer.abort()
            raise

    def read_columns(self, path: Any, columns: list[str]) -> "pa.Table":
        """The ``columns`` of the shard at ``path`` (as :meth:`shards` gives it)."""
        return pq.read_table(path, columns=columns)


def _unreadable_manifest(where: Any, exc: Exception) -> ResumeError:
    return ResumeError(f"{where} cannot be read ({exc}); remove the directory or pass "
                       "overwrite=True (--overwrite)")


def _parsed_manifest(text: str, where: Any) -> dict[str, Any]:
    """The manifest in ``text`` (read from ``where``); raises :class:`ResumeError` for
    text that is no framing scores manifest."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _unreadable_manifest(where, exc) from None
    if not isinstance(data, dict) or data.get("kind") != MANIFEST_KIND:
        raise ResumeError(f"{where} is not a framing scores manifest; choose another output "
                          "directory or pass overwrite=True (--overwrite)")
    return data


class UriShardDir:
    """A scores directory named by a URI (``s3://bucket/scores``, ``file:///data/scores``),
    written through a ``pyarrow.fs`` filesystem: the methods of :class:`ShardDir`, with
    paths on ``fs`` (strings) where :class:`ShardDir` has :class:`~pathlib.Path` objects.

    Each shard and the manifest are written to a ``.tmp`` object and moved into place,
    so a reader never sees a partial one under its final name (on object stores the
    move is a copy, and the new object appears whole). Object stores offer no lock:
    :class:`OutputLock` is for local directories only, so two runs must not write one
    URI at once."""

    def __init__(self, fs: Any, inner: str, uri: str) -> None:
        self.fs, self.inner, self.path = fs, inner.rstrip("/"), uri.rstrip("/")

    def _fail(self, what: str, where: str, exc: Exception) -> OutputWriteError:
        return OutputWriteError(f"Cannot {what} {where}: {exc}. The shards completed "
                                f"before it in {self.path} are intact; run the same command "
                                "again to resume.")

    def _at(self, name: str) -> str:
        return f"{self.inner}/{name}"

    @property
    def manifest_path(self) -> str:
        return self._at(MANIFEST)

    def shard_path(self, index: int) -> str:
        return self._at(shard_name(index))

    def create(self) -> None:
        """Create the directory (a no-op on object stores). Raises
        :class:`InputFormatError` when the URI names a file, :class:`OutputWriteError`
        when it cannot be created."""
        info = self.fs.get_file_info(self.inner)
        if info.type == pafs.FileType.File:
            raise InputFormatError(f"{self.path} is a file; a scores directory is needed")
        try:
            self.fs.create_dir(self.inner, recursive=True)
        except OSError as exc:
            raise self._fail("create", self.path, exc) from exc

    def _files(self) -> list[Any]:
        if self.fs.get_file_info(self.inner).type != pafs.FileType.Directory:
            return []
        return [e for e in self.fs.get_file_info(pafs.FileSelector(self.inner))
                if e.type == pafs.FileType.File]

    def shards(self) -> list[tuple[int, str]]:
        """Complete shards as ``(index, path on fs)``, in index order."""
        found = [(shard_index(e.base_name), e.path) for e in self._files()]
        return sorted((i, p) for i, p in found if i is not None)

    def read_manifest(self) -> dict[str, Any] | None:
        where = f"{self.path}/{MANIFEST}"
        try:
            with self.fs.open_input_stream(self.manifest_path) as fh:
                text = fh.read().decode("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            if self.fs.get_file_info(self.manifest_path).type == pafs.FileType.NotFound:
                return None
            raise _unreadable_manifest(where, exc) from None
        return _parsed_manifest(text, where)

    def _put(self, final: str, data: bytes) -> None:
        tmp = final + ".tmp"
        try:
            with self.fs.open_output_stream(tmp, compression=None) as fh:
                fh.write(data)
            self.fs.move(tmp, final)
        except OSError as exc:
            self._delete_quietly(tmp)
            raise self._fail("write", final, exc) from exc

    def _delete_quietly(self, path: str) -> None:
        try:
            self.fs.delete_file(path)
        except OSError:
            pass

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        manifest["updated"] = now_iso()
        data = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
        self._put(self.manifest_path, data.encode("utf-8"))

    def write_table(self, index: int, table: "pa.Table") -> None:
        """Write ``table`` as shard ``index`` (a ``.tmp`` object moved into place).
        Returns nothing; raises :class:`OutputWriteError`."""
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        self._put(self.shard_path(index), sink.getvalue().to_pybytes())

    def read_columns(self, path: str, columns: list[str]) -> "pa.Table":
        """The ``columns`` of the shard at ``path`` (as :meth:`shards` gives it)."""
        with self.fs.open_input_file(path) as fh:
            return pq.read_table(fh, columns=columns)

    def remove_temporaries(self) -> list[str]:
        """Delete ``*.tmp`` objects left by an interrupted run; returns their names."""
        gone = []
        for e in self._files():
            name = e.base_name
            if name.endswith(".tmp") and (shard_index(name[:-4]) is not None
                                          or name == MANIFEST + ".tmp"):
                self._delete_quietly(e.path)
                gone.append(name)
        return gone

    def clear(self) -> None:
        """Delete this run's objects (manifest first, then shards); others stay."""
        try:
            if self.fs.get_file_info(self.manifest_path).type == pafs.FileType.File:
                self.fs.delete_file(self.manifest_path)
            self.remove_temporaries()
            for _, path in self.shards():
                self.fs.delete_file(path)
        except OSError as exc:
            raise self._fail("clear", self.path, exc) from exc


# -- reading back ------------------------------------------------------------------------
def _sort_by_row(frame):
    # rows numbered once over the whole input: sort by number; numbered per file (a source
    # of several files repeats the numbers): keep the order written, file after file
    if "row" in frame.columns and len(frame) and frame["row"].is_unique:
        frame = frame.sort_values("row", kind="stable")
    return frame.reset_index(drop=True)


def read_scores(path: str | os.PathLike, columns: list[str] | None = None):
    """Read scores written by :func:`framing.score_corpus` into one pandas DataFrame, in
    input order: sorted by the input ``row`` number, except for a source of several files,
    whose rows are numbered within each file: those keep the order both engines write
    them in, file after file.

    ``path`` is a scores directory (its complete ``part-*.parquet`` shards are read;
    temporaries of an interrupted run are ignored, so a directory still being written
    gives the rows done so far) or a single ``.parquet`` / ``.jsonl`` / ``.csv`` file.
    ``columns`` picks columns (default all).

    Raises :class:`FileNotFoundError` when ``path`` does not exist and
    :class:`~framing.errors.InputFormatError` for a file of unknown format.
    """
    path = Path(path)
    if path.is_dir():
        d = ShardDir(path)
        tables = [pq.read_table(p, columns=columns) for _, p in d.shards()]
        if tables:
            frame = pa.concat_tables(tables).to_pandas()
        else:
            manifest = d.read_manifest() or {}
            names = manifest.get("schema") or []
            if columns is not None:
                names = [c for c in names if c in columns]
            frame = pd.DataFrame(columns=names)
        return _sort_by_row(frame)
    if not path.exists():
        raise FileNotFoundError(f"No scores at {path}")
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        frame = pd.read_parquet(path, columns=columns)
    elif name.endswith((".jsonl", ".ndjson", ".json")):
        frame = pd.read_json(path, lines=True, dtype={"id": str})
    elif name.endswith((".csv", ".tsv")):
        frame = pd.read_csv(path, sep="\t" if name.endswith(".tsv") else ",",
                            dtype={"id": str}, keep_default_na=True)
    else:
        raise InputFormatError(f"{path}: cannot tell the format of a scores file; expected a "
                               "directory of shards or a .parquet, .jsonl or .csv file")
    if columns is not None and not name.endswith((".parquet", ".pq")):
        frame = frame[columns]
    return _sort_by_row(frame)


# -- the manifest's fingerprints and what resuming compares ------------------------------------
def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def input_fingerprint(source: Any, kind: str | None, *, suffix: str = ".txt") -> dict[str, Any]:
    """The manifest's ``input`` entry for ``source``: a file path of format ``kind``, a
    directory of ``suffix`` files (``kind="txt"``), a multi-file listing
    (``kind="files"``: a :class:`framing.io.sources.InputFiles`, described by its
    ``fingerprint()``: the names given, the number and total size of its files, a sha256
    over each file's path, format, size and modification time, and, for up to
    :data:`framing.io.sources.LISTED_FILES` files, each file's entry, so that a resume
    refused for a changed or added file names it), a ``datasets.Dataset`` or a pandas
    DataFrame (see the module docstring)."""
    if kind == "files":
        return _jsonable(source.fingerprint())
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).resolve()
        if kind == "txt":
            return {"source": str(path), "kind": "txt-directory",
                    **dir_fingerprint(path, contents=False, suffix=suffix)}
        return {"source": str(path), "kind": kind, **file_fingerprint(path)}
    info: dict[str, Any] = {"source": None,
                            "kind": f"{type(source).__module__}.{type(source).__qualname__}"}
    try:
        info["rows"] = len(source)
    except TypeError:
        pass
    fingerprint = getattr(source, "_fingerprint", None)  # datasets.Dataset
    if isinstance(fingerprint, str):
        info["fingerprint"] = fingerprint
    elif hasattr(source, "iloc"):  # pandas: a hash of every value and the index
        try:
            values = pd.util.hash_pandas_object(source, index=True).to_numpy()
            info["sha256"] = hashlib.sha256(values.tobytes()).hexdigest()
        except (TypeError, ValueError):
            pass
    return info


def _probed_artefacts(analyzer: Any) -> dict[str, Any]:
    """Where the model artefacts of an object without ``artefact_paths()`` (a stand-in
    for an Analyzer) live, read from the attributes an Analyzer has."""
    tone = getattr(analyzer, "tone_scorer", None)
    places = {
        "encoder": getattr(getattr(analyzer, "encoder", None), "location", None),
        "tone": getattr(tone, "path", None) or getattr(tone, "location", None),
        "cue_heads": getattr(getattr(getattr(analyzer, "cue_detector", None), "heads", None),
                             "path", None),
    }
    for scorer in getattr(analyzer, "frame_scorers", None) or []:
        place = getattr(scorer, "artefact_path", None)
        if place is not None:
            places[f"frames:{getattr(scorer, 'scheme', '?')}"] = place
    return {k: v for k, v in places.items() if v is not None}


def analyzer_fingerprint(analyzer: Any) -> dict[str, Any]:
    """The manifest's ``analyzer`` entry: ``analyzer.config()`` (or its class, for an
    object without one) plus, under ``model_files``, content hashes of every local model
    directory it loaded (``analyzer.artefact_paths()``: encoder, tone model, cue heads,
    each scheme's frame heads); an artefact that is no local directory (a hub id) is
    recorded by name."""
    config = getattr(analyzer, "config", None)
    info: dict[str, Any] = dict(config()) if callable(config) else {
        "class": f"{type(analyzer).__module__}.{type(analyzer).__qualname__}"}
    listed = getattr(analyzer, "artefact_paths", None)
    places = dict(listed()) if callable(listed) else _probed_artefacts(analyzer)
    files = {}
    for what, place in places.items():
        if place is None:
            continue
        if Path(str(place)).is_dir():
            files[what] = {"path": str(place), **dir_fingerprint(place)}
        else:
            files[what] = {"path": str(place)}  # a hub id: its name is all there is
    info["model_files"] = files
    return _jsonable(info)


#: Analyzer arguments that change speed, not scores: left out when requests are compared.
SPEED_ONLY_ARGUMENTS = ("batch_size",)


def analyzer_request(arguments: Any, analyzer: Any = None) -> dict[str, Any]:
    """The manifest's ``request`` entry (see the module docstring): ``arguments`` are the
    ``Analyzer`` keyword arguments the run was given (None when it was given an object or
    a factory instead; recorded as None too when an argument is an object rather than
    plain data such as a path or a name), ``analyzer`` the analyzer built from them, if
    it was (its catalogue's file is recorded)."""
    catalogue = getattr(analyzer, "catalogue", None)
    source = getattr(catalogue, "source", None)
    place = Path(source) if isinstance(source, str) else None
    if arguments is not None:
        arguments = {k: os.fspath(v) if isinstance(v, os.PathLike) else v
                     for k, v in dict(arguments).items()}
        if not _plain(arguments):  # an object among them: what it holds is not recorded
            arguments = None
    return _jsonable({
        "analyzer": arguments,
        "catalogue_path": str(place.resolve()) if place is not None and place.is_file()
        else None,
        "cwd": os.getcwd(),
        "prefix": sys.prefix,
    })


def _plain(value: Any) -> bool:
    """Whether ``value`` is made of JSON's strings, numbers, booleans, nulls, lists and
    string-keyed dicts only (so that equal records mean equal values)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _same_request(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def compared(request: dict[str, Any]) -> dict[str, Any]:
        arguments = {k: v for k, v in (request.get("analyzer") or {}).items()
                     if k not in SPEED_ONLY_ARGUMENTS}
        return {**request, "analyzer": arguments, "catalogue_path": None}

    return old.get("analyzer") is not None and new.get("analyzer") is not None and \
        compared(old) == compared(new)


def analyzer_unchanged(old: dict[str, Any], request: dict[str, Any]) -> bool:
    """Whether a run with ``request`` (from :func:`analyzer_request`, no analyzer built)
    would build the same analyzer as the run that wrote the manifest ``old``, told from
    files alone, loading no model: the same keyword arguments (speed-only ones aside),
    working directory and Python environment, every model directory ``old`` lists still
    hashing as it did, and the catalogue file too.

    Returns False whenever that cannot be told this way (arguments not given as such, a
    model that is no local directory, a catalogue not read from a file, a file that
    cannot be read): the caller then builds the analyzer and compares its fingerprint
    (:func:`check_manifest`), which says what differs. Never raises.
    """
    recorded = old.get("request")
    if not isinstance(recorded, dict) or not _same_request(recorded, request):
        return False
    info = old.get("analyzer") or {}
    try:
        for entry in (info.get("model_files") or {}).values():
            path, digest = (entry or {}).get("path"), (entry or {}).get("sha256")
            if not path or not digest or not Path(path).is_dir() or \
                    dir_fingerprint(path)["sha256"] != digest:
                return False
        if info.get("catalogue_sha256") is not None:
            place = recorded.get("catalogue_path")
            if not place or not Path(place).is_file() or \
                    file_sha256(Path(place)) != info["catalogue_sha256"]:
                return False
    except OSError:
        return False
    return True


_NOT_COMPARED_INPUT = {"source", "mtime"}
_NOT_COMPARED_ANALYZER = {"encoder_location", "model_files"}
COMPARED_PARAMETERS = ("shard_size", "evidence", "format")


def _compared(manifest: dict[str, Any], with_analyzer: bool) -> dict[str, Any]:
    out = {
        "framing_version": manifest.get("framing_version"),
        "input": {k: v for k, v in (manifest.get("input") or {}).items()
                  if k not in _NOT_COMPARED_INPUT},
        "columns": manifest.get("columns"),
        "parameters": {k: (manifest.get("parameters") or {}).get(k)
                       for k in COMPARED_PARAMETERS},
    }
    if with_analyzer:
        an = manifest.get("analyzer") or {}
        out["analyzer"] = {k: v for k, v in an.items() if k not in _NOT_COMPARED_ANALYZER}
        out["model_files"] = {k: (v or {}).get("sha256", (v or {}).get("path"))
                              for k, v in (an.get("model_files") or {}).items()}
    return out


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        diffs = []
        for k in list(old) + [k for k in new if k not in old]:
            diffs += _differences(old.get(k), new.get(k), f"{prefix}{k}.")
        return diffs
    if old != new:
        return [f"{prefix.rstrip('.')}: {old!r} then, {new!r} now"]
    return []


def check_manifest(directory: str | os.PathLike, old: dict[str, Any], new: dict[str, Any],
                   with_analyzer: bool) -> None:
    """Raise :class:`ResumeError` listing what differs between the manifest on disk
    (``old``) and this run's (``new``); ``with_analyzer`` adds the analyzer entries (the
    rest is checked before any model is loaded)."""
    diffs = _differences(_compared(old, with_analyzer), _compared(new, with_analyzer))
    if diffs:
        shown = "; ".join(diffs[:8]) + ("; ..." if len(diffs) > 8 else "")
        raise ResumeError(
            f"Cannot resume {directory}: it was written from another input, with other "
            f"models or with other parameters ({shown}). Pass overwrite=True (--overwrite) to "
            "start afresh, or write to another directory.")
