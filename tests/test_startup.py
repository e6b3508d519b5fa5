"""Start-up: commands import only what they need, bad input is rejected before any model
loads, and the diarizer loads in the background while Whisper is already usable."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from .conftest import REPO, SAMPLE

HEAVY = ("torch", "pyannote", "faster_whisper", "ctranslate2", "lightning", "PySide6", "anthropic")

_PROBE = """
import sys
from meetings.cli import main
code = main(sys.argv[1:])
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(%r))
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
""" % (HEAVY,)


def run(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = dict(os.environ, PARLEY_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def heavy_modules(proc) -> list[str]:
    [line] = [l for l in proc.stderr.splitlines() if l.startswith("HEAVY=")]
    return [m for m in line[len("HEAVY="):].split(",") if m]


def test_list_imports_no_model_or_gui_library(tmp_path):
    proc = run("list", data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "no meetings yet" in proc.stdout
    assert heavy_modules(proc) == []


@pytest.mark.parametrize("content", [b"", b"RIFF this is not audio" * 40], ids=["empty", "garbage"])
def test_bad_input_is_rejected_before_any_model_loads(tmp_path, content):
    bad = tmp_path / "call.wav"
    bad.write_bytes(content)
    proc = run("import", str(bad), data_dir=tmp_path / "data")
    assert proc.returncode == 2
    assert proc.stderr.startswith("parley: error: call.wav:")
    assert heavy_modules(proc) == []  # nothing of torch, pyannote or Whisper was even imported


def test_a_duplicate_is_answered_without_loading_models(tmp_path, engine):
    """An already imported recording is found by its content hash before an engine is built."""
    from meetings.store import Store

    store = Store(tmp_path / "parley.db")
    engine.import_file(SAMPLE / "meeting.wav", store)
    store.close()
    proc = run("import", str(SAMPLE / "meeting.wav"), "--quiet", data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "already imported as meeting 1" in proc.stderr
    assert proc.stdout.startswith("[00:00:00] Speaker")
    assert heavy_modules(proc) == []


@pytest.mark.models
def test_speech_models_load_in_parallel_and_once():
    from diarization.loader import SpeechModels
    from diarization.models import Device, load_whisper
    from meetings.types import PipelineOptions

    models = SpeechModels(PipelineOptions(device="cpu"), Device("cpu", "int8"))
    assert models.transcriber_loaded  # Whisper is ready when the constructor returns
    whisper = models.transcriber.model
    diarizer = models.diarizer  # blocks until the background thread is done
    assert models.diarizer_ready and diarizer.pipeline is not None
    assert models.diarizer is diarizer  # loaded once
    assert not any(t.name == "parley-load-diarizer" for t in threading.enumerate())
    assert load_whisper("tiny.en", Device("cpu", "int8")) is whisper  # once per process


def test_a_hub_pipeline_that_cannot_load_fails_when_the_engine_is_built(monkeypatch, tmp_path):
    from meetings.errors import ModelUnavailable
    from meetings.pipeline import Engine
    from meetings.types import PipelineOptions

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(ModelUnavailable, match="speaker-diarization-community-1"):
        Engine(PipelineOptions(device="cpu", diarization_model="pyannote/speaker-diarization-community-1"))


@pytest.mark.qt
def test_desktop_worker_rejects_a_bad_file_before_building_an_engine(qtbot, tmp_path):
    from desktop.import_worker import ImportWorker
    from meetings.types import PipelineOptions

    built = []
    worker = ImportWorker(engine_factory=lambda options: built.append(options))
    failed = []
    worker.failed.connect(failed.append)
    bad = tmp_path / "notes.mp3"
    bad.write_text("meeting notes, not audio\n" * 20)
    worker.run_import(str(bad), "", str(tmp_path / "parley.db"), PipelineOptions())
    assert built == []
    assert len(failed) == 1 and failed[0].startswith("notes.mp3: not a readable audio")
