"""Throughput of the full default pipeline against a naive pipeline and the bare encoder.

    python eval/bench_throughput.py [--articles 96] [--naive-articles 4] [--repeat 2]
                                    [--backends torch,onnx] [--profiles default,accurate]
                                    [--boilerplate] [--cue-heads DIR] [--tone-model DIR]
                                    [--frames DIR] [--gpu] [--json OUT]

Generates a corpus of news-like articles (400-900 words each, from templates written for
this script and a seeded random generator; nothing is copied from anywhere), segments it
as the Analyzer does, and measures, each in its own child process so that peak memory is
the measurement's own:

- ``pipeline``: the full default :class:`framing.Analyzer` (tone + all cues + narrative
  frames, with evidence), ``score_many`` over chunks of ``--chunk`` articles, as
  ``score_corpus`` calls it; once per backend in ``--backends`` (``onnx``: the ONNX
  Runtime int8 graph, measured when onnxruntime is installed); and once per profile in
  ``--profiles`` (``accurate``: the all-mpnet-base-v2 tier, ``Analyzer(profile="accurate")``);
- with ``--cue-heads DIR``, ``--tone-model DIR`` and/or ``--frames DIR``: the default torch
  pipeline once more with those models in place of the shipped ones (ratio
  ``pipeline-variant/pipeline``: what other models cost, e.g. heads with or without lexical
  evidence, or a tone branch of another shape with the heads that read it); with
  ``--variant-profile accurate``, the accurate tier's torch pipeline instead (ratio
  ``pipeline-variant/pipeline-accurate``);
- with ``--gpu`` (where torch sees a CUDA GPU): each profile's torch pipeline once more
  with ``device="cuda"`` (ratio ``pipeline-cuda/pipeline``, and the same per profile);
- ``encoder``: the bare encoder forward pass (:meth:`framing.Encoder.encode`: length-sorted
  batches, dynamic padding) over the same sentences, nothing else;
- ``naive``: one tokenizer + model call per sentence per task, as a chain of Hugging Face
  ``pipeline`` calls would do it: tone (a full encoder forward, then the tone branch on
  its layer states), each cue head (a full encoder forward each, then the branch
  features and that head), frames (a full encoder forward per sentence, then the heads);
  no batching, no length sorting, no sharing. It computes the same outputs as the
  pipeline: the script checks its sentence tones, sentence cue probabilities and article
  frame probabilities against the pipeline's and prints the largest difference. It runs
  on the first ``--naive-articles`` articles only (it is slow); throughput is a rate, so
  the ratios compare like with like.

Each figure is the best of ``--repeat`` timed runs after a warm-up; model loading is not
timed. Peak RSS is ``ru_maxrss`` of the measurement's child process (models, corpus and
the run together). ``--boilerplate`` adds a dateline, a newsletter line and a
reporting credit to every article (repeated sentences, encoded once per call).
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
from pathlib import Path

# -- the generated corpus -------------------------------------------------------------
PLACES = ["Arlandia", "Borvia", "Castrel", "Dunmore", "Esterhal", "Fenwick Isles", "Galtria",
          "Hollin", "Istmark", "Jorvany"]
CITIES = ["Port Anselm", "Velberg", "Karsk", "New Tallis", "Oskarhamn", "Rivenport", "Sallow Bay"]
PEOPLE = ["Minister Adela Quint", "President Tomas Veyra", "Premier Ilse Marrow",
          "Ambassador Rafe Oduya", "Secretary Lin Havel", "Governor Petra Solak",
          "Chairman Odo Brask", "spokeswoman Mira Tenn", "analyst Jonas Feld"]
SECTORS = ["solar panels", "rail freight", "port logistics", "grain exports", "battery plants",
           "fisheries", "telecom networks", "textile mills", "hydropower", "medical supplies"]
GROUPS = ["local farmers", "dock workers", "small exporters", "opposition lawmakers",
          "environmental groups", "trade unions", "residents near the site", "foreign investors"]
NUMS = ["1.2 billion", "340 million", "12 percent", "two thirds", "18,000", "4.7 percent",
        "900", "three"]

TEMPLATES = [
    "{A} and {B} signed an agreement on {s} on {day}, officials said.",
    "The deal covers {s} and is worth about {n} dollars over five years.",
    "{p} said the partnership would bring benefits to both sides and create jobs at home.",
    "Critics argued that the terms favoured {A} and left {g} with little say.",
    "{p} rejected the criticism as groundless and said the project met every standard.",
    "According to figures released by the statistics office, trade in {s} rose by {n} last year.",
    "The two governments pledged to respect each other's sovereignty and to settle "
    "disputes through dialogue.",
    "{g} in {c} staged a protest outside the ministry, demanding compensation for losses "
    "they blamed on the new rules.",
    "Officials admitted that delays and rising costs had slowed the work, but said "
    "construction would resume next month.",
    "The railway, which links {c} with the coast, carried {n} tonnes of cargo in its first year.",
    "Observers noted that {A} has become the largest buyer of {s} from {B} since the "
    "tariffs were lifted.",
    "{p} told reporters that the two countries share a common future and a commitment "
    "to peace in the region.",
    "Rights groups said the agreement ignored concerns raised by {g}.",
    "The central bank left interest rates unchanged on {day}, citing uncertainty about "
    "{s} and energy prices.",
    "In a statement, the company said it had hired {n} local workers and trained them in "
    "maintenance and safety.",
    "Some economists warned that the debt taken on to finance the project could become "
    "a burden if revenue from {s} falls short of forecasts, while others said the risk was "
    "manageable given the growth in regional demand.",
    "\"We are proud of what has been achieved together,\" {p} said at a ceremony in {c}.",
    "The opposition called for an inquiry into how the contract for {s} was awarded.",
    "Negotiators from {A} and {B} will meet again in {c} later this year to discuss "
    "fisheries, visas and {s}.",
    "Prices for {s} have fallen by {n} since the start of the year.",
    "Residents said the new port had brought traffic and noise, but also shops and "
    "better roads.",
    "The report, published on {day}, found that {g} had seen little of the promised "
    "investment, and recommended that future agreements include binding targets for local "
    "hiring, independent audits of spending and a public register of contracts.",
    "Both sides described the talks as frank and constructive.",
    "Shares in firms linked to {s} rose sharply after the announcement.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "March 3", "June 18", "Oct. 9"]
BOILERPLATE = [
    "Sign up for our daily newsletter to get the latest news from around the region.",
    "Reporting by the {c} bureau; editing by the news desk.",
]


def make_article(rng: random.Random, idx: int, boilerplate: bool) -> str:
    """One article of 400-900 words in 3-7 paragraphs, from :data:`TEMPLATES`."""
    target = rng.randint(400, 900)
    A, B = rng.sample(PLACES, 2)
    words, paras, para = 0, [], []
    city = rng.choice(CITIES)
    while words < target:
        s = rng.choice(TEMPLATES).format(
            A=A, B=B, p=rng.choice(PEOPLE), s=rng.choice(SECTORS), g=rng.choice(GROUPS),
            n=rng.choice(NUMS), c=rng.choice(CITIES), day=rng.choice(DAYS))
        # a serial detail keeps most sentences distinct across articles, as in real news
        if rng.random() < 0.85:
            s = s[:-1] + f", in the {rng.randint(2, 99)}th round of {rng.choice(SECTORS)} talks " \
                         f"reported in issue {idx}." if s.endswith(".") else s
        para.append(s)
        words += len(s.split())
        if len(para) >= rng.randint(3, 6):
            paras.append(" ".join(para))
            para = []
    if para:
        paras.append(" ".join(para))
    if boilerplate:
        paras.insert(0, f"{city.upper()} (Newswire).")
        paras.append(" ".join(b.format(c=city) for b in BOILERPLATE))
    return "\n\n".join(paras)


def make_corpus(n: int, seed: int, boilerplate: bool) -> list[str]:
    rng = random.Random(seed)
    return [make_article(rng, i, boilerplate) for i in range(n)]


# -- the measurements (each in a child process) ------------------------------------------
def _analyzer(backend: str, profile: str = "default", variant: dict | None = None,
              device: str = "cpu"):
    """The analyzer measured; ``variant`` names models in place of the shipped ones
    (keys ``cue_heads``, ``tone_model``, ``frames``)."""
    import framing

    # torch named explicitly: the default is "auto"
    kwargs = {"backend": backend, "device": device}
    if profile != "default":
        kwargs["profile"] = profile
    kwargs.update({k: v for k, v in (variant or {}).items() if v})
    return framing.Analyzer(**kwargs)


def _child_variant(args) -> dict:
    return {"cue_heads": args.child_cue_heads, "tone_model": args.child_tone_model,
            "frames": args.child_frames}


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure_pipeline(texts: list[str], args) -> dict:
    an = _analyzer(args.backend, args.profile, _child_variant(args), args.device)
    an.score_many(texts[:2])  # warm-up

    def run():
        out = []
        for i in range(0, len(texts), args.chunk):
            out.extend(an.score_many(texts[i:i + args.chunk]))
        return out

    t = _best(run, args.repeat)
    res = an.score_many(texts[:args.naive_articles])
    reference = [{"tones": [s.tone for s in r.sentences],
                  "cues": [[s.cues[c] for c in an.cue_ids] for s in r.sentences],
                  "frames": {sch: {f: v.probability for f, v in fr.items()}
                             for sch, fr in r.frames.items()}} for r in res]
    return {"seconds": t, "reference": reference,
            "encoder_sentences": an.encoder.sentences_encoded,
            "models": {k: v for k, v in an.artefact_paths().items()
                       if k in ("tone", "cue_heads") or k.startswith("frames")}}


def measure_encoder(sentences: list[str], args) -> dict:
    import framing

    enc = framing.Encoder()
    enc.encode(sentences[:8])
    return {"seconds": _best(lambda: enc.encode(sentences), args.repeat)}


def measure_naive(texts: list[str], args) -> dict:
    """Per sentence, per task: a fresh tokenizer + model call, no batching or sharing."""
    import numpy as np
    import torch

    an = _analyzer("torch")
    an.truncated_pass = False
    tok, model = an.encoder.tokenizer, an.encoder.model
    tone, cues = an.tone_scorer, an.cue_detector
    cue_ids = an.cue_ids

    def forward(sentence: str):
        enc = tok(sentence, truncation=True, max_length=an.encoder.max_length,
                  return_tensors="pt", return_offsets_mapping=True)
        offsets = [tuple(o) for o in enc.pop("offset_mapping")[0].tolist()]
        with torch.inference_mode():
            out = model(**enc, output_hidden_states=True)
        return out, enc["attention_mask"], offsets

    def branch(model_, out, mask, offsets, with_layer=False):
        tap = model_.make_tap({})
        tap.keep_features = True
        tap.keep_layer_states = with_layer
        tap.consume(out.hidden_states[model_.layer], mask, [offsets], [[0]])
        return tap

    def pooled(out, mask):
        m = mask.unsqueeze(-1).float()
        v = (out.last_hidden_state * m).sum(1) / m.sum(1)
        return torch.nn.functional.normalize(v, dim=1)[0].numpy()

    def run():
        results = []
        for text in texts:
            sents = [s.clean for s in an.prepare(text).sentences]
            tones, cue_rows, frame_rows = [], [], {f.scheme: [] for f in an.frame_scorers}
            for s in sents:
                out, mask, offs = forward(s)  # task 1: tone
                p = tone.with_words(branch(tone, out, mask, offs).out[(0, None)][None, :],
                                    [s])[0]
                tones.append(float(np.clip(p[2] - p[0], -1, 1)))
                row = []
                matches = cues.match_patterns(s)
                for ci, cid in enumerate(cue_ids):  # one task per cue head
                    out, mask, offs = forward(s)
                    if not cues.needs_branch_features:
                        feats = pooled(out, mask)
                    else:  # heads on a branch's states (and its input layer's, if they read it)
                        with_layer = cues.heads.feature_source == "layer+tone-branch"
                        t = branch(cues.feature_model, out, mask, offs, with_layer=with_layer)
                        feats = np.concatenate([t.layer_states[0], t.features[0]]) \
                            if with_layer else t.features[0]
                    prob = cues.heads.predict_proba(feats[None, :], [s])[0, ci]
                    if any(m.cue == cid for m in matches):
                        prob = 1.0 - (1.0 - prob) * (1.0 - cues.pattern_weights[ci])
                    row.append(float(prob))
                cue_rows.append(row)
                for f in an.frame_scorers:  # frames: one more encoding per sentence
                    out, mask, offs = forward(s)
                    fm = getattr(f, "feature_model", None)
                    if fm is None:
                        frame_rows[f.scheme].append(pooled(out, mask))
                    elif f.feature_source == "layer+tone-branch":
                        t = branch(fm, out, mask, offs, with_layer=True)
                        frame_rows[f.scheme].append(np.concatenate([t.layer_states[0],
                                                                    t.features[0]]))
                    else:
                        frame_rows[f.scheme].append(branch(fm, out, mask, offs).features[0])
            frames = {}
            for f in an.frame_scorers:
                rows = np.stack(frame_rows[f.scheme]) if sents else np.zeros((0, an.encoder.dim))
                art, _ = f.score(rows, sents)
                frames[f.scheme] = {fid: float(v) for fid, v in zip(f.ids, art)}
            results.append({"tones": tones, "cues": cue_rows, "frames": frames})
        return results

    t0 = time.perf_counter()  # one timed run: it is slow, and nothing in it warms up
    outputs = run()
    return {"seconds": time.perf_counter() - t0, "outputs": outputs}


def child(args) -> None:
    import torch

    data = json.loads(Path(args.corpus).read_text())
    fn = {"pipeline": measure_pipeline, "encoder": measure_encoder,
          "naive": measure_naive}[args.child]
    what = data["sentences"] if args.child == "encoder" else \
        data["texts"][:args.naive_articles] if args.child == "naive" else data["texts"]
    out = fn(what, args)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["torch_threads"] = torch.get_num_threads()
    print("RESULT " + json.dumps(out))


def run_child(kind: str, corpus: str, args, variant: dict | None = None) -> dict:
    """One measurement in a child process (``variant``: a pipeline with those models)."""
    cmd = [sys.executable, __file__, "--child", kind, "--corpus", corpus,
           "--repeat", str(args.repeat), "--chunk", str(args.chunk),
           "--naive-articles", str(args.naive_articles), "--backend", args.backend,
           "--profile", args.profile, "--device", args.device]
    for key, value in (variant or {}).items():
        if value:
            cmd += ["--child-" + key.replace("_", "-"), value]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not line:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"measurement {kind!r} failed (exit {proc.returncode})")
    return json.loads(line[-1][len("RESULT "):])


def _max_diff(ref: list[dict], naive: list[dict]) -> dict:
    import numpy as np

    d = {"tone": 0.0, "cues": 0.0, "frames": 0.0}
    for r, n in zip(ref, naive):
        if r["tones"]:
            d["tone"] = max(d["tone"], float(np.max(np.abs(np.array(r["tones"]) -
                                                           np.array(n["tones"])))))
            d["cues"] = max(d["cues"], float(np.max(np.abs(np.array(r["cues"]) -
                                                           np.array(n["cues"])))))
        for sch, fr in r["frames"].items():
            d["frames"] = max(d["frames"], max(abs(v - n["frames"][sch][f]) for f, v in fr.items()))
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--articles", type=int, default=96)
    ap.add_argument("--naive-articles", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=64, help="articles per score_many call")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--boilerplate", action="store_true",
                    help="add a dateline, a newsletter line and a credit line to every article")
    ap.add_argument("--backends", default=None,
                    help="pipeline backends to measure, comma-separated (default: torch, and "
                         "onnx when onnxruntime is installed)")
    ap.add_argument("--profiles", default="default",
                    help="analyzer profiles to measure, comma-separated: default, accurate "
                         "(the accurate tier needs framing[mpnet] and its models)")
    ap.add_argument("--backend", default="torch", help=argparse.SUPPRESS)  # for a child
    ap.add_argument("--profile", default="default", help=argparse.SUPPRESS)  # for a child
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--gpu", action="store_true",
                    help="also measure each profile's torch pipeline on the CUDA GPU (its "
                         "ratio to the same profile on the CPU is printed)")
    ap.add_argument("--device", default="cpu", help=argparse.SUPPRESS)  # for a child
    for name in ("cue-heads", "tone-model", "frames"):  # the variant, for a child
        ap.add_argument(f"--child-{name}", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cue-heads", default=None,
                    help="also measure the default torch pipeline with these cue heads in "
                         "place of the shipped ones (ratio against the shipped pipeline)")
    ap.add_argument("--tone-model", default=None,
                    help="the same with this tone model (with --cue-heads and --frames: "
                         "heads that read its branch)")
    ap.add_argument("--frames", default=None, help="the same with these frame heads")
    ap.add_argument("--variant-profile", default="default", choices=["default", "accurate"],
                    help="the tier whose torch pipeline the variant replaces models of (its "
                         "ratio is against that tier's shipped pipeline; accurate must be in "
                         "--profiles)")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    if args.backends is None:
        from framing.pipeline.onnx_backend import onnx_available

        args.backends = "torch,onnx" if onnx_available() else "torch"
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    if profiles[0] != "default":
        raise SystemExit("--profiles must start with default (the reference for the others)")
    if backends[0] != "torch":
        raise SystemExit("--backends must start with torch (the reference for the others)")
    if args.gpu:
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("--gpu: torch sees no CUDA GPU here")
    if args.variant_profile not in profiles:
        raise SystemExit(f"--variant-profile {args.variant_profile} must be one of --profiles")
    reference = "pipeline" + ("" if args.variant_profile == "default"
                              else f"-{args.variant_profile}")

    import torch

    import framing

    texts = make_corpus(args.articles, args.seed, args.boilerplate)
    seg = framing.prepare
    enc = framing.Encoder()
    sentences = [s.clean for t in texts for s in seg(
        t, max_chars=100_000, max_tokens=enc.content_tokens,
        token_offsets=enc.token_offsets).sentences]
    n_naive = min(args.naive_articles, len(texts))
    naive_sents = sum(len(seg(t, max_chars=100_000, max_tokens=enc.content_tokens,
                              token_offsets=enc.token_offsets).sentences) for t in texts[:n_naive])
    del enc
    words = [len(t.split()) for t in texts]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.json")
        Path(corpus).write_text(json.dumps({"texts": texts, "sentences": sentences}))
        res = {}
        for p in profiles:
            args.profile = p
            for b in backends:
                args.backend = b
                key = "pipeline" + ("" if p == "default" else f"-{p}") + \
                    ("" if b == "torch" else f"-{b}")
                res[key] = run_child("pipeline", corpus, args)
            if args.gpu:  # the same profile's torch pipeline on the GPU
                args.backend, args.device = "torch", "cuda"
                res["pipeline" + ("" if p == "default" else f"-{p}") + "-cuda"] = \
                    run_child("pipeline", corpus, args)
                args.device = "cpu"
        args.backend, args.profile = "torch", args.variant_profile
        variant = {"cue_heads": args.cue_heads, "tone_model": args.tone_model,
                   "frames": args.frames}
        if any(variant.values()):
            res["pipeline-variant"] = run_child("pipeline", corpus, args, variant)
        args.profile = "default"
        res["encoder"] = run_child("encoder", corpus, args)
        if not args.skip_naive:
            res["naive"] = run_child("naive", corpus, args)

    n_art, n_sent = len(texts), len(sentences)
    rate = {k: (n_art / v["seconds"], n_sent / v["seconds"])
            for k, v in res.items() if k.startswith("pipeline")}
    rate["encoder"] = (None, n_sent / res["encoder"]["seconds"])
    if "naive" in res:
        rate["naive"] = (n_naive / res["naive"]["seconds"], naive_sents / res["naive"]["seconds"])
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {res['pipeline']['torch_threads']} torch threads; "
          f"python {platform.python_version()}")
    print(f"corpus: {n_art} generated articles ({min(words)}-{max(words)} words, mean "
          f"{sum(words) / n_art:.0f}), {n_sent} sentences ({len(set(sentences))} distinct)"
          f"{'; with boilerplate' if args.boilerplate else ''}; seed {args.seed}")
    print(f"{'measurement':<48} {'articles/s':>10} {'sentences/s':>12} {'peak RSS MB':>12}")
    labels = {"pipeline": "full pipeline (tone + cues + frames + evidence)",
              **{f"pipeline-{b}": f"full pipeline, backend={b}" for b in backends},
              **{f"pipeline-{p}": f"{p} tier, full pipeline" for p in profiles},
              **{f"pipeline-{p}-{b}": f"{p} tier, backend={b}"
                 for p in profiles for b in backends},
              **{"pipeline" + ("" if p == "default" else f"-{p}") + "-cuda":
                 f"{p} tier, torch on the CUDA GPU" for p in profiles},
              "pipeline-variant": f"{args.variant_profile} tier, other models (variant)",
              "encoder": "bare encoder forward pass",
              "naive": f"naive per-sentence per-task ({n_naive} articles)"}
    for k, (a, s) in rate.items():
        print(f"{labels[k]:<48} {(f'{a:.2f}' if a else '-'):>10} {s:>12.1f} "
              f"{res[k]['peak_rss_mb']:>12.0f}")
    ratios = {"pipeline/encoder": rate["pipeline"][1] / rate["encoder"][1]}
    for b in backends[1:]:
        ratios[f"pipeline-{b}/pipeline-torch"] = rate[f"pipeline-{b}"][1] / rate["pipeline"][1]
        ratios[f"pipeline-{b}/encoder"] = rate[f"pipeline-{b}"][1] / rate["encoder"][1]
    if args.gpu:
        for p in profiles:
            key = "pipeline" + ("" if p == "default" else f"-{p}")
            ratios[f"{key}-cuda/{key}"] = rate[f"{key}-cuda"][1] / rate[key][1]
    for p in profiles[1:]:
        ratios[f"pipeline-{p}/pipeline"] = rate[f"pipeline-{p}"][1] / rate["pipeline"][1]
        for b in backends[1:]:
            ratios[f"pipeline-{p}-{b}/pipeline-{p}"] = \
                rate[f"pipeline-{p}-{b}"][1] / rate[f"pipeline-{p}"][1]
    if "pipeline-variant" in res:
        ratios[f"pipeline-variant/{reference}"] = \
            rate["pipeline-variant"][1] / rate[reference][1]
        print(f"models: {reference} {res[reference]['models']}; variant "
              f"{res['pipeline-variant']['models']}")
    if "naive" in res:
        ratios["pipeline/naive"] = rate["pipeline"][1] / rate["naive"][1]
        diff = _max_diff(res["pipeline"]["reference"], res["naive"]["outputs"])
        print("naive vs pipeline outputs, largest absolute difference: "
              + ", ".join(f"{k} {v:.2e}" for k, v in diff.items()))
    print("ratios (sentence throughput): " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "articles": n_art, "sentences": n_sent, "rates": rate, "ratios": ratios,
            "peak_rss_mb": {k: v["peak_rss_mb"] for k, v in res.items()},
            "argv": sys.argv[1:]}, indent=2) + "\n")


if __name__ == "__main__":
    main()
