"""Screenshots of the example HTML report, taken in headless Chromium.

    python eval/report_screenshots.py [--regenerate] [--report PATH] [--out DIR]

Reads eval/results/example_report.html (with --regenerate, first rewrites it by running
eval/example_compare.py, which scores the shipped example corpus with the default
analyzer) and writes three 1280x900 screenshots to eval/results/:

* report_findings.png: the top of the page, with the Findings list;
* report_evidence_expanded.png: the first evidence panel ("The sentences behind the
  numbers") opened and brought to the top of the window;
* report_trends.png: the over-time section brought to the top of the window (a section
  with id "trends", else the over-time figure, else a heading about trends or time);
  not written when the report has none.

Each shot loads a temporary copy of the report with a short script appended that opens
the panel and moves the target to the top. Headless Chromium paints a scrolled page
blank in --screenshot, so the script translates the body upwards instead of calling
scrollIntoView(). The script records what it found in the page title, read back with
--dump-dom in the same run, so a missing target is reported rather than shot as the top
of the page. Console messages and uncaught errors (from --enable-logging) are printed and
make the exit status 1. Chromium runs offline on file:// pages; no network is needed.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT = 1280, 900

#: Where the "trends" shot points, in order of preference: CSS selectors, then any
#: h2/h3 whose text matches the pattern.
TREND_SELECTORS = ("#trends", "[id^='trends']", "#plot-over_time", "[id^='plot-over_time']",
                   "#table-over_time")
TREND_HEADING = r"trend|over time"

#: Appended to the copy of the report: finds the target, opens it (and, for the evidence
#: shot, the first evidence panel), moves it to the top of the window and leaves a JSON
#: note in the title. %(args)s is the JSON argument object.
_SCRIPT = """<script>
(function (a) {
  var note = {found: false};
  try {
    var el = null, i;
    for (i = 0; i < a.selectors.length && !el; i++) el = document.querySelector(a.selectors[i]);
    if (!el && a.heading) {
      var re = new RegExp(a.heading, "i");
      el = Array.prototype.filter.call(document.querySelectorAll("h2, h3"),
          function (h) { return re.test(h.textContent); })[0] || null;
    }
    if (el) {
      note.found = true;
      note.id = el.id || null;
      if (el.tagName === "DETAILS") {
        el.open = true;
        var cell = el.querySelector("td.sentence");
        note.sentence = cell ? cell.innerText : null;
        note.summary = el.querySelector("summary").innerText;
      }
      if (a.toTop) {
        var y = el.getBoundingClientRect().top + window.scrollY - 12;
        document.body.style.transform = "translateY(" + (-y) + "px)";
      }
      var r = el.getBoundingClientRect();
      note.top = Math.round(r.top);
      note.bottom = Math.round(r.bottom);
      note.text = (el.innerText || "").slice(0, 300);
    }
    var root = document.documentElement;
    note.overflowX = root.scrollWidth - root.clientWidth;
  } catch (e) { note.error = String(e); }
  document.title = "SHOT " + JSON.stringify(note);
})(%(args)s);
</script>"""

SHOTS = {
    "report_findings.png": {"selectors": ["#findings"], "heading": "^findings$", "toTop": False},
    "report_evidence_expanded.png": {"selectors": ["details.evidence"], "heading": None,
                                     "toTop": True},
    "report_trends.png": {"selectors": list(TREND_SELECTORS), "heading": TREND_HEADING,
                          "toTop": True},
}


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no headless chromium on PATH (Debian: apt-get install chromium)")


def console_lines(stderr: str) -> list[str]:
    """Console messages and uncaught errors in Chromium's ``--enable-logging`` output."""
    return [line for line in stderr.splitlines()
            if re.search(r":CONSOLE\b|CONSOLE\(\d+\)", line) or "Uncaught" in line]


def shoot(chromium: str, doc: str, args: dict, png: Path, tmp: Path) -> tuple[dict, list[str]]:
    """Screenshot a copy of ``doc`` with the target script appended; returns the script's
    note and the console lines."""
    at = doc.rindex("</body>")
    page = tmp / f"{png.stem}.html"
    page.write_text(doc[:at] + _SCRIPT % {"args": json.dumps(args)} + doc[at:], encoding="utf-8")
    shot = tmp / png.name
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--disable-extensions", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND",
           f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0",
           f"--window-size={WIDTH},{HEIGHT}", "--virtual-time-budget=5000",
           "--dump-dom", f"--screenshot={shot}", page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    m = re.search(r"<title>SHOT (.*?)</title>", done.stdout, flags=re.S)
    note = json.loads(html.unescape(m.group(1))) if m else {"found": False, "error": "no note"}
    if note.get("found") and shot.exists():
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(shot.read_bytes())
    return note, console_lines(done.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--report", default=str(HERE / "results" / "example_report.html"))
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--regenerate", action="store_true",
                    help="rewrite the example report first (runs eval/example_compare.py)")
    args = ap.parse_args()
    out = Path(args.out)
    report = Path(args.report)
    if args.regenerate:
        subprocess.run([sys.executable, str(HERE / "example_compare.py"), "--out", str(out)],
                       check=True)
        report = out / "example_report.html"
    doc = report.read_text(encoding="utf-8")
    chromium = find_chromium()
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, shot_args in SHOTS.items():
            png = out / name
            note, console = shoot(chromium, doc, shot_args, png, Path(tmp))
            if not note.get("found"):
                print(f"{name}: no target in {report.name} ({note.get('error', 'not found')});"
                      " not written")
                if png.exists():
                    png.unlink()
                    print(f"  removed the stale {png}")
                continue
            print(f"{name}: {png} (target id={note.get('id')}, top={note.get('top')} px, "
                  f"bottom={note.get('bottom')} px, page overflow-x={note.get('overflowX')} px)")
            if note.get("sentence"):
                print(f"  panel: {note.get('summary')}\n  first sentence: {note['sentence']}")
            for line in console:
                problems.append(f"{name}: {line}")
    for p in problems:
        print("console:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
