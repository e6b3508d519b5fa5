"""Typed events streamed from a running job to whoever shows it (CLI progress bars, Qt UI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Progress", "StageDone", "Finished", "Failed", "DeviceLost", "DeviceBack", "CaptureFailed", "Event", "EventSink", "STAGES"]

#: The import pipeline's stages, in order.
STAGES = ("decode", "diarize", "transcribe", "align", "save")


@dataclass(frozen=True, slots=True)
class Progress:
    stage: str
    done: float
    total: float | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StageDone:
    stage: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Finished:
    meeting_id: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Failed:
    message: str


@dataclass(frozen=True, slots=True)
class DeviceLost:
    """A live source stopped delivering (unplugged, server module gone); the recording goes on,
    this channel as marked silence from ``at`` (seconds into the recording)."""

    channel: str  # "mic" | "system"
    device: str
    at: float


@dataclass(frozen=True, slots=True)
class DeviceBack:
    channel: str
    device: str
    at: float


@dataclass(frozen=True, slots=True)
class CaptureFailed:
    """The recording had to stop (a full disk, say); what was written is kept."""

    message: str


Event = Progress | StageDone | Finished | Failed | DeviceLost | DeviceBack | CaptureFailed
EventSink = Callable[[Event], None]
