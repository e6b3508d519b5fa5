"""Typed events streamed from a running job to whoever shows it (CLI progress bars, Qt UI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Progress", "StageDone", "Finished", "Failed", "DeviceLost", "DeviceBack", "CaptureFailed",
           "LivePartial", "LiveCommitted", "LiveSpeaker", "LiveSpeakerDropped", "LiveBacklog", "Event", "EventSink", "STAGES"]

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


@dataclass(frozen=True, slots=True)
class LivePartial:
    """Provisional text of an utterance still being spoken (replaces the previous partial of it)."""

    channel: str
    utterance: int
    speaker: str | None
    words: tuple  # of meetings.types.Word, audio seconds on the recording's time base


@dataclass(frozen=True, slots=True)
class LiveCommitted:
    """Words of an utterance that will not change during the meeting."""

    channel: str
    utterance: int
    speaker: str | None
    words: tuple


@dataclass(frozen=True, slots=True)
class LiveSpeaker:
    """A provisional speaker appeared, got a name, or an utterance's speaker became known."""

    label: str
    name: str
    utterance: int | None = None
    provisional: bool = True


@dataclass(frozen=True, slots=True)
class LiveSpeakerDropped:
    """A label shown for a new voice while it spoke was not kept: its utterance turned out to be
    a known speaker's (the utterance was re-announced under that one). The label is never reused."""

    label: str


@dataclass(frozen=True, slots=True)
class LiveBacklog:
    """How far the live transcript is behind the audio (seconds), and interim decodes skipped."""

    seconds: float
    skipped: int = 0


Event = (Progress | StageDone | Finished | Failed | DeviceLost | DeviceBack | CaptureFailed
         | LivePartial | LiveCommitted | LiveSpeaker | LiveSpeakerDropped | LiveBacklog)
EventSink = Callable[[Event], None]
