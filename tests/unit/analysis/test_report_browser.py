"""The HTML comparison report in a real headless Chromium (skipped without one on PATH).

Each check runs Chromium as a plain command line, offline (file:// pages, host lookups
mapped to nothing) and with console logging on stderr:

* the report loads without a console message or an uncaught script error, and the
  Findings list is in the rendered DOM, ahead of everything else (``--dump-dom``);
* an evidence ``<details>`` panel hides its sentence while closed and shows it, as
  text, once opened: a copy of the report gets a small probe script that measures the
  panel before and after setting ``open`` and writes what it saw into a ``<pre>`` the
  test reads back from ``--dump-dom``;
* the same run writes a screenshot of the opened panel, checked to be a real picture
  rather than a blank page.

A control page that logs an error and throws shows that the console check can fail on
the Chromium at hand.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import framing
from synth_scores import make_scores


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no headless chromium on PATH (Debian: apt-get install chromium)")

FAST = {"n_boot": 200, "n_permutations": 199}
WIDTH, HEIGHT = 1280, 900


def _sentence(article_id: str, cue: str) -> str:
    """A distinct evidence sentence per article and cue, with characters that would be
    markup if the report forgot to escape them."""
    return f'Article {article_id} says "both sides <win>" & {cue.replace("_", " ")} holds.'


@pytest.fixture(scope="module")
def comparison():
    df = make_scores({"Alpha Daily": 60, "Beta Post": 60, "Gamma Wire": 40},
                     tone_mean={"Alpha Daily": 0.4, "Gamma Wire": -0.2},
                     prevalence={"Alpha Daily": {"win_win": 0.7}}, base_prevalence=0.25, seed=3)
    for col in [c for c in df.columns if c.startswith("cue_") and c.endswith("_evidence")]:
        cue = col[len("cue_"):-len("_evidence")]
        df[col] = [None if ev is None else _sentence(i, cue) for i, ev in zip(df["id"], df[col])]
    return framing.compare_outlets(df, time="date", freq="M",
                                   error_rates={"win_win": (0.85, 0.05)}, **FAST)


@pytest.fixture(scope="module")
def report(comparison, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    comparison.to_html(path)
    return path


def _browse(page: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    """Load ``page`` in headless Chromium with ``extra`` flags (``--dump-dom``,
    ``--screenshot=...``); stderr carries the console log."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--disable-extensions", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync",
           "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: no name resolves
           f"--user-data-dir={tmp / 'chromium-profile'}",
           "--enable-logging=stderr", "--v=0",
           f"--window-size={WIDTH},{HEIGHT}", "--virtual-time-budget=5000",
           *extra, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def _console(stderr: str) -> list[str]:
    """Console messages and uncaught errors in Chromium's stderr log (lines such as
    ``[...:INFO:CONSOLE:12] "message", source: file:///...``)."""
    return [line for line in stderr.splitlines()
            if re.search(r":CONSOLE\b|CONSOLE\(\d+\)", line) or "Uncaught" in line]


def test_console_check_catches_script_errors(tmp_path):
    """Control: the console scan sees a logged error and an uncaught exception, so a
    clean scan of the report means something."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>console.error('probe-logged');"
                    "notDefinedAnywhere();</script></body></html>", encoding="utf-8")
    messages = _console(_browse(page, tmp_path, "--dump-dom").stderr)
    assert any("probe-logged" in m for m in messages), messages
    assert any("Uncaught" in m and "notDefinedAnywhere" in m for m in messages), messages


def test_report_renders_with_findings_first_and_no_console_errors(report, tmp_path):
    done = _browse(report, tmp_path, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console(done.stderr) == []
    dom = done.stdout
    assert dom.rstrip().endswith("</html>")
    # the findings heading and a non-empty list of findings, before the summary
    start = dom.index('id="findings"')
    summary = dom.index(">Summary</h2>")
    assert start < summary
    items = re.findall(r"<li>(.*?)</li>", dom[start:summary], flags=re.S)
    assert items and all(html.unescape(t).strip() for t in items)
    assert "Alpha Daily" in html.unescape(" ".join(items))  # the planted contrast is found
    # markup in a sentence stays text: escaped in the DOM, never parsed into an element
    assert "&lt;win&gt;" in dom and "<win>" not in dom


#: Runs in a copy of the report after the page's own script: measures the first evidence
#: panel closed and open, clicks a sortable header, shifts the open panel to the top of
#: the viewport (a headless ``--screenshot`` paints scrolled pages blank, so the body is
#: translated instead of scrolled) and writes what it saw as JSON into <pre id="probe">.
_PROBE = """<script>
(function () {
  var out = {errors: []};
  try {
    var f = document.getElementById("findings");
    var summary = Array.prototype.filter.call(document.querySelectorAll("h2"),
        function (h) { return h.textContent.trim() === "Summary"; })[0];
    out.findingsFirst = !!(f && summary &&
        (f.compareDocumentPosition(summary) & Node.DOCUMENT_POSITION_FOLLOWING));
    out.findingsTop = f ? f.getBoundingClientRect().top : null;
    out.findingsItems = Array.prototype.map.call(
        document.querySelectorAll("#findings li, ol.findings li"),
        function (li) { return li.innerText; });
    var panel = document.querySelector("details.evidence");
    var cell = panel.querySelector("td.sentence");
    out.sentence = cell.textContent;
    out.closedOpen = panel.open;
    out.closedText = panel.innerText;
    out.closedVisible = cell.checkVisibility();
    out.closedHeight = panel.getBoundingClientRect().height;
    panel.open = true;
    out.openText = panel.innerText;
    out.openVisible = cell.checkVisibility();
    out.openHeight = panel.getBoundingClientRect().height;
    var y = panel.getBoundingClientRect().top + window.scrollY - 16;
    document.body.style.transform = "translateY(" + (-y) + "px)";
    var r = cell.getBoundingClientRect();
    out.cellInView = r.top >= 0 && r.bottom <= window.innerHeight && r.width > 0;
    var root = document.documentElement;
    out.pageOverflowX = root.scrollWidth - root.clientWidth;
    var th = document.querySelector("table.sortable th[data-sortable]");
    out.sorted = null;
    if (th) { th.click(); out.sorted = th.getAttribute("aria-sort"); }
  } catch (e) { out.errors.push(String(e && e.stack || e)); }
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def _with_probe(report: Path, dest: Path) -> Path:
    doc = report.read_text(encoding="utf-8")
    at = doc.rindex("</body>")
    dest.write_text(doc[:at] + _PROBE + doc[at:], encoding="utf-8")
    return dest


def _probe_result(dom: str) -> dict:
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom, flags=re.S)
    assert m, "the probe script did not run"
    return json.loads(html.unescape(m.group(1)))


def test_evidence_panel_opens_to_show_its_sentence(report, comparison, tmp_path):
    page = _with_probe(report, tmp_path / "probe.html")
    shot = tmp_path / "evidence_expanded.png"
    done = _browse(page, tmp_path, "--dump-dom", f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console(done.stderr) == []  # the probe, the panel and the sort click included
    out = _probe_result(done.stdout)
    assert out["errors"] == []

    # findings lead the page and are visible without scrolling
    assert out["findingsFirst"] and 0 <= out["findingsTop"] < HEIGHT
    assert out["findingsItems"] and all(t.strip() for t in out["findingsItems"])

    # the first panel's first sentence: the top evidence of the first group and cue,
    # shown as the very text the scores carry (quotes, "<win>" and "&" included)
    group = str(comparison.groups[comparison.by].iloc[0])
    first = comparison.evidence(group, comparison.cue_ids[0], 5)["sentence"].iloc[0]
    assert out["sentence"] == first and "<win>" in first

    # collapsed: the sentence is hidden and not in the panel's visible text
    assert out["closedOpen"] is False
    assert out["sentence"] not in out["closedText"] and not out["closedVisible"]
    # expanded: it is shown, and the panel grew to hold its table
    assert out["sentence"] in out["openText"] and out["openVisible"]
    assert out["openHeight"] > out["closedHeight"] + 40
    assert out["cellInView"]
    assert out["pageOverflowX"] <= 0  # wide tables scroll inside their box, not the page
    assert out["sorted"] == "ascending"  # the page's sorter ran on a header click

    # (d) the screenshot of the expanded panel: a real PNG of the window, not blank
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    grey = pixels[..., :3].mean(axis=2)
    assert grey.std() > 0.05 and (grey < 0.5).mean() > 0.005  # text on the page
    # ink in the top half, where the opened panel's table now sits
    assert (grey[: HEIGHT // 2] < 0.5).mean() > 0.005
    assert np.isfinite(grey).all()
