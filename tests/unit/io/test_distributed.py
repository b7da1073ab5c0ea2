"""Ray Data integration: the actor, the file reader, and (with Ray installed) a local run."""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

import framing
from framing.core.tables import ColumnMap
from framing.io.corpus import score_corpus
from framing.io.distributed import (AnalyzerActor, file_rows, list_input_files,
                                    score_corpus_ray)
from framing.io.readers import read_corpus, resolve_id_column
from framing.io.runs import text_key
from framing.pipeline.schema import output_columns
from framing.errors import (ColumnError, FramingError, InputFormatError, MissingExtraError,
                            ResumeError)

SENTENCES = [
    "The new water plan will help every farmer in the valley.",
    "People said the old bridge was never safe.",
    "Both sides found the deal good for their own people.",
    "The council left the work on the road for another year.",
    "Many men and women came to see the great new ship.",
    "Officials could not say how much the plan would cost.",
    "The two leaders went home after a long day of talks.",
    "Work on the school is still behind and people are angry.",
]
BAD = {3: None, 11: 42}  # row index -> a text that cannot be scored


def _texts(n: int = 20) -> list:
    out = []
    for i in range(n):
        out.append(BAD[i] if i in BAD else
                   f"{SENTENCES[i % len(SENTENCES)]} {SENTENCES[(3 * i + 1) % len(SENTENCES)]}")
    return out


def _items(n: int = 20) -> list[dict]:
    return [{"doc": f"a{i}", "body": t, "source": "Herald" if i % 2 else "Times"}
            for i, t in enumerate(_texts(n))]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _assert_same_scores(rows: list[dict], analyzer: framing.Analyzer, texts: list) -> None:
    """Each row's scores equal single-process ``score_many`` on the same text."""
    good = [i for i, t in enumerate(texts) if isinstance(t, str)]
    expected = analyzer.score_many([texts[i] for i in good])
    for i, res in zip(good, expected):
        row = rows[i]
        assert _missing(row["error"]), row["error"]
        assert row["tone"] == pytest.approx(res.tone, abs=1e-5)
        assert row["tone_label"] == res.tone_label
        assert row["n_sentences"] == len(res.sentences)
        for cid, cue in res.cues.items():
            assert row[f"cue_{cid}"] == pytest.approx(cue.probability, abs=1e-5)


# -- without Ray: the guard, the actor class and the reader ------------------------------
def test_missing_ray_says_which_extra_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(MissingExtraError, match=r'pip install "framing\[ray\]"') as info:
        score_corpus_ray(tmp_path / "in.jsonl", tmp_path / "out")
    assert isinstance(info.value, FramingError) and isinstance(info.value, ImportError)
    with pytest.raises(MissingExtraError):
        framing.io.distributed.score_dataset(None)


@pytest.fixture(scope="module")
def tiny_kwargs(tiny_model_dir) -> dict:
    """Keyword arguments an actor builds the same analyzer as ``tiny_analyzer`` from."""
    return {"model": str(tiny_model_dir), "tone": "similarity"}


def test_actor_scores_a_pandas_batch_in_the_corpus_schema(tiny_kwargs, tiny_analyzer):
    actor = AnalyzerActor(tiny_kwargs, text="body", id="doc", outlet="source")
    batch = pd.DataFrame(_items())
    table = actor(batch)
    cols = output_columns(tiny_analyzer.cue_ids, ["outlet"], True) + [("text_sha256", "string")]
    assert [(f.name, str(f.type)) for f in table.schema] == \
        [(c, {"int64": "int64", "string": "string", "float64": "double", "bool": "bool"}[t])
         for c, t in cols]
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == list(batch["doc"])
    assert [r["outlet"] for r in rows] == list(batch["source"])
    assert rows[3]["error"] == "missing text ('body' is null)"
    assert rows[11]["error"] == "text must be a string, got int"
    assert [i for i, r in enumerate(rows) if r["error"] is not None] == [3, 11]
    assert all(r["row"] is None for r in rows)
    assert [r["text_sha256"] for r in rows] == \
        [None if i in BAD else text_key(t, None) for i, t in enumerate(_texts())]
    _assert_same_scores(rows, tiny_analyzer, _texts())


def _write_jsonl(path: Path) -> Path:
    lines = [json.dumps({"id": o["doc"], "body": o["body"], "source": o["source"]})
             for o in _items(10)]
    lines.insert(4, "")                         # blank: skipped, still counted as a line
    lines.insert(6, '{"id": "broken", "body": ')  # malformed JSON
    lines.insert(8, '["not", "an", "object"]')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_file_reader_matches_read_corpus(tmp_path):
    path = _write_jsonl(tmp_path / "c.jsonl")
    csv_path = tmp_path / "c.csv"
    pd.DataFrame(_items(6)).to_csv(csv_path, index=False)
    bom = tmp_path / "bom.jsonl"  # a byte-order mark before the first line is not content
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    for p, kw in ((path, {"text": "body", "outlet": "source"}),
                  (path, {"text": "body", "id": "", "outlet": "source"}),
                  (path, {"text": "body", "id": "id"}),
                  (bom, {"text": "body", "id": "id", "outlet": "source"}),
                  (csv_path, {"text": "body", "id": "doc", "outlet": "source"})):
        # file_rows takes the column map as given; read_corpus finds an "id" column itself
        fields = ColumnMap.from_fields(**{**kw, "id": resolve_id_column(kw.get("id"), p)})
        got = list(file_rows(str(p), p.suffix[1:], fields, strict=True))
        want = list(read_corpus(p, **kw))
        assert [r["__framing_row"] for r in got] == [r.row for r in want]
        assert [r["__framing_id"] for r in got] == \
            [None if r.id is None else str(r.id) for r in want]
        assert [r["__framing_error"] for r in got] == [r.error for r in want]
        assert [r["__framing_text"] for r in got] == [r.text for r in want]
        assert [r.get("__framing_meta_outlet") for r in got] == \
            [r.meta.get("outlet") for r in want]
    assert not [r for r in file_rows(str(bom), "jsonl", ColumnMap.from_fields(text="body"))
                if r["__framing_row"] == 1 and r["__framing_error"]]
    with pytest.raises(ColumnError, match="'story'"):
        next(file_rows(str(path), "jsonl", ColumnMap.from_fields(text="story"), strict=True))


def test_file_reader_reads_gzip_parquet_and_directories(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    objs = [{"id": o["doc"], "body": o["body"]} for o in _items(5)]
    with gzip.open(corpus / "a.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(o) + "\n" for o in objs)
    pd.DataFrame(objs).to_parquet(corpus / "b.parquet")  # row 4's body is null
    (corpus / "_SUCCESS").write_text("")
    (corpus / "notes.txt").write_text("a text file beside corpus files is not read")
    fields = ColumnMap.from_fields(text="body")
    items = list_input_files(corpus, None, fields)
    assert [(i["path"], i["format"]) for i in items] == \
        [(str(corpus / "a.jsonl.gz"), "jsonl"), (str(corpus / "b.parquet"), "parquet")]
    assert [i["path"] for i in list_input_files(corpus.as_uri(), "parquet", fields)] == \
        [f"file://{corpus}/b.parquet"]
    for item in items:
        path = item["path"]
        recs = list(file_rows(path, item["format"], fields, prefix=f"{path}:"))
        want = list(read_corpus(path, text="body"))
        assert [r["__framing_row"] for r in recs] == [r.row for r in want]
        assert [r["__framing_error"] for r in recs] == [r.error for r in want]
        assert [r["__framing_id"] for r in recs] == [f"{path}:{r.row}" for r in want]
    with pytest.raises(FileNotFoundError):
        list_input_files(tmp_path / "nowhere", None, fields)


def test_a_directory_of_txt_files_reads_as_read_corpus_reads_it(tmp_path):
    texts = tmp_path / "texts"
    (texts / "b").mkdir(parents=True)
    (texts / ".hidden").mkdir()
    for rel, data in (("a.txt", "First article."), ("b/c.txt", "\ufeffSecond one."),
                      ("b.txt", "Third."), ("bad.txt", b"\xff\xfe broken"),
                      (".hidden/x.txt", "hidden"), ("notes.md", "not an article")):
        path = texts / rel
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    fields = ColumnMap.from_fields()
    items = list_input_files(texts, None, fields)
    got = [rec for it in items for rec in file_rows(it["path"], it["format"], fields,
                                                        row=it["row"], rid=it["id"])]
    want = list(read_corpus(texts))
    assert [(r["__framing_row"], r["__framing_id"], r["__framing_text"], r["__framing_error"])
            for r in got] == [(r.row, r.id, r.text, r.error) for r in want]
    with pytest.raises(InputFormatError, match="no columns"):
        list_input_files(texts, None, ColumnMap.from_fields(id="doc"))


@pytest.mark.parametrize("bad,name", [({"chunk_size": 0}, "chunk_size"),
                                      ({"shard_size": True}, "shard_size"),
                                      ({"cache_size": -1}, "cache_size"),
                                      ({"text": ""}, "text")])
def test_both_engines_check_their_options_alike(tmp_path, bad, name):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "One article."}\n')
    calls = [lambda **kw: score_corpus(src, tmp_path / "o.parquet", **kw),
             lambda **kw: score_corpus(src, tmp_path / "scores", engine="ray", **kw),
             lambda **kw: score_corpus_ray(src, tmp_path / "scores", **kw)]
    for call in calls:  # refused before any model loads or Ray starts
        with pytest.raises(ValueError, match=name):
            call(**bad)
    assert not (tmp_path / "o.parquet").exists() and not (tmp_path / "scores").exists()


# -- with Ray: a local instance, once for the module ---------------------------------------
@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.mark.optional
def test_score_dataset_one_row_per_input_equal_to_single_process(ray_local, tiny_kwargs,
                                                                  tiny_analyzer):
    from framing.io.distributed import score_dataset

    ds = ray_local.data.from_items(_items())
    scored = score_dataset(ds, text="body", id="doc", outlet="source",
                           analyzer_kwargs=tiny_kwargs, batch_size=8, concurrency=1)
    rows = sorted(scored.take_all(), key=lambda r: int(r["id"][1:]))
    assert [r["id"] for r in rows] == [f"a{i}" for i in range(20)]
    assert {i for i, r in enumerate(rows) if r["error"] is not None} == {3, 11}
    assert "missing text" in rows[3]["error"] and "got int" in rows[11]["error"]
    assert [r["outlet"] for r in rows] == [o["source"] for o in _items()]
    _assert_same_scores(rows, tiny_analyzer, _texts())


@pytest.mark.optional
def test_score_corpus_ray_writes_what_score_corpus_writes(ray_local, tiny_kwargs,
                                                          tiny_analyzer, tmp_path):
    src = _write_jsonl(tmp_path / "corpus.jsonl")
    out = tmp_path / "scores"
    out.mkdir()  # an earlier run's scores, and a file of the user's
    pd.DataFrame({"row": [99]}).to_parquet(out / "part-00000.parquet")
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ResumeError, match="overwrite=True"):
        score_corpus_ray(src, out, text="body", analyzer=tiny_kwargs)

    summary = score_corpus_ray(src, out, text="body", outlet="source", analyzer=tiny_kwargs,
                               concurrency=1, progress=False, overwrite=True)
    single = score_corpus(src, tmp_path / "single.parquet", text="body", outlet="source",
                          analyzer=tiny_analyzer, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "part-00000.parquet"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial left
    got = framing.read_scores(out)
    want = pd.read_parquet(tmp_path / "single.parquet")
    assert list(got.columns) == list(want.columns)
    assert list(got.dtypes) == list(want.dtypes)
    assert (summary.rows, summary.errors, summary.flagged) == \
        (single.rows, single.errors, single.flagged)
    assert (summary.rows, summary.errors, summary.shards) == (len(want), 3, 1) == (12, 3, 1)
    assert list(got["row"]) == list(want["row"]) and list(got["id"]) == list(want["id"])
    assert list(want["id"].dropna()) == [f"a{i}" for i in range(10)]  # the "id" column
    assert want["text_sha256"].notna().sum() == 9  # none for the 3 rows with an error
    floats = [c for c in want.columns if want[c].dtype.kind == "f"]
    pd.testing.assert_frame_equal(got[floats], want[floats], atol=1e-5, rtol=0)
    others = [c for c in want.columns if c not in floats]
    pd.testing.assert_frame_equal(got[others], want[others])

    # refused before Ray scores anything: an output that is not a Parquet directory, a
    # missing column, an Analyzer instance (each worker builds its own)
    with pytest.raises(InputFormatError, match="is a file"):
        score_corpus_ray(src, out / "notes.txt", text="body", analyzer=tiny_kwargs)
    with pytest.raises(InputFormatError, match="Parquet shards"):
        score_corpus_ray(src, tmp_path / "scores.csv", text="body", analyzer=tiny_kwargs)
    with pytest.raises(ColumnError, match="'story'"):
        score_corpus_ray(src, tmp_path / "x", text="story", analyzer=tiny_kwargs)
    with pytest.raises(TypeError, match="analyzer_kwargs"):
        score_corpus_ray(src, tmp_path / "x", text="body", analyzer=tiny_analyzer)


@pytest.mark.optional
def test_score_corpus_engine_ray_passes_its_options_on(ray_local, tiny_kwargs, tmp_path):
    src = _write_jsonl(tmp_path / "corpus.jsonl")
    out = tmp_path / "scores"
    summary = score_corpus(src, out, text="body", id="id", outlet="source",
                           analyzer=tiny_kwargs, engine="ray", evidence=False, progress=False)
    got = framing.read_scores(out)
    assert (summary.rows, summary.errors) == (12, 3)
    assert not [c for c in got.columns if c.endswith("_evidence")]
    assert "outlet" in got.columns and got["id"].notna().sum() == 10
    with pytest.raises(ResumeError, match="does not resume"):
        score_corpus(src, out, text="body", analyzer=tiny_kwargs, engine="ray")
    again = score_corpus(src, out, text="body", analyzer=tiny_kwargs, engine="ray",
                         overwrite=True, progress=False)
    assert again.rows == 12 and "outlet" not in framing.read_scores(out).columns
