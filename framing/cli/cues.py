"""``framing cues``: list (and so validate) the cues of a catalogue."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from framing.core.formatting import counted

if TYPE_CHECKING:
    from framing.text.catalogue import Catalogue

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Add ``cues`` to the ``framing`` subparsers."""
    p = subparsers.add_parser(
        "cues", help="list the cues of a catalogue",
        description="List the cues of the built-in catalogue or of a YAML file; validates the "
                    "file on the way.")
    p.add_argument("--catalogue", default=None,
                   help="catalogue YAML or the name of a shipped one (default: builtin)")
    p.add_argument("--list", action="store_true", help="list the shipped catalogues")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--examples", type=int, default=0, metavar="N",
                   help="also print N exemplar sentences per cue")


def run(args: argparse.Namespace) -> int:
    """Print the shipped catalogues (``--list``) or one catalogue as a table or JSON."""
    from framing.text.catalogue import load_catalogue, shipped_catalogues

    if args.list:
        for name in shipped_catalogues():
            catalogue = load_catalogue(name)
            print(f"{name}: {counted(len(catalogue), 'cue')} (version {catalogue.version}) - "
                  f"{catalogue.description}")
        return 0
    catalogue = load_catalogue(args.catalogue)
    if args.format == "json":
        print(json.dumps(_as_json(catalogue, args.examples), indent=2, ensure_ascii=False))
    else:
        _print_table(catalogue, args.examples)
    return 0


def _as_json(catalogue: Catalogue, examples: int) -> dict[str, Any]:
    cues = []
    for cue in catalogue.cues:
        entry = {"id": cue.id, "name": cue.name, "description": cue.description,
                 "patterns": len(cue.patterns), "exemplars": len(cue.exemplars),
                 "counter_exemplars": len(cue.counter_exemplars), "threshold": cue.threshold}
        if examples:
            entry["examples"] = list(cue.exemplars[:examples])
        cues.append(entry)
    return {"name": catalogue.name, "version": catalogue.version, "source": catalogue.source,
            "cues": cues}


def _print_table(catalogue: Catalogue, examples: int) -> None:
    print(f"{catalogue.name} (version {catalogue.version}): {counted(len(catalogue), 'cue')}  "
          f"[{catalogue.source}]")
    width = max(len(cue.id) for cue in catalogue.cues)
    indent = f"  {'':<{width}}  "
    for cue in catalogue.cues:
        print(f"  {cue.id:<{width}}  {cue.name}  "
              f"({len(cue.patterns)} patterns, {len(cue.exemplars)} exemplars, "
              f"{len(cue.counter_exemplars)} counter-exemplars)")
        print(f"{indent}{cue.description}")
        for example in cue.exemplars[:examples]:
            print(f"{indent}  e.g. {example}")
