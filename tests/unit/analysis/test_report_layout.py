"""framing.analysis.report: the layout of the HTML report for people: columns of words
carry the ``text`` class (left-aligned), numbers keep the true minus sign and their
stars apart, no local folder is shown, evidence panels sit under one heading per group,
and a single line is a paragraph rather than a one-item list."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import framing
from synth_scores import make_scores

FAST = {"n_boot": 200, "n_permutations": 199}
GROUPS = ("Alpha Daily", "Beta Post", "Gamma Wire")


@pytest.fixture(scope="module")
def cmp():
    df = make_scores({"Alpha Daily": 60, "Beta Post": 60, "Gamma Wire": 50},
                     tone_mean={"Alpha Daily": 0.4, "Gamma Wire": -0.3},
                     prevalence={"Alpha Daily": {"win_win": 0.8}}, base_prevalence=0.2, seed=7)
    return framing.compare_outlets(df, time="date", freq="M",
                                   error_rates={"win_win": (0.85, 0.05)}, **FAST)


@pytest.fixture(scope="module")
def doc(cmp) -> str:
    return cmp.to_html(plots=False)


def _table(doc: str, key: str) -> str:
    start = doc.index(f'id="data-{key}"')
    return doc[start:doc.index("</table>", start)]


def _cells(row: str, tag: str) -> list[tuple[str, str]]:
    """``(class attribute, text)`` of each ``tag`` cell of one row."""
    return [(m.group(1) or "", m.group(2)) for m in re.finditer(
        rf'<{tag}(?: scope="col")?(?: class="([^"]*)")?[^>]*>([^<]*)</{tag}>', row)]


def test_text_columns_carry_the_text_class_and_numbers_do_not(doc):
    for key, words, numbers in (("groups", {"outlet", "test vs rest", "note"},
                                 {"articles", "p vs rest (BH-adjusted)"}),
                                ("cues", {"outlet", "cue", "note"},
                                 {"articles", "vs rest"}),
                                ("pairwise_cues", {"outlet A", "outlet B", "cue", "test"},
                                 {"risk ratio [CI]", "p (BH-adjusted)"}),
                                ("trends", {"outlet", "measure", "type", "time bins"},
                                 {"articles", "bins with data"})):
        table = _table(doc, key)
        head = table[:table.index("</thead>")]
        header = dict((text, css) for css, text in _cells(head, "th"))
        for name in words:
            assert "text" in header[name].split(), (key, name, header[name])
        for name in numbers:
            assert "text" not in header[name].split(), (key, name)
        names = [text for _, text in _cells(head, "th")]
        row = re.search(r"<tbody><tr>(.*?)</tr>", table).group(1)
        cells = _cells(row, "td")
        assert len(cells) == len(names)
        for name, (css, _) in zip(names, cells):  # each cell as its header
            assert ("text" in css.split()) == ("text" in header[name].split()), (key, name)
    # the stylesheet left-aligns them, headers included
    assert "th.text,td.text{text-align:left}" in doc


def test_evidence_tables_mark_words_and_let_titles_wrap(doc):
    panel = doc[doc.index('<details class="evidence">'):]
    panel = panel[:panel.index("</details>")]
    head = [css for css, _ in _cells(panel[:panel.index("</thead>")], "th")]
    assert head == ["text", "text title", "text", "", "text sentence"]
    assert re.search(r"td\.title\{white-space:normal;min-width:[\d.]+rem;max-width:[\d.]+rem",
                     doc)


def test_wide_tables_scroll_in_a_bounded_box_with_sticky_headers(doc):
    assert re.search(r"\.scroll\{overflow:auto;max-height:80vh", doc)
    assert "position:sticky;top:0" in doc  # header row
    assert re.search(r"table\.sortable tr>:first-child\{position:sticky;left:0", doc)
    assert "tbody tr:nth-child(even)>*{background:#fafafa}" in doc  # opaque, as the stripes


def test_numbers_use_the_true_minus_and_stars_stand_apart(doc):
    visible = re.sub(r'(?:data-sort|href)="[^"]*"', "", doc)
    start = visible.index("<h2>Summary</h2>")
    body = visible[start:visible.index('<h2 id="method">')]
    texts = re.findall(r">([^<]+)<", body)
    assert not [t for t in texts if re.search(r"(?<![\w.\-])-\d", t)]  # no hyphen as a sign
    assert any("−0." in t for t in texts)  # Gamma Wire's negative tone
    assert not re.search(r"\][*]", body)  # "+0.01]***" no more
    assert re.search(r'\] <span class="stars">\*{1,3}</span>', body)


def test_a_single_line_is_a_paragraph_not_a_one_item_list(cmp, doc):
    trends = cmp.trend_findings()
    section = doc[doc.index('<h2 id="trends">'):doc.index('id="table-trends"')]
    if len(trends) == 1:
        assert '<p class="findings trends">' in section and "<ol" not in section
    else:
        assert section.count("<li>") == len(trends)
    from framing.analysis.report import lines_html

    assert lines_html(["Only <one>."], "findings") == '<p class="findings">Only &lt;one&gt;.</p>'
    assert lines_html(["a", "b"], "findings").startswith('<ol class="findings"><li>a</li>')


def test_evidence_panels_are_grouped_under_one_heading_per_group(doc):
    section = doc[doc.index('<h3 id="evidence">'):doc.index("<h2>", doc.index('id="evidence"'))]
    groups = re.findall(r'<section class="evidence-group"><h4>([^<]*)</h4>(.*?)</section>',
                        section, flags=re.S)
    assert [g for g, _ in groups] == list(GROUPS)
    for group, panels in groups:
        summaries = re.findall(r"<summary>([^<]*)</summary>", panels)
        assert summaries and all(group not in s for s in summaries)  # the heading names it
        assert panels.count('<details class="evidence">') == len(summaries)
    # every panel sits in a group
    assert section.count('<details class="evidence">') == sum(
        p.count('<details class="evidence">') for _, p in groups)


def test_no_absolute_local_path_is_shown(tmp_path):
    root = Path(framing.__file__).resolve().parent.parent  # the repository (or site-packages)
    rates = tmp_path / "private" / "rates.json"
    rates.parent.mkdir()
    rates.write_text(json.dumps({"win_win": [0.85, 0.05]}))
    shards = tmp_path / "scores"
    shards.mkdir()
    make_scores({"A": 20, "B": 20}, seed=3).to_parquet(shards / "part-00000.parquet")
    catalogue = root / "framing" / "catalogues" / "builtin.yaml"
    manifest = {"input": {"source": str(tmp_path / "corpus.jsonl")},
                "request": {"cwd": str(root), "catalogue_path": str(catalogue)},
                "analyzer": {"model_files": {"tone": {"path": str(root / "models" / "tone"),
                                                      "sha256": "ab" * 32}}}}
    (shards / "manifest.json").write_text(json.dumps(manifest))
    cmp = framing.compare_outlets(str(shards), error_rates=str(rates), **FAST)
    doc = cmp.to_html(plots=False)
    assert str(root) not in doc and str(tmp_path) not in doc
    assert "/private/" not in doc and not re.search(r'"/[A-Za-z]', doc)
    method = doc[doc.index('<h2 id="method">'):doc.index("<h2>Settings</h2>")]
    assert "error rates from rates.json" in method  # outside the package: its name only
    assert "tone: models/tone (sha256" in method  # inside: relative to the package's folder
    assert "framing/catalogues/builtin.yaml" in doc
