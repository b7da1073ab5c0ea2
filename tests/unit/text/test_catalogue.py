"""Tests for framing.text.catalogue: the built-in catalogue and validation of user catalogues."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

import pytest
import yaml

import framing
from framing import Catalogue, CatalogueError, Cue, builtin_catalogue_path, load_catalogue

# The ten cue ids of spec/cues.md (catalogue v2), in the spec's order.
SPEC_IDS = [
    "win_win",
    "mutual_respect",
    "counter_criticism",
    "peaceful_coexistence",
    "shared_future",
    "achievement",
    "commitment",
    "challenge_acknowledged",
    "external_criticism",
    "criticism_of_others",
]


# --------------------------------------------------------------------------------------
# built-in catalogue


@pytest.fixture(scope="module")
def builtin() -> Catalogue:
    return framing.load_catalogue()


def test_builtin_path_exists():
    path = builtin_catalogue_path()
    assert isinstance(path, Path)
    assert path.is_file()
    assert path.name == "builtin.yaml"


def test_builtin_loads_with_spec_ids_in_order(builtin):
    assert isinstance(builtin, Catalogue)
    assert builtin.ids == SPEC_IDS
    assert len(builtin) == 10
    assert [c.id for c in builtin] == SPEC_IDS
    assert builtin.name == "builtin"


def test_builtin_cues_have_enough_exemplars(builtin):
    for cue in builtin:
        assert isinstance(cue, Cue)
        assert cue.name and cue.description
        assert len(cue.exemplars) >= 8, cue.id
        assert len(cue.counter_exemplars) >= 3, cue.id
        assert len(set(cue.exemplars)) == len(cue.exemplars), f"duplicate exemplar in {cue.id}"
        assert not set(cue.exemplars) & set(cue.counter_exemplars), cue.id
        assert 0.0 < cue.threshold < 1.0
        assert len(cue.compiled) == len(cue.patterns) > 0
        assert all(isinstance(rx, re.Pattern) and rx.flags & re.IGNORECASE for rx in cue.compiled)


def test_builtin_exemplars_are_unique_across_cues(builtin):
    seen: dict[str, str] = {}
    for cue in builtin:
        for ex in cue.exemplars:
            assert ex not in seen, f"exemplar in both {seen.get(ex)} and {cue.id}"
            seen[ex] = cue.id


def test_builtin_sha256_and_source(builtin):
    path = builtin_catalogue_path()
    assert re.fullmatch(r"[0-9a-f]{64}", builtin.sha256)
    assert builtin.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert builtin.source == str(path)


def test_builtin_aliases(builtin):
    assert load_catalogue("builtin").ids == builtin.ids
    assert load_catalogue(builtin_catalogue_path()).sha256 == builtin.sha256
    assert load_catalogue(str(builtin_catalogue_path())).ids == builtin.ids
    assert load_catalogue(builtin) is builtin  # a Catalogue is returned as is
    assert load_catalogue(None, min_exemplars=8).ids == SPEC_IDS


def test_catalogue_lookup(builtin):
    assert builtin["commitment"].id == "commitment"
    with pytest.raises(KeyError) as exc:
        builtin["no_such_cue"]
    assert "no_such_cue" in str(exc.value) and "win_win" in str(exc.value)


# --------------------------------------------------------------------------------------
# user catalogues

VALID = {
    "name": "my catalogue",
    "version": 2,
    "description": "Two cues for testing.",
    "cues": [
        {
            "id": "price_rise",
            "name": "Price rise",
            "description": "The sentence reports rising prices.",
            "patterns": [r"\bprices? (rose|soared|jumped)\b"],
            "exemplars": [
                "Bread prices rose again in March.",
                "Fuel costs jumped sharply this winter.",
            ],
            "counter_exemplars": ["The price of gold was unchanged."],
            "threshold": 0.6,
        },
        {
            "id": "layoffs",
            "name": "Job cuts",
            "description": "The sentence reports job losses.",
            "exemplars": ["The carmaker will cut 2,000 jobs.", "Hundreds of staff were let go."],
        },
    ],
}


def write_yaml(tmp_path: Path, data, name: str = "cat.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def test_valid_user_catalogue_from_path(tmp_path):
    path = write_yaml(tmp_path, VALID)
    cat = load_catalogue(path)
    assert cat.name == "my catalogue"
    assert cat.version == "2"
    assert cat.description == "Two cues for testing."
    assert cat.ids == ["price_rise", "layoffs"]
    assert cat.source == str(path)
    assert cat.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    rise = cat["price_rise"]
    assert rise.threshold == pytest.approx(0.6)
    assert rise.patterns == (r"\bprices? (rose|soared|jumped)\b",)
    assert rise.compiled[0].search("FOOD PRICES SOARED")
    assert rise.counter_exemplars == ("The price of gold was unchanged.",)
    lay = cat["layoffs"]
    assert lay.threshold == 0.5 and lay.patterns == () and lay.counter_exemplars == ()
    assert len(lay.exemplars) == 2


def test_valid_user_catalogue_from_dict():
    data = copy.deepcopy(VALID)
    cat = load_catalogue(data)
    assert cat.ids == ["price_rise", "layoffs"]
    assert cat.source == "<dict>"
    assert cat.sha256 == ""
    assert data == VALID  # the caller's mapping is not modified


def test_strings_are_stripped(tmp_path):
    data = copy.deepcopy(VALID)
    data["cues"][1]["name"] = "  Job cuts  "
    data["cues"][1]["exemplars"] = ["  padded sentence.  "]
    cat = load_catalogue(write_yaml(tmp_path, data))
    assert cat["layoffs"].name == "Job cuts"
    assert cat["layoffs"].exemplars == ("padded sentence.",)


def test_exemplars_required_by_default_but_patterns_alone_allowed_with_min_zero():
    data = copy.deepcopy(VALID)
    del data["cues"][0]["exemplars"]
    with pytest.raises(CatalogueError, match="'price_rise' field 'exemplars'"):
        load_catalogue(data)
    assert load_catalogue(data, min_exemplars=0)["price_rise"].exemplars == ()
    # a cue with neither exemplars nor patterns is refused even then
    del data["cues"][1]["exemplars"]
    with pytest.raises(CatalogueError, match="'layoffs'.*neither"):
        load_catalogue(data, min_exemplars=0)


# --------------------------------------------------------------------------------------
# validation errors


def _mutated(fn):
    data = copy.deepcopy(VALID)
    fn(data)
    return data


def _set(cue_index, key, value):
    def fn(data):
        data["cues"][cue_index][key] = value
    return fn


def _del(cue_index, key):
    def fn(data):
        del data["cues"][cue_index][key]
    return fn


def _top(key, value):
    def fn(data):
        if value is _DELETE:
            del data[key]
        else:
            data[key] = value
    return fn


_DELETE = object()

# (test id, mutation, fragments the message must contain besides the file path)
BAD_CASES = [
    ("missing-name", _top("name", _DELETE), ["'name'"]),
    ("blank-name", _top("name", "   "), ["'name'"]),
    ("empty-cues", _top("cues", []), ["'cues'"]),
    ("cues-not-list", _top("cues", {"id": "x"}), ["'cues'"]),
    ("unknown-top-field", _top("colour", "red"), ["top level", "colour"]),
    ("cue-not-mapping", _top("cues", ["just a string"]), ["cues[0]"]),
    ("missing-description", _del(1, "description"), ["'layoffs'", "'description'"]),
    ("blank-cue-name", _set(1, "name", ""), ["'layoffs'", "'name'"]),
    ("uppercase-id", _set(1, "id", "Layoffs"), ["cues[1]", "'id'"]),
    ("id-with-dash", _set(1, "id", "lay-offs"), ["cues[1]", "'id'"]),
    ("id-not-string", _set(1, "id", 7), ["cues[1]", "'id'"]),
    ("missing-id", _del(0, "id"), ["cues[0]", "'id'"]),
    ("duplicate-id", _set(1, "id", "price_rise"), ["'price_rise'", "duplicate"]),
    ("unknown-cue-field", _set(0, "weight", 3), ["'price_rise'", "weight"]),
    ("patterns-not-list", _set(0, "patterns", r"\bprices\b"), ["'price_rise'", "'patterns'"]),
    ("pattern-not-string", _set(0, "patterns", ["ok", 5]), ["'price_rise'", "patterns", "[1]"]),
    ("invalid-regex", _set(0, "patterns", [r"\bok\b", "(unclosed"]),
     ["'price_rise'", "patterns[1]", "(unclosed"]),
    ("regex-too-long", _set(0, "patterns", ["a" * 501]), ["'price_rise'", "patterns[0]"]),
    ("exemplar-not-string", _set(1, "exemplars", ["fine.", 42]),
     ["'layoffs'", "'exemplars'", "[1]"]),
    ("exemplar-empty", _set(1, "exemplars", ["fine.", "  "]), ["'layoffs'", "'exemplars'"]),
    ("exemplars-not-list", _set(1, "exemplars", "one sentence."), ["'layoffs'", "'exemplars'"]),
    ("counter-not-string", _set(0, "counter_exemplars", [None]),
     ["'price_rise'", "'counter_exemplars'"]),
    ("missing-exemplars", _del(1, "exemplars"), ["'layoffs'", "'exemplars'"]),
    ("threshold-too-high", _set(0, "threshold", 1.5), ["'price_rise'", "'threshold'"]),
    ("threshold-one", _set(0, "threshold", 1), ["'price_rise'", "'threshold'"]),
    ("threshold-zero", _set(0, "threshold", 0.0), ["'price_rise'", "'threshold'"]),
    ("threshold-negative", _set(0, "threshold", -0.2), ["'price_rise'", "'threshold'"]),
    ("threshold-bool", _set(0, "threshold", True), ["'price_rise'", "'threshold'"]),
    ("threshold-string", _set(0, "threshold", "0.5"), ["'price_rise'", "'threshold'"]),
]


@pytest.mark.parametrize("case_id,mutate,fragments", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_invalid_catalogue_file(tmp_path, case_id, mutate, fragments):
    path = write_yaml(tmp_path, _mutated(mutate))
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(path)
    msg = str(exc.value)
    assert str(path) in msg
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"


@pytest.mark.parametrize("case_id,mutate,fragments", BAD_CASES[:6], ids=[c[0] for c in BAD_CASES[:6]])
def test_invalid_catalogue_dict(case_id, mutate, fragments):
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(_mutated(mutate))
    assert "<dict>" in str(exc.value)


def test_catalogue_error_is_value_error_and_framing_error(tmp_path):
    assert issubclass(CatalogueError, ValueError)
    assert issubclass(CatalogueError, framing.FramingError)


def test_min_exemplars(tmp_path):
    path = write_yaml(tmp_path, VALID)
    assert load_catalogue(path, min_exemplars=2).ids == ["price_rise", "layoffs"]
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(path, min_exemplars=3)
    msg = str(exc.value)
    assert str(path) in msg and "'price_rise'" in msg and "'exemplars'" in msg


def test_invalid_yaml_syntax(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ncues: [\n  - id: a\n   bad: : indent\n", encoding="utf-8")
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(path)
    msg = str(exc.value)
    assert str(path) in msg
    assert "YAML" in msg


@pytest.mark.parametrize("content", ["- a\n- b\n", "just a string\n", "42\n", ""])
def test_top_level_not_a_mapping(tmp_path, content):
    path = tmp_path / "list.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(path)
    msg = str(exc.value)
    assert str(path) in msg and "top level" in msg


def test_file_not_found(tmp_path):
    path = tmp_path / "nope" / "missing.yaml"
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(path)
    msg = str(exc.value)
    assert str(path) in msg and "not found" in msg


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(tmp_path)
    assert str(tmp_path) in str(exc.value)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\u00e9\ncues: []\n".encode("latin-1"))
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(path)
    msg = str(exc.value)
    assert str(path) in msg and "UTF-8" in msg


def test_python_object_tag_is_refused_and_not_executed(tmp_path, capfd):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(
        "name: evil\n"
        f"description: !!python/object/apply:os.system [\"touch {marker}\"]\n"
        "cues:\n"
        "  - id: a\n"
        "    name: A\n"
        "    description: !!python/object/apply:os.system [\"echo hi\"]\n"
        "    exemplars: [x]\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(path)
    assert str(path) in str(exc.value)
    assert not marker.exists()
    assert "hi" not in capfd.readouterr().out


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_unicode_content_with_and_without_bom(tmp_path, encoding):
    data = copy.deepcopy(VALID)
    data["cues"][1]["exemplars"] = ["Die Firma streicht 2.000 Stellen \u2014 \u201eleider\u201c."]
    path = tmp_path / "unicode.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding=encoding)
    cat = load_catalogue(path)
    assert cat.name == "my catalogue"
    assert "\u201eleider\u201c" in cat["layoffs"].exemplars[0]


def test_shipped_catalogues_load_by_name(tmp_path, monkeypatch):
    from framing.text.catalogue import shipped_catalogues

    names = shipped_catalogues()
    assert names[0] == "builtin"
    for name in names:
        cat = framing.load_catalogue(name)
        assert len(cat) > 0 and cat.sha256
    # a path to a user file works as before; an unknown bare name is a clear error
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text(
        "name: mine\ncues:\n  - id: a\n    name: A\n    description: d\n"
        "    exemplars: ['One sentence here.']\n", encoding="utf-8")
    assert framing.load_catalogue("mine.yaml").name == "mine"
    with pytest.raises(framing.CatalogueError, match="not found"):
        framing.load_catalogue("no_such_catalogue")
