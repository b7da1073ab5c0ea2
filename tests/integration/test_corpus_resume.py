"""Scores directories: shards, manifest, resuming after a crash, the lock, the cache of
repeated texts, write failures, and .txt directories as input."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import framing
from framing.cli import main
from framing.io.corpus import score_corpus
from framing.io.runs import text_key
from framing.errors import (
    InputFormatError,
    OutputLockedError,
    OutputWriteError,
    ResumeError,
)
from framing.io.shards import OutputLock, read_scores

SUBJECTS = ["The council", "Farmers", "The ministry", "Both sides", "Critics", "Residents"]
VERBS = ["approved", "condemned", "welcomed", "rejected", "praised", "questioned"]
OBJECTS = ["the new bridge", "the water plan", "a win-win deal", "the budget", "the harbour"]


def _corpus(n: int, seed: int = 1, repeat_every: int = 7) -> list[dict]:
    """``n`` short articles with ids and outlets; every ``repeat_every``-th repeats an
    earlier text (sometimes with extra surrounding whitespace)."""
    rng = random.Random(seed)
    rows: list[dict] = []
    for i in range(n):
        if repeat_every and i % repeat_every == 3 and rows:
            text = rows[rng.randrange(len(rows))]["text"]
            if i % 2:
                text = f"  {text}\n"
        else:
            text = " ".join(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}."
                            for _ in range(rng.randint(1, 3)))
        rows.append({"id": f"a{i}", "text": text, "outlet": rng.choice(["X", "Y", "Z"])})
    return rows


def _write_jsonl(path: Path, objs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
    return path


class _Counting(framing.Analyzer):
    """The tiny analyzer, counting the texts handed to score_many; optionally raising on
    the ``fail_on``-th call."""

    def __init__(self, inner: framing.Analyzer, fail_on: int | None = None) -> None:
        self.__dict__.update(inner.__dict__)
        self.calls = 0
        self.texts: list[str] = []
        self.fail_on = fail_on

    def score_many(self, texts, *args, **kwargs):
        self.calls += 1
        if self.fail_on is not None and self.calls == self.fail_on:
            raise RuntimeError("interrupted on purpose")
        texts = list(texts)
        self.texts += texts
        return super().score_many(texts, *args, **kwargs)


def _score(src, out, analyzer, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("chunk_size", 4)
    kw.setdefault("shard_size", 8)
    return score_corpus(src, out, id="id", outlet="outlet", analyzer=analyzer, **kw)


def _shard_names(out: Path) -> list[str]:
    """Complete shards (not the .tmp of one being written)."""
    return sorted(p.name for p in out.iterdir()
                  if p.name.startswith("part-") and p.name.endswith(".parquet"))


# -- layout ------------------------------------------------------------------------------------
def test_shards_and_manifest_are_written(tmp_path, tiny_analyzer):
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(30, repeat_every=0))
    out = tmp_path / "scores"
    summary = _score(src, out, tiny_analyzer)
    assert summary.rows == 30 and summary.skipped == 0 and summary.shards == 4
    assert "skipped as already done" in str(summary) and "from the cache" in str(summary)
    assert _shard_names(out) == [f"part-0000{i}.parquet" for i in range(4)]
    assert {p.name for p in out.iterdir()} == {*_shard_names(out), "manifest.json"}
    sizes = [len(pd.read_parquet(out / n)) for n in _shard_names(out)]
    assert sizes == [8, 8, 8, 6]

    m = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "framing-scores" and m["status"] == "complete"
    assert m["framing_version"] == framing.__version__
    assert m["input"]["source"] == str(src.resolve())
    assert m["input"]["size"] == src.stat().st_size and len(m["input"]["sha256_head"]) == 64
    assert m["columns"]["id"] == "id" and m["columns"]["outlet"] == "outlet"
    assert m["parameters"]["shard_size"] == 8 and m["parameters"]["chunk_size"] == 4
    assert m["analyzer"]["catalogue_sha256"] == tiny_analyzer.catalogue.sha256
    assert m["analyzer"]["model_files"]["encoder"]["sha256"]
    assert m["progress"] == {"shards": 4, "rows": 30}
    assert m["created"] and m["updated"] and m["schema"][:2] == ["row", "id"]
    assert "text_sha256" in m["schema"]


def test_read_scores_equals_single_file_output(tmp_path, tiny_analyzer):
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(30))
    _score(src, tmp_path / "scores", tiny_analyzer)
    _score(src, tmp_path / "single.parquet", tiny_analyzer, chunk_size=4)
    shards = read_scores(tmp_path / "scores")
    single = read_scores(tmp_path / "single.parquet")
    assert list(shards["row"]) == list(range(1, 31))
    assert shards["text_sha256"].notna().all()
    pd.testing.assert_frame_equal(shards, single, check_exact=True)  # text hash included
    assert framing.read_scores is read_scores


@pytest.mark.parametrize("name,shards", [
    ("scores", True), ("scores/", True), ("nested/dir/", True), ("scores.parquet", False),
    ("scores.jsonl", False),
])
def test_output_kind_follows_the_name(tmp_path, tiny_analyzer, name, shards):
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(5))
    out = os.path.join(tmp_path, name)
    _score(src, out, tiny_analyzer)
    assert Path(out).is_dir() is shards
    assert len(read_scores(out)) == 5


def test_existing_directory_with_a_parquet_name_gets_shards(tmp_path, tiny_analyzer):
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(5))
    out = tmp_path / "spark_style.parquet"
    out.mkdir()
    _score(src, out, tiny_analyzer)
    assert (out / "part-00000.parquet").is_file()


def test_empty_input_gives_an_empty_directory_that_reads_back(tmp_path, tiny_analyzer):
    src = tmp_path / "in.jsonl"
    src.write_text("")
    summary = _score(src, tmp_path / "scores", tiny_analyzer)
    assert summary.rows == 0 and summary.shards == 0
    frame = read_scores(tmp_path / "scores")
    assert len(frame) == 0 and "tone" in frame.columns


# -- resuming in-process -----------------------------------------------------------------------
def test_resume_after_a_failure_equals_an_uninterrupted_run(tmp_path, tiny_analyzer):
    objs = _corpus(40, repeat_every=0)
    src = _write_jsonl(tmp_path / "in.jsonl", objs)
    _score(src, tmp_path / "reference", tiny_analyzer)
    reference = read_scores(tmp_path / "reference")

    out = tmp_path / "scores"
    boom = _Counting(tiny_analyzer, fail_on=6)  # the second chunk of the third shard
    with pytest.raises(RuntimeError, match="on purpose"):
        _score(src, out, boom)
    done = _shard_names(out)
    assert len(done) == 2
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert not (out / ".lock").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"

    again = _Counting(tiny_analyzer)
    summary = _score(src, out, again)
    assert summary.skipped == 8 * len(done)
    assert summary.rows == 40 - summary.skipped
    final = read_scores(out)
    pd.testing.assert_frame_equal(final, reference, check_exact=True)
    # the rows already done were not scored again
    done_texts = {o["text"] for o in objs[:16]}
    assert sorted(again.texts) == sorted({o["text"] for o in objs[16:]} - done_texts)
    # a third run has nothing left to do
    third = _Counting(tiny_analyzer)
    summary = _score(src, out, third)
    assert summary.rows == 0 and summary.skipped == 40 and third.calls == 0


def test_stray_temporary_files_are_removed_on_resume(tmp_path, tiny_analyzer):
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(20))
    out = tmp_path / "scores"
    with pytest.raises(RuntimeError):
        _score(src, out, _Counting(tiny_analyzer, fail_on=3))
    (out / "part-00001.parquet.tmp").write_bytes(b"half a parquet file")
    (out / "manifest.json.tmp").write_bytes(b"{")
    _score(src, out, tiny_analyzer)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert list(read_scores(out)["row"]) == list(range(1, 21))


def test_resume_refused_when_the_run_differs(tmp_path, tiny_analyzer):
    rows = _corpus(20)
    src = _write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "scores"
    with pytest.raises(RuntimeError):
        _score(src, out, _Counting(tiny_analyzer, fail_on=3))

    with pytest.raises(ResumeError, match="shard_size"):
        _score(src, out, tiny_analyzer, shard_size=10)
    with pytest.raises(ResumeError, match="evidence"):
        _score(src, out, tiny_analyzer, evidence=False)
    with pytest.raises(ResumeError, match="outlet"):
        score_corpus(src, out, id="id", analyzer=tiny_analyzer, chunk_size=4, shard_size=8,
                     progress=False)
    vader = framing.Analyzer(tone="vader", encoder=tiny_analyzer.encoder,
                             cue_detector=tiny_analyzer.cue_detector)
    with pytest.raises(ResumeError, match="tone_scorer") as info:
        _score(src, out, vader)
    assert "--overwrite" in str(info.value)
    with pytest.raises(ResumeError, match="resume=False"):
        _score(src, out, tiny_analyzer, resume=False)
    _write_jsonl(src, rows + [{"id": "new", "text": "One more.", "outlet": "X"}])
    with pytest.raises(ResumeError, match="input.size"):
        _score(src, out, tiny_analyzer)
    # overwrite starts afresh with the changed input and keeps foreign files
    (out / "notes.txt").write_text("mine")
    summary = _score(src, out, tiny_analyzer, overwrite=True)
    assert summary.skipped == 0 and summary.rows == 21
    assert (out / "notes.txt").read_text() == "mine"
    assert len(read_scores(out)) == 21


def test_resume_refused_when_the_frame_heads_changed(tmp_path, tiny_model_dir):
    """Frame heads are model files like the encoder's: the manifest hashes them, so new
    weights under the same directory and name are noticed."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    from framing.heads.frames.heads import fit_frame_heads

    encoder = framing.Encoder(tiny_model_dir)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2 * encoder.dim))
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0.3], axis=1)
    heads = fit_frame_heads(X, Y, ["alpha", "beta"], seed=1, pooling="mean_top3")
    heads.name = "tiny-frames"
    (tmp_path / "tiny-frames").mkdir()
    heads_dir = heads.save(tmp_path / "tiny-frames", "# card\n")
    scheme = heads_dir.name

    def analyzer():
        return framing.Analyzer(tone=None, cues=False, frames=[str(heads_dir)],
                                encoder=encoder)

    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(12))
    out = tmp_path / "scores"
    assert _score(src, out, analyzer()).rows == 12
    files = json.loads((out / "manifest.json").read_text())["analyzer"]["model_files"]
    assert files[f"frames:{scheme}"]["path"] == str(heads_dir)
    assert files[f"frames:{scheme}"]["sha256"]
    assert _score(src, out, analyzer()).skipped == 12  # the same heads: resumes

    weights = heads_dir / "model.safetensors"
    arrays = load_file(str(weights))
    arrays["W"] = arrays["W"] + np.float32(0.5)
    save_file(arrays, str(weights))
    with pytest.raises(ResumeError, match=f"model_files.frames:{scheme}") as info:
        _score(src, out, analyzer())
    assert "--overwrite" in str(info.value)


def test_resume_refuses_shards_without_manifest_or_with_a_gap(tmp_path, tiny_analyzer):
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(30))
    out = tmp_path / "scores"
    _score(src, out, tiny_analyzer)
    (out / "part-00001.parquet").unlink()
    with pytest.raises(ResumeError, match="part-00001.parquet"):
        _score(src, out, tiny_analyzer)
    (out / "manifest.json").unlink()
    with pytest.raises(ResumeError, match="no manifest"):
        _score(src, out, tiny_analyzer)


def test_an_edit_the_manifest_cannot_see_is_caught_row_by_row(tmp_path):
    """Same size, same first and last MiB, one letter changed in between: the text hashes
    kept in the shards catch it."""
    ns: dict = {}
    exec(textwrap.dedent(_STUB), ns)

    class Failing(ns["StubAnalyzer"]):
        calls = 0

        def score_many(self, texts, *args, **kwargs):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("interrupted on purpose")
            return super().score_many(texts, *args, **kwargs)

    rng = random.Random(3)
    objs = [{"id": f"b{i}", "outlet": "X",
             "text": " ".join(rng.choice(VERBS) for _ in range(25_000))} for i in range(16)]
    src = _write_jsonl(tmp_path / "in.jsonl", objs)
    assert src.stat().st_size > 2.5 * 2**20
    out = tmp_path / "scores"
    with pytest.raises(RuntimeError):
        _score(src, out, Failing(0))
    assert _shard_names(out) == ["part-00000.parquet"]
    raw = src.read_bytes()
    at = raw.index(b'"id": "b6"')
    at = raw.index(b"approved", at)
    src.write_bytes(raw[:at] + b"Approved" + raw[at + 8:])
    with pytest.raises(ResumeError, match="row 7 has another text"):
        _score(src, out, ns["StubAnalyzer"](0))


def test_chunk_size_may_change_between_runs(tmp_path, tiny_analyzer):
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(20))
    out = tmp_path / "scores"
    with pytest.raises(RuntimeError):
        _score(src, out, _Counting(tiny_analyzer, fail_on=3))
    summary = _score(src, out, tiny_analyzer, chunk_size=8)
    assert summary.skipped == 8 and summary.total == 20


# -- killing a real process --------------------------------------------------------------------
_STUB = '''
"""A cheap stand-in for framing.Analyzer: scores are a hash of the text, plus a pause."""
import hashlib, time
from framing.pipeline.results import ArticleResult, CueResult, Evidence

class StubAnalyzer:
    cue_ids = ["win_win", "mutual_respect"]
    batch_size = 8

    def __init__(self, pause):
        self.pause = pause

    def config(self):
        return {"analyzer": "test-stub", "pause": self.pause}

    def score_many(self, texts, batch_size=None, *, targets=None, ids=None, errors="flag"):
        time.sleep(self.pause)
        out = []
        for text, rid in zip(texts, ids or [None] * len(texts)):
            h = hashlib.sha256(text.strip().encode()).digest()
            p = [b / 255 for b in h[:3]]
            cues = {c: CueResult(c, c, p[i], p[i] > 0.5,
                                 [Evidence(0, 0, 10, text.strip()[:30], p[i])])
                    for i, c in enumerate(self.cue_ids)}
            tone = p[2] * 2 - 1
            out.append(ArticleResult(tone, "promotional" if tone > 0 else "critical", cues, [],
                                     tone_scorer="stub", id=rid))
        return out
'''

_RUNNER = '''
import json, sys
sys.path.insert(0, {here!r})
kind, src, out = sys.argv[1:4]
if kind == "stub":
    from stub_analyzer import StubAnalyzer
    analyzer = StubAnalyzer(pause=0.03)
else:
    import torch
    torch.set_num_threads(1)
    import framing
    analyzer = framing.Analyzer(kind, tone="similarity")
import framing
print("ready", flush=True)
s = framing.score_corpus(src, out, id="id", outlet="outlet", analyzer=analyzer,
                         chunk_size=5, shard_size=20, progress=False)
print(json.dumps({{"rows": s.rows, "skipped": s.skipped, "cached": s.cached}}), flush=True)
'''


def _runner(tmp_path: Path) -> Path:
    (tmp_path / "stub_analyzer.py").write_text(textwrap.dedent(_STUB))
    script = tmp_path / "runner.py"
    script.write_text(_RUNNER.format(here=str(tmp_path)))
    return script


def _start(script: Path, kind: str, src: Path, out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(script), kind, str(src), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise AssertionError(f"runner did not start: {line!r} {proc.stderr.read()}")
    return proc


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def _check_prefix(out: Path, reference: pd.DataFrame) -> int:
    """After a kill: the complete shards are a gap-free prefix of the reference rows."""
    names = _shard_names(out) if out.exists() else []
    assert names == [f"part-{i:05d}.parquet" for i in range(len(names))]
    if not names:
        return 0
    got = read_scores(out)
    assert len(got) == 20 * (len(names) - 1) + len(pd.read_parquet(out / names[-1]))
    pd.testing.assert_frame_equal(got, reference.iloc[:len(got)].reset_index(drop=True),
                                  check_exact=True)
    return len(got)


def _wait_for_a_new_shard(proc: subprocess.Popen, out: Path, before: int) -> None:
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if out.exists() and len(_shard_names(out)) > before:
            return
        time.sleep(0.005)


def _kill_and_resume(tmp_path: Path, kind: str, n_rows: int,
                     delays: list[float]) -> tuple[int, list[int], int]:
    """Run, SIGKILL, resume, ... then finish; compare with an uninterrupted run.

    The first kill comes ``delays[0]`` seconds after the runner is ready (so while it
    sets up: lock, manifest, fingerprints); each later one ``delays[i]`` seconds after
    the run has finished one more shard than it found (so mid-scoring, mid-write or
    mid-commit, wherever the delay lands). Returns how many kills landed before the run
    ended, the rows done after each, and how many kills left a shard half written."""
    script = _runner(tmp_path)
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(n_rows, seed=5))
    ref_out = tmp_path / "reference"
    _finish(_start(script, kind, src, ref_out))
    reference = read_scores(ref_out)
    assert len(reference) == n_rows

    out = tmp_path / "scores"
    killed, progress, half_written = 0, [], 0
    for i, delay in enumerate(delays):
        before = progress[-1] // 20 if progress else 0
        proc = _start(script, kind, src, out)
        if i:
            _wait_for_a_new_shard(proc, out, before)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed += 1
            half_written += any(p.name.endswith(".parquet.tmp") for p in out.iterdir())
        else:
            proc.communicate()
        progress.append(_check_prefix(out, reference))
    assert killed == len(delays), f"only {killed} kills landed mid-run: {progress}"
    assert progress == sorted(progress) and progress[-1] > progress[0]
    result = _finish(_start(script, kind, src, out))
    assert result["skipped"] == progress[-1]
    assert result["rows"] + result["skipped"] == n_rows
    final = read_scores(out)
    assert final["row"].is_unique and list(final["row"]) == list(range(1, n_rows + 1))
    pd.testing.assert_frame_equal(final, reference, check_exact=True)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    return killed, progress, half_written


def test_sigkill_at_random_moments_then_resume_equals_uninterrupted(tmp_path):
    """Five SIGKILLs at seeded random moments (a cheap stub analyzer, so that it is fast),
    each followed by a resume; the final table equals an uninterrupted run's."""
    rng = random.Random(20240601)
    _kill_and_resume(tmp_path, "stub", 400, [rng.uniform(0.0, 0.3) for _ in range(5)])


@pytest.mark.slow
def test_sigkill_then_resume_with_the_tiny_model(tmp_path, tiny_model_dir):
    """The same with a real (tiny, random) BERT analyzer built in each subprocess."""
    rng = random.Random(7)
    _kill_and_resume(tmp_path, str(tiny_model_dir), 300, [rng.uniform(0.0, 0.5) for _ in range(4)])


# -- the lock ----------------------------------------------------------------------------------
_HOLDER = '''
import sys, time
from framing.io.shards import OutputLock
lock = OutputLock(*sys.argv[1:]).acquire()
print("locked", flush=True)
time.sleep(120)
'''


def test_a_second_writer_is_refused_and_a_dead_ones_lock_taken_over(tmp_path, tiny_analyzer):
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(10))
    out = tmp_path / "scores"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputLockedError) as info:
            _score(src, out, tiny_analyzer)
        msg = str(info.value)
        assert f"process {holder.pid} on {socket.gethostname()}" in msg
        assert str(out) in msg
        assert not _shard_names(out)
        assert main(["score", str(src), "-o", str(out), "--no-progress"]) == 2
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (out / ".lock").exists()  # left behind by the killed holder: stale now
    summary = _score(src, out, tiny_analyzer)
    assert summary.rows == 10
    assert not (out / ".lock").exists()


def test_a_second_writer_of_one_output_file_is_refused(tmp_path, tiny_analyzer):
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(4))
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path), ".out.jsonl.lock"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputLockedError, match=f"out.jsonl is being written by process "
                                                    f"{holder.pid}"):
            _score(src, tmp_path / "out.jsonl", tiny_analyzer)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert _score(src, tmp_path / "out.jsonl", tiny_analyzer).rows == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_a_stale_lock_file_is_taken_over(tmp_path, tiny_analyzer):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(6))
    out = tmp_path / "scores"
    out.mkdir()
    (out / ".lock").write_text(json.dumps({"pid": dead.pid, "hostname": socket.gethostname()}))
    assert _score(src, out, tiny_analyzer).rows == 6
    # the fallback for filesystems without flock: O_EXCL file, stale pid taken over...
    (out / ".lock").write_text(json.dumps({"pid": dead.pid, "hostname": socket.gethostname()}))
    lock = OutputLock(out)._acquire_exclusive_file()
    assert json.loads((out / ".lock").read_text())["pid"] == os.getpid()
    # ...and a live holder refused
    with pytest.raises(OutputLockedError, match=str(os.getpid())):
        OutputLock(out)._acquire_exclusive_file()
    lock.release()
    assert not (out / ".lock").exists()


# -- write failures ----------------------------------------------------------------------------
def test_disk_full_gives_a_clear_error_and_keeps_earlier_shards(tmp_path, tiny_analyzer,
                                                                 monkeypatch):
    import framing.io.shards as shards

    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(20))
    out = tmp_path / "scores"
    real = shards._fsync_file
    calls = []

    def full(path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path)

    monkeypatch.setattr(shards, "_fsync_file", full)
    with pytest.raises(OutputWriteError) as info:
        _score(src, out, tiny_analyzer)
    msg = str(info.value)
    assert "part-00001.parquet" in msg and os.strerror(errno.ENOSPC) in msg
    assert "intact" in msg
    assert _shard_names(out) == ["part-00000.parquet"]
    assert len(pd.read_parquet(out / "part-00000.parquet")) == 8
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert not (out / ".lock").exists()
    monkeypatch.setattr(shards, "_fsync_file", real)
    summary = _score(src, out, tiny_analyzer)
    assert summary.skipped == 8 and summary.total == 20
    _score(src, tmp_path / "reference", tiny_analyzer)
    pd.testing.assert_frame_equal(read_scores(out), read_scores(tmp_path / "reference"),
                                  check_exact=True)


def test_permission_denied_on_a_shard_is_a_clear_error(tmp_path, tiny_analyzer, monkeypatch):
    """What a read-only directory does, simulated so that it runs as root too."""
    import pyarrow.parquet as pq

    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(20))
    out = tmp_path / "scores"
    real, made = pq.ParquetWriter, []

    def writer(path, *args, **kwargs):
        made.append(path)
        if len(made) == 2:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pq, "ParquetWriter", writer)
    with pytest.raises(OutputWriteError) as info:
        _score(src, out, tiny_analyzer)
    assert "part-00001.parquet.tmp" in str(info.value)
    assert os.strerror(errno.EACCES) in str(info.value)
    assert _shard_names(out) == ["part-00000.parquet"]
    monkeypatch.setattr(pq, "ParquetWriter", real)
    assert _score(src, out, tiny_analyzer).skipped == 8


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes to read-only directories")
def test_unwritable_output_directory(tmp_path, tiny_analyzer):
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(20))
    out = tmp_path / "scores"

    class LockOut(_Counting):  # the directory turns read-only during the run
        def score_many(self, texts, *args, **kwargs):
            if self.calls == 2:
                out.chmod(0o500)
            return super().score_many(texts, *args, **kwargs)

    try:
        with pytest.raises(OutputWriteError) as info:
            _score(src, out, LockOut(tiny_analyzer))
        assert str(out) in str(info.value)
        assert _shard_names(out) == ["part-00000.parquet"]
        with pytest.raises(OutputWriteError, match="lock"):
            _score(src, out, tiny_analyzer)
        assert main(["score", str(src), "-o", str(out), "--no-progress"]) == 2
    finally:
        out.chmod(0o700)
    assert len(pd.read_parquet(out / "part-00000.parquet")) == 8
    assert _score(src, out, tiny_analyzer).skipped == 8


# -- repeated texts ----------------------------------------------------------------------------
def test_repeated_texts_are_scored_once(tmp_path, tiny_analyzer):
    base = ["The council approved the bridge.", "Critics condemned the plan.",
            "Both sides hailed a win-win deal."]
    objs = []
    for i in range(24):
        text = base[i % 3] if i % 4 else f"Unique article number {i}."
        if i % 5 == 0:
            text = f"\n  {text}  "
        objs.append({"id": f"r{i}", "text": text, "outlet": f"o{i % 2}"})
    src = _write_jsonl(tmp_path / "in.jsonl", objs)
    counting = _Counting(tiny_analyzer)
    out = tmp_path / "scores"
    summary = _score(src, out, counting)
    distinct = {o["text"].strip() for o in objs}
    assert sorted(t.strip() for t in counting.texts) == sorted(distinct)
    assert summary.cached == len(objs) - len(distinct)
    frame = read_scores(out)
    assert list(frame["id"]) == [o["id"] for o in objs]
    assert list(frame["outlet"]) == [o["outlet"] for o in objs]
    cols = [c for c in frame.columns if c.startswith(("tone", "cue_")) or c == "n_sentences"]
    for _, group in frame.groupby("text_sha256"):
        assert len(group[cols].astype(str).drop_duplicates()) == 1
    direct = tiny_analyzer.score(base[2])  # r5 is base[2] with whitespace around it
    assert frame.loc[frame["id"] == "r5", "tone"].item() == pytest.approx(direct.tone, abs=1e-6)

    # the same text with a target is another article to score
    src = _write_jsonl(tmp_path / "targets.jsonl", [
        {"text": base[0], "who": None}, {"text": base[0], "who": "council"},
        {"text": base[0], "who": "council"}])
    counting = _Counting(tiny_analyzer)
    summary = score_corpus(src, tmp_path / "targets", target="who", analyzer=counting,
                           progress=False)
    assert counting.texts == [base[0], base[0]] and summary.cached == 1
    assert text_key(base[0], None) != text_key(base[0], "council")
    assert text_key(f" {base[0]}\n", None) == text_key(base[0], None)


def test_repeats_of_texts_done_before_a_crash_are_not_rescored(tmp_path, tiny_analyzer):
    early = [{"id": f"e{i}", "text": f"Early article {i} about the harbour.", "outlet": "X"}
             for i in range(8)]
    late = [{"id": f"l{i}", "text": early[i]["text"], "outlet": "Y"} for i in range(7)]
    late.append({"id": "new", "text": "A new article at last.", "outlet": "Y"})
    src = _write_jsonl(tmp_path / "in.jsonl", early + late)
    out = tmp_path / "scores"
    first = _Counting(tiny_analyzer, fail_on=3)
    with pytest.raises(RuntimeError):  # the third call, for the new text, after shard 0
        _score(src, out, first)
    assert first.calls == 3 and _shard_names(out) == ["part-00000.parquet"]
    again = _Counting(tiny_analyzer)
    summary = _score(src, out, again)
    assert summary.skipped == 8 and summary.cached == 7
    assert again.texts == ["A new article at last."]  # the repeats came from shard 0
    frame = read_scores(out)
    assert list(frame["outlet"]) == ["X"] * 8 + ["Y"] * 8
    pd.testing.assert_series_equal(frame["tone"].iloc[:7].reset_index(drop=True),
                                   frame["tone"].iloc[8:15].reset_index(drop=True))


def test_cache_size_zero_scores_every_row(tmp_path, tiny_analyzer):
    objs = [{"id": str(i), "text": "Same text every time.", "outlet": "X"} for i in range(10)]
    src = _write_jsonl(tmp_path / "in.jsonl", objs)
    counting = _Counting(tiny_analyzer)
    summary = _score(src, tmp_path / "scores", counting, cache_size=0, chunk_size=1)
    assert len(counting.texts) == 10 and summary.cached == 0


# -- other inputs ------------------------------------------------------------------------------
def test_txt_directory_input(tmp_path, tiny_analyzer):
    root = tmp_path / "texts"
    (root / "b_outlet" / "2024").mkdir(parents=True)
    (root / "a_outlet").mkdir()
    (root / "a_outlet" / "story2.txt").write_text("Critics condemned the plan.", encoding="utf-8")
    (root / "a_outlet" / "story1.txt").write_text("\ufeffThe council approved the bridge.",
                                                  encoding="utf-8")
    (root / "b_outlet" / "2024" / "bad.txt").write_bytes(b"Broken \xff\xfe bytes.")
    (root / "b_outlet" / "top.txt").write_text("Both sides hailed the deal.", encoding="utf-8")
    (root / "b_outlet" / "notes.md").write_text("not an article")
    (root / ".hidden.txt").write_text("hidden")
    (root / "z.txt").write_text("Critics condemned the plan.", encoding="utf-8")
    recs = list(framing.read_corpus(root))
    ids = ["a_outlet/story1", "a_outlet/story2", "b_outlet/2024/bad", "b_outlet/top", "z"]
    assert [r.id for r in recs] == ids
    assert [r.row for r in recs] == [1, 2, 3, 4, 5]
    assert recs[0].text == "The council approved the bridge."  # BOM dropped
    assert recs[2].text is None and "UTF-8" in recs[2].error

    out = tmp_path / "scores"
    summary = score_corpus(root, out, analyzer=tiny_analyzer, progress=False, shard_size=2)
    assert summary.rows == 5 and summary.errors == 1 and summary.cached == 1
    frame = read_scores(out)
    assert list(frame["id"]) == ids
    assert "UTF-8" in frame.loc[2, "error"] and pd.isna(frame.loc[2, "tone"])
    assert frame.loc[4, "tone"] == frame.loc[1, "tone"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["input"]["kind"] == "txt-directory" and m["input"]["files"] == 5
    # a new file is a different input
    (root / "zz.txt").write_text("Another one.")
    out.joinpath("part-00001.parquet").unlink()
    with pytest.raises(ResumeError, match="input.files"):
        score_corpus(root, out, analyzer=tiny_analyzer, progress=False, shard_size=2)
    with pytest.raises(InputFormatError, match="no columns"):
        score_corpus(root, tmp_path / "o2", id="name", analyzer=tiny_analyzer, progress=False)


def test_dataset_input_to_shards_and_resume(tmp_path, tiny_analyzer):
    datasets = pytest.importorskip("datasets")
    rows = _corpus(12)
    ds = datasets.Dataset.from_list(rows)
    out = tmp_path / "scores"
    with pytest.raises(RuntimeError):
        _score(ds, out, _Counting(tiny_analyzer, fail_on=3))
    summary = _score(ds, out, tiny_analyzer)
    assert summary.skipped == 8 and summary.total == 12
    assert list(read_scores(out)["id"]) == [r["id"] for r in rows]
    m = json.loads((out / "manifest.json").read_text())
    assert m["input"]["rows"] == 12 and m["input"]["fingerprint"]
    other = datasets.Dataset.from_list(rows[::-1])
    with pytest.raises(ResumeError):
        _score(other, out, tiny_analyzer)


# -- the command line --------------------------------------------------------------------------
def test_cli_resume_flags_and_summary(tmp_path, tiny_model_dir, capsys):
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(12))
    out = tmp_path / "scores"
    base = ["score", str(src), "-o", str(out), "--model", str(tiny_model_dir), "--tone",
            "similarity", "--id", "id", "--no-progress", "--shard-size", "5", "--chunk-size", "5"]
    assert main(base) == 0
    err = capsys.readouterr().err
    assert "Scored 12 articles" in err and "0 skipped as already done" in err
    assert "served from the cache" in err
    assert _shard_names(out) == ["part-00000.parquet", "part-00001.parquet",
                                 "part-00002.parquet"]
    assert main(base) == 0
    assert "Scored 0 articles" in (err := capsys.readouterr().err) and "12 skipped" in err
    assert main(base + ["--no-resume"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(base[:-4] + ["--shard-size", "4"]) == 2
    assert "shard_size" in capsys.readouterr().err
    assert main(base[:-4] + ["--shard-size", "4", "--overwrite"]) == 0
    assert "Scored 12 articles" in capsys.readouterr().err
    assert len(_shard_names(out)) == 3 and len(read_scores(out)) == 12


# -- deciding what is left without building the analyzer ----------------------------------------
def test_analyzer_arguments_let_a_resume_skip_done_rows_before_building(tmp_path,
                                                                        tiny_model_dir,
                                                                        monkeypatch):
    """Given as keyword arguments, the analyzer is built only when rows are left: the
    manifest's request and the model files' hashes show that it would be the same."""
    from framing.pipeline.analyzer import Analyzer

    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(20))
    out = tmp_path / "scores"
    arguments = {"model": str(tiny_model_dir), "tone": "similarity"}
    assert _score(src, out, arguments).rows == 20
    want = read_scores(out)
    built = []
    real_init = Analyzer.__init__

    def counting_init(self, *args, **kwargs):
        built.append(kwargs)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(Analyzer, "__init__", counting_init)
    summary = _score(src, out, dict(arguments))
    assert (summary.rows, summary.skipped, summary.shards, built) == (0, 20, 3, [])

    # the last shard lost: the analyzer is built for its rows alone
    (out / "part-00002.parquet").unlink()
    summary = _score(src, out, dict(arguments))
    assert (summary.rows, summary.skipped, len(built)) == (4, 16, 1)
    pd.testing.assert_frame_equal(read_scores(out), want)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"

    # an analyzer given as an object or a factory is built (or used) to compare in full
    assert _score(src, out, lambda: Analyzer(**arguments)).skipped == 20
    assert len(built) == 2
