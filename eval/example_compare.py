"""Score the shipped example corpus and compare its four outlets.

    python eval/example_compare.py

Scores framing/data/example_news.jsonl with the default analyzer into a scores directory
(a temporary one unless --scores is given), runs ``framing.compare_outlets`` by outlet
with monthly time bins on the ``date`` column, and writes to eval/results/:
example_compare.md (the summary tables), example_heatmap.png,
example_heatmap_frames.png, example_tone.png, example_over_time.png and
example_report.html (the self-contained report).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import framing
from framing.core.formatting import local_paths

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scores", default=None, help="scores directory (default: a temporary one)")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        scores = Path(args.scores or Path(tmp) / "scores")
        an = framing.Analyzer()
        t0 = time.perf_counter()
        summary = framing.score_corpus(framing.example_corpus_path(), scores, text="body",
                                       id="id", outlet="outlet", date="date", title="title",
                                       analyzer=an, progress=False, overwrite=True)
        print(summary)
        cmp = framing.compare_outlets(scores, by="outlet", time="date", freq="M", seed=13)
        cmp.plot_heatmap(out / "example_heatmap.png")
        cmp.plot_heatmap(out / "example_heatmap_frames.png", kind="frames")
        cmp.plot_tone(out / "example_tone.png")
        cmp.plot_over_time(out / "example_over_time.png")
        cmp.to_html(out / "example_report.html")
        md = cmp.to_markdown()
        (out / "example_compare.md").write_text(
            "# Example corpus: outlets compared\n\n"
            "Written by `python eval/example_compare.py` (framing "
            f"{framing.__version__}).\n\n{local_paths(str(summary))}\n\n{md}\n",
            encoding="utf-8")
        print(md)
        print(f"written to {out} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
