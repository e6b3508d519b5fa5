"""Frozen records and errors that cross the summaries package boundary.

Times are seconds from the start of the recording (as everywhere in Parley). Turn ids are the
store's turn ids: every summary item cites the turns it comes from.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Union

from meetings.errors import ParleyError

__all__ = [
    "Tier",
    "TranscriptLine",
    "Item",
    "SpeakerSummary",
    "MeetingSummary",
    "Usage",
    "CostEstimate",
    "SummaryRun",
    "Progress",
    "TextDelta",
    "EstimateReady",
    "Notice",
    "Finished",
    "SummaryEvent",
    "SummaryError",
    "CloudUnavailable",
    "MalformedSummary",
    "TranscriptChanged",
]


class SummaryError(ParleyError):
    """A summary could not be produced."""


class CloudUnavailable(SummaryError):
    """The Anthropic API could not be used (no network, refused key, rate limit or outage after retries)."""


class MalformedSummary(SummaryError):
    """The model's structured output did not match the schema (after one repair attempt)."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()):
        super().__init__(message)
        self.problems = problems


class TranscriptChanged(SummaryError):
    """The transcript was corrected while the summary was being written."""


class Tier(str, enum.Enum):
    """Which model class to use: cheap for batch imports, stronger when a person asks."""

    BATCH = "batch"
    ON_DEMAND = "strong"


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One turn as the summarizers see it."""

    turn_id: int
    speaker_id: int | None
    speaker: str  # the name the user gave (or "Speaker 1")
    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class Item:
    """One statement of a summary, linked to the turns it comes from."""

    text: str
    turn_ids: tuple[int, ...]
    owner: str | None = None  # action items / commitments: the speaker who owns it
    owner_id: int | None = None
    due: str | None = None  # as stated ("by Friday"), never invented


@dataclass(frozen=True, slots=True)
class SpeakerSummary:
    speaker: str
    speaker_id: int | None
    said: tuple[Item, ...] = ()
    positions: tuple[Item, ...] = ()
    commitments: tuple[Item, ...] = ()
    open_questions: tuple[Item, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.said or self.positions or self.commitments or self.open_questions)


@dataclass(frozen=True, slots=True)
class MeetingSummary:
    speakers: tuple[SpeakerSummary, ...]
    decisions: tuple[Item, ...]
    action_items: tuple[Item, ...]
    model: str
    local: bool
    prompt_version: str

    def items(self) -> tuple[Item, ...]:
        out: list[Item] = [*self.decisions, *self.action_items]
        for s in self.speakers:
            out += [*s.said, *s.positions, *s.commitments, *s.open_questions]
        return tuple(out)

    def speaker(self, speaker_id: int) -> SpeakerSummary | None:
        return next((s for s in self.speakers if s.speaker_id == speaker_id), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @staticmethod
    def from_json(text: str) -> "MeetingSummary":
        """Read back what :meth:`to_json` wrote (the ``content_json`` of a stored summary)."""
        d = json.loads(text)

        def items(xs) -> tuple[Item, ...]:
            return tuple(Item(x["text"], tuple(x["turn_ids"]), x.get("owner"), x.get("owner_id"), x.get("due")) for x in xs)

        speakers = tuple(
            SpeakerSummary(s["speaker"], s.get("speaker_id"), items(s["said"]), items(s["positions"]), items(s["commitments"]), items(s["open_questions"]))
            for s in d["speakers"]
        )
        return MeetingSummary(speakers, items(d["decisions"]), items(d["action_items"]), d["model"], bool(d["local"]), d["prompt_version"])


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens reported by the API, summed over calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    calls: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """What a cloud run will cost, known before it starts."""

    model: str
    calls: int  # API calls planned (chunks, plus merges when there is more than one chunk)
    chunks: int
    input_tokens: int
    output_tokens: int  # expected
    usd: float  # expected
    usd_max: float  # if every call used its whole output budget
    counted: bool  # True: the API's token counter; False: the chars/3.5 estimate
    price_known: bool  # False: the model is not in the price table (priced as the strong tier)

    def line(self) -> str:
        how = "" if self.counted else " (estimated; token counting unavailable)"
        price = f"about ${self.usd:.3f}, at most ${self.usd_max:.3f}" + ("" if self.price_known else " (unknown model, priced as Sonnet)")
        return f"cloud summary with {self.model}: {self.input_tokens:,} input tokens{how} in {self.calls} call(s), {price}"


@dataclass(frozen=True, slots=True)
class SummaryRun:
    """A finished, stored summary."""

    summary: MeetingSummary
    markdown: str
    summary_id: int  # the meeting-level row
    speaker_summary_ids: tuple[int, ...]
    transcript_revision: int
    note: str  # why the local summary was used, or "" for the cloud
    usage: Usage = field(default_factory=Usage)
    estimate: CostEstimate | None = None

    @property
    def fell_back(self) -> bool:
        return self.summary.local and bool(self.note)


# --- events for a UI: ``service.summarize_events`` yields these --------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    stage: str  # "plan" | "chunk" | "merge" | "repair" | "local" | "store"
    done: int
    total: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Streamed model output. ``json`` is True for the tool's partial JSON (the usual case)."""

    text: str
    call: int
    json: bool = True


@dataclass(frozen=True, slots=True)
class EstimateReady:
    estimate: CostEstimate


@dataclass(frozen=True, slots=True)
class Notice:
    """One line for the user, e.g. why the local summary is used."""

    message: str


@dataclass(frozen=True, slots=True)
class Finished:
    run: SummaryRun


SummaryEvent = Union[Progress, TextDelta, EstimateReady, Notice, Finished]
