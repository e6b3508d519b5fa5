"""The transcript as summaries see it, and pseudonymization of speaker names."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from .model import Item, MeetingSummary, SpeakerSummary


@dataclass(frozen=True, slots=True)
class Line:
    turn_id: int
    speaker: str
    start: float
    text: str


def lines_from_turns(turns) -> list[Line]:
    """From the store's turns (anything with id, speaker_name, start, text)."""
    return [Line(t.id, t.speaker_name, t.start, t.text) for t in turns if t.text.strip()]


def stamp(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m:02d}:{s:02d}"


def render_lines(lines: Sequence[Line]) -> str:
    return "\n".join(f"[t{l.turn_id} {stamp(l.start)}] {l.speaker}: {l.text}" for l in lines)


def pseudonymize(lines: Sequence[Line]) -> tuple[list[Line], dict[str, str]]:
    """Replace speaker names by "Speaker A", "Speaker B", …; returns the lines and pseudonym → name."""
    names: dict[str, str] = {}
    for l in lines:
        if l.speaker not in names:
            n = len(names)
            names[l.speaker] = "Speaker " + (chr(ord("A") + n) if n < 26 else str(n + 1))
    out = [dataclasses.replace(l, speaker=names[l.speaker]) for l in lines]
    return out, {v: k for k, v in names.items()}


def restore(summary: MeetingSummary, mapping: dict[str, str]) -> MeetingSummary:
    """Put real names back wherever a pseudonym appears."""

    def fix(text: str | None) -> str | None:
        if text is None:
            return None
        # longest pseudonyms first so "Speaker AB" is not read as "Speaker A"
        for p in sorted(mapping, key=len, reverse=True):
            text = text.replace(p, mapping[p])
        return text

    def item(i: Item) -> Item:
        return Item(fix(i.text), i.turn_ids, fix(i.owner), i.due)

    speakers = tuple(
        SpeakerSummary(fix(s.speaker), *(tuple(item(i) for i in part) for part in (s.said, s.positions, s.commitments, s.open_questions)))
        for s in summary.speakers
    )
    return MeetingSummary(speakers, tuple(item(i) for i in summary.decisions), tuple(item(i) for i in summary.action_items), summary.model, summary.local)
