"""framing.analysis.report: plots, the self-contained HTML report (rendered in headless
chromium when it is installed) and the ``framing compare`` command."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import framing
from framing.cli import main
from synth_scores import FRAMES, make_scores

FAST = {"n_boot": 200, "n_permutations": 199}


@pytest.fixture(scope="module")
def comparison():
    df = make_scores({"Alpha Daily": 80, "Beta Post": 80, "Gamma Wire": 60},
                     tone_mean={"Alpha Daily": 0.4, "Gamma Wire": -0.2},
                     prevalence={"Alpha Daily": {"win_win": 0.7}}, base_prevalence=0.25, seed=3)
    return framing.compare_outlets(df, time="date", freq="M",
                                   error_rates={"win_win": (0.85, 0.05)}, **FAST)


@pytest.fixture(scope="module")
def framed():
    frames = {"narrative": FRAMES["narrative"], "policy": FRAMES["policy"][:6]}
    df = make_scores({"Alpha Daily": 80, "Beta Post": 80, "Gamma Wire": 60}, frames=frames,
                     tone_mean={"Alpha Daily": 0.3}, base_frame_prevalence=0.25,
                     frame_prevalence={"Beta Post": {"narrative:human_interest": 0.7}}, seed=4)
    return framing.compare_outlets(df, time="date", freq="M", error_rates={}, **FAST)


def _png_ok(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_plots_return_figures_and_write_pngs(comparison, tmp_path):
    fig = comparison.plot_heatmap(tmp_path / "heat.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.endswith("*") for t in texts)  # the planted cue is marked
    assert len(texts) == 3 * 3
    _png_ok(tmp_path / "heat.png")
    fig = comparison.plot_tone(tmp_path / "tone.png")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1].startswith("Alpha Daily") and labels[-1].endswith("*")
    _png_ok(tmp_path / "tone.png")
    fig = comparison.plot_over_time(tmp_path / "time.png")
    assert sum(ax.get_visible() for ax in fig.axes) == 4  # tone + 3 cues
    _png_ok(tmp_path / "time.png")
    comparison.plot_heatmap(tmp_path / "adj.png", adjusted=True)
    _png_ok(tmp_path / "adj.png")


def test_plot_over_time_needs_time_bins():
    cmp = framing.compare_outlets(make_scores({"A": 10, "B": 10}), **FAST)
    with pytest.raises(ValueError, match="time"):
        cmp.plot_over_time()


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "action", "poster") and value:
                self.refs.append((tag, name, value))


def test_html_report_is_self_contained(comparison, tmp_path):
    path = tmp_path / "report.html"
    doc = comparison.to_html(path)
    assert path.read_text(encoding="utf-8") == doc
    parser = _Refs()
    parser.feed(doc)
    assert parser.tags.get("img", 0) == 4  # heatmap, corrected heatmap, tone, over time
    assert parser.tags.get("table", 0) >= 6
    # one inline script (table sorting), nothing loaded from elsewhere
    assert parser.tags.get("script", 0) == 1 and "link" not in parser.tags
    assert all(v.startswith(("data:image/png;base64,", "data:text/csv;charset=utf-8,", "#"))
               for _, _, v in parser.refs), parser.refs
    assert not any(tag == "script" for tag, _, _ in parser.refs)
    assert "url(" not in doc and "@import" not in doc
    assert "Alpha Daily" in doc and "win_win" in doc


def test_html_report_shows_the_manifest(tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    make_scores({"A": 15, "B": 15}, seed=1).to_parquet(shards / "part-00000.parquet")
    (shards / "manifest.json").write_text(json.dumps({"model": "tiny", "rows": 30}))
    doc = framing.compare_outlets(shards, **FAST).to_html()
    assert 'id="manifest"' in doc and "&quot;model&quot;: &quot;tiny&quot;" in doc


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None,
                    reason="no headless chromium on PATH (Debian: apt-get install chromium)")
def test_html_report_renders_in_headless_chromium(comparison, tmp_path):
    from matplotlib.image import imread

    path = tmp_path / "report.html"
    comparison.to_html(path)
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}", "--disable-extensions"]
    dom = subprocess.run(base + ["--dump-dom", path.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert dom.count("<img") == 4 and dom.count("<table") >= 6
    assert "Pairwise tone" in dom
    shot = tmp_path / "shot.png"
    subprocess.run(base + ["--window-size=1200,1600", f"--screenshot={shot}", path.as_uri()],
                   capture_output=True, timeout=120)
    pixels = imread(shot)
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    grey = pixels[..., :3].mean(axis=2)
    assert grey.std() > 0.05  # not a blank page
    assert (grey < 0.5).mean() > 0.005  # some dark ink (text, plots)


def test_cli_compare_prints_markdown_and_writes_outputs(tmp_path, capsys):
    scores = tmp_path / "scores.parquet"
    make_scores({"A": 40, "B": 40}, tone_mean={"A": 0.5}, seed=12).to_parquet(scores)
    rates = tmp_path / "rates.json"
    rates.write_text(json.dumps({"win_win": {"tpr": 0.8, "fpr": 0.1}}))
    out = tmp_path / "out"
    html = tmp_path / "r.html"
    rc = main(["compare", str(scores), "--by", "outlet", "--time", "date", "--freq", "M",
               "--html", str(html), "--out-dir", str(out), "--error-rates", str(rates),
               "--n-boot", "200", "--n-permutations", "199"])
    assert rc == 0
    printed = capsys.readouterr()
    # the findings in words come first, then the tables
    assert printed.out.startswith("## Findings")
    assert "## Outlet comparison by outlet" in printed.out
    assert "| A |" in printed.out and "adj" in printed.out
    assert html.is_file() and "report written" in printed.err
    for name in ("groups.csv", "cues.csv", "pairwise_tone.csv", "pairwise_cues.csv",
                 "over_time.csv", "trends.csv", "summary.md", "heatmap.png", "tone.png",
                 "over_time.png", "heatmap_adjusted.png"):
        assert (out / name).is_file(), name


def test_cli_compare_errors(tmp_path, capsys):
    scores = tmp_path / "scores.csv"
    make_scores({"A": 5}).to_csv(scores, index=False)
    assert main(["compare", str(scores), "--by", "paper"]) == 2
    assert "paper" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "missing.parquet")]) == 2


def test_end_to_end_score_compare_sample(tmp_path, tiny_model_dir, capsys):
    """The one test that runs a (tiny, random) model: score -> compare -> sample."""
    corpus = tmp_path / "news.jsonl"
    texts = ["The two cities signed a great win-win deal and residents were delighted.",
             "Critics condemned the plan. They said it would cost too much.",
             "The council met on Tuesday. It discussed the budget for next year.",
             "Both sides hailed the agreement as a new era of friendship."]
    with open(corpus, "w", encoding="utf-8") as fh:
        for i in range(8):
            fh.write(json.dumps({"id": f"a{i}", "paper": "North" if i % 2 else "South",
                                 "day": f"2026-0{1 + i // 4}-1{i}", "body": texts[i % 4]}) + "\n")
    scores = tmp_path / "scores.parquet"
    assert main(["score", str(corpus), "-o", str(scores), "--model", str(tiny_model_dir),
                 "--tone", "similarity", "--no-progress", "--text", "body", "--id", "id",
                 "--outlet", "paper", "--date", "day"]) == 0
    capsys.readouterr()
    assert main(["compare", str(scores), "--time", "date", "--n-boot", "100",
                 "--n-permutations", "99", "--html", str(tmp_path / "r.html")]) == 0
    md = capsys.readouterr().out
    assert "| North | 4 |" in md and "| South | 4 |" in md
    assert main(["sample", str(scores), "-n", "4", "-o", str(tmp_path / "s.jsonl"),
                 "--text-source", str(corpus), "--text", "body", "--id", "id"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["text"] in texts for r in rows)


# -- frames ----------------------------------------------------------------------------------
def test_frames_heatmap(framed, comparison, tmp_path):
    fig = framed.plot_heatmap(tmp_path / "frames.png", kind="frames")
    _png_ok(tmp_path / "frames.png")
    panels = [ax for ax in fig.axes if ax.get_title(loc="left").endswith(" frames")]
    assert [ax.get_title(loc="left") for ax in panels] == ["narrative frames", "policy frames"]
    assert [len(ax.texts) for ax in panels] == [5 * 3, 6 * 3]  # frames x groups
    rows = [t.get_text() for t in panels[0].get_yticklabels()]
    assert rows == ["conflict", "economic", "human interest", "morality", "resolution"]
    starred = [t.get_text() for t in panels[0].texts if t.get_text().endswith("*")]
    assert starred  # the planted frame is marked
    cols = [t.get_text() for t in panels[-1].get_xticklabels()]
    assert cols == ["Alpha Daily", "Beta Post", "Gamma Wire"]
    with pytest.raises(ValueError, match="no frame columns"):
        comparison.plot_heatmap(kind="frames")
    with pytest.raises(ValueError, match="kind"):
        framed.plot_heatmap(kind="tones")
    fig = framed.plot_over_time(measures=["tone", "narrative:human_interest"])
    assert [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()] == [
        "Mean tone", "narrative: human interest"]


def test_html_report_has_frames_only_when_there_are_frames(framed, comparison):
    doc = framed.to_html()
    for marker in ('id="summary-frames"', 'id="summary-pairwise-frames"', 'id="plot-heatmap_frames"',
                   'id="table-frames"', 'id="table-pairwise_frames"', "Frame prevalence",
                   "narrative:human_interest", ", 11 frames"):
        assert marker in doc, marker
    assert doc.index('id="table-pairwise_cues"') < doc.index('id="table-frames"')
    assert doc.index('id="plot-heatmap"') < doc.index('id="plot-heatmap_frames"')
    parser = _Refs()
    parser.feed(doc)
    assert parser.tags.get("img", 0) == 4  # cue heatmap, frame heatmap, tone, over time
    plain = comparison.to_html()
    for marker in ("summary-frames", "heatmap_frames", "table-frames", "table-pairwise_frames",
                   "Frame prevalence", "frame differences", " frames"):
        assert marker not in plain, marker


def test_save_writes_frame_tables_and_heatmap(framed, comparison, tmp_path):
    paths = framed.save(tmp_path / "with", plots=True)
    for name in ("frames.csv", "pairwise_frames.csv", "heatmap_frames.png"):
        assert name in paths and Path(paths[name]).is_file(), name
    _png_ok(Path(paths["heatmap_frames.png"]))
    back = pd.read_csv(paths["frames.csv"])
    assert list(back.columns) == list(framed.frames.columns) and len(back) == 3 * 11
    assert "Frame prevalence" in Path(paths["summary.md"]).read_text(encoding="utf-8")
    paths = comparison.save(tmp_path / "without", plots=False)
    assert not any("frame" in name for name in paths)


# -- trends over time and catalogue names ------------------------------------------------------
def _rising(seed: int = 21):
    """Rising's win_win share climbs from about 15% to 75% over six months; Steady's stays."""
    df = make_scores({"Rising": 150, "Steady": 150}, seed=seed)
    month = pd.to_datetime(df["date"]).dt.month.to_numpy() - 1
    rng = np.random.default_rng(seed + 1)
    rising = (df["outlet"] == "Rising").to_numpy()
    df["cue_win_win_present"] = rng.random(len(df)) < np.where(rising, 0.15 + 0.12 * month, 0.3)
    return df


@pytest.fixture(scope="module")
def trending():
    cmp = framing.compare_outlets(_rising(), time="date", freq="M", error_rates={}, **FAST)
    cmp.manifest = {"analyzer": {"catalogue": "builtin"}}  # cue names from the catalogue
    return cmp


def _between(doc: str, start: str, end: str) -> str:
    return doc[doc.index(start):doc.index(end, doc.index(start))]


def test_html_has_a_trends_section_only_with_time_bins(trending):
    doc = trending.to_html()
    section = _between(doc, '<h2 id="trends">Trends over time</h2>', "<h2>Plots</h2>")
    # the trends in words first, then the over-time plot, then the table with its CSV
    assert section.index('<ol class="findings trends"><li>The cue “Mutual benefit” at Rising rose') \
        < section.index('id="plot-over_time"') < section.index('id="table-trends"') \
        < section.index('download="trends.csv"') < section.index('id="data-trends"')
    assert "No other trend over time is significant" in section
    assert doc.count('id="plot-over_time"') == 1  # moved out of the generic plots
    assert doc.index("</ol>") < doc.index('id="trends"')  # after the findings
    parser = _Refs()
    parser.feed(doc)
    assert parser.tags.get("img", 0) == 3  # heatmap, tone, over time
    plain = framing.compare_outlets(make_scores({"A": 30, "B": 30}, seed=2), **FAST).to_html(
        plots=False)
    assert 'id="trends"' not in plain and "Trends over time" not in plain
    assert "trends.csv" not in plain


def test_trends_table_is_for_people(trending):
    doc = trending.to_html(plots=False)
    assert 'id="plot-over_time"' not in doc and 'id="trends"' in doc
    table = _between(_between(doc, 'id="data-trends"', "</table>"), "<tbody>", "</tbody>")
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    assert len(rows) == 2 * 4
    rising = next(r for r in rows if ">Rising<" in r and ">Mutual benefit<" in r)
    assert re.search(r">\+\d+\.\d \[\+\d+\.\d, \+\d+\.\d\] pp<", rising), rising
    assert ">2026-01 – 2026-06<" in rising and ">Cochran–Armitage<" in rising
    assert ">yes<" in rising and ">&lt; 0.001<" in rising
    tone = next(r for r in rows if ">Steady<" in r and ">Mean tone<" in r)
    assert re.search(r">[+−]?\d\.\d{3} \[[+−]?\d\.\d{3}, [+−]?\d\.\d{3}\]<", tone), tone
    assert ">OLS slope t<" in tone
    head = re.findall(r"<th [^>]*>([^<]*)</th>", _between(doc, 'id="data-trends"', "</thead>"))
    assert head[:4] == ["outlet", "measure", "type", "time bins"]
    assert "slope per month [95% CI]" in head
    assert "Trends over time: time is counted in months" in doc  # the Method section


def test_report_tables_and_plots_show_catalogue_names(trending):
    doc = trending.to_html(plots=False)
    tables = _between(doc, "<h2>Tables</h2>", '<h2 id="method">')
    for table in ("data-cues", "data-pairwise_cues"):
        body = _between(tables, f'id="{table}"', "</table>")
        assert ">Mutual benefit<" in body and ">Countering criticism<" in body, table
        assert ">win win<" not in body and ">win_win<" not in body, table
    summary = _between(doc, "<h2>Summary</h2>", 'id="trends"')
    assert ">Mutual benefit<" in summary and ">win_win<" not in summary
    fig = trending.plot_heatmap()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [
        "Mutual benefit", "Mutual respect and equality", "Countering criticism"]
    fig = trending.plot_over_time(measures=["tone", "win_win"])
    assert [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()] == [
        "Mean tone", "Mutual benefit"]
    # without a catalogue, the ids with spaces, as before
    bare = dataclasses.replace(trending, manifest=None).to_html(plots=False)
    assert ">win win<" in _between(bare, 'id="data-cues"', "</table>")


def test_save_writes_the_trends_table(trending, tmp_path):
    paths = trending.save(tmp_path, plots=False)
    back = pd.read_csv(paths["trends.csv"])
    assert list(back.columns) == list(trending.trends.columns) and len(back) == 8
    md = Path(paths["summary.md"]).read_text(encoding="utf-8")
    assert "### Significant trends over time (slope per month)" in md
    assert "| Rising | Mutual benefit | 2026-01 – 2026-06 |" in md
    plain = framing.compare_outlets(make_scores({"A": 20, "B": 20}, seed=2), **FAST)
    assert "trends.csv" not in plain.save(tmp_path / "plain", plots=False)
