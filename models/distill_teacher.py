"""Label a pool of unlabelled real sentences with the accurate tier (the teacher), for
distilling it into the default tier (the student).

    python models/distill_teacher.py --real ../shared/data/real --out /tmp/framing-distill

Two phases, both resumable:

1. **Pool** (``pool.jsonl``): sentences drawn from the *train* documents of the real corpus
   (the document split of ``eval/labelling/splits.py``: dev and test documents are never
   drawn), segmented and cleaned exactly as the analyzer does, page furniture and
   fragments (under 5 or over 80 words) left out. Seeded draw per stratum: every Chinese
   official sentence (UN speeches of China, Xi Jinping's speeches, official posts), then
   other governments and news up to ``--n`` in all, half each. Rows are pointers (file,
   doc, offsets, sha256), never text. The NewsMTSC training examples (its dev split
   excluded) are added as rows of their own, target-aware.
2. **Teacher outputs** (``shards/part-NNNNN.parquet``, one per chunk of ``--chunk`` rows;
   a rerun skips finished shards): the teacher tone branch's raw logits (divide by a
   temperature before the softmax) and its Platt-calibrated cue-head probabilities
   (before any phrase-pattern lift), for every pool row.

Nothing here is committed: the pool and the outputs are derived from corpora kept
outside the repository and are rebuilt by this script.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

import framing
from framing.core.pointers import TextPointer, resolve_pointers
from framing.heads.cues.heads import load_cue_heads
from framing.heads.tone.model import load_tone_model
from framing.text.furniture import find_furniture
from framing.text.prepare import prepare

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "eval" / "labelling"))
from splits import split_of  # noqa: E402

CHINESE_OFFICIAL = ("xi_speech.jsonl.gz", "cn_official_tweet.jsonl.gz")
OTHER_GOV = ("us_state_dept.jsonl.gz", "kremlin.jsonl.gz")
NEWS = ("allsides_news.jsonl.gz",)


def _stratum(file: str, doc: dict) -> str:
    if file in CHINESE_OFFICIAL or (file == "ungd.jsonl.gz" and doc.get("country") == "CHN"):
        return "chinese_official"
    if file in OTHER_GOV or file == "ungd.jsonl.gz":
        return "other_gov"
    return "news"


def candidate_sentences(real: Path, log=print) -> dict[str, list[dict]]:
    """Every usable sentence of the train documents, as pointer rows, by stratum."""
    out: dict[str, list[dict]] = {"chinese_official": [], "other_gov": [], "news": []}
    for file in sorted(p.name for p in real.glob("*.jsonl.gz")):
        n_docs = 0
        with gzip.open(real / file, "rt", encoding="utf-8") as fh:
            for line in fh:
                doc = json.loads(line)
                if split_of(file, str(doc["id"])) != "train":
                    continue
                n_docs += 1
                text = doc["text"]
                prep = prepare(text, html=False, main_content=False)
                furniture = find_furniture(prep.sentences, prep.clean)
                stratum = _stratum(file, doc)
                for s, why in zip(prep.sentences, furniture):
                    words = len(s.clean.split())
                    if why is not None or s.part or not 5 <= words <= 80:
                        continue
                    out[stratum].append(dict(TextPointer.of(file, str(doc["id"]), text, s.start,
                                                            s.end).to_dict(), stratum=stratum))
        log(f"  {file}: {n_docs} train documents")
    return out


def build_pool(real: Path, n: int, seed: int, log=print) -> list[dict]:
    cands = candidate_sentences(real, log)
    rng = np.random.default_rng(seed)
    pool = list(cands["chinese_official"])
    rest = max(0, n - len(pool))
    for stratum in ("other_gov", "news"):
        rows = cands[stratum]
        take = min(len(rows), rest // 2)
        pool += [rows[i] for i in sorted(rng.choice(len(rows), take, replace=False))]
    log("pool: " + ", ".join(f"{k} {sum(r['stratum'] == k for r in pool)} of {len(v)}"
                             for k, v in cands.items()))
    return pool


def newsmtsc_rows(path: Path, dev_split: Path) -> list[dict]:
    """The NewsMTSC training examples outside the tone models' dev split, with their text
    (NewsMTSC is a training set we may read; its rows stay out of the pool file)."""
    from framing.training.tone import newsmtsc_examples

    dev = set(json.loads(dev_split.read_text())["dev_groups"])
    return [{"text": e.text, "span": e.span, "group": e.group}
            for e in newsmtsc_examples(path) if e.group not in dev]


def teacher_outputs(texts: list[str], spans: list, encoder, tone, heads,
                    runner=None) -> dict[str, np.ndarray]:
    """Raw tone logits ``(n, 3)`` toward each span (None: the sentence) and calibrated cue
    probabilities ``(n, k)`` of the sentence, from one encoder pass (through ``runner``,
    an ONNX graph of the same layers, when given), as the analyzer computes them: a tone
    model with a sentence branch gives whole sentences' tone from it, and the cue heads
    read the branch whose digest they pin (the tone model's, or its sentence branch's)."""
    sentence = tone.sentence_model or tone
    want = heads.feature_model.get("digest")
    feature = next((m for m in (tone, sentence) if m.digest == want), None)
    if feature is None:
        raise ValueError(f"the cue heads read branch {want}, which tone model {tone.path} "
                         "does not carry")
    tap = tone.make_tap({i: [sp] for i, sp in enumerate(spans) if sp is not None})
    other = sentence.make_tap({}) if sentence is not tone else None
    ftap = tap if feature is tone else other
    ftap.keep_features = True
    ftap.keep_layer_states = heads.feature_source == "layer+tone-branch"
    extra = [other] if other is not None else []
    if runner is not None:
        runner.run(texts, tap, extra_taps=extra)
    else:
        encoder.encode(texts, taps=[tap, *extra], stop_layer=tone.layer)
    # the taps store calibrated probabilities: back to logits (up to a constant per row)
    whole = other or tap
    probs = np.stack([(whole if sp is None else tap).out[(i, sp)] for i, sp in enumerate(spans)])
    temps = np.array([(sentence if sp is None else tone).temperature for sp in spans])
    logits = np.log(np.clip(probs, 1e-12, 1.0)) * temps[:, None]
    feats = np.stack([ftap.features[i] for i in range(len(texts))])
    if ftap.keep_layer_states:
        feats = np.concatenate([np.stack([ftap.layer_states[i] for i in range(len(texts))]),
                                feats], axis=1)
    return {"tone_logits": logits.astype(np.float32),
            "cue_probs": heads.predict_proba(feats, texts).astype(np.float32)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--real", default=str(HERE.parent.parent / "shared" / "data" / "real"))
    ap.add_argument("--newsmtsc", default=str(HERE.parent.parent / "shared" / "data" / "newsmtsc"
                                              / "train.jsonl"))
    ap.add_argument("--n", type=int, default=100_000, help="real sentences in the pool")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--device", default="cpu",
                    help="torch device: cpu (default), cuda, cuda:N or auto (a GPU when "
                         "torch sees one); the saved model is the same kind either way")
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--tone", default=str(HERE / "tone-mpnet"), help="the teacher tone model")
    ap.add_argument("--cue-heads", default=str(HERE / "cues-mpnet"), help="the teacher cue heads")
    ap.add_argument("--model", default="all-mpnet-base-v2", help="the teacher's encoder")
    ap.add_argument("--limit", type=int, default=None, help="label only the first N rows (timing)")
    ap.add_argument("--pool-only", action="store_true", help="build the pool and stop")
    ap.add_argument("--backend", choices=["torch", "onnx"], default="torch",
                    help="onnx: the teacher's int8 ONNX graph (about 4x faster on CPU)")
    ap.add_argument("--check", type=int, default=0, metavar="N",
                    help="compare the ONNX graph with torch on the first N rows and stop")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    out = Path(args.out)
    (out / "shards").mkdir(parents=True, exist_ok=True)
    pool_path = out / "pool.jsonl"
    if not pool_path.is_file():
        t0 = time.perf_counter()
        pool = build_pool(Path(args.real), args.n, args.seed)
        tmp = pool_path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in pool), encoding="utf-8")
        tmp.replace(pool_path)
        print(f"pool of {len(pool)} written in {time.perf_counter() - t0:.0f} s", flush=True)
    pool = [json.loads(line) for line in pool_path.read_text(encoding="utf-8").splitlines()]
    if args.pool_only:
        return
    texts = resolve_pointers([TextPointer.from_dict(r) for r in pool], args.real)
    texts = [prepare(t, html=False, main_content=False).clean for t in texts]
    spans: list = [None] * len(texts)
    nm = newsmtsc_rows(Path(args.newsmtsc), HERE / "tone-newsmtsc" / "dev_split.json")
    texts += [r["text"] for r in nm]
    spans += [r["span"] for r in nm]
    kinds = ["real"] * len(pool) + ["newsmtsc"] * len(nm)
    keys = [f"{r['file']}|{r['doc']}|{r['start']}|{r['end']}" for r in pool] + \
        [f"newsmtsc|{r['group']}|{r['span']}" for r in nm]
    n = len(texts) if args.limit is None else min(args.limit, len(texts))
    print(f"{len(pool)} real + {len(nm)} NewsMTSC rows; labelling {n}", flush=True)

    if args.device != "cpu" and (args.backend == "onnx" or args.check):
        raise SystemExit("the ONNX backend runs on the CPU: use --backend torch with "
                         f"--device {args.device}")
    encoder = framing.Encoder(args.model, device=args.device)
    tone = load_tone_model(args.tone)
    if args.backend == "torch":  # both branches where the encoder runs (ONNX: the CPU)
        for m in (tone, tone.sentence_model):
            if m is not None:
                m.to(encoder.device)
    tone.check_encoder(encoder)
    heads = load_cue_heads(args.cue_heads)
    runner = None
    if args.backend == "onnx" or args.check:
        from framing.pipeline.onnx_backend import OnnxBranchRunner

        runner = OnnxBranchRunner(encoder, tone, extra=[tone.sentence_model]
                                  if tone.sentence_model is not None else [])
    if args.check:
        a = teacher_outputs(texts[:args.check], spans[:args.check], encoder, tone, heads)
        b = teacher_outputs(texts[:args.check], spans[:args.check], encoder, tone, heads, runner)
        agree = float(np.mean(a["tone_logits"].argmax(1) == b["tone_logits"].argmax(1)))
        cue_diff = np.abs(a["cue_probs"] - b["cue_probs"])
        flips = float(np.mean((a["cue_probs"] >= 0.5) != (b["cue_probs"] >= 0.5)))
        print(f"ONNX int8 vs torch on {args.check} rows: tone class agreement {agree:.3f}; "
              f"cue probability |diff| mean {cue_diff.mean():.4f}, max {cue_diff.max():.3f}; "
              f"cue flags at 0.5 that differ {flips:.4f}")
        return
    if args.backend == "torch":
        runner = None
    # every shard of one output directory comes from the same teacher and backend
    meta = {"backend": args.backend, "tone_digest": tone.digest,
            "cue_ids": list(heads.ids), "cue_thresholds": [round(float(t), 6)
                                                             for t in heads.thresholds]}
    if tone.sentence_model is not None:  # whole sentences' tone comes from it
        meta["sentence_digest"] = tone.sentence_model.digest
    meta_path = out / "meta.json"
    if meta_path.is_file() and json.loads(meta_path.read_text()) != meta:
        raise SystemExit(f"{out} holds shards from another teacher or backend "
                         f"({meta_path}); use another --out")
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    import pyarrow as pa
    import pyarrow.parquet as pq

    done = 0
    for c, lo in enumerate(range(0, n, args.chunk)):
        shard = out / "shards" / f"part-{c:05d}.parquet"
        hi = min(n, lo + args.chunk)
        if shard.is_file():
            done += hi - lo
            continue
        t0 = time.perf_counter()
        res = teacher_outputs(texts[lo:hi], spans[lo:hi], encoder, tone, heads, runner)
        table = pa.table({
            "key": keys[lo:hi], "kind": kinds[lo:hi],
            "tone_logits": list(res["tone_logits"]), "cue_probs": list(res["cue_probs"])})
        tmp = shard.with_suffix(".tmp")
        pq.write_table(table, tmp)
        tmp.replace(shard)
        done += hi - lo
        rate = (hi - lo) / (time.perf_counter() - t0)
        print(f"shard {c}: rows {lo}-{hi} at {rate:.1f}/s; {done}/{n} done", flush=True)
    (out / "teacher.json").write_text(json.dumps({
        "tone": str(args.tone), "tone_digest": tone.digest, "tone_temperature": tone.temperature,
        "cue_heads": str(args.cue_heads), "cue_ids": list(heads.ids), "rows": n,
        "backend": args.backend,
        "real_rows": len(pool), "newsmtsc_rows": len(nm), "seed": args.seed}, indent=2) + "\n")


if __name__ == "__main__":
    main()
