"""The training scripts under ``models/`` fill their model-card templates completely.

A card is formatted at the very end of a long run; a template field that a caller does
not pass (``KeyError``) loses the run's last phase. This reads the scripts' source, so it
needs neither data nor models.
"""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "models"


def _template(path: Path, name: str) -> str:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name
                                                for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path.name} defines no {name}")


def _format_calls(path: Path, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == "format" and getattr(n.func.value, "id", None) == name]


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


@pytest.mark.parametrize("script, name", [("train_cues.py", "CARD"),
                                          ("distill_student.py", "CUES_CARD")])
def test_cue_card_callers_pass_every_field(script, name):
    fields = _fields(_template(MODELS / "train_cues.py", "CARD"))
    assert {"branch_text", "reads", "macro"} <= fields
    calls = _format_calls(MODELS / script, name)
    assert calls, f"{script} does not format {name}"
    for call in calls:
        missing = fields - {k.arg for k in call.keywords}
        assert not missing, f"{script}:{call.lineno} leaves {sorted(missing)} unfilled"


def test_learning_curve_draws_whole_documents(monkeypatch):
    monkeypatch.syspath_prepend(str(MODELS))
    from cue_learning_curve import document_share

    docs = [f"d{i // 3}" for i in range(30)]  # ten documents of three sentences
    idx = document_share(docs, 0.5, seed=1)
    kept = {docs[i] for i in idx}
    assert len(kept) == 5 and len(idx) == 15  # half the documents, all their sentences
    assert list(idx) == sorted(idx)
    assert list(document_share(docs, 0.5, seed=1)) == list(idx)  # seeded
    assert {docs[i] for i in document_share(docs, 0.5, seed=2)} != kept
    assert len(document_share(docs, 0.01, seed=1)) == 3  # at least one document


def test_cap_scan_orders_false_positives_and_leaves_the_heads_alone(monkeypatch):
    import numpy as np

    from framing.heads.cues.heads import CueHeads

    monkeypatch.syspath_prepend(str(MODELS))
    from add_operating_point import scan_caps

    rng = np.random.default_rng(0)
    n = 400
    Y = np.zeros((n, 2), dtype=bool)
    Y[:80, 0], Y[40:120, 1] = True, True
    groups = np.where(np.arange(n) % 2 == 0, "x", "y")
    probs = np.clip(np.where(Y, 0.6, 0.3) + rng.normal(scale=0.15, size=(n, 2)), 0.001, 0.999)
    heads = CueHeads(["a", "b"], np.eye(2, 3), np.zeros(2), np.ones(2), np.zeros(2),
                     np.array([0.3, 0.3]), name="h", pattern_weights=[0.0, 0.0])
    rows = scan_caps(heads, probs, np.zeros_like(Y), Y, groups, [None, 0.2, 0.05, 0.01],
                     ["a", "b"])
    assert [r["cap"] for r in rows] == [None, 0.2, 0.05, 0.01]
    assert heads.thresholds.tolist() == [0.3, 0.3] and not heads.operating_points
    for g in ("x", "y"):
        shares = [r["flagged"][g] for r in rows]
        assert shares == sorted(shares, reverse=True) and shares[0] > shares[-1]
    assert rows[-1]["flagged"]["x"] <= 2 * 0.01 + 1e-9  # two cues, each within the cap
    assert all(0.0 <= r["macro_f1"] <= 1.0 for r in rows)


def test_operating_points_section_is_replaced_and_the_evaluation_kept_apart(monkeypatch):
    monkeypatch.syspath_prepend(str(MODELS))
    from add_operating_point import with_operating_points

    card = ("# heads\n\nintro\n\n## Operating points\nold table\n"
            "\n## Independent evaluation\nsamples 0.9\n")
    new, evaluation = with_operating_points(card, "\n## Operating points\nnew table\n")
    assert new == "# heads\n\nintro\n\n## Operating points\nnew table\n"
    assert evaluation == "\n## Independent evaluation\nsamples 0.9\n"
    # a card without points gains them; one whose evaluation came first keeps it
    new, evaluation = with_operating_points("# h\n\n## Independent evaluation\nx\n",
                                            "\n## Operating points\nt\n")
    assert new == "# h\n\n## Operating points\nt\n" and evaluation.strip().endswith("x")
    new, evaluation = with_operating_points("# h\n", "\n## Operating points\nt\n")
    assert new == "# h\n\n## Operating points\nt\n" and evaluation == ""


@pytest.mark.parametrize("name", ["CARD", "ARTICLE_CARD"])
def test_bias_card_callers_pass_every_field(name):
    fields = _fields(_template(MODELS / "add_tone_biases.py", name))
    calls = _format_calls(MODELS / "add_tone_biases.py", name)
    assert calls and {"critical", "promotional", "gain", "share"} <= fields
    for call in calls:
        assert not fields - {k.arg for k in call.keywords}


def test_a_card_section_is_replaced_where_it_stands_and_others_kept(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(MODELS))
    from cards import set_card_section

    card = tmp_path / "README.md"
    card.write_text("# m\n\nintro\n\n## A\nold a\n\n## B\nb\n")
    set_card_section(card, "\n## A\nnew a\nmore\n")
    assert card.read_text() == "# m\n\nintro\n\n## A\nnew a\nmore\n\n## B\nb\n"
    set_card_section(card, "## C\nc")
    assert card.read_text().endswith("## B\nb\n\n## C\nc\n")
    set_card_section(card, "## C\nc2")  # the last section: replaced to the end
    assert card.read_text().endswith("## B\nb\n\n## C\nc2\n")
    assert card.read_text().count("## A") == 1
    with pytest.raises(ValueError, match="heading"):
        set_card_section(card, "no heading")


def test_bias_cross_fitting_measures_the_gain_on_the_other_half(monkeypatch):
    import numpy as np

    monkeypatch.syspath_prepend(str(MODELS))
    from add_tone_biases import cross_fit

    rng = np.random.default_rng(0)
    n = 240
    y = rng.integers(0, 3, n)
    P = np.full((n, 3), 0.1)
    P[y == 0, 0] = P[y == 1, 1] = 0.8
    P[y == 2, 1], P[y == 2, 2] = 0.48, 0.42  # argmax misses promotional: biases help
    P += rng.uniform(0, 0.02, P.shape)
    P /= P.sum(axis=1, keepdims=True)
    docs = np.array([f"d{i // 4}" for i in range(n)])
    gains = cross_fit(P, y, docs, halvings=3, seed=1)
    assert len(gains) == 6 and (gains > 0.2).all()
    assert np.array_equal(gains, cross_fit(P, y, docs, halvings=3, seed=1))  # seeded
    P_ok = np.eye(3)[y] * 0.9 + 0.05  # argmax already perfect: no gain to find
    assert np.allclose(cross_fit(P_ok, y, docs, halvings=2, seed=1), 0.0)
