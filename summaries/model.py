"""The summary's structure: frozen records, the tool schema the model must fill, validation."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from meetings.errors import ParleyError

PROMPT_VERSION = "2026-11-24.1"


class SummaryError(ParleyError):
    """A summary could not be produced or parsed."""


@dataclass(frozen=True, slots=True)
class Item:
    text: str
    turn_ids: tuple[int, ...] = ()
    owner: str | None = None  # speaker (action items)
    due: str | None = None  # as stated ("by Friday")


@dataclass(frozen=True, slots=True)
class SpeakerSummary:
    speaker: str
    said: tuple[Item, ...]
    positions: tuple[Item, ...] = ()
    commitments: tuple[Item, ...] = ()
    open_questions: tuple[Item, ...] = ()


@dataclass(frozen=True, slots=True)
class MeetingSummary:
    speakers: tuple[SpeakerSummary, ...]
    decisions: tuple[Item, ...]
    action_items: tuple[Item, ...]
    model: str
    local: bool

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


_ITEM = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "turn_ids": {"type": "array", "items": {"type": "integer"}, "description": "ids of the turns this comes from"},
        "owner": {"type": ["string", "null"]},
        "due": {"type": ["string", "null"]},
    },
    "required": ["text", "turn_ids"],
}
TOOL = {
    "name": "record_summary",
    "description": "Record the structured summary of the meeting transcript.",
    "input_schema": {
        "type": "object",
        "properties": {
            "speakers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "speaker": {"type": "string"},
                        "said": {"type": "array", "items": _ITEM},
                        "positions": {"type": "array", "items": _ITEM},
                        "commitments": {"type": "array", "items": _ITEM},
                        "open_questions": {"type": "array", "items": _ITEM},
                    },
                    "required": ["speaker", "said"],
                },
            },
            "decisions": {"type": "array", "items": _ITEM},
            "action_items": {"type": "array", "items": _ITEM},
        },
        "required": ["speakers", "decisions", "action_items"],
    },
}


def _items(raw, valid_turns: set[int], where: str) -> tuple[Item, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SummaryError(f"malformed summary: {where} is not a list")
    out = []
    for x in raw:
        if isinstance(x, str):
            x = {"text": x, "turn_ids": []}
        if not isinstance(x, dict) or not isinstance(x.get("text"), str) or not x["text"].strip():
            raise SummaryError(f"malformed summary: an item of {where} has no text")
        ids = tuple(int(i) for i in x.get("turn_ids") or () if isinstance(i, (int, float)) and int(i) in valid_turns)
        owner = x.get("owner") if isinstance(x.get("owner"), str) else None
        due = x.get("due") if isinstance(x.get("due"), str) else None
        out.append(Item(x["text"].strip(), ids, owner, due))
    return tuple(out)


def parse_summary(data: dict, *, valid_turns: set[int], model: str, local: bool) -> MeetingSummary:
    """Validate the model's tool input into records; unknown turn ids are dropped, bad shapes raise."""
    if not isinstance(data, dict) or not isinstance(data.get("speakers"), list):
        raise SummaryError("malformed summary: no speakers list")
    speakers = []
    for s in data["speakers"]:
        if not isinstance(s, dict) or not isinstance(s.get("speaker"), str):
            raise SummaryError("malformed summary: a speaker entry has no name")
        name = s["speaker"]
        speakers.append(
            SpeakerSummary(
                name,
                _items(s.get("said"), valid_turns, f"{name}.said"),
                _items(s.get("positions"), valid_turns, f"{name}.positions"),
                _items(s.get("commitments"), valid_turns, f"{name}.commitments"),
                _items(s.get("open_questions"), valid_turns, f"{name}.open_questions"),
            )
        )
    return MeetingSummary(
        tuple(speakers), _items(data.get("decisions"), valid_turns, "decisions"), _items(data.get("action_items"), valid_turns, "action_items"), model, local
    )
