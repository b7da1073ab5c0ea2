"""Train a real-text branch: a second branch off the shared encoder pass, trained on the
real labelled sentences' tone and (weighted up) their cues, and attach it to a tone model
as its sentence branch.

    python models/train_cue_branch.py --model all-mpnet-base-v2 --real ../shared/data/real \
        --cues models/training/cues --out BRANCH --attach-to models/tone-mpnet

The tone branch (``train_tone_newsmtsc.py``) is trained first of all for NewsMTSC, with the
cue loss as a side task; giving cues more weight there costs NewsMTSC accuracy. A cue
branch is the same design (copies of the encoder's top layers reading the same shared
layer) trained for cues: its main loss is the multi-label cue loss over the project's cue
sentences and the real train sentences, weighted ``--cue-weight``; its tone loss is the
real sentences' own tone (sentence and targets, no NewsMTSC). Calibration and the dev
figures use the real dev split; the test split is never read. The saved artefact is a tone
model directory like any other; ``--attach-to TONE_DIR`` makes it that tone model's
sentence branch (:func:`framing.heads.tone.model.attach_sentence_branch`): the analyzer
then takes the tone of whole sentences from it and tone toward target mentions from the
main branch. Cue heads fitted on it (``train_cues.py --tone-model TONE_DIR/sentence
--sentence-branch``) pin its weights digest and share its pass.

It costs the analyzer the top layers once more per sentence (two layers of twelve for
all-mpnet-base-v2); `eval/bench_throughput.py` measures it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import framing
from framing.heads.tone.model import attach_sentence_branch
from framing.training.tone import train_tone
from real_data import real_sentences
from train_tone_newsmtsc import cue_training_data

HERE = Path(__file__).resolve().parent

CARD = """# {name}: real-text sentence branch ({encoder_name})

The sentence branch of the accurate tier's tone model (`tone-mpnet/sentence/`): it gives the
tone of whole sentences, and its states are what the tier's cue heads read (`cues-mpnet`,
which pin its weights digest); tone toward a target mention stays with the main branch
(`tone-mpnet`, trained mostly on NewsMTSC). A branch off the shared encoder pass:
it reads the hidden states after layer {layer}, runs its own fine-tuned copies of the
encoder's top {n_layers} layers (int8 weights with per-row scales) and mean-pools them. It is
trained on real text: each step passes {cue_batch} of {cue_sentences} cue-labelled sentences (the
project's, less the cue heads' former dev split, and {real_sentences} real train sentences
of `eval/labelling`) with {cue_weight} x a balanced multi-label loss over the {n_cues} built-in
cues, plus a batch of {batch} real tone examples (each real train sentence's tone and tone
toward its labelled targets: {tone_examples} examples) with class-weighted cross-entropy.
{epochs} epochs, AdamW (lr {lr} for the layers, 1e-3 for marker and heads), seed {seed}.

Probabilities are divided by a temperature fitted on the real dev split (T = {temperature:.3f}).

## Real dev metrics ({dev_n} dev examples: each dev sentence and each labelled target)
- tone macro-F1 {f1:.3f} [{f1_lo:.3f}, {f1_hi:.3f}] (sentences and targets together; the
  temperature was fitted here, which does not change the winning class). The tier's figures
  on the frozen real test split are in the project README.
- training time on a 2-core CPU: {wall:.0f} s ({states:.0f} s encoder states, {train_s:.0f} s
  training)

## Reproduce
```
{command}
```
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=None,
                    help="the encoder (default: the bundled all-MiniLM-L6-v2)")
    ap.add_argument("--real", default=str(HERE.parent.parent / "shared" / "data" / "real"))
    ap.add_argument("--cues", default=str(HERE / "training" / "cues"))
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--cue-weight", type=float, default=3.0)
    ap.add_argument("--cue-batch-size", type=int, default=48)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--device", default="cpu",
                    help="torch device: cpu (default), cuda, cuda:N or auto (a GPU when "
                         "torch sees one); the saved model is the same kind either way")
    ap.add_argument("--name", default="tone-sentence")
    ap.add_argument("--attach-to", default=None, metavar="TONE_DIR",
                    help="make the trained branch this tone model's sentence branch")
    ap.add_argument("--checkpoint", default=None, metavar="DIR",
                    help="save the training state after each epoch; resume from it")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    command = ("python models/train_cue_branch.py "
               + (f"--model {args.model} " if args.model else "")
               + f"--layers {args.layers} --epochs {args.epochs} --lr {args.lr} "
               f"--cue-weight {args.cue_weight} --cue-batch-size {args.cue_batch_size} "
               f"--seed {args.seed} --name {args.name} --out {args.out}"
               + (f" --attach-to {args.attach_to}" if args.attach_to else ""))
    real = real_sentences("train", args.real)
    dev = real_sentences("dev", args.real).tone_examples()
    train = real.tone_examples()
    cue_texts, cue_labels, ids = cue_training_data(args.cues, real)
    print(f"real train: {len(real.rows)} sentences, {len(train)} tone examples; dev "
          f"{len(dev)} tone examples; {len(cue_texts)} cue sentences, {len(ids)} cues",
          flush=True)
    encoder = framing.Encoder(args.model, device=args.device)
    t0 = time.perf_counter()
    result = train_tone(train, dev, encoder, design="branch", n_layers=args.layers,
                        epochs=args.epochs, lr=args.lr, seed=args.seed, name=args.name,
                        cue_texts=cue_texts, cue_labels=cue_labels,
                        cue_weight=args.cue_weight, cue_batch_size=args.cue_batch_size,
                        checkpoint=args.checkpoint, resume=args.checkpoint is not None,
                        device=args.device)
    wall = time.perf_counter() - t0
    out = Path(args.out)
    result.save(out)
    m = dict(result.metrics, wall_seconds=wall, history=result.history, command=command,
             real={"sentences": len(real.rows), "examples": len(train)})
    (out / "metrics.json").write_text(json.dumps(m, indent=2) + "\n")
    c, f1 = result.config, m["dev_macro_f1"]
    (out / "README.md").write_text(CARD.format(
        name=args.name, encoder_name=c["encoder"].get("name"), layer=c["layer"],
        n_layers=c["n_layers"], cue_batch=args.cue_batch_size, cue_sentences=len(cue_texts),
        real_sentences=len(real.rows), cue_weight=args.cue_weight, n_cues=len(ids),
        batch=32, tone_examples=len(train), epochs=args.epochs, lr=args.lr, seed=args.seed,
        dev_n=m["dev_n"], temperature=c["temperature"], f1=f1["value"], f1_lo=f1["low"], f1_hi=f1["high"], wall=wall,
        states=m["seconds_encoder_states"], train_s=m["seconds_training"], command=command),
        encoding="utf-8")
    print(f"real dev tone macro-F1 {f1['value']:.4f}; wall {wall:.0f} s "
          f"(states {m['seconds_encoder_states']:.0f} s, training {m['seconds_training']:.0f} s)")
    if args.attach_to:
        print(f"attached as {attach_sentence_branch(args.attach_to, out)}")


if __name__ == "__main__":
    main()
