"""Shared fixtures: the evaluation data, generated audio, a fresh store per test."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
#: the evaluation set: the repository's own copy (FLAC + references) unless PARLEY_EVAL_DIR says otherwise
EVAL = Path(os.environ.get("PARLEY_EVAL_DIR", REPO / "bench" / "data"))
SAMPLE = REPO / "resources" / "sample"
_WAV_CACHE = Path(tempfile.gettempdir()) / f"parley-eval-wav-{os.getuid()}"


#: run a command as user ``nobody`` (file modes then mean what they mean for a user; root ignores them)
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@functools.cache
def nobody_can_run_parley() -> bool:
    """Root with ``setpriv``, and a checkout (and interpreter) that user ``nobody`` can read: a
    clone inside a 0700 folder (``mktemp -d``) cannot be run as anyone else."""
    import sys

    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return False
    try:
        proc = subprocess.run([*AS_NOBODY, sys.executable, "-c", "import meetings.cli"], cwd=REPO,
                              capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def eval_item(name: str, stem: str | None = None) -> Path:
    """Eval item ``name`` as a canonical 16 kHz PCM16 WAV (what imports store and the player
    reads), with its reference files beside it. FLAC in the repository is decoded once."""
    from bench.scoring import audio_path

    try:
        src = audio_path(EVAL, name, stem)
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    if src.suffix == ".wav":
        return src
    import soundfile as sf

    folder = _WAV_CACHE / name
    wav = folder / f"{stem or name}.wav"
    if not wav.exists() or wav.stat().st_mtime < src.stat().st_mtime:
        folder.mkdir(parents=True, exist_ok=True)
        for ref in src.parent.iterdir():
            if ref.suffix not in (".flac", ".wav"):
                shutil.copy(ref, folder / ref.name)
        data, sr = sf.read(src, dtype="int16", always_2d=True)
        tmp = wav.with_name(wav.name + f".{os.getpid()}.part")
        sf.write(tmp, data, sr, subtype="PCM_16", format="WAV")
        os.replace(tmp, wav)
    return wav


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


@pytest.fixture(scope="session")
def pulse():
    """A private PulseAudio server with null sinks (system audio: ``sys_out.monitor``; the mic:
    ``virtual_mic`` fed by ``mic_feed``; ``both`` plays into the two at once), for this session."""
    from bench.pulse import PulseServer

    server = PulseServer().start()
    try:
        yield server
    finally:
        server.stop()
