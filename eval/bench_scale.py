"""Cost of scoring at scale: Ray actors against a local run, measured, then projected.

    python eval/bench_scale.py [--articles 200] [--actors 1,2] [--backends torch,onnx-fp32]
                               [--repeats 2] [--chunk 10] [--write] [--json OUT]
    python eval/bench_scale.py --quick          # a handful of articles: a smoke test

The corpus is built at run time: ``--articles`` real news articles drawn (seeded) from
``allsides_news.jsonl.gz`` in ``../shared/data/real`` so that their mean length lands
near ``--mean-words`` (650), written to a temporary JSONL file (and, for Ray, the same
articles split into files of ``--chunk`` articles). Both engines write shards of
``--chunk`` articles (``shard_size``), and a Ray run hands one shard's rows to an actor at
a time, so a corpus of a few hundred articles still keeps every actor busy. Without that directory, articles are stitched together from the
example corpus that ships with framing, and the output says so (its sentences repeat,
and a repeated sentence is encoded once per call, so its rates flatter the pipeline).
Nothing of the corpus is kept.

For each backend in ``--backends`` (``torch``; ``onnx-fp32``: the float32 ONNX Runtime
graph, the default where ``framing[onnx]`` is installed; ``onnx``: the int8 graph), passed
as ``Analyzer(backend=...)``, it measures, in the same run:

- ``local``: :func:`framing.score_corpus` (``engine="local"``, shard output, the cache of
  repeated texts off) in a fresh child process limited to ``--local-threads`` threads
  (default 1, the CPUs one actor gets), with the Analyzer built before the clock starts;
  articles/s, sentences/s and the child's peak RSS (``ru_maxrss``);
- ``Ray xN``: :func:`framing.io.distributed.score_corpus_ray` with ``concurrency=N`` for
  each N in ``--actors`` and ``num_cpus_per_actor=1``, on a local Ray started once
  (``ray.init`` is timed on its own). The wall time covers everything a run pays once
  Ray is up: actors started, models loaded in each, scoring, shards written. Each actor
  builds its Analyzer through a factory that reports the actor's pid and build time;
  the driver reads each actor's peak RSS (``VmHWM`` in ``/proc/<pid>/status``, else
  psutil's RSS) every ``--sample-every`` seconds.

In both, the Analyzer's ``score_many`` is wrapped (on that instance, for this benchmark
only) to record when each call starts and ends, and how many sentences it scored: the
*steady* time of a run is from the first call's start to the last call's end, on any
actor, which leaves out the fixed costs (processes, imports and models starting, the
last shard and the manifest written). Ray's overhead is the 1-actor wall time over the
local wall time (fixed costs in: what a small corpus pays), and the same with the
steady times (what each article pays on a long run). Each figure is the best of
``--repeats`` runs, by wall time.

The projection (hours and core-hours per million articles of ``--mean-words`` words on
CPU cores) rests on: words per sentence as measured on this corpus; sentences per
article = mean words / words per sentence; a per-core rate = the Ray 1-actor steady
rate (Ray's per-batch overhead in); each core past the first adding what the second
actor added here (the sum of the two actors' own steady rates, over the 1-actor rate,
minus one: linear scaling at the measured 1 -> 2 slope), next to an ideal column (a
full core each). Fixed costs are left out of the per-million figures and reported on
their own; they do not grow with the corpus.

GPU: ``--device cuda`` passes ``device="cuda"`` to the Analyzer (its encoder runs there;
the ONNX backend runs on the CPU only) and gives each actor a share of one GPU. Where
``torch.cuda.is_available()`` is false the output says "no GPU available: not measured".
The Analyzer has no half-precision option, so fp16 is not measured either.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import math
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL_DATA = HERE.parent.parent / "shared" / "data" / "real"
REAL_FILE = "allsides_news.jsonl.gz"
MIB = 2**20


# -- the corpus ------------------------------------------------------------------------------
def _words(text: str) -> int:
    return len(text.split())


def pick_near_mean(pool: list[dict], n: int, mean_words: float, seed: int) -> list[dict]:
    """``n`` articles of ``pool`` (dicts with ``text``), drawn in a seeded order and kept
    while the running mean of their word counts stays within 5 % of ``mean_words`` or
    moves towards it. Returns fewer than ``n`` only when the pool runs out."""
    order = list(pool)
    random.Random(seed).shuffle(order)
    picked: list[dict] = []
    total = 0
    slack = 0.05 * mean_words
    for art in order:
        if len(picked) >= n:
            break
        w = _words(art["text"])
        before = abs(total / len(picked) - mean_words) if picked else math.inf
        after = abs((total + w) / (len(picked) + 1) - mean_words)
        if after <= max(before, slack):
            picked.append(art)
            total += w
    return picked


def real_articles(data_dir: Path, n: int, mean_words: float, seed: int) -> list[dict]:
    """News articles of 150-3,000 words from ``data_dir / REAL_FILE``, picked by
    :func:`pick_near_mean`, as ``{"id", "outlet", "text"}`` dicts."""
    pool = []
    with gzip.open(data_dir / REAL_FILE, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            text = rec.get("text")
            if isinstance(text, str) and 150 <= _words(text) <= 3000:
                pool.append({"id": str(rec["id"]), "outlet": str(rec.get("outlet") or ""),
                             "text": text})
    return pick_near_mean(pool, n, mean_words, seed)


def example_articles(n: int, mean_words: float, seed: int) -> list[dict]:
    """``n`` articles of about ``mean_words`` words, each a seeded run of bodies of the
    example corpus shipped with framing joined together."""
    import framing

    rows = [json.loads(line) for line in
            framing.example_corpus_path().read_text(encoding="utf-8").splitlines() if line]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        parts, words = [], 0
        while words < mean_words:
            body = rng.choice(rows)["body"]
            parts.append(body)
            words += _words(body)
        out.append({"id": f"example-{i:05d}", "outlet": "example", "text": "\n\n".join(parts)})
    return out


def write_corpus(articles: list[dict], folder: Path, per_file: int) -> tuple[Path, Path]:
    """The articles as one JSONL file (for the local run) and as a directory of JSONL
    files of ``per_file`` articles each (for Ray). Returns both paths."""
    single = folder / "corpus.jsonl"
    split = folder / "corpus_split"
    split.mkdir()
    lines = [json.dumps(a, ensure_ascii=False) + "\n" for a in articles]
    single.write_text("".join(lines), encoding="utf-8")
    for k in range(0, len(lines), per_file):
        (split / f"part-{k // per_file:05d}.jsonl").write_text("".join(lines[k:k + per_file]),
                                                               encoding="utf-8")
    return single, split


# -- memory of other processes ----------------------------------------------------------------
def peak_rss_mib(pid: int) -> float | None:
    """Peak resident memory of process ``pid`` so far (``VmHWM``), else its current RSS
    (psutil, where there is no ``/proc``); None once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / MIB
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / MIB
    except Exception:  # psutil missing, or the process ended: nothing more to read
        return None


class ActorWatch(threading.Thread):
    """Samples, every ``every`` seconds, the peak RSS of each actor that has reported its
    pid in ``folder`` (files ``actor-<pid>.json`` written by :func:`build_in_actor`)."""

    def __init__(self, folder: Path, every: float) -> None:
        super().__init__(daemon=True)
        self.folder, self.every = folder, every
        self.peaks: dict[int, float] = {}
        self.halt = threading.Event()

    def sample(self) -> None:
        for path in self.folder.glob("actor-*.json"):
            pid = int(path.stem.split("-", 1)[1])
            mib = peak_rss_mib(pid)
            if mib is not None:
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), mib)

    def run(self) -> None:
        while not self.halt.wait(self.every):
            self.sample()

    def stop(self) -> dict[int, float]:
        self.sample()
        self.halt.set()
        self.join()
        return self.peaks


def timed(analyzer, info: dict, report=None):
    """Wrap ``analyzer.score_many`` (this instance only: instrumentation for this
    benchmark) so that each call adds to ``info``: ``batches``, ``rows``, ``sentences``,
    ``busy_seconds``, and the clock times (``time.time()``) of the first call's start
    and the last call's end; ``report()`` runs after each call. Returns ``analyzer``."""
    info.update(batches=0, rows=0, sentences=0, busy_seconds=0.0, first_start=None,
                last_end=None)
    score_many = analyzer.score_many

    @functools.wraps(score_many)
    def timed_score_many(texts, *a, **kw):
        texts = list(texts)
        start, c0 = time.time(), time.perf_counter()
        out = score_many(texts, *a, **kw)
        info["busy_seconds"] += time.perf_counter() - c0
        info["first_start"] = info["first_start"] or start
        info["last_end"] = time.time()
        info["batches"] += 1
        info["rows"] += len(texts)
        info["sentences"] += sum(len(r.sentences) for r in out)
        if report is not None:
            report()
        return out

    analyzer.score_many = timed_score_many
    return analyzer


def build_in_actor(kwargs: dict, folder: str):
    """The Analyzer factory each Ray actor calls: builds ``framing.Analyzer(**kwargs)``,
    times its ``score_many`` (:func:`timed`), and keeps ``folder / actor-<pid>.json`` up
    to date with the actor's pid, build time, thread count and those timings."""
    import framing
    import torch

    t0 = time.perf_counter()
    analyzer = framing.Analyzer(**kwargs)
    info = {"pid": os.getpid(), "build_seconds": time.perf_counter() - t0,
            "torch_threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "rss_after_build_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    path = Path(folder) / f"actor-{os.getpid()}.json"

    def report() -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(path)

    timed(analyzer, info, report)
    report()
    return analyzer


def window(info: dict) -> float | None:
    """Seconds from the first ``score_many`` call's start to the last one's end."""
    if info.get("first_start") is None:
        return None
    return info["last_end"] - info["first_start"]


# -- the measurements --------------------------------------------------------------------------
def analyzer_kwargs(backend: str, device: str) -> dict:
    kwargs: dict = {"backend": backend}  # named: the default is "auto"
    if device != "cpu":
        kwargs["device"] = device
    return kwargs


def scored_totals(out: Path) -> dict:
    """Rows, rows with an error, and sentences of a scores directory."""
    import framing

    df = framing.read_scores(out, columns=["n_sentences", "error"])
    return {"rows": int(len(df)), "errors": int(df["error"].notna().sum()),
            "sentences": int(df["n_sentences"].fillna(0).sum())}


def child_local(spec: dict) -> None:
    """In the child process: build the analyzer, then time ``score_corpus`` alone."""
    import torch

    import framing

    t0 = time.perf_counter()
    analyzer = framing.Analyzer(**spec["kwargs"])
    build = time.perf_counter() - t0
    calls: dict = {}
    timed(analyzer, calls)
    t0 = time.perf_counter()
    framing.score_corpus(spec["source"], spec["out"], text="text", id="id", outlet="outlet",
                         analyzer=analyzer, chunk_size=spec["chunk"], shard_size=spec["chunk"],
                         cache_size=0,
                         out_format="shards", progress=False)
    seconds = time.perf_counter() - t0
    print("RESULT " + json.dumps({"build_seconds": build, "seconds": seconds,
                                  "steady_seconds": window(calls), "calls": calls,
                                  "torch_threads": torch.get_num_threads(),
                                  **scored_totals(Path(spec["out"]))}), flush=True)


def measure_local(source: Path, out: Path, kwargs: dict, args: argparse.Namespace) -> dict:
    """One local run in a fresh child process; its figures and peak RSS."""
    spec = {"source": str(source), "out": str(out), "kwargs": kwargs, "chunk": args.chunk}
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.local_threads)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-local", json.dumps(spec)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    lines = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]
    if code != 0 or not lines:
        raise SystemExit(f"local run failed (exit {code}): {' '.join(cmd[:3])} ...")
    res = json.loads(lines[-1][len("RESULT "):])
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB here
    res["peak_rss_mib"] = usage.ru_maxrss * scale / MIB
    return res


def measure_ray(source: Path, out: Path, kwargs: dict, actors: int,
                args: argparse.Namespace) -> dict:
    """One Ray run with ``actors`` actors (Ray already up): wall and steady seconds,
    totals, and per actor its pid, build time, timings and peak RSS."""
    from framing.io.distributed import score_corpus_ray

    reports = out.parent / f"{out.name}-actors"
    reports.mkdir()
    gpus = 1.0 / actors if args.device == "cuda" else 0
    watch = ActorWatch(reports, args.sample_every)
    watch.start()
    t0, epoch0 = time.perf_counter(), time.time()
    try:
        summary = score_corpus_ray(
            str(source), str(out), text="text", id="id", outlet="outlet",
            analyzer=functools.partial(build_in_actor, kwargs, str(reports)),
            chunk_size=args.chunk, shard_size=args.chunk, progress=False, concurrency=actors,
            num_cpus_per_actor=args.cpus_per_actor, num_gpus_per_actor=gpus)
    finally:
        wall = time.perf_counter() - t0
        epoch1 = time.time()
        peaks = watch.stop()
    infos = [json.loads(p.read_text()) for p in sorted(reports.glob("actor-*.json"))]
    busy = [i for i in infos if i["batches"]]
    if not busy:
        raise SystemExit(f"Ray run with {actors} actor(s): no actor reported a scored batch")
    for info in infos:
        info["peak_rss_mib"] = peaks.get(info["pid"])
        info["window_seconds"] = window(info)
    first = min(i["first_start"] for i in busy)
    last = max(i["last_end"] for i in busy)
    return {"seconds": wall, "summary_seconds": summary.seconds, "actors": infos,
            "build_seconds": max(i["build_seconds"] for i in infos),
            # first batch started to last batch done, on any actor: the run without its
            # fixed costs (actors and models starting, the last shard written)
            "steady_seconds": last - first,
            "to_first_batch_seconds": first - epoch0,
            "after_last_batch_seconds": epoch1 - last,
            "actors_busy": len(busy),
            # what the actors would do together if each were busy the whole time: the
            # sum of their own rates, each over its own first-to-last-batch window
            "sum_actor_sentences_per_second": sum(
                i["sentences"] / max(i["window_seconds"], 1e-9) for i in busy),
            **scored_totals(out)}


def best(runs: list[dict]) -> dict:
    """The fastest of repeated runs, with every run's seconds kept beside it."""
    fastest = dict(min(runs, key=lambda r: r["seconds"]))
    fastest["all_seconds"] = [r["seconds"] for r in runs]
    return fastest


# -- the projection ----------------------------------------------------------------------------
def project(local: dict, ray: dict[int, dict], sentences_per_article: float,
            cores: list[int]) -> dict:
    """Hours and core-hours per million articles on ``cores`` CPU cores.

    The per-core sentence rate is Ray's with one actor over its steady window (first
    batch started to last batch done: Ray's per-batch overhead in, start-up and the last
    write out). Each core past the first adds ``marginal`` of that rate: what the second
    actor added here, from the sum of the two actors' own rates (each over its own
    window, so that one actor starting late does not count as poor scaling), clamped to
    [0, 1]. ``marginal`` is None, and only the ideal rows (a full core each) are
    meaningful, when no 2-actor run kept two actors busy. Returns the rates, the
    assumptions and one row per core count and scaling (``measured``, ``ideal``).
    Raises :class:`ValueError` without a 1-actor run."""
    one = ray.get(1)
    if one is None:
        raise ValueError("the projection needs a 1-actor Ray run (--actors must include 1)")
    per_core = one["sentences"] / max(one["steady_seconds"], 1e-9)
    overhead = one["steady_seconds"] / max(local["steady_seconds"], 1e-9) - 1.0
    marginal = None
    two = ray.get(2)
    if two is not None and two["actors_busy"] >= 2:
        marginal = min(max(two["sum_actor_sentences_per_second"] / per_core - 1.0, 0.0), 1.0)
    rows = []
    for n in cores:
        for label, slope in (("measured", marginal), ("ideal", 1.0)):
            if slope is None:
                continue
            art_rate = per_core * (1 + (n - 1) * slope) / sentences_per_article
            hours = 1e6 / art_rate / 3600
            rows.append({"cores": n, "scaling": label, "articles_per_second": art_rate,
                         "hours_per_million": hours, "core_hours_per_million": hours * n})
    return {"per_core_sentences_per_second": per_core, "ray_overhead_fraction": overhead,
            "marginal_core": marginal, "sentences_per_article": sentences_per_article,
            "rows": rows}


def projection_table(proj: dict) -> list[str]:
    by = {(r["cores"], r["scaling"]): r for r in proj["rows"]}
    lines = ["| cores | articles/s | hours / 1M articles | core-hours / 1M | "
             "hours / 1M (ideal scaling) | core-hours / 1M (ideal) |",
             "|---:|---:|---:|---:|---:|---:|"]
    for n in sorted({r["cores"] for r in proj["rows"]}):
        m, i = by.get((n, "measured")), by[(n, "ideal")]
        measured = (f"{m['articles_per_second']:.2f} | {m['hours_per_million']:.1f} | "
                    f"{m['core_hours_per_million']:.1f}") if m else "n/a | n/a | n/a"
        lines.append(f"| {n} | {measured} | {i['hours_per_million']:.1f} | "
                     f"{i['core_hours_per_million']:.1f} |")
    return lines


# -- reporting ----------------------------------------------------------------------------------
def rates(run: dict, articles: int) -> str:
    return (f"{articles / run['seconds']:7.2f} articles/s {run['sentences'] / run['seconds']:8.1f}"
            f" sentences/s")


def gpu_lines(asked: str, cuda: bool) -> list[str]:
    """What the output says about the GPU (``asked``: the ``--device`` given)."""
    lines = []
    if not cuda:
        lines.append("GPU: no GPU available: not measured"
                     + (" (--device cuda was asked for; every run above is on the CPU)"
                        if asked == "cuda" else ""))
    elif asked != "cuda":
        lines.append("GPU: available but not asked for (--device cuda): not measured")
    lines.append("fp16: the Analyzer has no half-precision option: not measured")
    return lines


def markdown(info: dict) -> str:
    """The figures, the projection and the GPU lines as a Markdown page."""
    c = info["corpus"]
    n = c["articles"]
    lines = ["# Scoring at scale: Ray actors against a local run", "",
             f"`{info['command']}`; {info['cpus']} CPUs ({info['machine']}), Python "
             f"{info['python']}, torch {info['torch_version']}, framing "
             f"{info['framing_version']}, Ray {info['ray_version']}; device "
             f"{info['device']}; chunks of {info['chunk']} articles; best of "
             f"{info['repeats']} run(s) each (by wall time).", "",
             f"Corpus: {c['name']} ({c['source']}), {n} articles, mean "
             f"{c['mean_words']:.0f} words (median {c['median_words']:.0f}, "
             f"{c['min_words']}-{c['max_words']}), {c['sentences']} sentences, "
             f"{c['words_per_sentence']:.1f} words per sentence; seed {c['seed']}.", "",
             f"Ray start-up (`ray.init`, local): {info['ray_startup_seconds']:.1f} s, not in "
             "the times below.", "",
             "| backend | run | wall s | articles/s | sentences/s | steady s | "
             "steady sentences/s | to first batch s | model build s | peak RSS MiB | "
             "wall vs local |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for backend, res in info["backends"].items():
        loc = res["local"]
        lines.append(f"| {backend} | local, {info['local_threads']} thread(s) | "
                     f"{loc['seconds']:.1f} | {n / loc['seconds']:.2f} | "
                     f"{loc['sentences'] / loc['seconds']:.1f} | {loc['steady_seconds']:.1f} | "
                     f"{loc['sentences'] / loc['steady_seconds']:.1f} | | "
                     f"{loc['build_seconds']:.1f} (untimed) | {loc['peak_rss_mib']:.0f} | 1.00 |")
        for k, run in res["ray"].items():
            peaks = ", ".join(f"{a['peak_rss_mib']:.0f}" if a.get("peak_rss_mib") else "?"
                              for a in run["actors"])
            lines.append(f"| {backend} | Ray, {k} actor(s) | {run['seconds']:.1f} | "
                         f"{n / run['seconds']:.2f} | {run['sentences'] / run['seconds']:.1f} | "
                         f"{run['steady_seconds']:.1f} | "
                         f"{run['sentences'] / run['steady_seconds']:.1f} | "
                         f"{run['to_first_batch_seconds']:.1f} | {run['build_seconds']:.1f} | "
                         f"{peaks} (each actor) | {run['seconds'] / loc['seconds']:.2f} |")
    lines += ["", "Wall: what a run costs once Ray is up (actors and their models starting, "
              "scoring, shards written); the local run's analyzer is built before its clock "
              "starts. Steady: from the first batch's start to the last batch's end on any "
              "actor. Peak RSS: the local child's `ru_maxrss`; each actor's `VmHWM`, sampled.",
              ""]
    for backend, res in info["backends"].items():
        p = res["projection"]
        if p["marginal_core"] is None:
            slope = ("not measured (no 2-actor run kept two actors busy: too few blocks, or "
                     "--actors without 2), so only the ideal columns are filled")
        else:
            two = res["ray"][2]
            slope = (f"{p['marginal_core']:.2f} of a core each (measured: the two actors' own "
                     f"rates summed to {two['sum_actor_sentences_per_second']:.1f} "
                     f"sentences/s; end to end {two['sentences'] / two['steady_seconds']:.1f})")
        lines += [f"## Projection: {backend} backend, CPU cores, per million articles of "
                  f"{info['mean_words']:.0f} words", "",
                  f"Ray overhead, 1 actor / local: {res['ray_overhead_ratio']:.2f}x wall time, "
                  f"{1 + p['ray_overhead_fraction']:.2f}x steady (first batch to last). "
                  f"Assumptions: {c['words_per_sentence']:.1f} words per sentence (measured), "
                  f"so {p['sentences_per_article']:.1f} sentences per article; "
                  f"{p['per_core_sentences_per_second']:.1f} sentences/s per core (Ray, 1 "
                  f"actor, steady: Ray's per-batch overhead included); scaling past one core: "
                  f"{slope}. Fixed costs (Ray start-up, each actor's start and "
                  "model load) are left out.", ""]
        lines += projection_table(p) + [""]
    lines += [*info["notes"], *info["gpu"], ""]
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--mean-words", type=float, default=650.0,
                    help="mean article length aimed at, and projected for")
    ap.add_argument("--actors", default="1,2", help="Ray actor counts, comma-separated")
    ap.add_argument("--backends", default="torch,onnx-fp32",
                    help="torch, onnx-fp32 (the default where installed), onnx (int8), "
                         "comma-separated")
    ap.add_argument("--repeats", type=int, default=2, help="runs per measurement; best kept")
    ap.add_argument("--chunk", type=int, default=10,
                    help="articles per score_many call (chunk_size), locally and on Ray, and "
                         "per input file on Ray (one block each)")
    ap.add_argument("--local-threads", type=int, default=1,
                    help="torch / ONNX threads of the local run (default: one actor's CPUs)")
    ap.add_argument("--cpus-per-actor", type=float, default=1.0)
    ap.add_argument("--cores", default="1,2,8,32,64", help="core counts of the projection")
    ap.add_argument("--corpus", choices=["auto", "real", "example"], default="auto",
                    help="auto: real news when ../shared/data/real exists, else the example")
    ap.add_argument("--data", default=str(REAL_DATA))
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--sample-every", type=float, default=0.2,
                    help="seconds between samples of the actors' memory")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke test: 6 articles, chunks of 2, one run each")
    ap.add_argument("--write", action="store_true",
                    help="write eval/results/bench_scale.json and .md")
    ap.add_argument("--json", help="also write the raw figures to this file")
    ap.add_argument("--child-local", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.articles, args.chunk, args.repeats = 6, 2, 1
    try:
        args.actor_counts = sorted({int(x) for x in args.actors.split(",") if x.strip()})
        args.core_counts = sorted({int(x) for x in args.cores.split(",") if x.strip()})
    except ValueError:
        ap.error("--actors and --cores take comma-separated whole numbers, e.g. 1,2")
    args.backend_list = [b.strip() for b in args.backends.split(",") if b.strip()]
    if bad := [b for b in args.backend_list if b not in ("torch", "onnx", "onnx-fp32")]:
        ap.error(f"unknown backend(s) {bad}: choose from torch, onnx")
    if not args.actor_counts or min(args.actor_counts) < 1 or 1 not in args.actor_counts:
        ap.error("--actors must include 1 (the projection and the overhead ratio need it)")
    if not args.core_counts or min(args.core_counts) < 1:
        ap.error("--cores must be positive")
    if args.articles < 1 or args.chunk < 1 or args.repeats < 1 or args.local_threads < 1:
        ap.error("--articles, --chunk, --repeats and --local-threads must be at least 1")
    return args


def load_corpus(args: argparse.Namespace) -> tuple[list[dict], str, str]:
    data = Path(args.data)
    use_real = args.corpus == "real" or (args.corpus == "auto" and (data / REAL_FILE).is_file())
    if use_real:
        if not (data / REAL_FILE).is_file():
            raise SystemExit(f"--corpus real: {data / REAL_FILE} not found")
        arts = real_articles(data, args.articles, args.mean_words, args.seed)
        if not arts:
            raise SystemExit(f"no usable article in {data / REAL_FILE}")
        return arts, "real news", f"{REAL_FILE} (AllSides-labelled US news)"
    return (example_articles(args.articles, args.mean_words, args.seed), "example corpus",
            "framing's example corpus, bodies joined; repeated sentences flatter the rates")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child_local:
        child_local(json.loads(args.child_local))
        return
    import logging

    import ray
    import torch

    import framing

    cuda = torch.cuda.is_available()
    asked = args.device
    if asked == "cuda" and not cuda:
        args.device = "cpu"
    backends = list(args.backend_list)
    notes = []
    if args.device == "cuda":
        backends = [b for b in backends if not b.startswith("onnx")]
        notes.append("onnx skipped on --device cuda: the ONNX backend runs on the CPU only")
    started = time.perf_counter()
    articles, corpus_name, corpus_source = load_corpus(args)
    words = sorted(_words(a["text"]) for a in articles)
    print(f"corpus: {corpus_name} - {corpus_source}; {len(articles)} articles, mean "
          f"{sum(words) / len(words):.0f} words (median {words[len(words) // 2]}, "
          f"{words[0]}-{words[-1]})", flush=True)
    if len(articles) < args.articles:
        print(f"  (only {len(articles)} of the {args.articles} asked for fit the length "
              "criteria)")
    for note in notes:
        print(note)
    if not backends:
        raise SystemExit("nothing to measure: no backend left for this device")

    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="framing-bench-scale-") as tmp_name:
        tmp = Path(tmp_name)
        single, split = write_corpus(articles, tmp, args.chunk)
        t0 = time.perf_counter()
        ray.init(num_cpus=max(math.ceil(max(args.actor_counts) * args.cpus_per_actor), 1),
                 num_gpus=1 if args.device == "cuda" else 0, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
        ray_startup = time.perf_counter() - t0
        for name in ("ray", "ray.data"):  # Ray Data's per-run INFO lines drown the figures
            logging.getLogger(name).setLevel(logging.WARNING)
        print(f"Ray start-up (ray.init, local): {ray_startup:.1f} s", flush=True)
        try:
            runs: dict = {b: {"local": [], "ray": {k: [] for k in args.actor_counts}}
                          for b in backends}
            for rep in range(args.repeats):
                for b in backends:
                    kwargs = analyzer_kwargs(b, args.device)
                    out = tmp / f"local-{b}-{rep}"
                    r = measure_local(single, out, kwargs, args)
                    shutil.rmtree(out, ignore_errors=True)
                    runs[b]["local"].append(r)
                    print(f"[{rep + 1}/{args.repeats}] {b:5s} local x{args.local_threads} "
                          f"thread(s): {r['seconds']:7.1f} s  {rates(r, len(articles))}  "
                          f"peak RSS {r['peak_rss_mib']:.0f} MiB", flush=True)
                    for k in args.actor_counts:
                        out = tmp / f"ray-{b}-{k}-{rep}"
                        r = measure_ray(split, out, kwargs, k, args)
                        shutil.rmtree(out, ignore_errors=True)
                        runs[b]["ray"][k].append(r)
                        peaks = ", ".join(f"{a['peak_rss_mib']:.0f}" if a.get("peak_rss_mib")
                                          else "?" for a in r["actors"])
                        print(f"[{rep + 1}/{args.repeats}] {b:5s} Ray x{k} actor(s): "
                              f"{r['seconds']:7.1f} s  {rates(r, len(articles))}  steady "
                              f"{r['steady_seconds']:.1f} s on {r['actors_busy']} busy "
                              f"actor(s), model build {r['build_seconds']:.1f} s, peak RSS "
                              f"per actor [{peaks}] MiB", flush=True)
        finally:
            ray.shutdown()

    total_sentences = None
    for b in backends:
        local = best(runs[b]["local"])
        ray_best = {k: best(v) for k, v in runs[b]["ray"].items()}
        for label, run in [("local", local)] + [(f"Ray x{k}", v) for k, v in ray_best.items()]:
            if run["rows"] != len(articles) or run["errors"]:
                print(f"WARNING: {b} {label}: {run['rows']} rows for {len(articles)} articles, "
                      f"{run['errors']} with an error")
            if run["sentences"] != local["sentences"]:
                print(f"WARNING: {b} {label}: {run['sentences']} sentences, local "
                      f"{local['sentences']}")
        total_sentences = local["sentences"]
        results[b] = {"local": local, "ray": ray_best}
    wps = sum(words) / max(total_sentences or 0, 1)
    spa = args.mean_words / wps
    for b, res in results.items():
        res["ray_overhead_ratio"] = res["ray"][1]["seconds"] / res["local"]["seconds"]
        res["projection"] = project(res["local"], res["ray"], spa, args.core_counts)

    info = {
        "command": "python eval/bench_scale.py " + " ".join(sys.argv[1:] if argv is None
                                                             else argv),
        "framing_version": framing.__version__, "ray_version": ray.__version__,
        "torch_version": torch.__version__, "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
        "device": args.device, "device_asked": asked, "cuda_available": cuda,
        "repeats": args.repeats, "chunk": args.chunk,
        "local_threads": args.local_threads, "cpus_per_actor": args.cpus_per_actor,
        "mean_words": args.mean_words, "ray_startup_seconds": ray_startup,
        "corpus": {"name": corpus_name, "source": corpus_source, "seed": args.seed,
                   "articles": len(articles), "mean_words": sum(words) / len(words),
                   "median_words": words[len(words) // 2], "min_words": words[0],
                   "max_words": words[-1], "words": sum(words), "sentences": total_sentences,
                   "words_per_sentence": wps,
                   # which articles: the digest of their ids in order, not their text
                   "ids_sha256": hashlib.sha256("\n".join(a["id"] for a in articles)
                                                .encode("utf-8")).hexdigest()},
        "backends": results, "notes": notes,
        "gpu": gpu_lines(asked, cuda),
        "benchmark_seconds": time.perf_counter() - started,
    }
    text = markdown(info)
    print()
    print(text)
    print(f"benchmark took {info['benchmark_seconds']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if args.write:
        res_dir = HERE / "results"
        res_dir.mkdir(exist_ok=True)
        (res_dir / "bench_scale.json").write_text(json.dumps(info, indent=2) + "\n",
                                                  encoding="utf-8")
        (res_dir / "bench_scale.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
