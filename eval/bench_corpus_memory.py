"""Peak memory and throughput of corpus scoring at two corpus sizes, in subprocesses.

    python eval/bench_corpus_memory.py                         # stub analyzer, 10,000 vs 100,000
    python eval/bench_corpus_memory.py --analyzer default --sizes 100 1000
    python eval/bench_corpus_memory.py --save                  # also write eval/results/

Writes a synthetic news corpus (JSONL, articles of 400-900 words from templated sentences
over a word list; about 3 % of articles repeat an earlier one, as wire copy does) into a
temporary directory, then scores it once per size in a fresh Python process with
:func:`framing.score_corpus` into a directory of Parquet shards, and reports for each:
N, seconds, articles/s, the child's peak RSS (``ru_maxrss`` from ``os.wait4``) and its
RSS just before scoring began (imports and analyzer built). Memory bounded by the chunk
size shows as a peak that does not grow with N: the last line is the ratio of the two
peaks.

``--analyzer stub`` (default) measures the reading, batching, caching and shard-writing
path alone: :class:`StubAnalyzer` has the Analyzer's interface (``score_many``,
``cue_ids``, ``config()``) and returns rows of realistic width (every built-in cue with
an evidence sentence) computed from a hash of the text, in microseconds.
``--analyzer default`` is the real default :class:`framing.Analyzer` (use small sizes on
a CPU: it scores a few articles a second there).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

# -- the synthetic corpus ---------------------------------------------------------------------
OUTLETS = ["Harbour Herald", "Valley Times", "Capital Wire", "Northern Post", "Daily Ledger"]
SUBJECTS = ["The minister", "The city council", "Local farmers", "A spokesperson for the firm",
            "Opposition lawmakers", "Residents of the district", "The trade delegation",
            "Economists at the central bank", "The prime minister", "Union leaders",
            "Officials from both countries", "A group of engineers", "The regional governor",
            "Environmental campaigners", "The company's chief executive", "Critics of the plan"]
VERBS = ["announced", "criticised", "welcomed", "questioned", "defended", "rejected",
         "praised", "described", "signed", "reviewed", "postponed", "approved", "opposed",
         "outlined", "celebrated", "warned about"]
OBJECTS = ["the new port agreement", "a joint investment fund", "the rail link to the coast",
           "the budget for the coming year", "plans for a second bridge", "the water treaty",
           "the cooperation framework", "a programme of student exchanges",
           "the tariff reductions", "the draft energy law", "the terms of the loan",
           "a memorandum on technology transfer", "the fishing quotas", "the housing scheme"]
TAILS = ["on Monday", "after weeks of talks", "despite strong objections",
         "in a statement released late on Tuesday", "at a news conference in the capital",
         "during a visit to the industrial zone", "for the second time this year",
         "as negotiations entered their final stage", "according to people familiar with it",
         "while protesters gathered outside", "in front of reporters", "without giving details"]
CLAUSES = ["saying it would benefit both sides", "calling it a win-win arrangement",
           "arguing that costs had been underestimated", "noting that {n} jobs were at stake",
           "adding that the deal was worth {n} million dollars",
           "insisting that the criticism was unfounded", "promising further consultation",
           "pointing to a survey of {n} households", "describing relations as friendly",
           "warning that the region could lose {n} million in revenue"]
QUOTES = ['"This is a historic day for our people," {s} said.',
          '"We will not accept terms that hurt our workers," {s} said.',
          '"The numbers simply do not add up," {s} told reporters.',
          '"Both countries stand to gain from this partnership," {s} added.',
          '"We have listened carefully to every concern," {s} said in a statement.']


def _sentence(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return rng.choice(QUOTES).format(s=rng.choice(SUBJECTS).lower())
    s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
    if rng.random() < 0.6:
        s += ", " + rng.choice(CLAUSES).format(n=rng.randint(2, 950))
    return s + "."


def make_article(rng: random.Random, i: int) -> dict:
    """One synthetic article of 400-900 words, in paragraphs of three to six sentences."""
    target = rng.randint(400, 900)
    outlet = rng.choice(OUTLETS)
    paragraphs, words = [f"{outlet.upper()}, report {i}:"], 3
    while words < target:
        para = " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))
        paragraphs.append(para)
        words += len(para.split())
    return {"id": f"art-{i:07d}", "outlet": outlet,
            "date": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "title": f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}",
            "body": "\n\n".join(paragraphs)}


def write_corpora(directory: Path, sizes: list[int], seed: int) -> dict[int, Path]:
    """JSONL files of each size; the smaller ones are prefixes of the largest."""
    rng = random.Random(seed)
    paths = {n: directory / f"corpus_{n}.jsonl" for n in sizes}
    handles = {n: open(p, "w", encoding="utf-8") for n, p in paths.items()}
    recent: list[dict] = []
    try:
        for i in range(max(sizes)):
            if recent and rng.random() < 0.03:  # wire copy: an earlier story, another outlet
                art = dict(rng.choice(recent), id=f"art-{i:07d}", outlet=rng.choice(OUTLETS))
            else:
                art = make_article(rng, i)
            recent = (recent + [art])[-500:]
            line = json.dumps(art, ensure_ascii=False) + "\n"
            for n, fh in handles.items():
                if i < n:
                    fh.write(line)
    finally:
        for fh in handles.values():
            fh.close()
    return paths


# -- the stub analyzer ------------------------------------------------------------------------
class StubAnalyzer:
    """A stand-in for :class:`framing.Analyzer` with the same corpus-facing interface.

    ``score_many(texts, ids=..., targets=...)`` returns one
    :class:`framing.pipeline.results.ArticleResult` per text, with tone, class probabilities and
    every built-in cue (probability, flag, one evidence sentence) derived from a CRC of
    the text: rows as wide as the real ones, for next to no compute. It measures what
    :func:`framing.score_corpus` itself costs: reading, batching, the cache of repeated
    texts and writing shards.
    """

    batch_size = 64

    def __init__(self) -> None:
        from framing.text.catalogue import load_catalogue

        self.catalogue = load_catalogue()
        self.cue_ids = self.catalogue.ids

    def config(self) -> dict:
        return {"analyzer": "bench-stub", "cues": self.cue_ids}

    def score_many(self, texts, batch_size=None, *, targets=None, ids=None, errors="flag"):
        from framing.pipeline.results import ArticleResult, CueResult, Evidence

        texts = list(texts)
        ids = list(ids) if ids is not None else [None] * len(texts)
        out = []
        for text, rid in zip(texts, ids):
            h = zlib.crc32(text.encode("utf-8", "surrogatepass"))
            sentences = text.split(". ", 12)[:12]
            cues = {}
            for k, cid in enumerate(self.cue_ids):
                p = ((h >> k) & 0xFF) / 255
                ev = sentences[(h + k) % len(sentences)][:300]
                cues[cid] = CueResult(cid, cid, p, p > 0.7,
                                      [Evidence(0, 0, len(ev), ev, p)] if p > 0.7 else [])
            tone = ((h & 0xFFFF) / 0xFFFF) * 2 - 1
            pc, pp = max(0.0, -tone) * 0.8 + 0.1, max(0.0, tone) * 0.8 + 0.1
            label = "promotional" if tone > 0.1 else "critical" if tone < -0.1 else "neutral"
            out.append(ArticleResult(
                tone, label, cues, [], tone_scorer="bench-stub", id=rid, language="en",
                tone_probabilities={"critical": pc, "neutral": 1 - pc - pp, "promotional": pp}))
        return out


# -- one measured run (the child process) ------------------------------------------------------
def child(args: argparse.Namespace) -> None:
    import framing

    if args.analyzer == "stub":
        analyzer = StubAnalyzer()
    else:
        analyzer = framing.Analyzer()
    setup_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    summary = framing.score_corpus(
        args.input, args.out, text="body", id="id", outlet="outlet", date="date", title="title",
        analyzer=analyzer, chunk_size=args.chunk_size, shard_size=args.shard_size,
        cache_size=args.cache_size, progress=False)
    seconds = time.perf_counter() - t0
    print(json.dumps({"rows": summary.rows, "cached": summary.cached, "shards": summary.shards,
                      "seconds": seconds, "setup_kib": setup_kib}))


def measure(args: argparse.Namespace, corpus: Path, out: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--analyzer", args.analyzer,
           "--input", str(corpus), "--out", str(out), "--chunk-size", str(args.chunk_size),
           "--shard-size", str(args.shard_size), "--cache-size", str(args.cache_size)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(cmd)}")
    result = json.loads(stdout.strip().splitlines()[-1])
    # ru_maxrss is KiB on Linux, bytes on macOS
    scale = 1 if sys.platform == "darwin" else 1024
    result["peak_rss_mib"] = usage.ru_maxrss * scale / 2**20
    result["setup_rss_mib"] = result.pop("setup_kib") * scale / 2**20
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--analyzer", choices=["stub", "default"], default="stub")
    ap.add_argument("--sizes", type=int, nargs="+", default=None,
                    help="corpus sizes (default: 10000 100000 for stub, 100 1000 for default)")
    ap.add_argument("--chunk-size", type=int, default=256)
    ap.add_argument("--shard-size", type=int, default=2048)
    ap.add_argument("--cache-size", type=int, default=200_000,
                    help="distinct texts the cache of repeated texts remembers (0: off)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", action="store_true",
                    help="write eval/results/corpus_memory_<analyzer>.json and .md")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    sizes = sorted(args.sizes or ([10_000, 100_000] if args.analyzer == "stub" else [100, 1000]))
    with tempfile.TemporaryDirectory(prefix="framing-bench-") as tmp:
        t0 = time.perf_counter()
        corpora = write_corpora(Path(tmp), sizes, args.seed)
        mib = {n: p.stat().st_size / 2**20 for n, p in corpora.items()}
        print(f"corpus written in {time.perf_counter() - t0:.0f} s: "
              + ", ".join(f"{n} articles = {mib[n]:.0f} MiB" for n in sizes), flush=True)
        rows = []
        for n in sizes:
            r = measure(args, corpora[n], Path(tmp) / f"scores_{n}")
            r["n"] = n
            r["articles_per_second"] = n / r["seconds"]
            rows.append(r)
            print(f"N={n:>7}  {r['seconds']:8.1f} s  {r['articles_per_second']:8.1f} articles/s  "
                  f"peak RSS {r['peak_rss_mib']:7.1f} MiB  (before scoring {r['setup_rss_mib']:.1f}"
                  f" MiB; {r['shards']} shards, {r['cached']} rows from the cache)", flush=True)
    ratio = rows[-1]["peak_rss_mib"] / rows[0]["peak_rss_mib"]
    growth = (rows[-1]["peak_rss_mib"] - rows[-1]["setup_rss_mib"]) / max(
        rows[0]["peak_rss_mib"] - rows[0]["setup_rss_mib"], 1e-9)
    print(f"peak RSS ratio N={sizes[-1]} / N={sizes[0]}: {ratio:.2f} "
          f"({sizes[-1] // sizes[0]}x the articles); scoring's own share (peak minus "
          f"before scoring): {growth:.2f}x")
    if args.save:
        import framing

        info = {"analyzer": args.analyzer, "chunk_size": args.chunk_size,
                "shard_size": args.shard_size, "cache_size": args.cache_size, "seed": args.seed,
                "framing_version": framing.__version__, "python": platform.python_version(),
                "machine": platform.machine(), "cpus": os.cpu_count(), "runs": rows,
                "peak_rss_ratio": ratio, "scoring_rss_ratio": growth,
                "command": "python eval/bench_corpus_memory.py " + " ".join(sys.argv[1:])}
        res = HERE / "results"
        res.mkdir(exist_ok=True)
        (res / f"corpus_memory_{args.analyzer}.json").write_text(json.dumps(info, indent=2) + "\n")
        lines = [f"# Corpus scoring memory ({args.analyzer} analyzer)", "",
                 f"`{info['command']}`; chunk {args.chunk_size}, shard {args.shard_size}, "
                 f"cache {args.cache_size}, "
                 f"{info['cpus']} CPUs, framing {info['framing_version']}.", "",
                 "| N | seconds | articles/s | peak RSS (MiB) | RSS before scoring (MiB) |",
                 "|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['n']} | {r['seconds']:.1f} | {r['articles_per_second']:.1f} | "
                  f"{r['peak_rss_mib']:.1f} | {r['setup_rss_mib']:.1f} |" for r in rows]
        lines += ["", f"Peak RSS ratio {sizes[-1]} / {sizes[0]}: **{ratio:.2f}**; scoring's own "
                  f"share (peak minus before scoring): {growth:.2f}x.", ""]
        (res / f"corpus_memory_{args.analyzer}.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
