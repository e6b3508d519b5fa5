"""Figures the reliability tests measure, kept for the benchmark report (``python -m bench.reliability``).

A test calls :func:`record` with what it measured, before its final asserts; nothing is written
unless ``PARLEY_FIGURES`` names a file (one JSON object per line is appended). The report pairs
each figure with its test's outcome, so a figure from a failed test is never shown as passed.
"""

from __future__ import annotations

import json
import os

__all__ = ["record"]


def record(figure: str, **values) -> None:
    path = os.environ.get("PARLEY_FIGURES")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"figure": figure, **values}, default=str) + "\n")
