"""Claims in the README that drift unless something checks them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="needs the git checkout")
def test_the_quickstart_outputs_are_ignored_by_git():
    """The quickstart writes scores/ and report.html into the working directory."""
    assert "-o scores/" in README and "--html report.html" in README
    out = subprocess.run(["git", "check-ignore", "scores/part-00000.parquet", "report.html",
                          "scores/manifest.json"], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.split() == ["scores/part-00000.parquet", "report.html",
                                  "scores/manifest.json"]


def test_the_stated_test_count_is_current():
    """The Test section says how many tests the default run has; keep it within 10%."""
    m = re.search(r"The default run \(about [^,]+, ([\d,]+) tests\)", README)
    assert m, "the Test section should state the default run's size"
    stated = int(m.group(1).replace(",", ""))
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
    counted = re.search(r"(\d+)(?:/\d+)? tests? collected|(\d+) selected", out.stdout)
    total = [int(g) for g in counted.groups() if g] if counted else []
    assert total, out.stdout[-500:]
    assert abs(total[0] - stated) <= 0.1 * total[0], (stated, total[0])
