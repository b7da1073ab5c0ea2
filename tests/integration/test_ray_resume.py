"""Resumable, fault-tolerant Ray runs (``engine="ray"``): the scores directory of a local
run, resumed after the driver dies (SIGKILL at seeded random moments), unharmed by an
actor that dies, and refused when the run changed.

A local Ray instance is started once for the module; the drivers that get killed run in
subprocesses joined to it. Most tests use a cheap stand-in analyzer whose scores are a
hash of the text (so Ray and local runs agree to the last bit, and scoring is quick);
the slow ones use a tiny random BERT built here.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

import framing
from framing.errors import ResumeError
from framing.io.corpus import score_corpus
from framing.io.distributed import score_corpus_ray
from framing.io.shards import read_scores
from ray_helpers import start_local_ray

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pytestmark = pytest.mark.optional

SUBJECTS = ["The council", "Farmers", "The ministry", "Both sides", "Critics", "Residents"]
VERBS = ["approved", "condemned", "welcomed", "rejected", "praised", "questioned"]
OBJECTS = ["the new bridge", "the water plan", "a win-win deal", "the budget", "the harbour"]
SHARD = 10

# The stand-in analyzer, as a module of its own: the subprocess drivers import it, and Ray
# ships it to the actors by value (it is no installed package).
_STUB = '''
"""Stand-ins for framing.Analyzer: scores are a hash of the text. Optionally each call
pauses, is logged (one line per call: how many texts), or kills the process once."""
import hashlib, os, time
from framing.pipeline.results import ArticleResult, CueResult, Evidence


class HashAnalyzer:
    cue_ids = ["win_win", "mutual_respect"]
    batch_size = 8

    def __init__(self, pause=0.0, log=None, die_on=None, marker=None, salt=""):
        self.pause, self.log, self.die_on, self.marker = pause, log, die_on, marker
        self.salt = salt
        self.calls = 0

    def config(self):
        return {"analyzer": "hash-stub", "salt": self.salt}

    def score_many(self, texts, batch_size=None, *, targets=None, ids=None, errors="flag"):
        self.calls += 1
        if self.die_on == self.calls:
            try:  # the first process to get here dies; the marker says it happened
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os._exit(3)
        texts = list(texts)
        if self.log:
            with open(os.path.join(self.log, f"{os.getpid()}.log"), "a") as fh:
                fh.write(f"{len(texts)}\\n")
        time.sleep(self.pause)
        out = []
        for text, rid in zip(texts, ids or [None] * len(texts)):
            h = hashlib.sha256((self.salt + text.strip()).encode()).digest()
            p = [b / 255 for b in h[:3]]
            cues = {c: CueResult(c, c, p[i], p[i] > 0.5,
                                 [Evidence(0, 0, 10, text.strip()[:30], p[i])])
                    for i, c in enumerate(self.cue_ids)}
            tone = p[2] * 2 - 1
            out.append(ArticleResult(tone, "promotional" if tone > 0 else "critical", cues,
                                     [], tone_scorer="stub", id=rid))
        return out

    def failed_result(self, error, id=None, target=None):
        return ArticleResult(None, None, {}, [], tone_scorer=None, flags=["error"],
                             error=error, id=id)


def tiny_analyzer(model):
    import torch
    torch.set_num_threads(1)
    import framing
    return framing.Analyzer(model, tone="similarity")
'''

_RUNNER = '''
import functools, json, sys
sys.path.insert(0, {here!r})
address, kind, src, out = sys.argv[1:5]
import ray
ray.init(address=address, log_to_driver=False)
import ray_stub
ray.cloudpickle.register_pickle_by_value(ray_stub)
from framing.io.distributed import score_corpus_ray
if kind == "stub":
    factory = functools.partial(ray_stub.HashAnalyzer, pause=0.05)
else:
    factory = functools.partial(ray_stub.tiny_analyzer, kind)
print("ready", flush=True)
s = score_corpus_ray(src, out, id="id", outlet="outlet", analyzer=factory, chunk_size=5,
                     shard_size={shard}, concurrency=2, progress=False)
print(json.dumps({{"rows": s.rows, "skipped": s.skipped, "shards": s.shards}}), flush=True)
'''


def _corpus(n: int, seed: int = 1) -> list[dict]:
    """``n`` short articles with ids and outlets, one of them without a text."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        text = " ".join(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}."
                        for _ in range(rng.randint(1, 3)))
        rows.append({"id": f"a{i}", "text": None if i == 5 else text,
                     "outlet": rng.choice(["X", "Y", "Z"])})
    return rows


def _write_jsonl(path: Path, objs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
    return path


def _shard_names(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir()
                  if p.name.startswith("part-") and p.name.endswith(".parquet"))


def _scored_texts(log: Path) -> int:
    """Texts the logging stand-ins were asked to score, over every actor."""
    return sum(int(line) for p in log.glob("*.log") for line in p.read_text().split())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A local Ray instance for the module (4 CPUs, so that a killed driver's actors may
    linger a moment beside the next driver's two), and the stand-in module."""
    here = tmp_path_factory.mktemp("ray-stub")
    (here / "ray_stub.py").write_text(textwrap.dedent(_STUB))
    sys.path.insert(0, str(here))
    stub = importlib.import_module("ray_stub")
    ray.cloudpickle.register_pickle_by_value(stub)
    # the factories defined below reach the actors by value too (tests is no package)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    start_local_ray(ray, num_cpus=4)
    yield {"address": ray.get_runtime_context().gcs_address, "here": here, "stub": stub}
    ray.shutdown()
    sys.path.remove(str(here))


def _ray(src, out, analyzer, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("chunk_size", 5)
    kw.setdefault("shard_size", SHARD)
    kw.setdefault("concurrency", 2)
    return score_corpus_ray(src, out, id="id", outlet="outlet", analyzer=analyzer, **kw)


def _local(src, out, analyzer, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("chunk_size", 5)
    kw.setdefault("shard_size", SHARD)
    return score_corpus(src, out, id="id", outlet="outlet", analyzer=analyzer, **kw)


# -- resuming in-process ------------------------------------------------------------------------
def test_a_resume_scores_only_the_missing_shards(cluster, tmp_path):
    """Shards lost anywhere (a gap, as a killed driver leaves them: units finish out of
    order) are scored again, and only they; the result equals a local run, bit for bit,
    and its manifest is the local run's (engine aside)."""
    stub = cluster["stub"]
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(47))
    local = _local(src, tmp_path / "local", stub.HashAnalyzer())
    want = read_scores(tmp_path / "local")
    out = tmp_path / "scores"
    first = _ray(src, out, partial(stub.HashAnalyzer))
    assert (first.rows, first.skipped, first.shards, first.errors) == (47, 0, 5, 1) == \
        (local.rows, 0, local.shards, local.errors)
    assert _shard_names(out) == [f"part-0000{i}.parquet" for i in range(5)]
    assert [len(pd.read_parquet(out / n)) for n in _shard_names(out)] == [10, 10, 10, 10, 7]
    pd.testing.assert_frame_equal(read_scores(out), want, check_exact=True)
    ours = json.loads((out / "manifest.json").read_text())
    theirs = json.loads((tmp_path / "local" / "manifest.json").read_text())
    for key in ("kind", "input", "columns", "analyzer", "schema", "status", "progress"):
        assert ours[key] == theirs[key], key
    assert ours["parameters"]["engine"] == "ray" and theirs["parameters"]["engine"] == "local"

    (out / "part-00001.parquet").unlink()
    (out / "part-00003.parquet").unlink()
    (out / "part-00002.parquet.tmp").write_bytes(b"half a shard")  # a kill mid-write
    log = tmp_path / "log"
    log.mkdir()
    again = _ray(src, out, partial(stub.HashAnalyzer, log=str(log)))
    assert (again.rows, again.skipped, again.shards) == (20, 27, 5)
    assert _scored_texts(log) == 20  # units 1 and 3, nothing else
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    pd.testing.assert_frame_equal(read_scores(out), want, check_exact=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["progress"] == {"shards": 5, "rows": 47}

    # nothing left: every shard checked, none scored
    third = _ray(src, out, partial(stub.HashAnalyzer, log=str(log)))
    assert (third.rows, third.skipped, _scored_texts(log)) == (0, 47, 20)


def test_a_local_run_resumes_a_ray_directory_and_the_other_way(cluster, tmp_path):
    stub = cluster["stub"]
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(35))
    _local(src, tmp_path / "ref", stub.HashAnalyzer())
    want = read_scores(tmp_path / "ref")
    out = tmp_path / "scores"
    _ray(src, out, partial(stub.HashAnalyzer))
    (out / "part-00003.parquet").unlink()  # the last shard: no gap, the local engine goes on
    summary = _local(src, out, stub.HashAnalyzer())
    assert (summary.rows, summary.skipped) == (5, 30)
    (out / "part-00000.parquet").unlink()
    summary = _ray(src, out, partial(stub.HashAnalyzer))
    assert (summary.rows, summary.skipped) == (10, 25)
    pd.testing.assert_frame_equal(read_scores(out), want, check_exact=True)


def test_a_changed_run_is_refused_with_the_differences(cluster, tmp_path):
    stub = cluster["stub"]
    rows = _corpus(30)
    src = _write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "scores"
    _ray(src, out, partial(stub.HashAnalyzer))
    (out / "part-00001.parquet").unlink()

    cases = [
        ({"shard_size": 8}, "parameters.shard_size: 10 then, 8 now"),
        ({"evidence": False}, "parameters.evidence: True then, False now"),
        ({"salt": "x"}, "analyzer.salt: '' then, 'x' now"),
    ]
    for change, listed in cases:
        analyzer = partial(stub.HashAnalyzer, salt=change.pop("salt", ""))
        with pytest.raises(ResumeError, match="--overwrite") as info:
            _ray(src, out, analyzer, concurrency=1, **change)
        assert listed in str(info.value)
    with pytest.raises(ResumeError, match="columns.outlet: 'outlet' then, None now"):
        score_corpus_ray(src, out, id="id", analyzer=partial(stub.HashAnalyzer),
                         shard_size=SHARD, progress=False)
    with pytest.raises(ResumeError, match="resume=False"):
        _ray(src, out, partial(stub.HashAnalyzer), resume=False)
    _write_jsonl(src, rows + [{"id": "new", "text": "One more.", "outlet": "X"}])
    with pytest.raises(ResumeError, match="input.size"):
        _ray(src, out, partial(stub.HashAnalyzer))
    assert _shard_names(out) == ["part-00000.parquet", "part-00002.parquet"]  # untouched

    # overwrite starts afresh with the new input and keeps the user's own files
    (out / "notes.txt").write_text("mine")
    summary = _ray(src, out, partial(stub.HashAnalyzer), overwrite=True)
    assert (summary.rows, summary.skipped) == (31, 0)
    assert (out / "notes.txt").read_text() == "mine"


def test_an_edit_the_fingerprint_cannot_see_is_caught_row_by_row(cluster, tmp_path):
    """A directory of .txt articles is fingerprinted by names and sizes only: a file
    rewritten with a text of the same size is caught by the text hashes in the shards."""
    stub = cluster["stub"]
    texts = tmp_path / "texts"
    texts.mkdir()
    for i in range(25):
        (texts / f"{i:02d}.txt").write_text(f"Article {i:02d}: the council approved the plan.")
    out = tmp_path / "scores"
    first = score_corpus_ray(texts, out, analyzer=partial(stub.HashAnalyzer), chunk_size=5,
                             shard_size=SHARD, progress=False, concurrency=1)
    assert (first.rows, first.shards) == (25, 3)
    got = read_scores(out)
    assert list(got["id"]) == [f"{i:02d}" for i in range(25)]
    assert list(got["row"]) == list(range(1, 26))
    (out / "part-00002.parquet").unlink()
    (texts / "03.txt").write_text("Article 03: the council rejected the plan.")
    with pytest.raises(ResumeError, match="row 4 has another text"):
        score_corpus_ray(texts, out, analyzer=partial(stub.HashAnalyzer), chunk_size=5,
                         shard_size=SHARD, progress=False, concurrency=1)


# -- an actor dies ---------------------------------------------------------------------------
def test_an_actor_that_dies_is_restarted_and_every_row_comes_out_once(cluster, tmp_path):
    """One actor's process exits (os._exit) in its second scoring call; Ray restarts it
    and it scores its units again: every row comes out once, as a local run has it."""
    stub = cluster["stub"]
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(60, seed=3))
    _local(src, tmp_path / "local", stub.HashAnalyzer())
    marker = tmp_path / "died"
    summary = _ray(src, tmp_path / "scores",
                   partial(stub.HashAnalyzer, pause=0.05, die_on=2, marker=str(marker)))
    assert marker.exists()  # the actor did die
    assert (summary.rows, summary.skipped, summary.shards) == (60, 0, 6)
    got = read_scores(tmp_path / "scores")
    assert list(got["row"]) == list(range(1, 61))
    pd.testing.assert_frame_equal(got, read_scores(tmp_path / "local"), check_exact=True)


@pytest.mark.slow
def test_an_actor_of_the_tiny_model_dies_mid_run(cluster, tmp_path, tiny_model_dir):
    """The same with the tiny BERT: the dead actor's units are scored again and equal an
    uninterrupted run's."""
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(40, seed=4))
    reference = _ray(src, tmp_path / "reference", partial(_tiny_dying, str(tiny_model_dir)))
    marker = tmp_path / "died"
    summary = _ray(src, tmp_path / "scores",
                   partial(_tiny_dying, str(tiny_model_dir), die_on=2, marker=str(marker)))
    assert marker.exists() and summary.rows == reference.rows == 40
    pd.testing.assert_frame_equal(read_scores(tmp_path / "scores"),
                                  read_scores(tmp_path / "reference"), check_exact=True)
    _local(src, tmp_path / "local", framing.Analyzer(tiny_model_dir, tone="similarity"))
    _assert_close(read_scores(tmp_path / "scores"), read_scores(tmp_path / "local"))
    # bit for bit, given what the actors run with: torch on the threads Ray gives a one-CPU
    # actor, and no cache of repeated texts across chunks
    code = (f"import framing; framing.score_corpus({str(src)!r}, {str(tmp_path / 'one')!r}, "
            f"id='id', outlet='outlet', chunk_size=5, shard_size={SHARD}, progress=False, "
            f"cache_size=0, analyzer={{'model': {str(tiny_model_dir)!r}, "
            "'tone': 'similarity'})")
    threads = os.environ.get("OMP_NUM_THREADS", "1")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=600,
                   env={**os.environ, "OMP_NUM_THREADS": threads})
    pd.testing.assert_frame_equal(read_scores(tmp_path / "scores"),
                                  read_scores(tmp_path / "one"), check_exact=True)


class _DyingAnalyzer(framing.Analyzer):
    """The tiny analyzer, whose process exits in its ``die_on``-th ``score_many`` call the
    first time (the marker file says it happened)."""

    def __init__(self, inner: framing.Analyzer, die_on: int | None, marker: str | None):
        self.__dict__.update(inner.__dict__)
        self.die_on, self.marker, self.calls = die_on, marker, 0

    def score_many(self, texts, *args, **kwargs):
        self.calls += 1
        if self.calls == self.die_on:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os._exit(3)
        return super().score_many(texts, *args, **kwargs)


def _tiny_dying(model: str, die_on: int | None = None, marker: str | None = None):
    return _DyingAnalyzer(framing.Analyzer(model, tone="similarity"), die_on, marker)


def _assert_close(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal to a local run: every column exactly but the scores, which may differ in the
    last digits (the actors' processes run torch with one thread)."""
    assert list(got.columns) == list(want.columns)
    floats = [c for c in want.columns if want[c].dtype.kind == "f"]
    others = [c for c in want.columns if c not in floats]
    pd.testing.assert_frame_equal(got[others], want[others], check_exact=True)
    pd.testing.assert_frame_equal(got[floats], want[floats], check_exact=False, atol=1e-5,
                                  rtol=0)


# -- killing the driver ----------------------------------------------------------------------
def _start(cluster: dict, kind: str, src: Path, out: Path) -> subprocess.Popen:
    script = cluster["here"] / "runner.py"
    if not script.exists():
        script.write_text(_RUNNER.format(here=str(cluster["here"]), shard=SHARD))
    proc = subprocess.Popen([sys.executable, str(script), cluster["address"], kind, str(src),
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        _kill(proc)
        raise AssertionError(f"runner did not start: {line!r} {proc.stderr.read()[-3000:]}")
    return proc


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the driver (and anything it started: it leads its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def _check_complete_shards(out: Path, reference: pd.DataFrame) -> int:
    """After a kill: every complete shard holds exactly the reference's rows of its unit
    (gaps allowed: units finish out of order). Returns the rows they hold."""
    names = _shard_names(out) if out.exists() else []
    rows = 0
    for name in names:
        k = int(name[5:10])
        got = pd.read_parquet(out / name)
        want = reference.iloc[k * SHARD:(k + 1) * SHARD].reset_index(drop=True)
        # one shard alone may lack the nulls that make a column of the whole an object one
        pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)
        rows += len(got)
    return rows


def _wait_for_a_new_shard(proc: subprocess.Popen, out: Path, before: set[str]) -> None:
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if out.exists() and set(_shard_names(out)) - before:
            return
        time.sleep(0.01)


def _kill_and_resume(cluster: dict, tmp_path: Path, kind: str, n_rows: int,
                     delays: list[float], reference: pd.DataFrame,
                     src: Path) -> tuple[int, list[int], int]:
    """Run, SIGKILL, resume, ... then finish; compare with ``reference``.

    The first kill comes ``delays[0]`` seconds after the driver is ready (while it sets
    up: lock, manifest, actors); each later one ``delays[i]`` seconds after the run has
    written a shard it did not find (so mid-scoring, mid-write, between a shard and the
    manifest, wherever it lands). Returns the kills that landed, the rows complete after
    each, and how many kills left a half-written shard behind."""
    out = tmp_path / "scores"
    killed, progress, half_written = 0, [], 0
    for i, delay in enumerate(delays):
        before = set(_shard_names(out)) if out.exists() else set()
        proc = _start(cluster, kind, src, out)
        if i:
            _wait_for_a_new_shard(proc, out, before)
        time.sleep(delay)
        if proc.poll() is None:
            _kill(proc)
            killed += 1
            half_written += out.exists() and \
                any(p.name.endswith(".parquet.tmp") for p in out.iterdir())
        else:
            proc.communicate()
        progress.append(_check_complete_shards(out, reference))
    assert killed == len(delays), f"only {killed} kills landed mid-run: {progress}"
    assert progress == sorted(progress) and progress[-1] > progress[0]
    result = _finish(_start(cluster, kind, src, out))
    assert result["skipped"] == progress[-1]
    assert result["rows"] + result["skipped"] == n_rows
    final = read_scores(out)
    assert final["row"].is_unique and list(final["row"]) == list(range(1, n_rows + 1))
    pd.testing.assert_frame_equal(final, reference, check_exact=True)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert not (out / ".lock").exists()
    return killed, progress, half_written


def test_sigkill_the_driver_at_random_moments_then_resume(cluster, tmp_path):
    """Four SIGKILLs of the driver at seeded random moments, each followed by a resume;
    the final table equals an uninterrupted local run's, every row exactly once."""
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(300, seed=5))
    _local(src, tmp_path / "local", cluster["stub"].HashAnalyzer())
    reference = read_scores(tmp_path / "local")
    rng = random.Random(20240611)
    killed, progress, half = _kill_and_resume(cluster, tmp_path, "stub", 300,
                                              [rng.uniform(0.0, 0.4) for _ in range(4)],
                                              reference, src)
    print(f"kills: {killed}, rows complete after each: {progress}, half-written: {half}")


@pytest.mark.slow
def test_sigkill_the_driver_with_the_tiny_model(cluster, tmp_path, tiny_model_dir):
    """The same with the tiny BERT in every actor: the resumed run equals an
    uninterrupted Ray run exactly, and a local run to the last digits."""
    src = _write_jsonl(tmp_path / "in.jsonl", _corpus(200, seed=6))
    _finish(_start(cluster, str(tiny_model_dir), src, tmp_path / "uninterrupted"))
    reference = read_scores(tmp_path / "uninterrupted")
    rng = random.Random(7)
    killed, progress, half = _kill_and_resume(cluster, tmp_path, str(tiny_model_dir), 200,
                                              [rng.uniform(0.0, 0.6) for _ in range(3)],
                                              reference, src)
    print(f"kills: {killed}, rows complete after each: {progress}, half-written: {half}")
    _local(src, tmp_path / "local", framing.Analyzer(tiny_model_dir, tone="similarity"))
    _assert_close(read_scores(tmp_path / "scores"), read_scores(tmp_path / "local"))
