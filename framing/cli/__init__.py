"""The ``framing`` command line: ``framing score``, ``cues``, ``eval``, ``train``,
``compare`` and ``sample``.

Only this package parses arguments; every command calls the public Python API. Each
command lives in a module of its own (:mod:`framing.cli.score`, ``cues``, ``evaluate``,
``train``, ``compare``, ``sample``) with an ``add_parser`` and a ``run``;
:mod:`framing.cli.app` assembles the parser and dispatches. Commands import their heavy
dependencies (torch, matplotlib) only when they run, so ``framing --help`` stays light.
"""

from __future__ import annotations

from framing.cli.app import build_parser, main

__all__ = ["main", "build_parser"]
