"""Model registry: embedded models load offline; hub models fail with a clear reason offline."""

from __future__ import annotations

import pytest

from diarization.models import Device, embedded_campplus_path, embedded_segmentation_path, embedded_whisper_dir, load_whisper, resolve_device
from meetings.errors import ModelUnavailable


def test_embedded_weights_are_installed():
    assert (embedded_whisper_dir() / "model.bin").exists()
    assert embedded_segmentation_path().stat().st_size > 5_000_000
    assert embedded_campplus_path().stat().st_size > 20_000_000


def test_device_resolution_on_a_cpu_machine():
    import torch

    if torch.cuda.is_available():
        assert resolve_device("auto") == Device("cuda", "float16")
    else:
        assert resolve_device("auto") == Device("cpu", "int8")
        with pytest.raises(ModelUnavailable, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(ModelUnavailable, match="unknown device"):
        resolve_device("tpu")


def test_hub_whisper_model_offline_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    load_whisper.cache_clear()
    with pytest.raises(ModelUnavailable, match="large-v3.*(offline|cannot be reached)"):
        load_whisper("large-v3")


def test_invalid_local_whisper_folder(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"not a model")
    load_whisper.cache_clear()
    with pytest.raises(ModelUnavailable, match="could not be loaded"):
        load_whisper(str(tmp_path))


def test_gated_pyannote_pipeline_offline_is_a_clear_error(monkeypatch, tmp_path):
    from diarization.diarize import Diarizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(ModelUnavailable, match="speaker-diarization-community-1"):
        Diarizer("pyannote/speaker-diarization-community-1")


def test_telemetry_is_off_by_default():
    import os

    import diarization  # noqa: F401

    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "false"
    from pyannote.audio.telemetry.metrics import is_metrics_enabled

    assert not is_metrics_enabled()
