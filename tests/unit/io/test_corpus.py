"""Corpus input/output: formats, column options, bad rows, and atomic output."""

from __future__ import annotations

import csv
import gzip
import json
import math
from pathlib import Path

import pandas as pd
import pytest

import framing
from framing.core.tables import detect_format
from framing.io.corpus import score_corpus
from framing.io.readers import read_corpus, resolve_id_column, source_columns
from framing.io.runs import CorpusSummary
from framing.errors import ColumnError, InputFormatError

ARTICLES = [
    "The council approved the new bridge on Monday. Work starts in June.",
    "Farmers protested, saying the water plan ignores them. The ministry said it would listen.",
    'A "quoted" headline, with commas, and a second line:\nthe harbour reopened after repairs.',
]


def _read(path: Path) -> list[dict]:
    """Output rows as dicts, whatever the format."""
    name = path.name
    if name.endswith(".parquet"):
        return pd.read_parquet(path).to_dict("records")
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _missing(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _write_jsonl(path: Path, objs: list) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
    return path


def _assert_scored(row: dict) -> None:
    assert _missing(row["error"]), row["error"]
    assert not _missing(row["tone"])
    assert -1.0 <= float(row["tone"]) <= 1.0
    assert int(row["n_sentences"]) >= 1


@pytest.fixture
def meta_objs():
    return [
        {"text": ARTICLES[0], "id": 7, "outlet": "Harbour Herald", "date": "2025-03-01",
         "title": "Bridge approved"},
        {"text": ARTICLES[1], "id": "b-2", "outlet": "Valley Times", "date": "2025-03-02",
         "title": "Water plan"},
        {"text": ARTICLES[2], "id": 30, "outlet": "Harbour Herald", "date": "2025-03-03",
         "title": "Harbour reopens"},
    ]


# -- round trips -------------------------------------------------------------------------------
def test_jsonl_to_parquet(tmp_path, tiny_analyzer, meta_objs):
    src = _write_jsonl(tmp_path / "in.jsonl", meta_objs)
    out = tmp_path / "out.parquet"
    summary = score_corpus(src, out, id="id", outlet="outlet", date="date", title="title",
                           analyzer=tiny_analyzer, progress=False)
    assert summary.rows == 3 and summary.errors == 0
    assert summary.output == str(out)
    assert "articles/s" in str(summary)
    frame = pd.read_parquet(out)
    assert len(frame) == 3
    assert list(frame["id"]) == ["7", "b-2", "30"]
    assert list(frame["row"]) == [1, 2, 3]
    assert list(frame["outlet"]) == [o["outlet"] for o in meta_objs]
    assert list(frame["date"]) == [o["date"] for o in meta_objs]
    assert list(frame["title"]) == [o["title"] for o in meta_objs]
    for cid in tiny_analyzer.catalogue.ids:
        assert f"cue_{cid}" in frame.columns
        assert f"cue_{cid}_present" in frame.columns
        assert f"cue_{cid}_evidence" in frame.columns
    for row in frame.to_dict("records"):
        _assert_scored(row)
    # the parquet types are fixed, not inferred
    import pyarrow.parquet as pq

    schema = pq.read_schema(out)
    assert str(schema.field("id").type) == "string"
    assert str(schema.field("row").type) == "int64"
    assert str(schema.field("tone").type) == "double"


def test_scores_match_the_analyzer(tmp_path, tiny_analyzer, meta_objs):
    src = _write_jsonl(tmp_path / "in.jsonl", meta_objs)
    out = tmp_path / "out.jsonl"
    score_corpus(src, out, analyzer=tiny_analyzer, progress=False)
    rows = _read(out)
    for row, text in zip(rows, ARTICLES):
        direct = tiny_analyzer.score(text)
        assert row["tone"] == pytest.approx(direct.tone, abs=1e-5)
        assert row["n_sentences"] == len(direct.sentences)
    for row in rows:  # the similarity baseline's class probabilities come along
        probs = [row[f"tone_p_{k}"] for k in ("critical", "neutral", "promotional")]
        assert sum(probs) == pytest.approx(1.0, abs=1e-6)
    # no id named: the input's "id" column gives the ids
    assert [r["id"] for r in rows] == ["7", "b-2", "30"]
    assert "outlet" not in rows[0]  # meta columns only when asked for


def test_csv_to_jsonl(tmp_path, tiny_analyzer):
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["doc_id", "body", "source", "published", "headline", "extra"])
        for i, text in enumerate(ARTICLES):
            w.writerow([f"00{i}", text, f"outlet {i}", f"2024-01-0{i + 1}", f"title {i}", "x"])
    out = tmp_path / "out.jsonl"
    summary = score_corpus(src, out, text="body", id="doc_id", outlet="source",
                           date="published", title="headline", analyzer=tiny_analyzer,
                           progress=False)
    rows = _read(out)
    assert summary.rows == len(rows) == 3
    assert [r["id"] for r in rows] == ["000", "001", "002"]  # strings keep leading zeros
    assert [r["row"] for r in rows] == [2, 3, 4]  # the header is row 1
    assert [r["outlet"] for r in rows] == ["outlet 0", "outlet 1", "outlet 2"]
    assert [r["date"] for r in rows] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert [r["title"] for r in rows] == ["title 0", "title 1", "title 2"]
    assert "extra" not in rows[0]
    for row in rows:
        _assert_scored(row)
    # the quoted field with commas and a newline arrived whole
    assert rows[2]["n_sentences"] == len(tiny_analyzer.score(ARTICLES[2]).sentences)


def test_parquet_to_csv(tmp_path, tiny_analyzer):
    src = tmp_path / "in.parquet"
    pd.DataFrame({
        "content": ARTICLES,
        "key": [101, 102, 103],
        "paper": ["A", "B", "C"],
        "day": ["2023-05-01", "2023-05-02", "2023-05-03"],
        "head": ["h1", "h2", "h3"],
    }).to_parquet(src)
    out = tmp_path / "out.csv"
    summary = score_corpus(src, out, text="content", id="key", outlet="paper", date="day",
                           title="head", analyzer=tiny_analyzer, progress=False)
    rows = _read(out)
    assert summary.rows == len(rows) == 3
    assert [r["id"] for r in rows] == ["101", "102", "103"]
    assert [r["row"] for r in rows] == ["1", "2", "3"]
    assert [r["outlet"] for r in rows] == ["A", "B", "C"]
    assert [r["date"] for r in rows] == ["2023-05-01", "2023-05-02", "2023-05-03"]
    assert [r["title"] for r in rows] == ["h1", "h2", "h3"]
    for row in rows:
        _assert_scored(row)


def test_tsv_input(tmp_path, tiny_analyzer):
    src = tmp_path / "in.tsv"
    src.write_text("text\tid\nThe fair opened today.\tx1\nIt rained all week.\tx2\n",
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    score_corpus(src, out, id="id", analyzer=tiny_analyzer, progress=False)
    rows = _read(out)
    assert [r["id"] for r in rows] == ["x1", "x2"]
    for row in rows:
        _assert_scored(row)


def test_gzipped_jsonl_input(tmp_path, tiny_analyzer, meta_objs):
    src = tmp_path / "in.jsonl.gz"
    with gzip.open(src, "wt", encoding="utf-8") as fh:
        for o in meta_objs:
            fh.write(json.dumps(o) + "\n")
    assert detect_format(src) == "jsonl"
    out = tmp_path / "out.parquet"
    summary = score_corpus(src, out, id="id", analyzer=tiny_analyzer, progress=False)
    frame = pd.read_parquet(out)
    assert summary.rows == len(frame) == 3
    assert list(frame["id"]) == ["7", "b-2", "30"]
    assert frame["error"].isna().all()


def test_dataframe_input(tmp_path, tiny_analyzer):
    df = pd.DataFrame({"story": ARTICLES, "uid": [5, 6, 7], "paper": ["p", "q", "r"]})
    out = tmp_path / "out.jsonl"
    summary = score_corpus(df, out, text="story", id="uid", outlet="paper",
                           analyzer=tiny_analyzer, progress=False)
    rows = _read(out)
    assert summary.rows == len(rows) == 3
    assert [r["id"] for r in rows] == ["5", "6", "7"]
    assert [r["row"] for r in rows] == [1, 2, 3]
    assert [r["outlet"] for r in rows] == ["p", "q", "r"]
    for row in rows:
        _assert_scored(row)


def test_read_corpus_streams_records(meta_objs, tmp_path):
    src = _write_jsonl(tmp_path / "in.jsonl", meta_objs)
    recs = list(read_corpus(src, id="id", outlet="outlet"))
    assert [r.id for r in recs] == [7, "b-2", 30]
    assert [r.row for r in recs] == [1, 2, 3]
    assert recs[0].text == ARTICLES[0]
    assert recs[1].meta == {"outlet": "Valley Times"}
    assert all(r.error is None for r in recs)


def test_no_evidence_columns(tmp_path, tiny_analyzer, meta_objs):
    src = _write_jsonl(tmp_path / "in.jsonl", meta_objs)
    out = tmp_path / "out.parquet"
    score_corpus(src, out, analyzer=tiny_analyzer, evidence=False, progress=False)
    cols = pd.read_parquet(out).columns
    assert not [c for c in cols if c.endswith("_evidence")]
    assert "most_promotional" not in cols and "most_critical" not in cols
    assert f"cue_{tiny_analyzer.catalogue.ids[0]}_present" in cols


# -- bad rows ----------------------------------------------------------------------------------
def test_bad_rows_each_give_one_row(tmp_path, tiny_analyzer):
    lines = [
        json.dumps({"text": "A good first article. It has two sentences.", "id": "g1"}).encode(),
        b'{"text": "this line is cut off',
        b'[1, 2, 3]',
        b"",
        json.dumps({"id": "no-text"}).encode(),
        json.dumps({"text": None, "id": "null-text"}).encode(),
        json.dumps({"text": 42, "id": "int-text"}).encode(),
        b'{"text": "bad \xff\xfe bytes here", "id": "bad-utf8"}',
        b"   ",
        json.dumps({"text": "The last good article.", "id": "g2"}).encode(),
        b"",
        b"",
    ]
    src = tmp_path / "bad.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    summary = score_corpus(src, out, id="id", analyzer=tiny_analyzer, progress=False)
    rows = _read(out)
    expected_rows = [i + 1 for i, line in enumerate(lines) if line.strip()]
    assert [r["row"] for r in rows] == expected_rows == [1, 2, 3, 5, 6, 7, 8, 10]
    assert summary.rows == 8
    assert summary.errors == 6
    by_row = {r["row"]: r for r in rows}
    for good in (1, 10):
        _assert_scored(by_row[good])
    assert by_row[1]["id"] == "g1" and by_row[10]["id"] == "g2"
    assert "malformed JSON" in by_row[2]["error"]
    assert "list" in by_row[3]["error"]
    assert "text" in by_row[5]["error"] and by_row[5]["id"] == "no-text"
    assert "null" in by_row[6]["error"] and by_row[6]["id"] == "null-text"
    assert "int" in by_row[7]["error"] and by_row[7]["id"] == "int-text"
    assert "UTF-8" in by_row[8]["error"]
    for r in (2, 3, 5, 6, 7, 8):
        assert by_row[r]["tone"] is None
        assert "error" in by_row[r]["flags"]
        assert by_row[r]["cues_present"] == ""


def test_csv_row_with_wrong_field_count(tmp_path, tiny_analyzer):
    src = tmp_path / "in.csv"
    src.write_text(
        "id,text\n"
        "a,The first article is fine.\n"
        "b,This row,has one field too many\n"
        "c,The third article is fine too.\n",
        encoding="utf-8")
    out = tmp_path / "out.parquet"
    summary = score_corpus(src, out, id="id", analyzer=tiny_analyzer, progress=False)
    frame = pd.read_parquet(out)
    assert len(frame) == summary.rows == 3
    assert summary.errors == 1
    assert list(frame["row"]) == [2, 3, 4]
    bad = frame[frame["row"] == 3].iloc[0]
    assert "malformed CSV row" in bad["error"]
    assert pd.isna(bad["tone"])
    good = frame[frame["row"] != 3]
    assert list(good["id"]) == ["a", "c"]
    assert good["error"].isna().all() and good["tone"].notna().all()


def test_csv_invalid_utf8_text(tmp_path, tiny_analyzer):
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,text\na,Fine text here.\nb,Broken \xff text.\n")
    out = tmp_path / "out.jsonl"
    score_corpus(src, out, id="id", analyzer=tiny_analyzer, progress=False)
    rows = _read(out)
    assert [r["id"] for r in rows] == ["a", "b"]
    assert rows[0]["error"] is None
    assert "UTF-8" in rows[1]["error"]


def test_empty_text_is_scored_as_empty(tmp_path, tiny_analyzer):
    src = _write_jsonl(tmp_path / "in.jsonl", [
        {"text": ""},
        {"text": "The city council met on Monday to discuss the new budget for the schools."},
    ])
    out = tmp_path / "out.jsonl"
    summary = score_corpus(src, out, analyzer=tiny_analyzer, progress=False)
    rows = _read(out)
    assert rows[0]["flags"] == "empty" and rows[0]["error"] is None
    assert rows[0]["n_sentences"] == 0 and rows[0]["tone"] is None
    assert rows[1]["flags"] == ""
    assert summary.flagged == 1 and summary.errors == 0


# -- errors before work ------------------------------------------------------------------------
def _never_build():
    pytest.fail("the analyzer must not be built when the input is unusable")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_missing_column_raises_before_building_a_model(tmp_path, fmt):
    df = pd.DataFrame({"body": ["An article."], "ident": ["z"]})
    src = tmp_path / f"in.{fmt}"
    if fmt == "jsonl":
        _write_jsonl(src, df.to_dict("records"))
    elif fmt == "csv":
        df.to_csv(src, index=False)
    else:
        df.to_parquet(src)
    out = tmp_path / "out.parquet"
    with pytest.raises(ColumnError) as info:
        score_corpus(src, out, text="text", id="ident", analyzer=_never_build, progress=False)
    msg = str(info.value)
    assert "'text'" in msg
    assert "'body'" in msg and "'ident'" in msg
    assert not msg.startswith('"')  # not a quoted KeyError message
    assert isinstance(info.value, KeyError)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]


def test_missing_meta_column_raises(tmp_path):
    src = _write_jsonl(tmp_path / "in.jsonl", [{"text": "x.", "source": "s"}])
    with pytest.raises(ColumnError, match="'outlet'"):
        score_corpus(src, tmp_path / "o.jsonl", outlet="outlet", analyzer=_never_build,
                     progress=False)


def test_missing_column_in_dataframe(tmp_path):
    df = pd.DataFrame({"body": ["An article."]})
    with pytest.raises(ColumnError, match="'body'"):
        score_corpus(df, tmp_path / "o.jsonl", analyzer=_never_build, progress=False)


def test_unknown_extension_raises(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("text\nhello\n")
    with pytest.raises(InputFormatError, match="extension"):
        score_corpus(src, tmp_path / "out.parquet", analyzer=_never_build, progress=False)
    good = _write_jsonl(tmp_path / "in.jsonl", [{"text": "x."}])
    with pytest.raises(InputFormatError):
        score_corpus(good, tmp_path / "out.xlsx", analyzer=_never_build, progress=False)
    with pytest.raises(InputFormatError):
        detect_format(good, "excel")
    assert detect_format(src, "csv") == "csv"


def test_missing_input_file_raises(tmp_path):
    out = tmp_path / "out.parquet"
    with pytest.raises(FileNotFoundError):
        score_corpus(tmp_path / "nowhere.jsonl", out, analyzer=_never_build, progress=False)
    assert not out.exists()


def test_unreadable_parquet_raises_input_format_error(tmp_path):
    src = tmp_path / "in.parquet"
    src.write_bytes(b"not parquet at all")
    with pytest.raises(InputFormatError):
        score_corpus(src, tmp_path / "o.jsonl", analyzer=_never_build, progress=False)


@pytest.mark.parametrize("src_name,out_name", [
    ("empty.jsonl", "out.parquet"),
    ("empty.csv", "out.csv"),
    ("empty.jsonl", "out.jsonl"),
])
def test_empty_file_gives_empty_output(tmp_path, tiny_analyzer, src_name, out_name):
    src = tmp_path / src_name
    src.write_bytes(b"")
    out = tmp_path / out_name
    summary = score_corpus(src, out, analyzer=tiny_analyzer, progress=False)
    assert summary.rows == 0
    assert out.exists()
    if out_name.endswith(".parquet"):
        frame = pd.read_parquet(out)
        assert len(frame) == 0
        assert "tone" in frame.columns
    else:
        assert _read(out) == []


def test_progress_bar_goes_to_stderr(tmp_path, tiny_analyzer, meta_objs, capsys):
    src = _write_jsonl(tmp_path / "in.jsonl", meta_objs)
    score_corpus(src, tmp_path / "out.jsonl", analyzer=tiny_analyzer, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "3/3" in captured.err


# -- atomic output ---------------------------------------------------------------------------
class _ExplodingAnalyzer(framing.Analyzer):
    """The tiny analyzer, except that its second score_many call raises."""

    def __init__(self, inner: framing.Analyzer) -> None:  # no model loading
        self.__dict__.update(inner.__dict__)
        self.calls = 0

    def score_many(self, *args, **kwargs):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("boom in the second chunk")
        return super().score_many(*args, **kwargs)


@pytest.mark.parametrize("out_name", ["out.parquet", "out.jsonl", "out.csv"])
def test_failure_mid_run_leaves_no_output(tmp_path, tiny_analyzer, out_name):
    objs = [{"text": f"Article number {i}. It says little."} for i in range(5)]
    src = _write_jsonl(tmp_path / "in.jsonl", objs)
    out = tmp_path / "results" / out_name
    boom = _ExplodingAnalyzer(tiny_analyzer)
    with pytest.raises(RuntimeError, match="second chunk"):
        score_corpus(src, out, analyzer=boom, chunk_size=2, progress=False)
    assert boom.calls == 2
    assert not out.exists()
    assert list(out.parent.iterdir()) == []  # no partial file left either


def test_success_replaces_an_existing_output(tmp_path, tiny_analyzer):
    src = _write_jsonl(tmp_path / "in.jsonl", [{"text": f"Item {i}."} for i in range(5)])
    out = tmp_path / "out.jsonl"
    out.write_text("old content\n")
    summary = score_corpus(src, out, analyzer=tiny_analyzer, chunk_size=2, progress=False)
    rows = _read(out)
    assert summary.rows == len(rows) == 5
    assert [r["row"] for r in rows] == [1, 2, 3, 4, 5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_analyzer_factory_is_called_once(tmp_path, tiny_analyzer, meta_objs):
    src = _write_jsonl(tmp_path / "in.jsonl", meta_objs)
    built = []

    def factory():
        built.append(1)
        return tiny_analyzer

    score_corpus(src, tmp_path / "o.jsonl", analyzer=factory, chunk_size=1, progress=False)
    assert built == [1]


def test_example_corpus_is_shipped():
    path = framing.example_corpus_path()
    assert path.is_file()
    recs = list(read_corpus(path, text="body", id="id", outlet="outlet", date="date",
                            title="title"))
    assert len(recs) == 48
    assert all(r.error is None for r in recs)
    assert len({r.meta["outlet"] for r in recs}) == 4


def test_analyzer_without_cues_writes_no_cue_columns(tmp_path, tiny_analyzer, meta_objs):
    src = _write_jsonl(tmp_path / "in.jsonl", meta_objs)
    out = tmp_path / "out.parquet"
    plain = framing.Analyzer(cues=False, tone="vader", encoder=tiny_analyzer.encoder)
    score_corpus(src, out, analyzer=plain, progress=False)
    frame = pd.read_parquet(out)
    assert len(frame) == 3
    assert not [c for c in frame.columns if c.startswith("cue_")]
    assert frame["tone"].notna().all()
    assert frame["tone_p_neutral"].isna().all()  # VADER gives no class probabilities


def test_dataframe_missing_values_become_null_not_nan(tiny_analyzer, tmp_path):
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({"id": [1, None, 3], "text": ["One fine day.", "Two of them.", np.nan]})
    out = tmp_path / "o.jsonl"
    framing.score_corpus(df, out, id="id", analyzer=tiny_analyzer, progress=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1", None, "3"]
    assert rows[2]["error"].startswith("missing text")
    assert rows[0]["error"] is None and rows[1]["error"] is None


# -- ids: an input column named "id" is used unless told otherwise -----------------------------
def _input_file(tmp_path: Path, fmt: str, objs: list[dict]) -> Path:
    """``objs`` written as a ``fmt`` input file (jsonl, jsonl.gz, csv, tsv or parquet)."""
    path = tmp_path / f"in.{fmt}"
    if fmt in ("jsonl", "jsonl.gz"):
        data = "".join(json.dumps(o) + "\n" for o in objs).encode("utf-8")
        path.write_bytes(gzip.compress(data) if fmt.endswith(".gz") else data)
    elif fmt == "parquet":
        pd.DataFrame(objs).to_parquet(path)
    else:
        pd.DataFrame(objs).to_csv(path, index=False, sep="," if fmt == "csv" else "\t")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "csv", "tsv", "parquet"])
def test_an_id_column_gives_the_ids_without_being_named(tmp_path, fmt):
    objs = [{"text": t, "id": f"doc-{i}"} for i, t in enumerate(ARTICLES)]
    src = _input_file(tmp_path, fmt, objs)
    assert source_columns(src) == ["text", "id"]
    assert [r.id for r in read_corpus(src)] == ["doc-0", "doc-1", "doc-2"]
    # named explicitly: the same; id="" asks for row numbers
    assert [r.id for r in read_corpus(src, id="id")] == ["doc-0", "doc-1", "doc-2"]
    first = 2 if fmt in ("csv", "tsv") else 1  # a header is line 1
    assert [r.id for r in read_corpus(src, id="")] == [first, first + 1, first + 2]


def test_an_id_column_of_an_in_memory_table_gives_the_ids():
    df = pd.DataFrame({"text": ARTICLES, "id": ["a", "b", "c"]})
    assert [r.id for r in read_corpus(df)] == ["a", "b", "c"]
    assert [r.id for r in read_corpus(df.drop(columns="id"))] == [1, 2, 3]
    assert resolve_id_column(None, [{"id": 1, "text": "x"}]) is None  # no column names


def test_without_an_id_column_the_row_number_is_the_id(tmp_path, tiny_analyzer):
    src = _write_jsonl(tmp_path / "in.jsonl", [{"text": t, "doc": "x"} for t in ARTICLES])
    out = tmp_path / "out.jsonl"
    score_corpus(src, out, analyzer=tiny_analyzer, progress=False)
    assert [r["id"] for r in _read(out)] == ["1", "2", "3"]
    assert resolve_id_column(None, src) is None
    assert resolve_id_column(None, tmp_path) is None  # a .txt directory has no columns
    assert resolve_id_column(None, tmp_path / "missing.jsonl") is None


def test_an_id_column_is_found_past_lines_that_are_not_objects(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('\n{"text": "cut off\n[1, 2]\n' +
                   json.dumps({"text": ARTICLES[0], "id": "k1"}) + "\n", encoding="utf-8")
    recs = list(read_corpus(src))
    assert [r.id for r in recs] == [None, None, "k1"]  # unreadable rows have no id, as before
    assert [r.row for r in recs] == [2, 3, 4]


def test_a_named_id_column_still_has_to_exist(tmp_path):
    src = _write_jsonl(tmp_path / "in.jsonl", [{"text": ARTICLES[0], "id": "a"}])
    with pytest.raises(ColumnError, match="'doc_id' not found.*'id'"):
        list(read_corpus(src, id="doc_id"))
    with pytest.raises(ColumnError, match="'doc_id' not found"):
        score_corpus(src, tmp_path / "o.jsonl", id="doc_id", analyzer=None, progress=False)


@pytest.mark.parametrize("named", [None, "id"])
def test_duplicate_and_empty_ids_are_written_as_given(tmp_path, tiny_analyzer, named):
    """A found id column is read as a named one: duplicate ids are kept (the row numbers
    tell the rows apart), a null or missing id comes out null, an empty one empty."""
    objs = [{"text": ARTICLES[0], "id": "same"}, {"text": ARTICLES[1], "id": "same"},
            {"text": ARTICLES[2], "id": None}, {"text": ARTICLES[0]},
            {"text": ARTICLES[1], "id": ""}]
    src = _write_jsonl(tmp_path / "in.jsonl", objs)
    out = tmp_path / "out.jsonl"
    summary = score_corpus(src, out, id=named, analyzer=tiny_analyzer, progress=False)
    rows = _read(out)
    assert summary.rows == 5 and summary.errors == 0
    assert [r["id"] for r in rows] == ["same", "same", None, None, ""]
    assert [r["row"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(r["flags"] == "" or r["flags"] is None for r in rows[:2])


# -- the text hash is in every output ----------------------------------------------------------
@pytest.mark.parametrize("name", ["out.parquet", "out.jsonl", "out.csv", "out.tsv", "scores"])
def test_every_output_carries_the_text_hash(tmp_path, tiny_analyzer, name):
    objs = [{"text": ARTICLES[0], "id": "a"}, {"text": None, "id": "b"},
            {"text": f"  {ARTICLES[0]}\n", "id": "c"}]
    src = _write_jsonl(tmp_path / "in.jsonl", objs)
    out = tmp_path / name
    score_corpus(src, out, analyzer=tiny_analyzer, progress=False)
    frame = framing.read_scores(out)
    assert list(frame.columns)[-1] == "text_sha256"
    hashes = list(frame["text_sha256"])
    assert hashes[0] == framing.io.runs.text_key(ARTICLES[0], None)
    assert _missing(hashes[1])  # the row has no text to hash
    assert hashes[2] == hashes[0]  # the key ignores surrounding whitespace
    if name != "scores":  # a single file has the columns of a scores directory
        score_corpus(src, tmp_path / "dir", analyzer=tiny_analyzer, progress=False)
        assert list(frame.columns) == list(framing.read_scores(tmp_path / "dir").columns)


# -- counts in messages ---------------------------------------------------------------------
def test_the_summary_says_article_for_one():
    one = CorpusSummary("out", rows=1, errors=1, flagged=0, seconds=1.0, skipped=1)
    assert str(one).startswith("Scored 1 article (1 with an error, 0 flagged;")
    many = CorpusSummary("out", rows=2, errors=0, flagged=2, seconds=1.0)
    assert str(many).startswith("Scored 2 articles (0 with errors, 2 flagged;")
    assert "Scored 0 articles" in str(CorpusSummary("out", 0, 0, 0, 1.0))
