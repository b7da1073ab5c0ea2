"""The built wheel carries what the library loads at run time (models, catalogue, corpus).

A source checkout finds these files beside the code; an installed wheel must carry them,
or the default Analyzer fails offline on a user's machine.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    import importlib.util

    out = tmp_path_factory.mktemp("wheel")
    # build in this environment when it has setuptools (fast, offline); else isolated
    isolation = [] if importlib.util.find_spec("setuptools") else ["--use-pep517"]
    no_iso = ["--no-build-isolation"] if not isolation else []
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *no_iso, *isolation, "-q",
         "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheels = list(out.glob("framing-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_carries_the_shipped_models_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "framing/models/tone-newsmtsc/config.json",
        "framing/models/tone-newsmtsc/model.safetensors",
        "framing/models/tone-newsmtsc/README.md",
        "framing/models/cues-builtin/config.json",
        "framing/models/cues-builtin/model.safetensors",
        "framing/models/cues-builtin/lexical.json",  # the default heads' lexical evidence
        "framing/models/cues-builtin/lexical.safetensors",
        "framing/models/tone-mpnet/config.json",
        "framing/models/tone-mpnet/sentence/config.json",  # the accurate tier's sentence branch
        "framing/models/tone-mpnet/sentence/model.safetensors",
        "framing/models/cues-mpnet/model.safetensors",
        "framing/catalogues/builtin.yaml",
        "framing/data/example_news.jsonl",
    ):
        assert required in names, required


def test_wheel_installs_no_top_level_models_or_eval_package(wheel):
    tops = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()}
    assert "models" not in tops and "eval" not in tops
    assert "framing" in tops


def test_shipped_model_files_match_the_source_tree(wheel):
    zf = zipfile.ZipFile(wheel)
    for name in ("config.json", "model.safetensors"):
        packed = zf.read(f"framing/models/tone-newsmtsc/{name}")
        assert packed == (ROOT / "models" / "tone-newsmtsc" / name).read_bytes()
