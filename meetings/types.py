"""Typed, frozen records that cross every stage boundary.

One time unit everywhere: **seconds** (float) from the start of the recording.
Stage packages produce and consume these; the store persists them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "AudioInfo",
    "Word",
    "AsrSegment",
    "Transcript",
    "SpeakerSegment",
    "Activations",
    "Diarization",
    "AttributedWord",
    "FlagReason",
    "Turn",
    "Meeting",
    "Speaker",
    "PipelineOptions",
]


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """A decoded recording: where it came from and what it is."""

    source_path: str
    sha256: str
    duration: float
    source_sample_rate: int
    channels: int
    codec: str
    container: str
    #: True when a 2-channel file carries different signals per channel (e.g. me-left/them-right).
    distinct_channels: bool = False
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word. ``timed`` is False when ASR gave no timestamp and it was interpolated."""

    start: float
    end: float
    text: str
    probability: float
    timed: bool = True

    @property
    def mid(self) -> float:
        return 0.5 * (self.start + self.end)


@dataclass(frozen=True, slots=True)
class AsrSegment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True, slots=True)
class Transcript:
    segments: tuple[AsrSegment, ...]
    language: str
    model: str

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)


@dataclass(frozen=True, slots=True)
class SpeakerSegment:
    """A stretch of time in which one speaker talks (segments of different speakers may overlap)."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True, eq=False)
class Activations:
    """Frame-level speaker activity from the diarization model.

    ``values[i, k]`` is the activity (0..1) of ``speakers[k]`` in the frame centred at
    ``start + i * step``.
    """

    start: float
    step: float
    speakers: tuple[str, ...]
    values: np.ndarray  # (frames, speakers), float32

    def frame_index(self, t: float) -> int:
        i = int(round((t - self.start) / self.step))
        return min(max(i, 0), len(self.values) - 1)

    def window(self, start: float, end: float) -> np.ndarray:
        """Rows of frames whose centre lies in [start, end] (at least one row)."""
        i0 = self.frame_index(start)
        i1 = max(self.frame_index(end), i0)
        return self.values[i0 : i1 + 1]


@dataclass(frozen=True, slots=True, eq=False)
class Diarization:
    """Who spoke when. ``segments`` may overlap; ``exclusive`` never does."""

    segments: tuple[SpeakerSegment, ...]
    exclusive: tuple[SpeakerSegment, ...]
    speakers: tuple[str, ...]
    activations: Activations | None = None
    #: per-speaker centroid embedding, rows aligned with ``speakers`` (None when unavailable)
    centroids: np.ndarray | None = None
    model: str = ""


class FlagReason(str, enum.Enum):
    """Why a turn is flagged for review."""

    OVERLAP = "overlap"
    SHORT_TURN = "short_turn"
    AMBIGUOUS_VOICE = "ambiguous_voice"
    EDGE_VOICE = "edge_voice"  # the turn's first or last words sound like someone else
    LOW_ASR_CONFIDENCE = "low_asr_confidence"
    NO_TIMESTAMPS = "no_timestamps"
    SECOND_VOICE = "second_voice"  # one speaker was found, and this turn holds the voice that sounds like another person


@dataclass(frozen=True, slots=True)
class AttributedWord:
    """A word with the speaker it was given and how sure the assignment is."""

    word: Word
    speaker: str
    #: other speakers active during this word (overlapped speech)
    overlapping: tuple[str, ...] = ()
    #: share of the word's activity that belongs to ``speaker`` (0..1)
    speaker_share: float = 1.0


@dataclass(frozen=True, slots=True)
class Turn:
    """Consecutive words of one speaker. A turn's speaker is, by construction, its words' speaker."""

    speaker: str
    start: float
    end: float
    words: tuple[AttributedWord, ...]
    confidence: float = 1.0
    flags: tuple[FlagReason, ...] = ()
    #: True for a turn spoken while another speaker holds the floor (kept, never merged away)
    overlapped: bool = False

    @property
    def text(self) -> str:
        return "".join(w.word.text if w.word.text.startswith(" ") else " " + w.word.text for w in self.words).strip()

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


@dataclass(frozen=True, slots=True)
class Speaker:
    id: int
    meeting_id: int
    label: str  # the diarization label, e.g. SPEAKER_00
    name: str  # what the user sees; defaults to "Speaker 1" ...


@dataclass(frozen=True, slots=True)
class Meeting:
    id: int
    title: str
    created_at: str
    duration: float
    audio_path: str
    source_path: str
    sha256: str
    status: str
    num_speakers: int = 0
    num_turns: int = 0
    num_flagged: int = 0


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """Everything that decides how a recording is processed; recorded with the result."""

    asr_model: str = "tiny.en"
    diarization_model: str = "embedded"
    device: str = "auto"  # auto | cpu | cuda
    language: str | None = None
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    beam_size: int = 5
    batch_size: int = 8  # batched ASR on CUDA
    vad_filter: bool = True
    flag_threshold: float = 0.5
    #: re-transcribe a second voice under someone else's turn (diarization/overlap.py). Off by
    #: default: out of sample it did not help (cpWER +0.4 % [0.0, 1.0] relative to the voice stage
    #: without it, leave-one-meeting-out chose "off" on 10 of 11 files; BENCHMARKS.md) and cost 9 %
    #: of the import; kept for larger Whisper models, which hear a quieter voice better
    recover_overlap: bool = False
    extra: dict[str, str] = field(default_factory=dict)
