"""Ray integration: the actor, the file reader, the URI scores directory, and (with Ray
installed) local runs: the scores directory of a local run, resumed, and a Ray dataset.

The kill / resume and actor-death tests are in ``tests/integration/test_ray_resume.py``."""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

import framing
from framing.core.tables import ColumnMap
from framing.io.corpus import score_corpus
from framing.io.distributed import (AnalyzerActor, file_rows, list_input_files,
                                    score_corpus_ray)
from framing.io.readers import read_corpus, resolve_id_column
from framing.io.runs import text_key
from framing.io.shards import UriShardDir, analyzer_fingerprint
from framing.pipeline.schema import output_columns
from framing.errors import (ColumnError, FramingError, InputFormatError, MissingExtraError,
                            ResumeError)
from ray_helpers import start_local_ray

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
    start_local_ray(ray, num_cpus=2)
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
    assert sorted(p.name for p in out.iterdir()) == \
        ["manifest.json", "notes.txt", "part-00000.parquet"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial left
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["progress"] == {"shards": 1, "rows": 12}
    assert manifest["parameters"]["engine"] == "ray"
    assert manifest["analyzer"]["model_files"]["encoder"]["sha256"]
    assert manifest["input"]["size"] == src.stat().st_size
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
    # the same call again resumes: every row is done already
    resumed = score_corpus(src, out, text="body", id="id", outlet="source",
                           analyzer=tiny_kwargs, engine="ray", evidence=False, progress=False)
    assert (resumed.rows, resumed.skipped, resumed.shards) == (0, 12, 1)
    with pytest.raises(ResumeError, match="columns.outlet: 'source' then, None now"):
        score_corpus(src, out, text="body", id="id", analyzer=tiny_kwargs, engine="ray",
                     evidence=False, progress=False)
    again = score_corpus(src, out, text="body", analyzer=tiny_kwargs, engine="ray",
                         overwrite=True, progress=False)
    assert again.rows == 12 and "outlet" not in framing.read_scores(out).columns


# -- units: what a resumable run hands each actor ------------------------------------------
def test_a_unit_is_scored_chunk_by_chunk_as_a_local_run_scores_a_shard(tmp_path, tiny_kwargs,
                                                                        tiny_analyzer):
    """``score_unit`` takes the checked rows of one shard and scores them ``chunk_size``
    at a time, repeats within a chunk once: the rows a local run writes, exactly."""
    objs = [{"id": o["doc"], "body": o["body"], "source": o["source"]} for o in _items(14)]
    objs[6]["body"] = objs[5]["body"]    # a repeat within the chunk of rows 5..8
    objs[12]["body"] = objs[0]["body"]   # a repeat of an earlier chunk: scored again
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
    fields = ColumnMap.from_fields(text="body", id="id", outlet="source")
    rows = list(file_rows(str(src), "jsonl", fields, strict=True))
    actor = AnalyzerActor(tiny_kwargs, text="body", id="id", outlet="source")
    done = actor.score_unit(pa.Table.from_pylist(rows), 4)
    assert (done["errors"], done["flagged"], done["repeats"]) == (2, 0, 1)
    got = done["table"].to_pandas()
    score_corpus(src, tmp_path / "local.parquet", text="body", id="id", outlet="source",
                 analyzer=tiny_analyzer, chunk_size=4, cache_size=0, progress=False)
    want = pd.read_parquet(tmp_path / "local.parquet")
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got["text_sha256"][6] == got["text_sha256"][5] and got["tone"][6] == got["tone"][5]


def test_an_actor_describes_its_analyzer_as_the_manifest_records_it(tiny_kwargs,
                                                                    tiny_analyzer):
    actor = AnalyzerActor(tiny_kwargs, text="body", outlet="source", evidence=False)
    desc = actor.describe()
    assert desc["analyzer"] == analyzer_fingerprint(tiny_analyzer)
    assert desc["schema"] == [c for c, _ in output_columns(tiny_analyzer.cue_ids, ["outlet"],
                                                           False)] + ["text_sha256"]
    assert desc["batch_size"] == tiny_analyzer.batch_size
    assert desc["catalogue_path"] is None or Path(desc["catalogue_path"]).is_file()


def test_a_scores_directory_named_by_a_uri(tmp_path):
    """What a Ray run writes to ``s3://...`` and the like, here through ``file://``: shards
    and manifest written whole (a .tmp object moved into place), read back, cleared."""
    where = tmp_path / "scores"
    fs, inner = pafs.FileSystem.from_uri(where.as_uri())
    d = UriShardDir(fs, inner, where.as_uri())
    assert d.read_manifest() is None and d.shards() == []
    d.create()
    d.write_manifest({"kind": "framing-scores", "progress": {"shards": 0}})
    assert d.read_manifest()["progress"] == {"shards": 0} and d.read_manifest()["updated"]
    table = pa.table({"row": [1, 2], "text_sha256": ["a", None]})
    d.write_table(1, table)
    d.write_table(0, table.slice(0, 1))
    assert [(i, Path(p).name) for i, p in d.shards()] == \
        [(0, "part-00000.parquet"), (1, "part-00001.parquet")]
    assert d.read_columns(d.shards()[1][1], ["row"]).column("row").to_pylist() == [1, 2]
    assert pq.read_table(where / "part-00001.parquet").to_pylist() == \
        [{"row": 1, "text_sha256": "a"}, {"row": 2, "text_sha256": None}]
    (where / "part-00002.parquet.tmp").write_bytes(b"half")
    (where / "notes.txt").write_text("mine")
    assert d.remove_temporaries() == ["part-00002.parquet.tmp"]
    d.clear()
    assert sorted(p.name for p in where.iterdir()) == ["notes.txt"]
    (where / "manifest.json").write_text("{not json")
    with pytest.raises(ResumeError, match="cannot be read"):
        d.read_manifest()
    (where / "notes.txt").unlink()
    with pytest.raises(InputFormatError, match="is a file"):
        UriShardDir(fs, str(where / "manifest.json"), "x").create()


@pytest.mark.parametrize("concurrency", [0, (3, 1), True, "4"])
def test_a_bad_concurrency_is_refused_before_ray_starts(tmp_path, monkeypatch, concurrency):
    ray = pytest.importorskip("ray")
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "One article."}\n')
    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray started"))
    with pytest.raises(ValueError, match="concurrency"):
        score_corpus_ray(src, tmp_path / "scores", concurrency=concurrency)
    assert not (tmp_path / "scores").exists()


@pytest.mark.optional
def test_a_uri_output_resumes_and_an_empty_corpus_gives_an_empty_directory(
        ray_local, tiny_kwargs, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in _texts(10)
                           if isinstance(t, str)), encoding="utf-8")
    out = tmp_path / "scores"
    first = score_corpus_ray(src, out.as_uri(), analyzer=tiny_kwargs, shard_size=3,
                             chunk_size=2, concurrency=1, progress=False)
    assert (first.rows, first.shards) == (9, 3)
    want = framing.read_scores(out)
    assert not (out / ".lock").exists() and (out / "manifest.json").is_file()
    (out / "part-00001.parquet").unlink()
    again = score_corpus_ray(src, out.as_uri(), analyzer=tiny_kwargs, shard_size=3,
                             chunk_size=2, concurrency=1, progress=False)
    assert (again.rows, again.skipped, again.shards) == (3, 6, 3)
    pd.testing.assert_frame_equal(framing.read_scores(out), want, check_exact=True)

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    summary = score_corpus_ray(empty, tmp_path / "none", analyzer=tiny_kwargs, concurrency=1,
                               progress=False)
    assert (summary.rows, summary.shards) == (0, 0)
    frame = framing.read_scores(tmp_path / "none")
    assert len(frame) == 0 and list(frame.columns) == list(want.columns)
    assert json.loads((tmp_path / "none" / "manifest.json").read_text())["status"] == "complete"


@pytest.mark.optional
def test_a_ray_dataset_is_scored_by_ray_data_and_not_resumed(ray_local, tiny_kwargs,
                                                              tmp_path):
    ds = ray_local.data.from_items(_items(12))
    out = tmp_path / "scores"
    summary = score_corpus_ray(ds, out, text="body", id="doc", analyzer=tiny_kwargs,
                               concurrency=1, progress=False)
    assert (summary.rows, summary.errors) == (12, 2)
    got = framing.read_scores(out)
    assert sorted(got["id"]) == sorted(f"a{i}" for i in range(12))
    assert got["row"].isna().all() and not (out / "manifest.json").exists()
    with pytest.raises(ResumeError, match="cannot resume"):
        score_corpus_ray(ds, out, text="body", id="doc", analyzer=tiny_kwargs, progress=False)
    again = score_corpus_ray(ds, out, text="body", id="doc", analyzer=tiny_kwargs,
                             concurrency=1, progress=False, overwrite=True)
    assert again.rows == 12 and len(framing.read_scores(out)) == 12


# -- the pool's bookkeeping, on a stand-in for Ray ------------------------------------------
# Ray's own restarts hide most deaths; what the run does when Ray gives up on an actor
# (another actor takes its unit; a unit that kills every actor stops the run, keeping the
# shards done) is checked here on a synchronous stand-in for the few Ray calls it makes.
class _Died(BaseException):
    """Raised by a stand-in analyzer to play an actor's process dying."""


class _HashStub:
    """A cheap analyzer: scores are a hash of the text. A text holding ``poison`` kills
    the actor scoring it (every time, or only the first ``deaths`` times)."""

    cue_ids = ["win_win"]
    batch_size = 8
    deaths = None  # None: every time

    def __init__(self, salt: str = "") -> None:
        self.salt = salt

    def config(self) -> dict:
        return {"analyzer": "hash-stub", "salt": self.salt}

    def score_many(self, texts, batch_size=None, *, targets=None, ids=None, errors="flag"):
        from framing.pipeline.results import ArticleResult, CueResult

        texts = list(texts)
        if any("poison" in t for t in texts) and _HashStub.deaths != 0:
            if _HashStub.deaths is not None:
                _HashStub.deaths -= 1
            raise _Died()
        out = []
        for text, rid in zip(texts, ids or [None] * len(texts)):
            p = int(text_key(self.salt + text, None)[:4], 16) / 65535
            out.append(ArticleResult(p * 2 - 1, "promotional" if p > 0.5 else "critical",
                                     {"win_win": CueResult("win_win", "w", p, p > 0.5)}, [],
                                     tone_scorer="stub", id=rid))
        return out

    def failed_result(self, error, id=None, target=None):
        from framing.pipeline.results import ArticleResult

        return ArticleResult(None, None, {}, [], tone_scorer=None, flags=["error"],
                             error=error, id=id)


class _Ref:
    """An object reference of the stand-in: its value is computed when first waited on."""

    def __init__(self, compute) -> None:
        self.compute, self.outcome = compute, None

    def settle(self):
        if self.outcome is None:
            try:
                self.outcome = (True, self.compute())
            except BaseException as exc:  # noqa: BLE001 - kept for get, as Ray does
                self.outcome = (False, exc)
        return self.outcome


class _FakeRay:
    """The Ray calls a resumable run makes, done in this process, one at a time."""

    class exceptions:
        class RayActorError(Exception):
            pass

        class RayTaskError(Exception):
            def __init__(self, cause):
                super().__init__(str(cause))
                self.cause = cause

    class data:
        class Dataset:
            pass

    def __init__(self) -> None:
        self.started = 0
        self.killed = 0

    def is_initialized(self) -> bool:
        return True

    def cluster_resources(self) -> dict:
        return {"CPU": 2.0}

    def put(self, value):
        return _Ref(lambda: value)

    def wait(self, refs, num_returns=1):
        refs[0].settle()
        return [refs[0]], refs[1:]

    def get(self, ref):
        ok, value = ref.settle()
        if not ok:
            raise value
        return value

    def kill(self, handle, no_restart=True):
        handle.dead = True
        self.killed += 1

    def remote(self, cls):
        fake = self

        class Options:
            def options(self, **kwargs):
                return self

            def remote(self, *args):
                fake.started += 1
                return _Handle(fake, cls, args)

        return Options()


class _Handle:
    def __init__(self, fake: _FakeRay, cls, args) -> None:
        self.fake, self.dead = fake, False
        self.instance = cls(*args)

    def __getattr__(self, name):
        handle = self

        class Method:
            def remote(self, *args):
                def call():
                    if handle.dead:
                        raise _FakeRay.exceptions.RayActorError("the actor is dead")
                    values = [handle.fake.get(a) if isinstance(a, _Ref) else a for a in args]
                    try:
                        return getattr(handle.instance, name)(*values)
                    except _Died:
                        handle.dead = True
                        raise _FakeRay.exceptions.RayActorError("the actor died") from None
                    except Exception as exc:
                        raise _FakeRay.exceptions.RayTaskError(exc) from None
                return _Ref(call)

        return Method()


def _stub_corpus(path: Path, n: int, poison: int | None = None) -> Path:
    objs = [{"id": f"a{i}", "text": f"Article number {i} about the new bridge.",
             "outlet": "XY"[i % 2]} for i in range(n)]
    if poison is not None:
        objs[poison]["text"] = "A poison article."
    path.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
    return path


def _fake_run(monkeypatch, src, out, fake=None, **kw):
    fake = fake or _FakeRay()
    monkeypatch.setattr(framing.io.distributed, "_require_ray", lambda: fake)
    kw.setdefault("analyzer", _HashStub)
    return score_corpus_ray(src, out, id="id", outlet="outlet", chunk_size=3, shard_size=4,
                            concurrency=2, progress=False, **kw)


def test_a_unit_whose_actor_died_goes_to_another_actor(tmp_path, monkeypatch):
    src = _stub_corpus(tmp_path / "in.jsonl", 18, poison=9)
    monkeypatch.setattr(_HashStub, "deaths", 1)  # the first actor to score it dies
    fake = _FakeRay()
    summary = _fake_run(monkeypatch, src, tmp_path / "scores", fake)
    assert (summary.rows, summary.shards, summary.skipped) == (18, 5, 0)
    assert fake.started == 3  # two actors, and one to replace the dead one
    monkeypatch.setattr(_HashStub, "deaths", 0)
    score_corpus(src, tmp_path / "local", id="id", outlet="outlet", analyzer=_HashStub(),
                 chunk_size=3, shard_size=4, progress=False)
    got = framing.read_scores(tmp_path / "scores")
    assert list(got["row"]) == list(range(1, 19))
    pd.testing.assert_frame_equal(got, framing.read_scores(tmp_path / "local"),
                                  check_exact=True)


def test_a_unit_that_kills_every_actor_stops_the_run_and_keeps_the_rest(tmp_path,
                                                                        monkeypatch):
    src = _stub_corpus(tmp_path / "in.jsonl", 18, poison=9)  # in unit 2 (rows 9..12)
    out = tmp_path / "scores"
    with pytest.raises(RuntimeError, match="part-00002.parquet killed 3 Ray actors") as info:
        _fake_run(monkeypatch, src, out)
    assert "run the same command again to resume" in str(info.value)
    names = sorted(p.name for p in out.glob("part-*.parquet"))
    assert "part-00002.parquet" not in names and "part-00000.parquet" in names
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "running"
    assert manifest["progress"]["shards"] == len(names)
    assert not (out / ".lock").exists()

    kept = sum(len(pd.read_parquet(out / n)) for n in names)
    assert manifest["progress"]["rows"] == kept

    monkeypatch.setattr(_HashStub, "deaths", 0)  # fixed: the rerun scores what is left
    summary = _fake_run(monkeypatch, src, out)
    assert (summary.skipped, summary.rows, summary.shards) == (kept, 18 - kept, 5)
    assert list(framing.read_scores(out)["row"]) == list(range(1, 19))


def test_a_failing_analyzer_build_raises_its_own_error(tmp_path, monkeypatch):
    src = _stub_corpus(tmp_path / "in.jsonl", 5)

    def broken():
        raise framing.errors.ModelNotFoundError("no model in /nowhere")

    with pytest.raises(framing.errors.ModelNotFoundError, match="/nowhere"):
        _fake_run(monkeypatch, src, tmp_path / "scores", analyzer=broken)
    assert not list((tmp_path / "scores").glob("part-*"))


def test_actors_that_built_different_analyzers_stop_the_run(tmp_path, monkeypatch):
    src = _stub_corpus(tmp_path / "in.jsonl", 20)
    salts = iter(["a", "b", "c"])
    with pytest.raises(RuntimeError, match="built different analyzers"):
        _fake_run(monkeypatch, src, tmp_path / "scores",
                  analyzer=lambda: _HashStub(salt=next(salts)))


def test_a_resume_with_nothing_left_builds_no_analyzer(tmp_path, monkeypatch, tiny_kwargs):
    """Given as keyword arguments, the analyzer is known unchanged from the files alone:
    with every shard done no actor starts, and with one missing one does."""
    src = _stub_corpus(tmp_path / "in.jsonl", 10)
    out = tmp_path / "scores"
    fake = _FakeRay()
    assert _fake_run(monkeypatch, src, out, fake, analyzer=dict(tiny_kwargs)).rows == 10
    assert fake.started == 2  # the third unit waited, so a second actor was started
    want = framing.read_scores(out)
    again = _FakeRay()
    summary = _fake_run(monkeypatch, src, out, again, analyzer=dict(tiny_kwargs))
    assert (summary.rows, summary.skipped, again.started) == (0, 10, 0)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["analyzer"]["model_files"]
    (out / "part-00001.parquet").unlink()
    third = _FakeRay()
    summary = _fake_run(monkeypatch, src, out, third, analyzer=dict(tiny_kwargs))
    assert (summary.rows, summary.skipped, third.started) == (4, 6, 1)
    pd.testing.assert_frame_equal(framing.read_scores(out), want, check_exact=True)


def test_an_in_memory_table_is_resumable_too(tmp_path, monkeypatch):
    """A pandas DataFrame is read in its row order, as the local engine reads it, and its
    manifest entry is a hash of its values: a resume skips its done rows, and refuses
    another table."""
    frame = pd.DataFrame([{"id": f"a{i}", "text": f"Article {i} on the harbour.",
                           "outlet": "XY"[i % 2]} for i in range(11)])
    out = tmp_path / "scores"
    monkeypatch.setattr(_HashStub, "deaths", 0)
    assert _fake_run(monkeypatch, frame, out).rows == 11
    want = framing.read_scores(out)
    assert list(want["id"]) == list(frame["id"]) and list(want["row"]) == list(range(1, 12))
    score_corpus(frame, tmp_path / "local", id="id", outlet="outlet", analyzer=_HashStub(),
                 chunk_size=3, shard_size=4, progress=False)
    pd.testing.assert_frame_equal(want, framing.read_scores(tmp_path / "local"),
                                  check_exact=True)
    (out / "part-00002.parquet").unlink()
    summary = _fake_run(monkeypatch, frame, out)
    assert (summary.rows, summary.skipped) == (3, 8)
    pd.testing.assert_frame_equal(framing.read_scores(out), want, check_exact=True)
    (out / "part-00002.parquet").unlink()
    other = frame.assign(text=frame["text"].str.upper())
    with pytest.raises(ResumeError, match="input.sha256"):
        _fake_run(monkeypatch, other, out)


def test_a_run_that_may_not_resume_is_refused_before_ray_starts(tmp_path, monkeypatch):
    src = _stub_corpus(tmp_path / "in.jsonl", 9)
    out = tmp_path / "scores"
    monkeypatch.setattr(_HashStub, "deaths", 0)
    _fake_run(monkeypatch, src, out)
    (out / "part-00001.parquet").unlink()
    stopped = _FakeRay()
    stopped.is_initialized = lambda: False
    stopped.init = lambda **kwargs: pytest.fail("Ray started")
    monkeypatch.setattr(framing.io.distributed, "_require_ray", lambda: stopped)
    with pytest.raises(ResumeError, match="parameters.shard_size: 4 then, 5 now"):
        score_corpus_ray(src, out, id="id", outlet="outlet", analyzer=_HashStub,
                         shard_size=5, progress=False)
    with pytest.raises(ResumeError, match="resume=False"):
        score_corpus_ray(src, out, id="id", outlet="outlet", analyzer=_HashStub,
                         shard_size=4, resume=False, progress=False)
    assert stopped.started == 0 and not (out / ".lock").exists()
