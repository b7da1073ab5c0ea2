"""framing builds and scores with the network cut off, without relying on HF_HUB_OFFLINE."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

import framing

pytestmark = pytest.mark.real_model  # every test here loads the real default encoder


def test_guard_is_armed(no_network):
    # The fixture really blocks: a connection attempt raises and is counted.
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)
    with pytest.raises(OSError):
        socket.getaddrinfo("huggingface.co", 443)
    assert len(no_network) == 2
    assert "HF_HUB_OFFLINE" not in os.environ


def test_default_analyzer_builds_and_scores_offline(no_network, default_analyzer):
    an = framing.Analyzer()
    assert an is not default_analyzer
    assert an.encoder is not default_analyzer.encoder
    assert an.encoder.model is not default_analyzer.encoder.model
    r = an.score(
        "The two governments praised the win-win railway deal on Monday.\n\n"
        "Officials said the line would carry its first freight trains next spring.")
    assert r.error is None
    assert r.tone is not None
    assert len(r.sentences) == 2
    assert r.cues["win_win"].present
    assert len(no_network) == 0, f"network was attempted: {no_network.calls}"


def test_tiny_local_model_offline(no_network, tiny_model_dir):
    an = framing.Analyzer(tiny_model_dir, tone="vader")
    r = an.score("A short note. Another one.")
    assert len(r.sentences) == 2
    assert len(no_network) == 0, f"network was attempted: {no_network.calls}"


_FRESH_PROCESS = r"""
import json, os, socket, sys
calls = []
def refuse(name):
    def f(*a, **k):
        calls.append(name)
        raise OSError("network blocked: " + name)
    return f
socket.socket.connect = refuse("connect")
socket.socket.connect_ex = refuse("connect_ex")
socket.create_connection = refuse("create_connection")
socket.getaddrinfo = refuse("getaddrinfo")
import framing
r = framing.Analyzer().score("Leaders hailed the win-win pact. Talks resume in May.")
print(json.dumps({"calls": calls, "tone": r.tone, "n": len(r.sentences)}))
"""


def test_fresh_process_imports_and_scores_offline(tmp_path):
    # A new interpreter, so no module was imported before the sockets were blocked.
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")}
    env["HF_HOME"] = str(tmp_path / "hf-home")  # an empty cache: nothing to fall back on
    proc = subprocess.run([sys.executable, "-c", _FRESH_PROCESS], capture_output=True,
                          text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["calls"] == []
    assert out["n"] == 2 and out["tone"] is not None
