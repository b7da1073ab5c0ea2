"""framing.analysis.report: plots fit for a paper — colour-blind-safe colours, SVG / PNG /
PDF export chosen by suffix, one-sentence captions (shown in the HTML report) and labels
in words."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import pytest

import framing
from framing.analysis import report
from framing.analysis.report import HEATMAP_CMAP, PALETTE, figure_caption
from synth_scores import make_scores

FAST = {"n_boot": 200, "n_permutations": 199}
OUTLETS = ("Alpha Daily", "Beta Post", "Gamma Wire")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Okabe & Ito (2008): the only colours a categorical series may take
OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
             "#CC79A7"}
# colour-blind-safe maps: perceptually uniform and readable with colour-vision deficiencies
SAFE_CMAPS = {"cividis", "viridis"}


@pytest.fixture(scope="module")
def comparison():
    df = make_scores(dict(zip(OUTLETS, (80, 80, 60))),
                     tone_mean={"Alpha Daily": 0.4, "Gamma Wire": -0.2},
                     prevalence={"Alpha Daily": {"win_win": 0.7}}, base_prevalence=0.25, seed=3)
    df = df.rename(columns={"outlet": "news_outlet", "date": "pub_date"})
    return framing.compare_outlets(df, by="news_outlet", time="pub_date", freq="M",
                                   error_rates={"win_win": (0.85, 0.05)}, **FAST)


def _plot(comparison, kind: str, path, **kw):
    return getattr(comparison, f"plot_{kind}")(path, **kw)


def _svg_text(path) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith(("<?xml", "<svg"))
    root = ET.fromstring(text.encode("utf-8"))  # well-formed XML
    assert root.tag.endswith("svg")
    return text


def _hex_colours(svg: str) -> set[str]:
    return {c.upper() for c in re.findall(r"#[0-9A-Fa-f]{6}\b", svg)}


def test_the_palette_is_okabe_ito_and_the_colour_map_is_safe():
    assert set(PALETTE) <= OKABE_ITO and len(set(PALETTE)) == len(PALETTE) == 8
    assert HEATMAP_CMAP in SAFE_CMAPS


@pytest.mark.parametrize("kind", ["heatmap", "tone", "over_time"])
def test_svg_is_valid_xml_with_outlet_names_as_text(comparison, kind, tmp_path):
    path = tmp_path / f"{kind}.svg"
    _plot(comparison, kind, path)
    svg = _svg_text(path)
    for outlet in OUTLETS:
        assert outlet in svg
    assert "news_outlet" not in svg and "pub_date" not in svg  # column names read as words
    assert "news outlet" in svg


@pytest.mark.parametrize("kind", ["heatmap", "tone", "over_time"])
def test_png_and_pdf_follow_the_suffix(comparison, kind, tmp_path):
    _plot(comparison, kind, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == PNG_MAGIC
    _plot(comparison, kind, tmp_path / "p.PDF")
    assert (tmp_path / "p.PDF").read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize("kind", ["heatmap", "tone", "over_time"])
def test_an_unknown_suffix_is_refused_before_drawing(comparison, kind, tmp_path):
    for name in ("plot.jpg", "plot"):
        with pytest.raises(ValueError, match=r"\.png, \.svg, \.pdf"):
            _plot(comparison, kind, tmp_path / name)
    with pytest.raises(ValueError, match="unsupported plot format"):
        _plot(comparison, kind, tmp_path / "plot.png", formats=("png", "tiff"))
    assert not list(tmp_path.iterdir())


def test_formats_write_one_file_each_next_to_the_path(comparison, tmp_path):
    comparison.plot_tone(tmp_path / "figs" / "tone", formats=("png", "svg"))
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["tone.png", "tone.svg"]
    assert (tmp_path / "figs" / "tone.png").read_bytes()[:8] == PNG_MAGIC
    _svg_text(tmp_path / "figs" / "tone.svg")


def test_png_is_written_at_print_resolution(comparison, tmp_path):
    from PIL import Image

    fig = comparison.plot_tone(tmp_path / "tone.png")
    with Image.open(tmp_path / "tone.png") as img:
        assert img.width == pytest.approx(fig.get_figwidth() * report.PNG_DPI, abs=2)


def test_series_colours_come_from_the_palette(comparison, tmp_path):
    comparison.plot_over_time(tmp_path / "time.svg")
    colours = _hex_colours((tmp_path / "time.svg").read_text(encoding="utf-8"))
    assert set(PALETTE[:3]) <= colours  # one per outlet
    assert not colours & {"#1F77B4", "#FF7F0E", "#2CA02C"}  # no tab10 left
    fig = comparison.plot_tone(tmp_path / "tone.svg")
    colours = _hex_colours((tmp_path / "tone.svg").read_text(encoding="utf-8"))
    assert PALETTE[3] in colours  # vermillion marks the outlets that differ
    assert not colours & {"#C0392B", "#2C3E50", "#2980B9"}
    marks = {line.get_color() for ax in fig.axes for line in ax.get_lines()
             if line.get_marker() == "o"}
    assert marks and marks <= set(PALETTE)


def test_heatmaps_use_the_safe_colour_map(comparison):
    for fig in (comparison.plot_heatmap(), comparison.plot_heatmap(adjusted=True)):
        assert fig.axes[0].images[0].get_cmap().name == HEATMAP_CMAP


def test_labels_are_words(comparison):
    fig = comparison.plot_heatmap()
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "win win" in ticks and not any("_" in t for t in ticks)
    assert ax.get_xlabel() == "cue" and ax.get_ylabel() == "news outlet"
    assert "news outlet" in ax.get_title(loc="left")
    ax = comparison.plot_tone().axes[0]
    assert ax.get_ylabel() == "news outlet" and "tone" in ax.get_xlabel()
    fig = comparison.plot_over_time()
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]
    assert titles[0] == "Mean tone" and not any("_" in t for t in titles)
    assert "pub date" in fig.get_suptitle()


@pytest.mark.parametrize("kind", ["heatmap", "tone", "over_time"])
def test_every_plot_has_a_one_sentence_caption(comparison, kind):
    caption = figure_caption(_plot(comparison, kind, None))
    assert caption and caption.endswith(".") and caption.count(". ") == 0
    assert f"{comparison.n_articles} articles" in caption
    assert "3 news outlet groups" in caption
    if kind != "over_time":
        assert "Benjamini–Hochberg" in caption
    if kind == "tone":
        assert "95% percentile bootstrap intervals" in caption
    if kind == "over_time":
        assert "Mean tone and cue prevalence per monthly period" in caption
        assert "95% t intervals for tone and Wilson intervals for shares" in caption
    assert figure_caption(comparison.plot_heatmap(adjusted=True)).count("detector errors") == 1


def test_html_report_shows_each_caption_escaped(comparison):
    doc = comparison.to_html()
    figures = re.findall(r'<figure id="plot-[^"]+">.*?</figure>', doc, flags=re.S)
    assert len(figures) >= 3
    assert all("<figcaption>" in f for f in figures)
    caption = figure_caption(comparison.plot_tone())
    assert "<" in caption and html.escape(caption) in doc  # "p < .05" arrives escaped
