"""Shared fixtures: the evaluation data, generated audio, a fresh store per test."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
EVAL = Path(os.environ.get("PARLEY_EVAL_DIR", REPO.parent / "shared" / "eval"))
SAMPLE = REPO / "resources" / "sample"


def eval_item(name: str) -> Path:
    path = EVAL / name / f"{name}.wav"
    if not path.exists():
        pytest.fail(f"evaluation audio missing: {path} (the eval set lives in ../shared/eval)")
    return path


@pytest.fixture
def store(tmp_path):
    from meetings.store import Store

    s = Store(tmp_path / "parley.db")
    yield s


def ffmpeg(*args: str) -> None:
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.fail("ffmpeg is required to generate test media (scripts/setup.sh installs it)")
    subprocess.run([exe, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def tone(seconds: float, sr: int = 16000, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="session")
def engine():
    """The real embedded models, loaded once for the whole test session."""
    from meetings.pipeline import Engine
    from meetings.types import PipelineOptions

    return Engine(PipelineOptions(device="cpu"))
