"""Every dependency's telemetry off, in one place, before any of them is imported.

Importing :mod:`meetings` (which every Parley entry point does first) applies these, so the
settings are in the environment before ONNX Runtime, pyannote, Hugging Face Hub or
OpenTelemetry read them. A variable the user has set is left as it is (that is their choice).

Measured (tests/test_privacy.py): an offline ``parley import`` opens no non-local socket and
writes nothing under ``~/.cache/Microsoft``.
"""

from __future__ import annotations

import os

__all__ = ["TELEMETRY_OFF", "disable_telemetry"]

#: variable → value that turns a dependency's usage reporting off
TELEMETRY_OFF: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",  # ONNX Runtime (Silero VAD in faster-whisper): 1DS events + a device id in ~/.cache/Microsoft
    "PYANNOTE_METRICS_ENABLED": "false",  # pyannote.audio 4: usage metrics to its vendor
    "OTEL_SDK_DISABLED": "true",  # OpenTelemetry SDK (pyannote's metrics transport): no exporter starts
    "HF_HUB_DISABLE_TELEMETRY": "1",  # Hugging Face Hub: library usage pings
    "DO_NOT_TRACK": "1",  # the common opt-out (huggingface_hub and others honour it)
    "ANTHROPIC_OPEN_TELEMETRY": "false",  # Anthropic SDK: no OpenTelemetry spans of API calls
}


def disable_telemetry(environ: os._Environ | dict[str, str] = os.environ) -> None:
    for name, value in TELEMETRY_OFF.items():
        environ.setdefault(name, value)


disable_telemetry()
