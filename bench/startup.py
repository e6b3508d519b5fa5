"""Start-up figures for the benchmark report: whole ``parley list`` and ``parley import`` processes
of the bundled 30-s sample (fresh database each run), median of a few runs, with the machine's
load average beside them (a shared machine makes whole-process times noisy)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["measure", "render"]

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "resources" / "sample" / "meeting.wav"


def _run(args: list[str], data: Path) -> float:
    env = dict(os.environ, PARLEY_DATA_DIR=str(data), HF_HUB_OFFLINE="1")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "meetings.cli", *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"parley {' '.join(args)} failed: {proc.stderr[-1000:]}")
    return wall


def measure(tmp: Path, runs: int = 3) -> dict:
    imports, lists = [], []
    for i in range(runs):
        data = tmp / f"startup-{i}"
        imports.append(_run(["import", str(SAMPLE), "--quiet"], data))
        lists.append(_run(["list"], data))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"import_seconds": imports, "list_seconds": lists, "load_average": load, "cpus": os.cpu_count()}


def render(s: dict) -> str:
    load = f", load average {s['load_average']:.1f} on {s['cpus']} CPUs" if s.get("load_average") is not None else ""
    return (
        f"Start-up, whole processes (median of {len(s['import_seconds'])}{load}): `parley import` of the bundled 30-s sample "
        f"**{statistics.median(s['import_seconds']):.1f} s** (runs: {', '.join(f'{x:.1f}' for x in s['import_seconds'])}), "
        f"`parley list` **{statistics.median(s['list_seconds']):.2f} s**.\n"
    )
