"""framing.analysis.report: the Tables section for people (formatted, sortable, raw CSV
as downloads) and the Method section of the HTML report."""

from __future__ import annotations

import io
import json
import re
from urllib.parse import unquote

import pandas as pd
import pytest

import framing
from synth_scores import make_scores

FAST = {"n_boot": 200, "n_permutations": 199}
TABLES = ("groups", "cues", "pairwise_tone", "pairwise_cues")


@pytest.fixture(scope="module")
def cmp():
    df = make_scores({"<script>alert(1)</script>": 60, "Beta Post": 60, "Gamma Wire": 50},
                     tone_mean={"Beta Post": 0.5}, base_prevalence=0.2,
                     prevalence={"Beta Post": {"win_win": 0.9}}, seed=5)
    df.loc[df.index[:3], "error"] = "boom"
    return framing.compare_outlets(df, error_rates={"win_win": (0.85, 0.05)}, **FAST)


@pytest.fixture(scope="module")
def doc(cmp, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    cmp.to_html(path, plots=False)
    return path.read_text(encoding="utf-8")


def _tables(doc: str) -> str:
    return doc[doc.index("<h2>Tables</h2>"):doc.index('<h2 id="method">')]


def _links(doc: str) -> dict[str, str]:
    return dict(re.findall(r'download="([^"]+)\.csv" href="data:text/csv;charset=utf-8,([^"]*)"',
                           doc))


def test_tables_are_formatted_for_people(doc):
    section = re.sub(r'href="data:[^"]*"', "", _tables(doc))  # the raw CSV may hold 1e-17
    assert not re.search(r"\de-\d", section)
    assert re.search(r"\d+% \[\d+–\d+%\]", section)
    assert re.search(r"[+-]\d\.\d\d \[[+-]?\d\.\d\d, [+-]?\d\.\d\d\]", section)
    assert "&lt; 0.001" in section
    assert "win win" in section and ">win_win<" not in section
    assert ">prevalence_low<" not in section


def test_each_table_downloads_its_raw_csv(cmp, doc):
    links = _links(doc)
    for name in TABLES:
        assert name in links
        frame = pd.read_csv(io.StringIO(unquote(links[name])))
        raw = getattr(cmp, name)
        assert list(frame.columns) == list(raw.columns)
        assert len(frame) == len(raw)


def test_columns_sort_numerically(doc):
    section = _tables(doc)
    assert section.count('class="data sortable"') >= len(TABLES)
    assert 'data-sortable="1"' in section
    sorts = re.findall(r'<td data-sort="([^"]*)">', section)
    assert sorts
    numbers = [s for s in sorts if re.fullmatch(r"-?\d+(\.\d+)?", s)]
    assert len(numbers) > len(sorts) / 2
    assert not any("e-" in s for s in numbers)
    assert doc.count("<script>") == 1 and "table.sortable" in doc
    assert "http://" not in doc and "https://" not in doc


def test_outlet_names_are_escaped(doc):
    assert "<script>alert(1)" not in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc


def test_method_section(cmp, doc):
    method = doc[doc.index('<h2 id="method">'):]
    assert cmp.n_excluded == 3
    assert "3 rows were excluded" in method and "row(s)" not in method
    assert "Benjamini–Hochberg" in method and "Wilson" in method
    assert "alpha = 0.050" in method
    assert "corrected for detector errors" in method and "win win" in method


def test_method_lists_models_from_the_manifest(tmp_path):
    shards = tmp_path / "scores"
    shards.mkdir()
    make_scores({"A": 20, "B": 20}).to_parquet(shards / "part-00000.parquet")
    manifest = {"analyzer": {"model_files": {"tone": {"path": "/m/tone", "sha256": "ab" * 32}}}}
    (shards / "manifest.json").write_text(json.dumps(manifest))
    doc = framing.compare_outlets(str(shards), **FAST).to_html(plots=False)
    method = doc[doc.index('<h2 id="method">'):]
    # the model's path by its last part only: no local folder in a report that is shared
    assert "tone: tone (sha256 " + "ab" * 32 in method
    assert "/m/tone" not in doc
    assert 'id="manifest"' in doc
