"""Bad-input matrix: every kind of bad input has a defined outcome.

Outcomes are one of: a result, a flagged result, or a clear error (a ``FramingError``
subclass, a ``TypeError`` / ``ValueError`` naming the problem, or CLI exit 2 with a
one-line ``framing <cmd>: error: ...`` message). Corpus runs never drop a row: the
output has exactly one row per input row.
"""

from __future__ import annotations

import json
import random
import re

import pandas as pd
import pytest

import framing
from framing.cli import main
from framing.errors import ColumnError, InputFormatError

from .conftest import check_numbers, check_offsets

# -- texts ---------------------------------------------------------------------------------
GERMAN = ("Die Bundesregierung hat am Montag neue Maßnahmen zur Förderung der erneuerbaren "
          "Energien beschlossen. Kritiker bemängeln, dass die Pläne nicht weit genug gehen.")
FRENCH = ("Le gouvernement a annoncé lundi un nouveau plan pour les hôpitaux publics. Les "
          "syndicats estiment que les mesures restent très insuffisantes.")
RUSSIAN = ("Правительство объявило в понедельник о новых мерах поддержки экономики. Критики "
           "считают, что этих мер недостаточно.")
CHINESE = "政府周一宣布了支持经济的新措施。批评者认为这些措施还远远不够。双方同意继续合作，实现互利共赢。"
ARABIC = "أعلنت الحكومة يوم الاثنين عن إجراءات جديدة لدعم الاقتصاد. ويرى المنتقدون أن هذه الإجراءات غير كافية."
HEBREW = "הממשלה הודיעה ביום שני על צעדים חדשים לתמיכה בכלכלה. המבקרים טוענים שהצעדים אינם מספיקים."

EN = "The council approved the new bridge on Monday. Critics said the plan was a costly mistake."

# text -> flags the result must carry (and flags it must not carry)
TEXT_CASES = {
    "empty": ("", {"empty"}),
    "spaces": ("     ", {"empty"}),
    "whitespace-mix": (" \n\t\r\n \u00a0 \u3000 ", {"empty"}),
    "control-chars": ("The council\x00 approved\x07 the\x1b[31m bridge.\x0b\x0c Critics\x7f objected.", set()),
    "only-control-chars": ("\x00\x01\x02\x03\x1f\x7f", set()),
    "zero-width": ("The\u200b council\u200c approved\u200d the\ufeff bridge.\u2060 Critics objected.", set()),
    "only-zero-width": ("\u200b\u200c\u200d\u2060\ufeff", set()),
    "rtl-marks": ("\u202eThe council approved the bridge.\u202c \u200fCritics objected.\u200e", set()),
    "rtl-override-english": ("\u202e.egdirb eht devorppa licnuoc ehT", set()),
    "emoji": ("The council 🎉 approved the bridge 🌉👍. Critics 😡 objected 👎🏽 loudly 👨‍👩‍👧.", set()),
    "only-emoji": ("🎉🌉👍😡👎🏽👨‍👩‍👧", set()),
    "combining-marks": ("Cafe\u0301 owners appro\u0300ved the bridge. Z\u0335\u0321a\u0337lgo text.", set()),
    "html-page": ("<html><head><title>x</title><script>var a = '<p>';</script></head><body>"
                  "<p>The council <b>approved</b> the bridge.</p><p>Critics &amp; unions "
                  "objected.</p></body></html>", {"html"}),
    "html-broken": ("<p>The council <b approved the bridge.</p><div><p>Critics objected", set()),
    "html-entities-only": ("&amp;&lt;&gt;&#x1F600;&#0;&#xD800;&bogus;", set()),
    "german": (GERMAN, {"non_english"}),
    "french": (FRENCH, {"non_english"}),
    "russian": (RUSSIAN, {"non_english"}),
    "chinese": (CHINESE, {"non_english"}),
    "arabic-rtl": (ARABIC, {"non_english"}),
    "hebrew-rtl": (HEBREW, {"non_english"}),
    "english": (EN, set()),
    "one-long-word": ("x" * 20_000, set()),
    "no-spaces-long": ("Thecouncilapprovedthebridge." * 500, set()),
    "many-newlines": ("\n" * 5000 + EN + "\n" * 5000, set()),
    "many-dots": ("." * 3000, set()),
    "private-use-and-nonchars": ("\ue000\uf8ff\ufffe\uffff\U0010ffff text here.", set()),
    "math-alphanumerics": ("𝐓𝐡𝐞 𝐜𝐨𝐮𝐧𝐜𝐢𝐥 approved the bridge.", set()),
}

NON_STRINGS = {
    "None": None,
    "int": 42,
    "float": 3.5,
    "float-nan": float("nan"),
    "bool": True,
    "list": ["The council approved the bridge."],
    "dict": {"text": "The council approved the bridge."},
    "bytes": b"The council approved the bridge.",
    "bytes-invalid-utf8": b"\xff\xfe\x80bad",
}


# -- Analyzer.score ------------------------------------------------------------------------
@pytest.mark.parametrize("text, flags", list(TEXT_CASES.values()), ids=list(TEXT_CASES))
def test_score_text(tiny_analyzer, text, flags):
    r = tiny_analyzer.score(text)
    assert r.error is None
    assert flags <= set(r.flags), r.flags
    if "non_english" not in flags and text in (EN,):
        assert "non_english" not in r.flags
    if "empty" in flags:
        assert r.tone is None and r.sentences == []
    check_offsets(text, r)
    check_numbers(r)


@pytest.mark.parametrize("value", list(NON_STRINGS.values()), ids=list(NON_STRINGS))
def test_score_non_string_raises_type_error(tiny_analyzer, value):
    with pytest.raises(TypeError, match=r"text must be str, not \w+"):
        tiny_analyzer.score(value)


def test_score_lone_surrogate(tiny_analyzer):
    """A str can hold a lone surrogate (e.g. decoded with surrogateescape): scored or flagged."""
    text = "The council \ud800 approved \udcff the bridge."
    r = tiny_analyzer.score_many([text])[0]
    assert r.error is None or "surrogate" in r.error.lower() or "utf" in r.error.lower()
    if r.error is None:
        check_offsets(text, r)


def test_five_megabyte_article_is_truncated(short_analyzer):
    text = ("The council approved the new bridge after a long debate. " * 90_000)[:5_000_000]
    assert len(text) == 5_000_000
    r = short_analyzer.score(text)
    assert "truncated" in r.flags and r.error is None
    assert r.sentences and r.sentences[-1].end <= short_analyzer.max_chars + 100
    check_offsets(text, r)


def test_five_megabyte_single_line_html_is_truncated(short_analyzer):
    text = "<p>" + ("Critics condemned the costly plan &amp; its delays. " * 100_000)[:5_000_000]
    r = short_analyzer.score(text)
    assert {"truncated", "html"} <= set(r.flags)
    check_offsets(text, r)


@pytest.mark.parametrize("target, exc", [
    ("", ValueError), ("   ", ValueError), (5, TypeError), ((5, 2), ValueError),
    ((-1, 3), ValueError), (("a", "b"), TypeError), (3.5, TypeError),
], ids=["empty", "spaces", "int", "reversed-offsets", "negative-offset", "str-pair", "float"])
def test_score_bad_target(tiny_analyzer, target, exc):
    with pytest.raises(exc, match="target"):
        tiny_analyzer.score(EN, target=target)


@pytest.mark.parametrize("target", ["Zanzibar", (500, 600), "\u200b"],
                         ids=["absent-name", "offsets-past-end", "zero-width-name"])
def test_score_target_not_mentioned(tiny_analyzer, target):
    r = tiny_analyzer.score(EN, target=target)
    assert r.error is None and "no_target_mention" in r.flags and r.tone is None


# -- Analyzer.score_many -------------------------------------------------------------------
def test_score_many_mixed_batch_keeps_every_row_in_order(tiny_analyzer):
    texts = [t for t, _ in TEXT_CASES.values()] + list(NON_STRINGS.values())
    names = list(TEXT_CASES) + list(NON_STRINGS)
    out = tiny_analyzer.score_many(texts, ids=names)
    assert len(out) == len(texts)
    assert [r.id for r in out] == names
    for name, text, r in zip(names, texts, out):
        if name in NON_STRINGS:
            assert r.error and "error" in r.flags and r.tone is None, name
            assert ("None" in r.error) if text is None else (type(text).__name__ in r.error)
        else:
            assert r.error is None, (name, r.error)
            assert TEXT_CASES[name][1] <= set(r.flags), (name, r.flags)
            check_offsets(text, r)


@pytest.mark.parametrize("value", list(NON_STRINGS.values()), ids=list(NON_STRINGS))
def test_score_many_flags_non_strings(tiny_analyzer, value):
    out = tiny_analyzer.score_many([EN, value, EN])
    assert len(out) == 3
    assert out[0].error is None and out[2].error is None
    assert out[1].error and out[1].flags == ["error"]
    assert set(out[1].cues) == set(tiny_analyzer.cue_ids)  # same shape as a good row


@pytest.mark.parametrize("value", list(NON_STRINGS.values()), ids=list(NON_STRINGS))
def test_score_many_raise_mode(tiny_analyzer, value):
    with pytest.raises(TypeError, match="text must be str|missing text"):
        tiny_analyzer.score_many([EN, value], errors="raise")


@pytest.mark.parametrize("kwargs, match", [
    ({"errors": "ignore"}, "errors must be"),
    ({"ids": [1]}, "one entry per text"),
    ({"targets": [None]}, "one entry per text"),
], ids=["bad-errors-mode", "ids-length", "targets-length"])
def test_score_many_bad_arguments(tiny_analyzer, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_analyzer.score_many([EN, EN], **kwargs)


def test_score_many_bad_target_spoils_only_its_row(tiny_analyzer):
    out = tiny_analyzer.score_many([EN, EN, EN], targets=[None, 5, ""])
    assert out[0].error is None
    assert "TypeError" in out[1].error and "ValueError" in out[2].error


@pytest.mark.parametrize("texts", [[], iter([]), (t for t in [EN] * 3)],
                         ids=["empty-list", "empty-iterator", "generator"])
def test_score_many_empty_and_lazy_input(tiny_analyzer, texts):
    materialised = list(texts)
    assert len(tiny_analyzer.score_many(iter(materialised))) == len(materialised)


def test_score_many_not_iterable(tiny_analyzer):
    with pytest.raises(TypeError):
        tiny_analyzer.score_many(5)


# -- score_corpus: JSONL -------------------------------------------------------------------
def _j(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


BINARY_JUNK = bytes(random.Random(7).randrange(256) for _ in range(4000)).replace(b"\n", b"")

# name -> (raw line bytes, expect an error on this row?)
JSONL_ROWS = {
    "good": (_j({"id": "a", "text": EN, "outlet": "x"}), False),
    "null-text": (_j({"id": "b", "text": None, "outlet": "x"}), True),
    "int-text": (_j({"id": "c", "text": 7, "outlet": "x"}), True),
    "float-text": (_j({"id": "d", "text": 1.5, "outlet": "x"}), True),
    "nan-text": (b'{"id": "e", "text": NaN, "outlet": "x"}', True),
    "bool-text": (_j({"id": "f", "text": False, "outlet": "x"}), True),
    "list-text": (_j({"id": "g", "text": ["a", "b"], "outlet": "x"}), True),
    "dict-text": (_j({"id": "h", "text": {"body": EN}, "outlet": "x"}), True),
    "missing-text-field": (_j({"id": "i", "outlet": "x"}), True),
    "empty-text": (_j({"id": "j", "text": "", "outlet": "x"}), False),
    "whitespace-text": (_j({"id": "k", "text": " \t\n ", "outlet": "x"}), False),
    "control-chars": (_j({"id": "l", "text": "A\x00B\x07 council\x1b approved.", "outlet": "x"}), False),
    "zero-width": (_j({"id": "m", "text": "Bri\u200bdge\u200d approved.\ufeff", "outlet": "x"}), False),
    "rtl": (_j({"id": "n", "text": "\u202e" + HEBREW, "outlet": "x"}), False),
    "emoji": (_j({"id": "o", "text": "Deal 🎉🤝 signed 👍🏽.", "outlet": "x"}), False),
    "non-english": (_j({"id": "p", "text": GERMAN, "outlet": "x"}), False),
    "html": (_j({"id": "q", "text": "<p>The <b>council</b> approved.</p>", "outlet": "x"}), False),
    "missing-id": (_j({"text": EN, "outlet": "x"}), False),
    "null-id": (_j({"id": None, "text": EN, "outlet": "x"}), False),
    "duplicate-id-1": (_j({"id": "dup", "text": EN, "outlet": "x"}), False),
    "duplicate-id-2": (_j({"id": "dup", "text": GERMAN, "outlet": "x"}), False),
    "int-id": (_j({"id": 17, "text": EN, "outlet": "x"}), False),
    "dict-id": (_j({"id": {"a": 1}, "text": EN, "outlet": "x"}), False),
    "missing-outlet": (_j({"id": "r", "text": EN}), False),
    "list-outlet": (_j({"id": "s", "text": EN, "outlet": ["x", "y"]}), False),
    "malformed-json": (b'{"id": "t", "text": "unterminated', True),
    "truncated-object": (b'{"id": "u", "text": "A', True),
    "json-array-line": (b'["id", "text"]', True),
    "json-string-line": (b'"just a string"', True),
    "json-number-line": (b"12", True),
    "json-null-line": (b"null", True),
    "invalid-utf8": (b'{"id": "v", "text": "caf\xe9 \xff\xfe"}', True),
    "binary-junk": (BINARY_JUNK, True),
    "nul-bytes": (b"\x00" * 64, True),
    "trailing-garbage": (_j({"id": "w", "text": EN}) + b" garbage", True),
    "lone-surrogate-escape": (b'{"id": "x", "text": "bad \\ud800 surrogate"}', False),
    "escaped-nul": (b'{"id": "y", "text": "nul \\u0000 inside"}', False),
}


def _put(path, data: bytes):
    path.write_bytes(data)
    return path


def _write_lines(path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")


def _score_file(src, out, analyzer, **kw):
    kw.setdefault("outlet", "outlet")
    return framing.score_corpus(src, out, analyzer=analyzer, progress=False, **kw)


@pytest.mark.parametrize("name", list(JSONL_ROWS), ids=list(JSONL_ROWS))
def test_score_corpus_jsonl_row(tmp_path, tiny_analyzer, name):
    """Each bad row sits between two good rows; all three come out, in order."""
    line, is_error = JSONL_ROWS[name]
    good = JSONL_ROWS["good"][0]
    src = tmp_path / "in.jsonl"
    _write_lines(src, [good, line, good])
    out = tmp_path / "out.parquet"
    summary = _score_file(src, out, tiny_analyzer, id="id")
    df = pd.read_parquet(out)
    assert len(df) == 3 == summary.total
    assert list(df["row"]) == [1, 2, 3]
    assert df["error"].isna().tolist() == [True, not is_error, True], df["error"].tolist()
    if is_error:
        assert df["error"][1] and "error" in df["flags"][1]


def test_score_corpus_jsonl_every_bad_row_at_once(tmp_path, tiny_analyzer):
    lines = [line for line, _ in JSONL_ROWS.values()]
    src = tmp_path / "in.jsonl"
    _write_lines(src, lines)
    out = tmp_path / "scores"  # a shards directory, read back in input order
    _score_file(src, out, tiny_analyzer, id="id", chunk_size=5, shard_size=7)
    df = framing.read_scores(out)
    assert len(df) == len(lines)
    assert df["error"].notna().tolist() == [err for _, err in JSONL_ROWS.values()]
    dup = df[df["id"] == "dup"]
    assert len(dup) == 2  # duplicated ids are both kept


@pytest.mark.parametrize("content, rows", [
    (b"", 0), (b"\n\n   \n", 0), (BINARY_JUNK + b"\n" + BINARY_JUNK, 2),
    (b"\xef\xbb\xbf" + _j({"text": EN}) + b"\n" + _j({"text": EN}), 2),
    (_j({"text": EN}) + b"\r\n" + _j({"text": GERMAN}) + b"\r\n", 2),
    (_j({"text": EN}), 1),
], ids=["empty-file", "blank-lines-only", "all-binary-junk", "utf8-bom", "crlf-line-ends",
        "no-final-newline"])
def test_score_corpus_jsonl_whole_file(tmp_path, tiny_analyzer, content, rows):
    src = tmp_path / "in.jsonl"
    src.write_bytes(content)
    out = tmp_path / "out.parquet"
    summary = framing.score_corpus(src, out, analyzer=tiny_analyzer, progress=False)
    df = pd.read_parquet(out)
    assert len(df) == rows == summary.total


def test_score_corpus_five_megabyte_row_is_truncated_not_dropped(tmp_path, short_analyzer):
    big = ("The council approved the new bridge after a long debate. " * 90_000)[:5_000_000]
    src = tmp_path / "in.jsonl"
    _write_lines(src, [_j({"text": EN}), _j({"text": big}), _j({"text": GERMAN})])
    out = tmp_path / "out.parquet"
    framing.score_corpus(src, out, analyzer=short_analyzer, progress=False)
    df = pd.read_parquet(out)
    assert len(df) == 3 and df["error"].isna().all()
    assert "truncated" in df["flags"][1] and "truncated" not in df["flags"][0]


def test_score_corpus_jsonl_bom_first_row_is_scored(tmp_path, tiny_analyzer):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + _j({"text": EN}) + b"\n")
    out = tmp_path / "out.parquet"
    framing.score_corpus(src, out, analyzer=tiny_analyzer, progress=False)
    assert pd.read_parquet(out)["error"].isna().all()


# -- score_corpus: CSV ---------------------------------------------------------------------
CSV_ROWS = {
    "good": (b'a,x,"The council approved the bridge."', False),
    "empty-text": (b"b,x,", False),
    "whitespace-text": (b'c,x,"   "', False),
    "too-few-fields": (b"d,x", True),
    "too-many-fields": (b"e,x,text,extra", True),
    "invalid-utf8": (b"f,x,caf\xe9 \xff bridge", True),
    "binary-junk": (BINARY_JUNK.replace(b"\r", b"").replace(b'"', b""), True),
    "nul-byte": (b"g,x,The \x00 council", False),
    "embedded-newline": (b'h,x,"Line one.\nLine two."', False),
    "html": (b'i,x,"<p>The <b>council</b> approved.</p>"', False),
    "emoji-rtl-zw": ('j,x,"\u202eDeal 🎉 si\u200bgned."'.encode(), False),
    "non-english": (f'k,x,"{FRENCH}"'.encode(), False),
    "missing-id": (b',x,"The council approved."', False),
    "duplicate-id": (b'a,x,"The council approved again."', False),
    "missing-outlet": (b'l,,"The council approved."', False),
}


def _csv_expected_fields(line: bytes) -> bool:
    return line.count(b",") == 2 or line.startswith(b'h,') or line.startswith(b"j,")


@pytest.mark.parametrize("name", list(CSV_ROWS), ids=list(CSV_ROWS))
def test_score_corpus_csv_row(tmp_path, tiny_analyzer, name):
    line, is_error = CSV_ROWS[name]
    good = CSV_ROWS["good"][0]
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,outlet,text\n" + good + b"\n" + line + b"\n" + good + b"\n")
    out = tmp_path / "out.parquet"
    summary = _score_file(src, out, tiny_analyzer, id="id")
    df = pd.read_parquet(out)
    assert len(df) == 3 == summary.total
    assert df["error"].isna().tolist() == [True, not is_error, True], df["error"].tolist()


@pytest.mark.parametrize("content, rows", [
    (b"", 0), (b"id,outlet,text\n", 0), (b"\xef\xbb\xbfid,outlet,text\na,x,Hello there.\n", 1),
    (b'id,outlet,text\na,x,"unterminated quote\nb,x,more\n', 1),
    (b"id,outlet,text\r\na,x,One.\r\nb,x,Two.\r\n", 2),
], ids=["empty-file", "header-only", "utf8-bom-header", "unterminated-quote-at-eof",
        "crlf-line-ends"])
def test_score_corpus_csv_whole_file(tmp_path, tiny_analyzer, content, rows):
    src = tmp_path / "in.csv"
    src.write_bytes(content)
    out = tmp_path / "out.parquet"
    if content:
        summary = _score_file(src, out, tiny_analyzer, id="id")
    else:  # no header: there is no column to find
        summary = framing.score_corpus(src, out, analyzer=tiny_analyzer, progress=False)
    assert len(pd.read_parquet(out)) == rows == summary.total


def test_score_corpus_missing_column_is_a_column_error(tmp_path, tiny_analyzer):
    src = tmp_path / "in.jsonl"
    _write_lines(src, [_j({"body": EN})])
    with pytest.raises(ColumnError, match="'text'.*columns present are: 'body'"):
        framing.score_corpus(src, tmp_path / "o.parquet", analyzer=tiny_analyzer, progress=False)


@pytest.mark.parametrize("kind, make, exc", [
    ("missing-file", lambda p: p / "nope.jsonl", FileNotFoundError),
    ("unknown-extension", lambda p: _put(p / "in.docx", b"x"), InputFormatError),
    ("corrupt-parquet", lambda p: _put(p / "in.parquet", b"PAR1junk"), InputFormatError),
], ids=lambda v: v if isinstance(v, str) else "")
def test_score_corpus_unreadable_source(tmp_path, tiny_analyzer, kind, make, exc):
    src = make(tmp_path)
    with pytest.raises(exc, match=str(src.name)):
        framing.score_corpus(src, tmp_path / "o.parquet", analyzer=tiny_analyzer, progress=False)


@pytest.mark.parametrize("value, match", [
    (0, "chunk_size"), (-1, "chunk_size"), (1.5, "chunk_size"), (True, "chunk_size")],
    ids=["zero", "negative", "float", "bool"])
def test_score_corpus_bad_chunk_size(tmp_path, tiny_analyzer, value, match):
    with pytest.raises(ValueError, match=match):
        framing.score_corpus(tmp_path / "x.jsonl", tmp_path / "o.parquet",
                             analyzer=tiny_analyzer, chunk_size=value)


def test_score_corpus_dataframe_with_non_strings(tmp_path, tiny_analyzer):
    df = pd.DataFrame({"text": [EN, None, float("nan"), 3, b"bytes", "", GERMAN],
                       "outlet": ["x"] * 7})
    out = tmp_path / "o.parquet"
    framing.score_corpus(df, out, analyzer=tiny_analyzer, outlet="outlet", progress=False)
    got = pd.read_parquet(out)
    assert len(got) == 7
    assert got["error"].notna().tolist() == [False, True, True, True, True, False, False]


# -- evaluate ------------------------------------------------------------------------------
def _samples(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


GOOD_SAMPLES = [{"text": EN, "label": "critical"}, {"text": GERMAN, "label": "neutral"},
                {"text": "A win-win deal for both.", "label": "promotional"},
                {"text": "<p>Prices rose.</p>", "label": "neutral"}]

EVAL_CASES = {
    "null-text": ([{"text": None, "label": "neutral"}], ValueError, "without text"),
    "empty-text": ([{"text": "", "label": "neutral"}], ValueError, "without text"),
    "int-text": ([{"text": 5, "label": "neutral"}], ValueError, "without text"),
    "unknown-label": ([{"text": EN, "label": "positive"}], ValueError, "unknown label"),
    "null-label": ([{"text": EN, "label": None}], ValueError, "unknown label"),
    "label-missing-in-one-row": ([{"text": EN}], ValueError, "unknown label"),
    "missing-label-column": ("nolabel", ColumnError, "'label' not found"),
}


@pytest.mark.parametrize("name", list(EVAL_CASES), ids=list(EVAL_CASES))
def test_evaluate_bad_rows_are_clear_errors(tmp_path, tiny_analyzer, name):
    rows, exc, match = EVAL_CASES[name]
    rows = [{"text": EN}] if rows == "nolabel" else GOOD_SAMPLES + rows
    src = _samples(tmp_path / "s.jsonl", rows)
    with pytest.raises(exc, match=match):
        framing.evaluate(tiny_analyzer, src, task="tone", id=None, n_boot=10)


@pytest.mark.parametrize("content, exc", [
    (b"", (InputFormatError, ColumnError, ValueError)),
    (b'{"text": "a", "label": "neutral"}\n{"text": broken\n', InputFormatError),
    (BINARY_JUNK, InputFormatError),
    (b'{"text": "caf\xe9", "label": "neutral"}\n', InputFormatError),
], ids=["empty-file", "malformed-jsonl", "binary-junk", "invalid-utf8"])
def test_evaluate_unreadable_file(tmp_path, tiny_analyzer, content, exc):
    src = tmp_path / "s.jsonl"
    src.write_bytes(content)
    with pytest.raises(exc) as info:
        framing.evaluate(tiny_analyzer, src, task="tone", id=None, n_boot=10)
    assert "s.jsonl" in str(info.value) or "No samples" in str(info.value)


def test_evaluate_odd_but_valid_texts_count_every_row(tmp_path, tiny_analyzer):
    rows = GOOD_SAMPLES + [
        {"text": t, "label": "neutral"} for t in
        ("\u200b\u200b text", "🎉🎉", "\u202e" + HEBREW, CHINESE, "\x07bell", "<b>bold</b>")]
    rows += [dict(rows[0])]  # a duplicate
    src = _samples(tmp_path / "s.jsonl", rows)
    rep = framing.evaluate(tiny_analyzer, src, task="tone", id=None, n_boot=10)
    assert rep.n == len(rows)


def test_evaluate_csv_with_duplicate_and_missing_ids(tmp_path, tiny_analyzer):
    src = tmp_path / "s.csv"
    src.write_text("id,text,label\n1,One good day.,promotional\n1,A bad day.,critical\n"
                   ",Another day.,neutral\n", encoding="utf-8")
    rep = framing.evaluate(tiny_analyzer, src, task="tone", id=None, n_boot=10)
    assert rep.n == 3


def test_evaluate_bad_task_and_missing_file(tmp_path, tiny_analyzer):
    with pytest.raises(ValueError, match="Unknown task"):
        framing.evaluate(tiny_analyzer, tmp_path / "s.jsonl", task="sentiment")
    with pytest.raises(FileNotFoundError, match="s.jsonl"):
        framing.evaluate(tiny_analyzer, tmp_path / "s.jsonl", task="tone")


# -- compare_outlets -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def scores_table(tmp_path_factory, tiny_analyzer):
    """A real scores table from the tiny analyzer: 3 outlets, some bad rows."""
    tmp = tmp_path_factory.mktemp("cmp")
    rows = []
    for i in range(24):
        text = [EN, GERMAN, "A win-win deal.", "Critics condemned it."][i % 4] + f" #{i}"
        rows.append({"id": i, "text": text if i % 7 else None, "outlet": "abc"[i % 3],
                     "date": f"2026-0{1 + i % 3}-01"})
    src = tmp / "in.jsonl"
    _write_lines(src, [_j(r) for r in rows])
    out = tmp / "scores.parquet"
    framing.score_corpus(src, out, analyzer=tiny_analyzer, id="id", outlet="outlet", date="date",
                         progress=False)
    df = pd.read_parquet(out)
    assert len(df) == 24
    return df


CMP = dict(n_boot=50, n_permutations=99)


def test_compare_one_outlet_group(scores_table):
    one = scores_table.assign(outlet="only")
    cmp = framing.compare_outlets(one, by="outlet", **CMP)
    assert len(cmp.groups) == 1
    assert len(cmp.pairwise_tone) == 0
    assert "only" in cmp.to_markdown()
    assert "<html" in cmp.to_html().lower()


@pytest.mark.parametrize("mutate, groups", [
    (lambda d: d.assign(outlet=None), 0),
    (lambda d: d.assign(outlet=[None if i % 2 else "x" for i in range(len(d))]), 1),
    (lambda d: d.assign(outlet=[i % 2 for i in range(len(d))]), 2),
    (lambda d: d.assign(outlet=["\u202e\u200b🎉" if i % 2 else "<b>x</b>" for i in range(len(d))]), 2),
    (lambda d: d.assign(tone=float("nan")), 3),
    (lambda d: d.assign(error="boom"), 0),
    (lambda d: pd.concat([d, d]), 3),
], ids=["outlet-all-null", "outlet-half-null", "outlet-ints", "outlet-unicode-html",
        "tone-all-nan", "every-row-errored", "duplicated-rows"])
@pytest.mark.filterwarnings("ignore:Glyph:UserWarning")  # emoji outlet names in the plot
def test_compare_odd_tables(scores_table, mutate, groups):
    df = mutate(scores_table.copy()).reset_index(drop=True)
    cmp = framing.compare_outlets(df, by="outlet", **CMP)
    assert len(cmp.groups) == groups
    # every row is accounted for: in a group, excluded as errored, or noted as left out
    left_out = sum(int(m) for n in cmp.notes
                   for m in re.findall(r"(\d+) row\(s\) without a value", n))
    assert cmp.n_articles + cmp.n_excluded + left_out == len(df), cmp.notes
    cmp.to_markdown()
    html = cmp.to_html()
    assert "<script>alert" not in html


def test_compare_empty_table(scores_table):
    cmp = framing.compare_outlets(scores_table.iloc[0:0], by="outlet", **CMP)
    assert len(cmp.groups) == 0 and cmp.n_articles == 0
    assert any("fewer than two groups" in n for n in cmp.notes)
    cmp.to_markdown()
    cmp.to_html()


def test_compare_html_in_outlet_names_is_escaped(scores_table):
    df = scores_table.assign(outlet=["<script>alert(1)</script>", "b", "c"] * 8)
    html = framing.compare_outlets(df, by="outlet", **CMP).to_html()
    assert "<script>alert(1)</script>" not in html


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"by": "publisher"}, ColumnError, "publisher"),
    ({"time": "when"}, ColumnError, "when"),
    ({"within": "topic"}, ColumnError, "topic"),
], ids=["missing-by", "missing-time", "missing-within"])
def test_compare_missing_columns(scores_table, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        framing.compare_outlets(scores_table, **{"by": "outlet", **kwargs, **CMP})


@pytest.mark.parametrize("make, exc", [
    (lambda p: p / "nope.parquet", FileNotFoundError),
    (lambda p: _put(p / "s.parquet", b"junk"), InputFormatError),
    (lambda p: _put(p / "s.jsonl", BINARY_JUNK), InputFormatError),
    (lambda p: (p / "d").mkdir() or p / "d", InputFormatError),
    (lambda p: 42, TypeError),
], ids=["missing-file", "corrupt-parquet", "binary-jsonl", "empty-directory", "int"])
def test_compare_unreadable_scores(tmp_path, make, exc):
    with pytest.raises(exc):
        framing.compare_outlets(make(tmp_path), **CMP)


# -- CLI -----------------------------------------------------------------------------------
def _one_line_error(err: str, cmd: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert lines and lines[-1].startswith(f"framing {cmd}: error: "), err
    assert "Traceback" not in err


def test_cli_score_bad_rows_exit_0_and_keep_rows(tmp_path, tiny_model_dir, capsys):
    lines = [line for line, _ in JSONL_ROWS.values()]
    src = tmp_path / "in.jsonl"
    _write_lines(src, lines)
    out = tmp_path / "o.parquet"
    rc = main(["score", str(src), "-o", str(out), "--model", str(tiny_model_dir), "--tone",
               "similarity", "--id", "id", "--outlet", "outlet", "--no-progress",
               "--frames", "none"])
    assert rc == 0, capsys.readouterr().err
    df = pd.read_parquet(out)
    assert len(df) == len(lines)
    assert df["error"].notna().sum() == sum(err for _, err in JSONL_ROWS.values())


CLI_ERRORS = {
    "score-missing-input": (["score", "{tmp}/nope.jsonl", "-o", "{tmp}/o.parquet"], "score"),
    "score-missing-column": (["score", "{tmp}/body.jsonl", "-o", "{tmp}/o.parquet"], "score"),
    "score-unknown-extension": (["score", "{tmp}/in.docx", "-o", "{tmp}/o.parquet"], "score"),
    "score-bad-output-format": (["score", "{tmp}/body.jsonl", "-o", "{tmp}/o.xlsx"], "score"),
    "score-bad-chunk-size": (["score", "{tmp}/body.jsonl", "-o", "{tmp}/o.parquet",
                              "--chunk-size", "0"], "score"),
    "score-bad-label-map": (["score", "{tmp}/good.jsonl", "-o", "{tmp}/o.parquet",
                             "--tone-label-map", "nonsense", "--model", "{model}"], "score"),
    "score-bad-catalogue": (["score", "{tmp}/good.jsonl", "-o", "{tmp}/o.parquet",
                             "--catalogue", "{tmp}/bad.yaml", "--model", "{model}",
                             "--tone", "similarity"], "score"),
    "score-missing-model": (["score", "{tmp}/good.jsonl", "-o", "{tmp}/o.parquet",
                             "--model", "{tmp}/no-model"], "score"),
    "score-hub-id-offline": (["score", "{tmp}/good.jsonl", "-o", "{tmp}/o.parquet",
                              "--model", "someone/some-model"], "score"),
    "eval-null-text": (["eval", "{tmp}/nulltext.jsonl", "--task", "tone"], "eval"),
    "eval-binary-junk": (["eval", "{tmp}/junk.jsonl", "--task", "tone"], "eval"),
    "eval-no-data": (["eval"], "eval"),
    "compare-missing": (["compare", "{tmp}/nope.parquet"], "compare"),
    "compare-empty-dir": (["compare", "{tmp}/emptydir"], "compare"),
    "compare-junk": (["compare", "{tmp}/junk.jsonl"], "compare"),
    "compare-missing-by": (["compare", "{tmp}/scores.parquet", "--by", "publisher"], "compare"),
    "cues-bad-yaml": (["cues", "--catalogue", "{tmp}/bad.yaml"], "cues"),
    "cues-missing-yaml": (["cues", "--catalogue", "{tmp}/none.yaml"], "cues"),
    "cues-python-tag": (["cues", "--catalogue", "{tmp}/evil.yaml"], "cues"),
}


@pytest.mark.parametrize("name", list(CLI_ERRORS), ids=list(CLI_ERRORS))
def test_cli_errors_exit_2_with_one_line(tmp_path, tiny_model_dir, scores_table, capsys, name):
    _write_lines(tmp_path / "body.jsonl", [_j({"body": EN})])
    _write_lines(tmp_path / "good.jsonl", [_j({"text": EN})])
    _write_lines(tmp_path / "nulltext.jsonl", [_j({"text": None, "label": "neutral"})])
    (tmp_path / "junk.jsonl").write_bytes(BINARY_JUNK)
    (tmp_path / "in.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "bad.yaml").write_text("name: x\ncues: [unclosed\n", encoding="utf-8")
    (tmp_path / "evil.yaml").write_text("!!python/object/apply:os.system ['true']\n")
    (tmp_path / "emptydir").mkdir()
    scores_table.to_parquet(tmp_path / "scores.parquet")
    argv, cmd = CLI_ERRORS[name]
    argv = [a.format(tmp=tmp_path, model=tiny_model_dir) for a in argv]
    if argv[0] == "score":
        argv.append("--no-progress")
    assert main(argv) == 2
    _one_line_error(capsys.readouterr().err, cmd)


def test_cli_compare_one_group(tmp_path, scores_table, capsys):
    path = tmp_path / "s.parquet"
    scores_table.assign(outlet="only").to_parquet(path)
    assert main(["compare", str(path), "--n-boot", "50", "--n-permutations", "99"]) == 0
    assert "only" in capsys.readouterr().out


def test_cli_unknown_option_is_argparse_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["score", "--bogus"])
    assert info.value.code == 2
    assert "framing score: error:" in capsys.readouterr().err
