"""What the store hands back: frozen records with database ids (the domain types carry none)."""

from __future__ import annotations

from dataclasses import dataclass

from meetings.types import FlagReason

__all__ = ["StoredWord", "StoredTurn", "Correction", "SearchHit", "StoredSummary", "ChangeSet"]


@dataclass(frozen=True, slots=True)
class StoredWord:
    id: int
    idx: int  # position inside its turn
    start: float
    end: float
    text: str
    probability: float
    timed: bool
    speaker_id: int
    overlapping: tuple[str, ...]
    speaker_share: float


@dataclass(frozen=True, slots=True)
class StoredTurn:
    id: int
    meeting_id: int
    seq: int
    speaker_id: int
    speaker_label: str
    speaker_name: str
    start: float
    end: float
    text: str
    confidence: float
    flags: tuple[FlagReason, ...]
    overlapped: bool
    reviewed: bool
    words: tuple[StoredWord, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.flags) and not self.reviewed


@dataclass(frozen=True, slots=True)
class Correction:
    id: int
    meeting_id: int
    at: str
    actor: str
    action: str
    summary: str
    undone: bool


@dataclass(frozen=True, slots=True)
class SearchHit:
    meeting_id: int
    meeting_title: str
    turn_id: int
    start: float
    speaker_name: str
    snippet: str


@dataclass(frozen=True, slots=True)
class StoredSummary:
    id: int
    meeting_id: int
    speaker_id: int | None
    kind: str
    model: str
    prompt_version: str
    transcript_revision: int
    created_at: str
    content_json: str
    markdown: str
    local: bool
    stale: bool


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """The rows one correction (or its undo/redo) touched, by table: what a view must redraw."""

    meeting_id: int
    speakers: frozenset[int] = frozenset()
    turns: frozenset[int] = frozenset()
    words: frozenset[int] = frozenset()
    summaries: frozenset[int] = frozenset()
