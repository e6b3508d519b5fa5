"""What is sent to the model: the prompt text, the transcript rendering, and the pseudonyms
that keep real speaker names on this machine.

Only transcript text leaves the machine. Each speaker becomes "Speaker A", "Speaker B", … in the
speaker column *and* wherever their name is mentioned in the text; the names are put back in
the result (:meth:`Pseudonyms.restore_summary`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .types import Item, MeetingSummary, SpeakerSummary, TranscriptLine

__all__ = ["PROMPT_VERSION", "SYSTEM", "SUMMARIZE", "MERGE", "stamp", "render_transcript", "Pseudonyms"]

#: bump whenever the prompt, the tool schema or the local extractor changes what a summary says
PROMPT_VERSION = "2026-12-01.1"

SYSTEM = """You write structured summaries of meeting transcripts for the people who attended.

The transcript has one turn per line: `[t<turn id> <mm:ss>] <speaker>: <text>`. Speakers are \
pseudonyms such as "Speaker A"; always refer to people by these pseudonyms, exactly as written. \
The text is automatic speech recognition and may contain recognition errors and filler words.

Report, with the record_summary tool:
- for every speaker who said something substantive: what they said (main points), their \
positions (opinions, proposals, objections), their commitments (things they said they will do) \
and the questions they raised that were not answered in the meeting;
- for the meeting: the decisions that were made, and the action items, each with its owner \
(the speaker who will do it) and due date when one was stated.

Rules: use only what the transcript says; never invent owners or due dates (null when not \
stated; keep the due date in the speaker's words, e.g. "by Friday"); be concise, one sentence \
per item; cite in turn_ids every turn an item comes from (the numbers after "t")."""

SUMMARIZE = "Summarize this meeting transcript with the record_summary tool."

MERGE = (
    "Above are structured summaries of consecutive parts of one meeting, in order, as JSON. "
    "Merge them into one summary of the whole meeting with the record_summary tool: combine each "
    "speaker's entries, drop repeats, drop questions that a later part answers, keep every turn id."
)

REPAIR = "The record_summary input did not match the schema:\n{problems}\nCall record_summary again with the complete, corrected summary."


def stamp(seconds: float) -> str:
    """``mm:ss`` (minutes keep counting past 59)."""
    m, s = divmod(max(int(seconds), 0), 60)
    return f"{m:02d}:{s:02d}"


def render_transcript(lines: Sequence[TranscriptLine]) -> str:
    return "\n".join(f"[t{l.turn_id} {stamp(l.start)}] {l.speaker}: {' '.join(l.text.split())}" for l in lines)


def render_partials(partials: Sequence[dict]) -> str:
    return json.dumps([{"part": i + 1, **p} for i, p in enumerate(partials)], ensure_ascii=False)


# Name parts that are also ordinary words are not scrubbed on their own (the full name still is).
_COMMON = set(
    "will may bill mark pat rose art grace hope joy frank june april august sue rob max ray dean "
    "hunter page king long young white black brown green gray grey wood hill rich bright sky summer "
    "speaker guest host me you the and".split()
)
_DEFAULT_NAME = re.compile(r"^(speaker[ _]?\d+|spk_?\d+|unknown)$", re.I)
_PSEUDONYM = re.compile(r"\bSpeaker ([A-Z]{1,2})\b")


def _letters(n: int) -> str:
    """0 → A, 25 → Z, 26 → AA, …"""
    return chr(ord("A") + n) if n < 26 else _letters(n // 26 - 1) + chr(ord("A") + n % 26)


@dataclass(frozen=True, slots=True)
class Pseudonym:
    label: str  # "Speaker A"
    speaker_id: int | None
    name: str


@dataclass(frozen=True, slots=True)
class Pseudonyms:
    """Speaker → pseudonym, in order of first appearance."""

    entries: tuple[Pseudonym, ...]

    @staticmethod
    def of(lines: Sequence[TranscriptLine]) -> "Pseudonyms":
        seen: dict[tuple[int | None, str], Pseudonym] = {}
        for l in lines:
            key = (l.speaker_id, l.speaker if l.speaker_id is None else "")
            if key not in seen:
                seen[key] = Pseudonym("Speaker " + _letters(len(seen)), l.speaker_id, l.speaker)
        return Pseudonyms(tuple(seen.values()))

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.entries)

    def label_of(self, line: TranscriptLine) -> str:
        for p in self.entries:
            if (line.speaker_id is not None and p.speaker_id == line.speaker_id) or (line.speaker_id is None and p.speaker_id is None and p.name == line.speaker):
                return p.label
        raise KeyError(line.speaker)

    def find(self, label: str) -> Pseudonym | None:
        norm = " ".join(label.split()).lower()
        return next((p for p in self.entries if p.label.lower() == norm), None)

    # -- outgoing ------------------------------------------------------------------------------

    def _name_patterns(self) -> list[tuple[re.Pattern[str], str]]:
        out: list[tuple[re.Pattern[str], str]] = []
        for p in sorted(self.entries, key=lambda p: len(p.name), reverse=True):
            name = " ".join(p.name.split())
            if not name or _DEFAULT_NAME.match(name):
                continue
            out.append((re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", re.I), p.label))
            parts = [w for w in re.split(r"[\s\-]+", name) if len(w) >= 3 and w.lower() not in _COMMON and w[:1].isupper()]
            if len(parts) > 1 or parts and parts[0] != name:
                for w in parts:
                    out.append((re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)"), p.label))
        return out

    def scrub(self, text: str) -> str:
        """Replace mentions of real speaker names in transcript text by pseudonyms."""
        for pattern, label in self._name_patterns():
            text = pattern.sub(label, text)
        return text

    def apply(self, lines: Sequence[TranscriptLine]) -> list[TranscriptLine]:
        """The lines as they are sent: pseudonymous speakers, names scrubbed from the text."""
        patterns = self._name_patterns()
        out = []
        for l in lines:
            text = l.text
            for pattern, label in patterns:
                text = pattern.sub(label, text)
            out.append(replace(l, speaker=self.label_of(l), speaker_id=None, text=text))
        return out

    # -- incoming ------------------------------------------------------------------------------

    def restore_text(self, text: str) -> str:
        def back(m: re.Match[str]) -> str:
            p = self.find(m.group(0))
            return p.name if p else m.group(0)

        return _PSEUDONYM.sub(back, text)

    def restore_summary(self, s: MeetingSummary) -> MeetingSummary:
        """Real names back in every text, speaker and owner; speaker ids filled in."""

        def item(i: Item) -> Item:
            owner = self.find(i.owner) if i.owner else None
            return replace(
                i,
                text=self.restore_text(i.text),
                owner=owner.name if owner else (self.restore_text(i.owner) if i.owner else None),
                owner_id=owner.speaker_id if owner else i.owner_id,
                due=self.restore_text(i.due) if i.due else None,
            )

        def items(xs: tuple[Item, ...]) -> tuple[Item, ...]:
            return tuple(item(i) for i in xs)

        speakers = []
        for sp in s.speakers:
            p = self.find(sp.speaker)
            speakers.append(
                SpeakerSummary(
                    p.name if p else self.restore_text(sp.speaker),
                    p.speaker_id if p else sp.speaker_id,
                    items(sp.said), items(sp.positions), items(sp.commitments), items(sp.open_questions),
                )
            )
        return replace(s, speakers=tuple(speakers), decisions=items(s.decisions), action_items=items(s.action_items))
