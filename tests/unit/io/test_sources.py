"""Multi-file corpus sources: globs, directories, lists and URIs, read alike by both engines."""

from __future__ import annotations

import gzip
import json
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

import framing
from framing.core.tables import ColumnMap
from framing.errors import ColumnError, InputFormatError, MissingExtraError, ResumeError
from framing.io.corpus import score_corpus
from framing.io.distributed import list_input_files
from framing.io.readers import read_corpus
from framing.io.shards import input_fingerprint
from framing.io.sources import LISTED_FILES, InputFiles, expand_source

WORDS = ["The council approved the new bridge.", "Farmers said the water plan ignores them.",
         "Both sides found the deal good for their own people.",
         "Officials could not say how much the plan would cost."]


def _text(i: int) -> str:
    return f"{WORDS[i % len(WORDS)]} Story {i} of the day."


def _jsonl(path: Path, objs: list, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(o if isinstance(o, str) else json.dumps(o) + "\n" for o in objs)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def _parquet(path: Path, texts: list, **extra) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"text": texts, **extra}).to_parquet(path, row_group_size=2)
    return path


def _names(files: InputFiles, root: Path) -> list[str]:
    return [Path(f.path).relative_to(root).as_posix() for f in files]


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A folder of JSONL and Parquet files, with files every listing must pass over."""
    root = tmp_path / "corpus"
    _jsonl(root / "b.jsonl", [{"text": _text(i)} for i in range(3)])
    _parquet(root / "a.parquet", [_text(i) for i in range(3, 8)])
    _jsonl(root / "2024" / "05" / "c.jsonl.gz", [{"text": _text(8)}, {"text": _text(9)}],
           gz=True)
    _jsonl(root / ".hidden" / "x.jsonl", [{"text": "hidden"}])
    _jsonl(root / ".y.jsonl", [{"text": "hidden too"}])
    (root / "_SUCCESS").write_text("")
    (root / "notes.md").write_text("not a corpus file")
    (root / "readme.txt").write_text("a .txt beside corpus files is not an article")
    return root


# -- the listing ----------------------------------------------------------------------------
def test_a_directory_lists_its_corpus_files_by_name_depth_first(corpus):
    files = expand_source(corpus)
    assert _names(files, corpus) == ["2024/05/c.jsonl.gz", "a.parquet", "b.jsonl"]
    assert [f.format for f in files] == ["jsonl", "parquet", "jsonl"]
    assert files.kind == "files" and files.ids_name_the_file
    assert all(f.size == Path(f.path).stat().st_size for f in files)
    only = expand_source(corpus, format="parquet")
    assert _names(only, corpus) == ["a.parquet"]


def test_glob_patterns_star_question_brackets_and_double_star(corpus, monkeypatch):
    monkeypatch.chdir(corpus.parent)
    assert _names(expand_source("corpus/*.jsonl"), corpus) == ["b.jsonl"]
    assert _names(expand_source("corpus/?.parquet"), corpus) == ["a.parquet"]
    assert _names(expand_source("corpus/[ab].*"), corpus) == ["a.parquet", "b.jsonl"]
    # ** is any number of folders, none included; hidden ones and _names never match
    assert _names(expand_source("corpus/**/*.jsonl*"), corpus) == \
        ["2024/05/c.jsonl.gz", "b.jsonl"]
    assert _names(expand_source("corpus/*/*/*.gz"), corpus) == ["2024/05/c.jsonl.gz"]
    assert _names(expand_source(str(corpus / "**" / "*.parquet")), corpus) == ["a.parquet"]
    # a single-component pattern does not descend into folders
    with pytest.raises(FileNotFoundError, match="corpus/"):
        expand_source("corpus/*.gz")


def test_the_order_is_the_names_order_whatever_the_creation_order(tmp_path):
    names = ["b.jsonl", "B.jsonl", "a.jsonl", "a/z.jsonl", "a-b.jsonl", "10.jsonl", "9.jsonl"]
    for k, order in enumerate([names, names[::-1]]):
        root = tmp_path / f"run{k}"
        for name in order:
            _jsonl(root / name, [{"text": name}])
        assert _names(expand_source(root), root) == \
            ["10.jsonl", "9.jsonl", "B.jsonl", "a/z.jsonl", "a-b.jsonl", "a.jsonl", "b.jsonl"]
        assert _names(expand_source(str(root / "**" / "*.jsonl")), root) == \
            _names(expand_source(root), root)
    assert expand_source(tmp_path / "run0") == expand_source(tmp_path / "run0")


def test_a_list_keeps_the_order_given_and_refuses_a_file_named_twice(corpus):
    files = expand_source([corpus / "b.jsonl", str(corpus / "*.parquet"),
                           corpus / "2024"])
    assert _names(files, corpus) == ["b.jsonl", "a.parquet", "2024/05/c.jsonl.gz"]
    assert files.given[0] == str(corpus / "b.jsonl")
    with pytest.raises(InputFormatError, match="named twice"):
        expand_source([corpus / "b.jsonl", str(corpus / "*.jsonl")])
    with pytest.raises(ValueError, match="empty"):
        expand_source([])
    with pytest.raises(TypeError, match="not int"):
        expand_source(42)


def test_nothing_matched_names_the_pattern(corpus, monkeypatch):
    monkeypatch.chdir(corpus.parent)
    with pytest.raises(FileNotFoundError, match=r"No file matches corpus/\*\.csv$"):
        expand_source("corpus/*.csv")
    with pytest.raises(FileNotFoundError, match=r"nowhere/\*\.jsonl.*there is no folder"):
        expand_source("nowhere/*.jsonl")
    with pytest.raises(FileNotFoundError, match="not found: corpus/missing.jsonl"):
        expand_source("corpus/missing.jsonl")
    empty = corpus.parent / "empty"
    empty.mkdir()
    with pytest.raises(InputFormatError, match="No .jsonl, .csv, .tsv, .parquet or .txt"):
        expand_source(empty)
    # the same refusal from read_corpus and score_corpus, before anything is scored
    with pytest.raises(FileNotFoundError, match="corpus/x"):
        next(read_corpus("corpus/x*.jsonl"))
    with pytest.raises(FileNotFoundError):
        score_corpus("corpus/*.csv", corpus.parent / "o.parquet", analyzer=_never_build,
                     progress=False)


def _never_build():
    raise AssertionError("the analyzer must not be built")


def test_unknown_suffixes_skipped_in_directories_refused_when_named(corpus):
    assert "notes.md" not in _names(expand_source(corpus), corpus)
    with pytest.raises(InputFormatError, match="extension"):
        expand_source(corpus / "notes.md")
    with pytest.raises(InputFormatError,
                       match=r"2 file\(s\).*notes\.md.*readme\.txt.*name the directory.*format="):
        expand_source(str(corpus / "*"))
    with pytest.raises(InputFormatError, match="name the directory"):
        expand_source(str(corpus / "*.txt"))
    # format= reads a named file, or every match, in that format
    (corpus / "extra.log").write_text(json.dumps({"text": "logged"}) + "\n")
    assert [r.text for r in read_corpus(corpus / "extra.log", format="jsonl")] == ["logged"]
    assert [f.format for f in expand_source(str(corpus / "*.log"), format="JSONL")] == ["jsonl"]
    with pytest.raises(InputFormatError, match="Unknown format"):
        expand_source(corpus, format="excel")


def test_txt_articles_do_not_mix_with_corpus_files(tmp_path, corpus):
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "one.txt").write_text("An article.")
    other = tmp_path / "more"
    other.mkdir()
    (other / "two.txt").write_text("Another.")
    listing = expand_source(texts)
    assert listing.kind == "txt-directory" and not listing.ids_name_the_file
    assert [(f.row, f.id, f.format) for f in listing] == [(1, "one", "txt")]
    with pytest.raises(InputFormatError, match="cannot be read together"):
        expand_source([texts, corpus / "b.jsonl"])
    with pytest.raises(InputFormatError, match="cannot be read together"):
        expand_source([texts, other])
    with pytest.raises(InputFormatError, match="no columns"):
        expand_source(texts, columns=ColumnMap.from_fields(outlet="paper"))


# -- reading: rows, ids, bad rows and files ---------------------------------------------------
def test_rows_are_numbered_per_file_and_ids_name_the_file(corpus):
    recs = list(read_corpus(corpus))
    c, a, b = (str(corpus / n) for n in ("2024/05/c.jsonl.gz", "a.parquet", "b.jsonl"))
    assert [(r.id, r.row) for r in recs] == \
        [(f"{c}:1", 1), (f"{c}:2", 2)] + [(f"{a}:{i}", i) for i in range(1, 6)] + \
        [(f"{b}:{i}", i) for i in range(1, 4)]
    assert [r.text for r in recs] == [_text(i) for i in (8, 9, 3, 4, 5, 6, 7, 0, 1, 2)]
    assert all(r.error is None for r in recs)
    # one file, even through a pattern: plain row numbers, as for a single path
    single = list(read_corpus(str(corpus / "*.jsonl")))
    assert [r.id for r in single] == [1, 2, 3]
    # a named id column gives the ids in every file
    _jsonl(corpus / "d.jsonl", [{"text": "x.", "doc": "d-1"}])
    _jsonl(corpus / "e.jsonl", [{"text": "y.", "doc": "e-1"}])
    got = [(r.id, r.row) for r in read_corpus(str(corpus / "[de].jsonl"), id="doc")]
    assert got == [("d-1", 1), ("e-1", 1)]


def test_a_bad_row_in_the_second_file_is_flagged_not_dropped(tmp_path):
    first = _jsonl(tmp_path / "in" / "1.jsonl", [{"text": _text(0)}, {"text": _text(1)}])
    second = _jsonl(tmp_path / "in" / "2.jsonl",
                    [{"text": _text(2)}, '{"text": broken\n', {"text": None},
                     {"body": "no text column"}, {"text": _text(3)}])
    recs = list(read_corpus(str(tmp_path / "in" / "*.jsonl")))
    assert len(recs) == 7
    assert [r.error is None for r in recs] == [True, True, True, False, False, False, True]
    bad = recs[3:6]
    assert [r.row for r in bad] == [2, 3, 4]
    assert [r.id for r in bad] == [f"{second}:2", f"{second}:3", f"{second}:4"]
    assert "malformed JSON" in bad[0].error and "null" in bad[1].error
    assert bad[2].error == "missing field 'text'"  # later files are not checked up front
    assert recs[0].id == f"{first}:1"
    # the first file is checked before anything is read
    with pytest.raises(ColumnError, match="'body'.*columns present are: 'text'"):
        next(read_corpus(str(tmp_path / "in" / "*.jsonl"), text="body"))


def test_a_corrupt_file(tmp_path):
    good = [{"text": _text(i)} for i in range(3)]
    _jsonl(tmp_path / "a" / "1.jsonl", good)
    (tmp_path / "a" / "2.parquet").write_bytes(b"PAR1 this is not parquet")
    whole = gzip.compress("".join(json.dumps(o) + "\n" for o in good * 400).encode())
    (tmp_path / "a" / "3.jsonl.gz").write_bytes(whole[: len(whole) // 2])  # cut short
    _jsonl(tmp_path / "a" / "4.jsonl", good[:1])
    recs = list(read_corpus(tmp_path / "a"))
    by_file: dict[str, list] = {}
    for r in recs:
        by_file.setdefault(r.id.rsplit(":", 1)[0].rsplit("/", 1)[1], []).append(r)
    assert [len(by_file[k]) for k in ("1.jsonl", "2.parquet", "4.jsonl")] == [3, 1, 1]
    # a later file that cannot be read at all: one flagged row, naming it
    flagged = by_file["2.parquet"][0]
    assert flagged.row == 1 and "not a readable Parquet file" in flagged.error
    assert str(tmp_path / "a" / "2.parquet") in flagged.error
    # a file cut short: its rows up to the break, then one row saying where it broke
    cut = by_file["3.jsonl.gz"]
    assert all(r.error is None for r in cut[:-1]) and len(cut) > 10
    assert cut[-1].row == cut[-2].row + 1 and "after line" in cut[-1].error
    assert by_file["4.jsonl"][0].error is None  # and reading goes on
    # the first file of a source is checked up front: not readable at all is an error
    with pytest.raises(InputFormatError, match="not a readable Parquet"):
        next(read_corpus([tmp_path / "a" / "2.parquet", tmp_path / "a" / "1.jsonl"]))
    (tmp_path / "b.jsonl.gz").write_bytes(b"not gzip at all")
    with pytest.raises(InputFormatError, match="cannot be read"):
        next(read_corpus(tmp_path / "b.jsonl.gz"))


def test_files_are_read_one_after_the_other_lazily(tmp_path):
    _jsonl(tmp_path / "c" / "1.jsonl", [{"text": _text(0)}])
    _parquet(tmp_path / "c" / "2.parquet", [_text(i) for i in range(7)])
    records = read_corpus(tmp_path / "c", batch_rows=2)
    assert next(records).text == _text(0)
    (tmp_path / "c" / "2.parquet").unlink()  # gone after listing, before its turn
    rest = list(records)
    assert len(rest) == 1 and rest[0].row == 1 and "cannot" in rest[0].error


# -- URIs ------------------------------------------------------------------------------------
def test_file_uris_read_like_local_paths(corpus):
    uri = corpus.as_uri()
    files = expand_source(f"{uri}/**/*.jsonl*")
    assert [f.path for f in files] == [f"{uri}/2024/05/c.jsonl.gz", f"{uri}/b.jsonl"]
    via_uri = list(read_corpus([f"{uri}/a.parquet", f"{uri}/b.jsonl"]))
    local = list(read_corpus([corpus / "a.parquet", corpus / "b.jsonl"]))
    assert [(r.row, r.text, r.error) for r in via_uri] == \
        [(r.row, r.text, r.error) for r in local]
    assert via_uri[0].id == f"{uri}/a.parquet:1"


@pytest.fixture
def memory_corpus():
    """A corpus in fsspec's in-memory filesystem (removed afterwards)."""
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    root = f"/corpus-{uuid.uuid4().hex[:8]}"
    fs.pipe(f"{root}/a.jsonl", b'{"text": "First."}\n{"text": "Second."}\n')
    fs.pipe(f"{root}/sub/b.jsonl.gz", gzip.compress(b'{"text": "Third."}\n'))
    fs.pipe(f"{root}/sub/skip.md", b"not a corpus file")
    yield f"memory://{root}"
    fs.rm(root, recursive=True)


def test_a_uri_only_fsspec_knows_is_read_through_fsspec(memory_corpus):
    files = expand_source(memory_corpus)
    assert [f.path for f in files] == [f"{memory_corpus}/a.jsonl",
                                       f"{memory_corpus}/sub/b.jsonl.gz"]
    recs = list(read_corpus(f"{memory_corpus}/**/*.jsonl*"))
    assert [(r.text, r.row) for r in recs] == [("First.", 1), ("Second.", 2), ("Third.", 1)]
    assert recs[2].id == f"{files[1].path}:1"
    # the Ray workers open files with pyarrow only: refused up front, with the reason
    with pytest.raises(InputFormatError, match="engine='ray'.*memory://"):
        list_input_files(memory_corpus, None, ColumnMap.from_fields())


def test_a_missing_filesystem_library_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)  # import fsspec -> ImportError
    with pytest.raises(MissingExtraError, match="pip install fsspec"):
        expand_source("memory://corpus/*.jsonl")
    with pytest.raises(InputFormatError, match="cannot be a pattern"):
        expand_source("s3://bucket-*/a.jsonl")


# -- both engines list alike ------------------------------------------------------------------
def test_the_ray_listing_is_the_local_listing(corpus, tmp_path):
    texts = tmp_path / "texts"
    (texts / "b").mkdir(parents=True)
    (texts / "b" / "x.txt").write_text("One.")
    (texts / "a.txt").write_text("Two.")
    for source in (corpus, str(corpus / "**" / "*"), [corpus / "b.jsonl", corpus / "2024"],
                   texts):
        fields = ColumnMap.from_fields()
        try:
            want = expand_source(source)
        except InputFormatError:  # the pattern also matches notes.md: refused by both
            with pytest.raises(InputFormatError):
                list_input_files(source, None, fields)
            continue
        assert list_input_files(source, None, fields) == \
            [{"path": f.path, "format": f.format, "row": f.row, "id": f.id} for f in want]


# -- resuming a multi-file run -------------------------------------------------------------------
def test_resume_refuses_an_added_or_changed_file_and_names_it(tmp_path, tiny_analyzer):
    src = tmp_path / "in"
    for k in range(2):
        _jsonl(src / f"{k}.jsonl", [{"text": _text(3 * k + i)} for i in range(3)])
    pattern, out = str(src / "*.jsonl"), tmp_path / "scores"
    first = score_corpus(pattern, out, analyzer=tiny_analyzer, progress=False, shard_size=2)
    assert (first.rows, first.shards) == (6, 3)
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["input"]
    assert entry["kind"] == "files" and entry["files"] == 2 and entry["source"] == [pattern]
    assert sorted(entry["listing"]) == ["0.jsonl", "1.jsonl"]
    assert entry["listing"]["1.jsonl"]["size"] == (src / "1.jsonl").stat().st_size
    frame = framing.read_scores(out)  # in input order: file after file, not by row number
    assert list(frame["id"]) == [f"{src / n}:{i}" for n in ("0.jsonl", "1.jsonl")
                                 for i in (1, 2, 3)]

    # the same input: nothing left to do
    again = score_corpus(pattern, out, analyzer=tiny_analyzer, progress=False, shard_size=2)
    assert (again.rows, again.skipped) == (0, 6)
    # an added file
    (out / "part-00002.parquet").unlink()
    _jsonl(src / "2.jsonl", [{"text": _text(9)}])
    with pytest.raises(ResumeError, match=r"listing\.2\.jsonl: None then"):
        score_corpus(pattern, out, analyzer=tiny_analyzer, progress=False, shard_size=2)
    (src / "2.jsonl").unlink()
    # a changed file
    _jsonl(src / "1.jsonl", [{"text": _text(3 + i)} for i in range(4)])
    with pytest.raises(ResumeError, match=r"listing\.1\.jsonl\.size"):
        score_corpus(pattern, out, analyzer=tiny_analyzer, progress=False, shard_size=2)


def test_fingerprints_single_files_as_before_and_large_listings_without_entries(
        tmp_path, monkeypatch):
    one = _jsonl(tmp_path / "one.jsonl", [{"text": "x."}])
    entry = input_fingerprint(one, "jsonl")
    assert set(entry) == {"source", "kind", "size", "mtime", "sha256_head", "sha256_tail"}
    _jsonl(tmp_path / "two.jsonl", [{"text": "y."}])
    files = expand_source(str(tmp_path / "*.jsonl"))
    full = input_fingerprint(files, "files")
    assert full["bytes"] == sum(f.size for f in files) and "listing" in full
    monkeypatch.setattr("framing.io.sources.LISTED_FILES", 1)
    short = input_fingerprint(files, "files")
    assert "listing" not in short and short["sha256"] == full["sha256"]
    assert LISTED_FILES >= 100


def test_a_multi_file_progress_bar_knows_the_total(tmp_path, tiny_analyzer, capsys):
    _jsonl(tmp_path / "in" / "a.jsonl", [{"text": _text(i)} for i in range(2)])
    _parquet(tmp_path / "in" / "b.parquet", [_text(i) for i in range(2, 5)])
    score_corpus(tmp_path / "in", tmp_path / "o.parquet", analyzer=tiny_analyzer)
    assert "5/5" in capsys.readouterr().err


# -- both engines, one glob ------------------------------------------------------------------
@pytest.mark.optional
def test_both_engines_give_the_same_rows_for_a_glob(tmp_path, tiny_model_dir, tiny_analyzer):
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    src = tmp_path / "in"
    _jsonl(src / "a.jsonl", [{"text": _text(0), "paper": "Times"}, '{"text": broken\n',
                             {"text": _text(1), "paper": "Herald"}])
    _parquet(src / "sub" / "b.parquet", [_text(2), None, _text(3)],
             paper=["Herald", "Times", None])
    _jsonl(src / "c.jsonl.gz", [{"text": _text(4), "paper": "Times"}], gz=True)
    pattern = str(src / "**" / "*.*")
    local = score_corpus(pattern, tmp_path / "local", outlet="paper", analyzer=tiny_analyzer,
                         progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True)
    try:
        distributed = score_corpus(pattern, tmp_path / "ray", outlet="paper", engine="ray",
                                   analyzer={"model": str(tiny_model_dir), "tone": "similarity"},
                                   progress=False)
    finally:
        ray.shutdown()
    assert (local.rows, local.errors) == (distributed.rows, distributed.errors) == (7, 2)
    want = framing.read_scores(tmp_path / "local").sort_values("id").reset_index(drop=True)
    got = framing.read_scores(tmp_path / "ray").sort_values("id").reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert list(want["id"]) == sorted([f"{src / 'a.jsonl'}:{i}" for i in (1, 2, 3)] +
                                      [f"{src / 'c.jsonl.gz'}:1"] +
                                      [f"{src / 'sub' / 'b.parquet'}:{i}" for i in (1, 2, 3)])
    floats = [c for c in want.columns if want[c].dtype.kind == "f"]
    pd.testing.assert_frame_equal(got[floats], want[floats], atol=1e-5, rtol=0)
    others = [c for c in want.columns if c not in floats]
    pd.testing.assert_frame_equal(got[others], want[others])
