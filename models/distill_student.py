"""Distil the accurate tier (the teacher, all-mpnet-base-v2) into the default tier (the
student, all-MiniLM-L6-v2): a tone branch and cue heads trained on the gold data plus the
teacher's outputs on unlabelled sentences.

    python models/distill_teacher.py --real ../shared/data/real --out /tmp/framing-distill
    python models/distill_student.py --teacher /tmp/framing-distill \\
        --out-tone /tmp/student/tone-newsmtsc --out-cues /tmp/student/cues-builtin

Phases (each re-runnable: a finished phase is skipped; remove its directory to redo it):

1. **Teacher outputs**: ``pool.jsonl``, ``shards/*.parquet`` and ``teacher.json`` of
   ``distill_teacher.py``. The real sentences are resolved from ``--real`` and cleaned as
   the teacher saw them; the NewsMTSC rows are re-derived in the teacher's order, and every
   row's key must match the shards'.
2. **Tone** (``--out-tone``): the gold data of the shipped branch
   (``train_tone_newsmtsc.py --real ../shared/data/real --real-repeat 1 --cues
   models/training/cues``: NewsMTSC train split, the real train sentences, the multi-task
   cue sentences) plus the teacher's soft targets, through
   ``framing.training.tone.train_tone(soft=...)``: every step adds to the gold losses
   ``kd_weight * T^2 * KL(teacher || student)`` on the tone logits at temperature T and
   ``kd_weight * BCE(student cue logits, teacher cue probabilities)``, the gold part
   weighted ``1 - kd_weight``. An epoch trains on ``--soft-per-epoch`` soft rows (30,000 by
   default; 0: all of them), a different seeded subset each epoch (consecutive windows of
   one permutation, so the default 4 epochs of 30,000 see each of the ~116,000 rows about
   once). The state is saved after every epoch in ``--out-tone/checkpoint``; ``--resume``
   goes on from there with the subsets an uninterrupted run would use. NewsMTSC dev is
   measured as ``train_tone_newsmtsc.py`` does, and the card says what was distilled.
3. **Cue heads** (``--out-cues``): as ``train_cues.py`` fits the shipped heads (project
   sentences and real train sentences; Platt, thresholds and pattern weights on the real
   dev split), with the teacher's cue probabilities on the soft *real* sentences as soft
   rows of each cue's logistic fit (NewsMTSC rows carry no cue soft labels here).

Cost: the shipped run (2 epochs of 30,000 soft rows) trained in 2,096 s on an otherwise
idle 2-core CPU, about 35 ms per soft row (each step also takes a gold and a cue batch), so
an epoch of 30,000 rows takes ~17 minutes (about twice that when other jobs share the
machine), plus ~6 minutes to encode every text's lower-layer states first; checkpoints are written at epoch ends only, so run
it in sessions with ``--resume`` and keep an epoch well below a session's length. The
script prints its estimate per epoch before training and the measured per-epoch cost after.

``--limit N`` uses only the first N soft rows (a timing slice; ``--soft-per-epoch`` is
capped to N). Nothing here is committed: the teacher outputs derive from corpora kept
outside the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import framing
from framing.core.pointers import TextPointer, resolve_pointers
from framing.encoding.fingerprints import encoder_fingerprint
from framing.heads.cues.heads import fit_cue_heads
from framing.heads.tone.model import load_tone_model
from framing.text.prepare import normalise, prepare
from framing.training.tone import SoftTargets, train_tone
from distill_teacher import newsmtsc_rows
from real_data import real_sentences
from train_cues import CARD as CUES_CARD
from train_cues import (JOINT_TEXT, append_evaluation, finish_heads, load_split,
                        operating_points_card)
from train_tone_newsmtsc import (cue_training_data, measure_as_saved, newsmtsc_split,
                                 real_tone_examples, write_card, write_dev_split)

HERE = Path(__file__).resolve().parent
DEV_FRACTION = 0.15  # the NewsMTSC dev split of the shipped branch (dev_split.json)
# training seconds per soft row on the 2-core CPU this was run on (2,096 s for the 60,000
# rows of the shipped run): the before-training estimate only; the measured cost is
# printed afterwards
SECONDS_PER_SOFT_ROW = 2096 / 60_000

TONE_DISTILLATION = """
## Distillation
This branch is distilled from framing's accurate tier (the all-mpnet-base-v2 tone branch
`{teacher_tone}`, weights digest {teacher_digest}): besides the gold labels above it was
trained on that teacher's outputs for {rows} sentences ({real_rows} unlabelled sentences
from the train documents of the real corpus, {newsmtsc_rows} NewsMTSC training examples;
{cue_rows} whole-sentence rows also carried the teacher's cue probabilities). {epoch_rows}
{batch_size} at a time, each step also taking the next gold batch and cue batch. The loss of
a step is

    (1 - {weight}) * gold + {weight} * (T^2 * KL(p_teacher || p_student) + BCE_cues)

with T = {temperature}: p = softmax(logits / T) of the teacher's raw tone logits (toward
the same target) and of the student's; BCE_cues is the multi-task cue head's binary
cross-entropy against the teacher's calibrated cue probabilities. Why: the teacher's
softened probabilities say how a sentence leans even where a gold label says only one
class, and they exist for many more sentences (real official and news text, not only US
news) than the gold labels; T > 1 lets the small probabilities count, and the T^2 factor
keeps the soft term's gradients on the scale of the gold term's, since softening the
targets shrinks those gradients by 1/T^2 (Hinton, Vinyals and Dean 2015, "Distilling the
Knowledge in a Neural Network"). Weight {weight}: the teacher and the gold labels count
alike.
"""

CUES_DISTILLATION = """
## Distillation
The heads read the distilled student branch `{tone_name}` (see its card). Besides the gold
rows above, each cue's logistic fit also saw the accurate tier's calibrated probability of
that cue for {n_soft} unlabelled real sentences (train documents only), each as two
weighted copies (present with weight w * p, absent with w * (1 - p), w = {soft_weight:.4g}:
the soft rows together weigh {soft_share:.0%} of all training rows), so the fit minimises
cross-entropy against the teacher there. Calibration, thresholds and pattern weights come
from the gold real dev split only.
"""


# -- phase 1: the teacher's outputs ---------------------------------------------------
def teacher_keys(pool: list[dict], nm: list[dict]) -> list[str]:
    """The row keys distill_teacher.py writes: pool pointers, then NewsMTSC examples."""
    return [f"{r['file']}|{r['doc']}|{r['start']}|{r['end']}" for r in pool] + \
        [f"newsmtsc|{r['group']}|{r['span']}" for r in nm]


def load_teacher(tdir: Path, real: str, newsmtsc: str, limit: int | None = None
                 ) -> tuple[SimpleNamespace, dict]:
    """The teacher's rows (texts, spans, kinds, NewsMTSC groups, tone logits, cue
    probabilities) in shard order, checked key by key against the pool and NewsMTSC rows
    (the first ``limit`` rows only, if given), and ``teacher.json``."""
    import pyarrow.parquet as pq

    meta = json.loads((tdir / "teacher.json").read_text(encoding="utf-8"))
    shards = sorted((tdir / "shards").glob("part-*.parquet"))
    if [s.name for s in shards] != [f"part-{i:05d}.parquet" for i in range(len(shards))]:
        raise SystemExit(f"{tdir / 'shards'}: shards missing or out of order")
    tables = [pq.read_table(s).to_pydict() for s in shards]
    keys = [k for t in tables for k in t["key"]]
    kinds = [k for t in tables for k in t["kind"]]
    logits = np.array([v for t in tables for v in t["tone_logits"]], dtype=np.float32)
    probs = np.array([v for t in tables for v in t["cue_probs"]], dtype=np.float32)
    if len(keys) != int(meta["rows"]):
        raise SystemExit(f"{tdir}: teacher.json says {meta['rows']} rows, the shards hold "
                         f"{len(keys)}")
    pool = [json.loads(line) for line in
            (tdir / "pool.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    # the dev split distill_teacher.py leaves out: the shipped branch's
    nm = newsmtsc_rows(Path(newsmtsc), HERE / "tone-newsmtsc" / "dev_split.json")
    expected = teacher_keys(pool, nm)
    if expected[:len(keys)] != keys:
        bad = next(i for i, (a, b) in enumerate(zip(expected, keys)) if a != b) \
            if len(keys) <= len(expected) else len(expected)
        raise SystemExit(f"{tdir}: row {bad} of the shards does not match the pool and "
                         f"NewsMTSC rows (shard key {keys[bad]!r})")
    if limit is not None:
        keys, kinds, logits, probs = keys[:limit], kinds[:limit], logits[:limit], probs[:limit]
    n_real = min(len(pool), len(keys))
    texts = resolve_pointers([TextPointer.from_dict(r) for r in pool[:n_real]], real)
    texts = [prepare(t, html=False, main_content=False).clean for t in texts]
    rest = nm[:len(keys) - n_real]
    rows = SimpleNamespace(
        texts=texts + [r["text"] for r in rest], spans=[None] * n_real + [r["span"] for r in rest],
        kinds=kinds, groups=[None] * n_real + [r["group"] for r in rest],
        tone_logits=logits, cue_probs=probs)
    if kinds != ["real"] * n_real + ["newsmtsc"] * len(rest):
        raise SystemExit(f"{tdir}: the shards' kind column does not match the rows")
    return rows, meta


# -- phase 2: the student tone branch -------------------------------------------------
def soft_per_epoch(requested: int | None, n: int) -> int | None:
    """The ``soft_per_epoch`` to train with: None (a full pass each epoch) for 0, None or
    a request of at least the ``n`` soft rows there are (e.g. under ``--limit``)."""
    if not requested or requested >= n:
        return None
    return int(requested)


def epoch_rows_text(per_epoch: int | None, epochs: int, n: int) -> str:
    """The card's sentence on the soft rows an epoch trains on (before the batch size)."""
    if per_epoch is None:
        return f"Each of the {epochs} epochs was one pass over those rows,"
    return (f"Each of the {epochs} epochs trained on {per_epoch} of those rows, a different "
            f"seeded subset each epoch (consecutive windows of one random permutation of the "
            f"rows, {epochs * per_epoch / n:.2f} passes over them in all),")


def checkpoint_epoch(directory: Path) -> int:
    """The finished epochs a checkpoint in ``directory`` holds (0 when there is none)."""
    path = directory / "state.json"
    if not path.is_file():
        return 0
    state = json.loads(path.read_text(encoding="utf-8"))["state"]["__dict__"]
    return int(dict((k, v) for k, v in state)["epoch"])


def soft_rows(rows, newsmtsc_repeat: int = 1) -> tuple[list, list, np.ndarray, np.ndarray]:
    """``(texts, spans, tone logits, cue probabilities)`` of the soft rows, the teacher's
    NewsMTSC rows repeated ``newsmtsc_repeat`` times (to weigh tone toward targets up
    against the real sentences); refuses a repeat below 1."""
    if newsmtsc_repeat < 1:
        raise SystemExit("--newsmtsc-soft-repeat must be 1 or more")
    idx = list(range(len(rows.texts))) + [i for i, k in enumerate(rows.kinds)
                                           if k == "newsmtsc"] * (newsmtsc_repeat - 1)
    return ([rows.texts[i] for i in idx], [rows.spans[i] for i in idx],
            rows.tone_logits[idx], rows.cue_probs[idx])


def tone_phase(args, rows, meta, encoder, log=print) -> None:
    out = Path(args.out_tone)
    if (out / "metrics.json").is_file() and \
            "distillation" in json.loads((out / "config.json").read_text()):
        log(f"tone: {out} holds a finished distilled model; skipped")
        return
    t0 = time.perf_counter()
    examples, train, dev = newsmtsc_split(args.data, DEV_FRACTION, args.seed)
    soft_groups = {g for g in rows.groups if g is not None}
    leaked = soft_groups & {e.group for e in dev}
    if leaked:
        raise SystemExit(f"{len(leaked)} NewsMTSC dev sentences are among the teacher's rows "
                         "(the teacher used another dev split)")
    real, real_examples = real_tone_examples(args.real)
    train = train + real_examples * args.real_repeat
    cue_texts, cue_labels, ids = cue_training_data(args.cues, real)
    if list(meta["cue_ids"]) != list(ids):
        raise SystemExit(f"the teacher's cues {meta['cue_ids']} are not the catalogue's {ids}")
    log(f"gold: NewsMTSC train {len(train) - len(real_examples) * args.real_repeat}, real "
        f"tone examples {len(real_examples)} x {args.real_repeat}, dev {len(dev)}; {len(cue_texts)} cue sentences "
        f"({time.perf_counter() - t0:.0f} s)")
    if (out / "checkpoint" / "state.json").is_file() and not args.resume:
        log(f"tone: {out / 'checkpoint'} holds an unfinished run; starting afresh "
            "(--resume goes on from it)")
    done = checkpoint_epoch(out / "checkpoint") if args.resume else 0
    soft = SoftTargets(*soft_rows(rows, args.newsmtsc_soft_repeat),
                       teacher=f"{Path(meta['tone']).name} ({meta['tone_digest']})")
    per_epoch = soft_per_epoch(args.soft_per_epoch, len(soft))
    epoch_n = per_epoch or len(soft)
    log(f"tone: {args.epochs} epochs of {epoch_n} of the {len(soft)} soft rows "
        f"({args.epochs * epoch_n / len(soft):.2f} passes); estimated ~"
        f"{epoch_n * SECONDS_PER_SOFT_ROW / 60:.0f} min an epoch on a 2-core CPU, "
        f"~{max(0, args.epochs - done) * epoch_n * SECONDS_PER_SOFT_ROW / 60:.0f} min for "
        f"the {max(0, args.epochs - done)} epoch(s) left")
    t1 = time.perf_counter()
    result = train_tone(
        train, dev, encoder, design="branch", n_layers=args.layers, epochs=args.epochs,
        lr=args.lr, seed=args.seed, name=args.name, cue_texts=cue_texts,
        cue_labels=cue_labels, cue_weight=args.cue_weight, cue_batch_size=args.cue_batch_size,
        kd_temperature=args.kd_temperature, kd_weight=args.kd_weight,
        soft_batch_size=args.soft_batch_size, soft_per_epoch=per_epoch, soft=soft,
        checkpoint=out / "checkpoint", resume=args.resume, device=args.device)
    wall = time.perf_counter() - t1
    m = result.metrics
    run = args.epochs - done  # the epochs this call trained (a resumed run skips the rest)
    if run > 0:
        per_row = m["seconds_training"] / (run * epoch_n)
        log(f"tone: encoder states {m['seconds_encoder_states']:.0f} s, training "
            f"{m['seconds_training']:.0f} s for {run} epoch(s): {1000 * per_row:.1f} ms per "
            f"soft row, ~{per_row * epoch_n / 60:.0f} min an epoch of {epoch_n} rows (a pass "
            f"over all {meta['rows']} rows: ~{per_row * int(meta['rows']) / 60:.0f} min)")
    result.save(out)
    write_dev_split(out, dev, args.seed, DEV_FRACTION)
    m = dict(m, wall_seconds=wall, history=result.history, command=command_line(args))
    m["real"] = {"sentences": len(real.rows), "examples": len(real_examples),
                 "repeat": args.real_repeat}
    kd = result.config["distillation"]
    m["distillation"] = dict(kd, real_rows=rows.kinds.count("real"),
                             newsmtsc_rows=rows.kinds.count("newsmtsc"),
                             teacher_tone=meta["tone"], teacher_digest=meta["tone_digest"])
    t2 = time.perf_counter()
    m["dev_macro_f1_as_saved"] = measure_as_saved(out, dev, encoder)
    log(f"tone: measured as saved in {time.perf_counter() - t2:.0f} s")
    result.metrics = m
    (out / "metrics.json").write_text(json.dumps(m, indent=2) + "\n")
    card_args = SimpleNamespace(design="branch", dev_fraction=DEV_FRACTION, seed=args.seed)
    write_card(out, result, card_args, wall, len({e.group for e in examples}),
               sum(e.span is not None for e in examples), command_line(args))
    with open(out / "README.md", "a", encoding="utf-8") as fh:
        fh.write(TONE_DISTILLATION.format(
            teacher_tone=Path(meta["tone"]).name, teacher_digest=meta["tone_digest"],
            rows=kd["rows"], real_rows=m["distillation"]["real_rows"],
            newsmtsc_rows=m["distillation"]["newsmtsc_rows"], cue_rows=kd["cue_rows"],
            epoch_rows=epoch_rows_text(kd["soft_per_epoch"], args.epochs, kd["rows"]),
            batch_size=kd["batch_size"], weight=kd["weight"], temperature=kd["temperature"]))
    shutil.rmtree(out / "checkpoint", ignore_errors=True)
    f1, sf1 = m["dev_macro_f1"], m["dev_macro_f1_as_saved"]
    log(f"tone: NewsMTSC dev macro-F1 {f1['value']:.4f} [{f1['low']:.4f}, {f1['high']:.4f}] "
        f"(as saved {sf1['value']:.4f}); ECE {m['ece_before']:.4f} -> {m['ece_after']:.4f} "
        f"(T={m['temperature']:.3f}); {wall:.0f} s")


# -- phase 3: the student cue heads ---------------------------------------------------
def soft_features(cache, tone, encoder, texts, with_layer) -> np.ndarray:
    """The branch features of the soft rows, read from ``cache`` (a folder) when an
    earlier run of the same branch stored them for the same texts; computed (and stored
    there) otherwise. Encoding the 100,000 soft rows is most of a cue phase's time."""
    if cache is None:
        return tone.sentence_features(encoder, texts, with_layer=with_layer)
    h = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    path = Path(cache) / f"{tone.digest}-{'layer+branch' if with_layer else 'branch'}-{h}.npy"
    if path.is_file():
        feats = np.load(path)
        if feats.shape[0] == len(texts):
            return feats
    feats = tone.sentence_features(encoder, texts, with_layer=with_layer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, feats)
    tmp.replace(path)
    return feats


def cue_phase(args, rows, meta, encoder, log=print) -> None:
    out = Path(args.out_cues)
    if (out / "metrics.json").is_file():
        log(f"cues: {out} holds finished heads; skipped")
        return
    t0 = time.perf_counter()
    catalogue = framing.load_catalogue()
    ids = catalogue.ids
    proj_rows, Y_proj, _, _ = load_split(args.cues, ids, 0.2, 13)  # every project row
    proj_texts = [r["text"] for r in proj_rows]
    real_tr, real_dv = real_sentences("train", args.real), real_sentences("dev", args.real)
    texts = [normalise(t, html=False)[0] for t in proj_texts + real_tr.texts]
    Y = np.vstack([Y_proj, real_tr.cue_matrix(ids)])
    weight = np.r_[np.full(len(proj_texts), args.proj_weight), np.ones(len(real_tr.texts))]
    dv_texts = [normalise(t, html=False)[0] for t in real_dv.texts]
    Y_dev = real_dv.cue_matrix(ids)
    # the soft rows: the real sentences only (NewsMTSC rows carry no cue soft labels here)
    real_idx = [i for i, k in enumerate(rows.kinds) if k == "real"]
    soft_texts = [normalise(rows.texts[i], html=False)[0] for i in real_idx]
    soft_P = rows.cue_probs[real_idx].astype(float)
    tone = load_tone_model(args.out_tone)
    tone.check_encoder(encoder)
    with_layer = args.features == "layer+tone-branch"
    t1 = time.perf_counter()
    emb = tone.sentence_features(encoder, texts, with_layer=with_layer)
    emb_dev = tone.sentence_features(encoder, dv_texts, with_layer=with_layer)
    soft_X = soft_features(args.features_cache, tone, encoder, soft_texts, with_layer)
    log(f"cues: features of {len(texts)} gold, {len(dv_texts)} dev and {len(soft_texts)} soft "
        f"sentences in {time.perf_counter() - t1:.0f} s")
    # by default the soft rows together weigh as much as the gold rows
    soft_weight = args.cue_soft_weight if args.cue_soft_weight is not None \
        else float(weight.sum()) / max(1, len(soft_texts))
    t2 = time.perf_counter()
    heads = fit_cue_heads(emb, Y, emb_dev, Y_dev, ids, C=args.C, seed=args.seed,
                          name=args.cues_name, sample_weight=weight, soft_X=soft_X,
                          soft_P=soft_P, soft_weight=soft_weight)
    log(f"cues: fitted in {time.perf_counter() - t2:.0f} s")
    heads, m = finish_heads(heads, catalogue, encoder, tone, args.features, dv_texts, emb_dev,
                            Y_dev, args.seed, dev_groups=[r["group"] for r in real_dv.rows])
    seconds = time.perf_counter() - t0
    soft_share = soft_weight * len(soft_texts) / (soft_weight * len(soft_texts) + weight.sum())
    card = CUES_CARD.format(
        name=args.cues_name, encoder_name=encoder_fingerprint(encoder)["name"],
        reads=(f"the pooled shared states after encoder layer {tone.layer} (the branch's input) "
               "and the pooled sentence states" if with_layer else "the pooled sentence states"),
        branch_text=JOINT_TEXT.format(feature_name=tone.config.name,
                                      feature_digest=tone.digest),
        n_real=len(real_tr.texts),
        n_proj=len(proj_texts), proj_weight=args.proj_weight,
        per_cue=", ".join(f"{c} {int(Y[:, j].sum())}" for j, c in enumerate(ids)),
        n_dev=len(dv_texts), macro=m["macro_f1"].value, macro_lo=m["macro_f1"].low,
        macro_hi=m["macro_f1"].high, micro=m["micro_f1"].value,
        thresholds=", ".join(f"{c} {t:.2f}" for c, t in zip(ids, heads.thresholds)),
        pattern_weights=", ".join(f"{c} {w:.1f}" for c, w in zip(ids, heads.pattern_weights)),
        command=command_line(args), seconds=seconds)
    card += CUES_DISTILLATION.format(tone_name=tone.config.name, n_soft=len(soft_texts),
                                     soft_weight=soft_weight, soft_share=soft_share)
    card += operating_points_card(heads)
    distillation = {"soft_rows": len(soft_texts), "soft_weight": soft_weight,
                    "soft_share": soft_share, "teacher_cue_heads": meta["cue_heads"]}
    out = heads.save(out, card, extra={
        "catalogue": catalogue.name,
        "training": {"real_rows": len(real_tr.texts), "project_rows": len(proj_texts),
                     "project_weight": args.proj_weight, "real_dev_rows": len(dv_texts),
                     "C": args.C, "seed": args.seed},
        "distillation": distillation})
    (out / "metrics.json").write_text(json.dumps({
        "real_dev_macro_f1": m["macro_f1"].to_dict(), "real_dev_micro_f1": m["micro_f1"].to_dict(),
        "per_cue_f1": {c: v["f1"].to_dict() for c, v in m["per_label"].items()},
        "distillation": distillation, "seconds": seconds, "command": command_line(args)},
        indent=2) + "\n")
    log(f"cues: real dev macro-F1 {m['macro_f1'].value:.4f} [{m['macro_f1'].low:.4f}, "
        f"{m['macro_f1'].high:.4f}], micro-F1 {m['micro_f1'].value:.4f}; {seconds:.0f} s")
    log("per cue: " + ", ".join(f"{c} {v['f1'].value:.2f}" for c, v in m["per_label"].items()))
    if args.eval:
        append_evaluation(out, Path(args.eval), encoder, tone)


def command_line(args) -> str:
    """The command that reproduces this run (without --resume, --limit only if given)."""
    return ("python models/distill_student.py "
            f"--teacher {args.teacher} --real {args.real} --cues {args.cues} "
            f"--epochs {args.epochs} --layers {args.layers} --lr {args.lr} "
            f"--kd-temperature {args.kd_temperature} --kd-weight {args.kd_weight} "
            f"--soft-batch-size {args.soft_batch_size} "
            f"--soft-per-epoch {args.soft_per_epoch or 0} --cue-weight {args.cue_weight} "
            + (f"--real-repeat {args.real_repeat} " if args.real_repeat != 1 else "")
            + (f"--newsmtsc-soft-repeat {args.newsmtsc_soft_repeat} "
               if args.newsmtsc_soft_repeat != 1 else "")
            + f"--cue-batch-size {args.cue_batch_size} --seed {args.seed} "
            f"--features {args.features} --proj-weight {args.proj_weight} --C {args.C} "
            + (f"--cue-soft-weight {args.cue_soft_weight} " if args.cue_soft_weight else "")
            + (f"--model {args.model} " if args.model else "")
            + (f"--name {args.name} " if args.name != "tone-newsmtsc-branch" else "")
            + (f"--limit {args.limit} " if args.limit else "")
            + f"--out-tone {args.out_tone} --out-cues {args.out_cues}")


def main() -> None:
    data = HERE.parent.parent / "shared" / "data"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--teacher", required=True, metavar="DIR",
                    help="the output directory of distill_teacher.py")
    ap.add_argument("--real", default=str(data / "real"))
    ap.add_argument("--data", default=str(data / "newsmtsc" / "train.jsonl"),
                    help="NewsMTSC train.jsonl (gold tone, and the teacher's NewsMTSC rows)")
    ap.add_argument("--cues", default=str(HERE / "training" / "cues"),
                    help="the project's cue sentences (multi-task loss and cue heads)")
    ap.add_argument("--epochs", type=int, default=4,
                    help="epochs, each of --soft-per-epoch soft rows (~17 min an epoch of "
                         "30,000 on a 2-core CPU)")
    ap.add_argument("--layers", type=int, default=3, help="branch layers (the shipped 3)")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--kd-temperature", type=float, default=2.0)
    ap.add_argument("--kd-weight", type=float, default=0.5,
                    help="alpha: the KD terms' weight; the gold losses get 1 - alpha")
    ap.add_argument("--soft-batch-size", type=int, default=32)
    ap.add_argument("--soft-per-epoch", type=int, default=30000, metavar="N",
                    help="soft rows an epoch trains on, a different seeded subset each epoch "
                         "(0: all of them; capped to the soft rows there are)")
    ap.add_argument("--newsmtsc-soft-repeat", type=int, default=1, metavar="K",
                    help="repeat the teacher's NewsMTSC rows K times among the soft rows")
    ap.add_argument("--real-repeat", type=int, default=1,
                    help="times each labelled real train sentence enters the gold tone data")
    ap.add_argument("--cue-weight", type=float, default=1.0)
    ap.add_argument("--cue-batch-size", type=int, default=24)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--device", default="cpu",
                    help="torch device: cpu (default), cuda, cuda:N or auto (a GPU when "
                         "torch sees one); the saved model is the same kind either way")
    ap.add_argument("--limit", type=int, default=None,
                    help="use only the first N soft rows (a timing slice)")
    ap.add_argument("--resume", action="store_true",
                    help="go on from the last finished epoch in --out-tone/checkpoint")
    ap.add_argument("--name", default="tone-newsmtsc-branch", help="the tone model's name")
    ap.add_argument("--features", choices=["tone-branch", "layer+tone-branch"],
                    default="layer+tone-branch", help="what the cue heads read (as shipped)")
    ap.add_argument("--proj-weight", type=float, default=1.0,
                    help="weight of a project-written cue sentence (as shipped)")
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--cue-soft-weight", type=float, default=None,
                    help="weight w of a soft cue row (default: the soft rows together weigh "
                         "as much as the gold rows)")
    ap.add_argument("--features-cache", default=None, metavar="DIR",
                    help="keep the soft rows' branch features here and reuse them when the "
                         "same branch refits its cue heads (nothing else changes)")
    ap.add_argument("--cues-name", default="cues-builtin")
    ap.add_argument("--eval", default=str(HERE.parent / "eval" / "samples" / "cues.jsonl"),
                    help="independent cue samples to measure the saved heads on ('' to skip)")
    ap.add_argument("--skip-cues", action="store_true", help="train the tone branch only")
    ap.add_argument("--model", default=None, help="the student encoder (default: the bundled "
                    "all-MiniLM-L6-v2)")
    ap.add_argument("--out-tone", required=True)
    ap.add_argument("--out-cues", required=True)
    args = ap.parse_args()

    t0 = time.perf_counter()
    rows, meta = load_teacher(Path(args.teacher), args.real, args.data, args.limit)
    print(f"teacher: {len(rows.texts)} soft rows ({rows.kinds.count('real')} real, "
          f"{rows.kinds.count('newsmtsc')} NewsMTSC) of {meta['rows']}, loaded in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    encoder = framing.Encoder(args.model, device=args.device)
    tone_phase(args, rows, meta, encoder, log=lambda s: print(s, flush=True))
    if not args.skip_cues:
        cue_phase(args, rows, meta, encoder, log=lambda s: print(s, flush=True))
    print(f"done in {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
