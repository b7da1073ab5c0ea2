"""eval/bench_scale.py: its projection arithmetic, its corpus picking, and a smoke run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "eval" / "bench_scale.py"


def _script():
    spec = importlib.util.spec_from_file_location("bench_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_projection_arithmetic():
    bench = _script()
    local = {"steady_seconds": 10.0}
    ray = {1: {"sentences": 1000, "steady_seconds": 12.5},
           2: {"sentences": 1000, "steady_seconds": 7.0, "actors_busy": 2,
               "sum_actor_sentences_per_second": 140.0}}
    p = bench.project(local, ray, sentences_per_article=30.0, cores=[1, 4])
    assert p["per_core_sentences_per_second"] == pytest.approx(80.0)
    assert p["ray_overhead_fraction"] == pytest.approx(0.25)
    assert p["marginal_core"] == pytest.approx(0.75)
    rows = {(r["cores"], r["scaling"]): r for r in p["rows"]}
    # four cores: 80 * (1 + 3 * 0.75) = 260 sentences/s, 30 sentences an article
    assert rows[(4, "measured")]["hours_per_million"] == pytest.approx(1e6 / (260 / 30) / 3600)
    assert rows[(4, "ideal")]["core_hours_per_million"] == \
        pytest.approx(rows[(1, "ideal")]["core_hours_per_million"])
    ray[2]["actors_busy"] = 1  # one actor did all the work: no slope to project with
    p = bench.project(local, ray, 30.0, [1, 4])
    assert p["marginal_core"] is None and {r["scaling"] for r in p["rows"]} == {"ideal"}
    with pytest.raises(ValueError, match="1-actor"):
        bench.project(local, {2: ray[2]}, 30.0, [1])


def test_pick_near_mean_is_seeded_and_keeps_the_mean_close():
    bench = _script()
    pool = [{"text": "word " * n} for n in range(100, 2000, 7)]
    picked = bench.pick_near_mean(pool, 50, 650, seed=1)
    mean = sum(len(a["text"].split()) for a in picked) / len(picked)
    assert len(picked) == 50 and abs(mean - 650) <= 0.05 * 650
    assert picked == bench.pick_near_mean(pool, 50, 650, seed=1)
    assert picked != bench.pick_near_mean(pool, 50, 650, seed=2)


@pytest.mark.slow
@pytest.mark.optional
@pytest.mark.real_model
def test_quick_run_reports_positive_figures(tmp_path):
    pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    import torch

    out = tmp_path / "scale.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--backends", "torch",
                           "--actors", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(out.read_text())
    corpus = info["corpus"]
    assert corpus["name"] in ("real news", "example corpus") and corpus["articles"] == 6
    assert corpus["sentences"] > 0 and corpus["words_per_sentence"] > 0
    res = info["backends"]["torch"]
    assert list(res["ray"]) == ["1"]
    local, ray = res["local"], res["ray"]["1"]
    for run in (local, ray):
        assert run["rows"] == 6 and run["errors"] == 0
        assert run["sentences"] == corpus["sentences"]
        assert run["seconds"] > 0 and 0 < run["steady_seconds"] <= run["seconds"]
    assert local["peak_rss_mib"] > 0 and info["ray_startup_seconds"] > 0
    assert len(ray["actors"]) == 1 and ray["actors"][0]["peak_rss_mib"] > 0
    assert ray["actors"][0]["sentences"] == corpus["sentences"]
    p = res["projection"]
    assert p["marginal_core"] is None  # one actor count: the slope is not measured
    assert p["rows"] and all(r["hours_per_million"] > 0 and r["core_hours_per_million"] > 0
                             for r in p["rows"])
    assert res["ray_overhead_ratio"] > 0
    assert "| cores |" in proc.stdout and "## Projection: torch backend" in proc.stdout
    if not torch.cuda.is_available():
        assert "no GPU available: not measured" in proc.stdout
