"""The record_summary tool (a JSON schema the model must fill) and the validation of what it
sends back into frozen records.

Small slips are repaired here (turn ids written as ``"t12"``, ``"speaker b"`` for ``"Speaker B"``,
a missing list, duplicate speaker entries, citations of turns that do not exist). Anything
else is a :class:`MalformedSummary` listing the problems, which the caller sends back to the
model once (a tool_result with ``is_error``) before giving up with a clear error.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection

from .prompt import Pseudonyms
from .types import Item, MalformedSummary, MeetingSummary, SpeakerSummary

__all__ = ["TOOL_NAME", "tool", "validate", "to_tool_input"]

log = logging.getLogger(__name__)

TOOL_NAME = "record_summary"
_MAX_TEXT = 1000
_NULLISH = {"", "null", "none", "n/a", "na", "unknown", "not stated", "unspecified", "-"}


def _item_schema(action: bool, labels: tuple[str, ...]) -> dict:
    props: dict = {
        "text": {"type": "string", "description": "one concise sentence"},
        "turn_ids": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "description": "the turns (numbers after t) this comes from"},
    }
    required = ["text", "turn_ids"]
    if action:
        props["owner"] = {"anyOf": [{"type": "string", "enum": list(labels)}, {"type": "null"}], "description": "the speaker who will do it; null if nobody was named"}
        props["due"] = {"type": ["string", "null"], "description": "the due date in the speaker's words; null if none was stated"}
        required += ["owner", "due"]
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def tool(labels: tuple[str, ...]) -> dict:
    """The tool definition for a meeting whose speakers are ``labels`` (same for all its calls)."""
    item, action = _item_schema(False, labels), _item_schema(True, labels)
    speaker = {
        "type": "object",
        "properties": {
            "speaker": {"type": "string", "enum": list(labels)},
            "said": {"type": "array", "items": item, "description": "main points this speaker made"},
            "positions": {"type": "array", "items": item, "description": "opinions, proposals, objections"},
            "commitments": {"type": "array", "items": action, "description": "what this speaker said they will do"},
            "open_questions": {"type": "array", "items": item, "description": "questions this speaker raised that stayed unanswered"},
        },
        "required": ["speaker", "said", "positions", "commitments", "open_questions"],
        "additionalProperties": False,
    }
    return {
        "name": TOOL_NAME,
        "description": "Record the structured summary of the meeting transcript.",
        "input_schema": {
            "type": "object",
            "properties": {
                "speakers": {"type": "array", "items": speaker},
                "decisions": {"type": "array", "items": item},
                "action_items": {"type": "array", "items": action},
            },
            "required": ["speakers", "decisions", "action_items"],
            "additionalProperties": False,
        },
    }


class _Checker:
    def __init__(self, names: Pseudonyms, turn_ids: Collection[int]):
        self.names = names
        self.turn_ids = set(turn_ids)
        self.problems: list[str] = []
        self.total = 0
        self.dropped = 0

    def turn(self, raw: object) -> int | None:
        if isinstance(raw, bool):
            return None
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, str):
            m = re.fullmatch(r"\s*t?(\d+)\s*", raw, re.I)
            raw = int(m.group(1)) if m else None
        return raw if isinstance(raw, int) and raw in self.turn_ids else None

    def text(self, raw: object, where: str) -> str | None:
        if not isinstance(raw, str) or not raw.strip():
            self.problems.append(f"{where}.text: must be a non-empty string")
            return None
        text = " ".join(raw.split())
        return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1].rstrip() + "…"

    def optional(self, raw: object) -> str | None:
        if not isinstance(raw, str) or raw.strip().lower() in _NULLISH:
            return None
        return " ".join(raw.split())

    def items(self, raw: object, where: str, action: bool) -> tuple[Item, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.problems.append(f"{where}: must be an array of objects, got {type(raw).__name__}")
            return ()
        out = []
        for n, x in enumerate(raw):
            at = f"{where}[{n}]"
            if not isinstance(x, dict):
                self.problems.append(f"{at}: must be an object with text and turn_ids, got {type(x).__name__}")
                continue
            text = self.text(x.get("text"), at)
            ids_raw = x.get("turn_ids")
            if not isinstance(ids_raw, list):
                self.problems.append(f"{at}.turn_ids: must be an array of turn ids")
                continue
            if text is None:
                continue
            self.total += 1
            ids = tuple(dict.fromkeys(t for t in (self.turn(r) for r in ids_raw) if t is not None))
            if not ids:
                self.dropped += 1
                log.debug("dropping an item that cites no turn of this transcript: %s", at)
                continue
            owner = due = None
            if action:
                label = self.optional(x.get("owner"))
                p = self.names.find(label) if label else None
                owner = p.label if p else None
                due = self.optional(x.get("due"))
            out.append(Item(text, ids, owner, None, due))
        return tuple(out)


def validate(data: object, *, names: Pseudonyms, turn_ids: Collection[int], model: str, prompt_version: str) -> MeetingSummary:
    """The tool input as a pseudonymous :class:`MeetingSummary`, or :class:`MalformedSummary`."""
    if isinstance(data, str):  # some models send the object JSON-encoded
        try:
            data = json.loads(data)
        except ValueError:
            raise MalformedSummary("the model's summary did not match the schema (input: not a JSON object)", ("input: not a JSON object",)) from None
    if not isinstance(data, dict):
        raise MalformedSummary("the model's summary did not match the schema (input: must be an object)", ("input: must be an object",))
    c = _Checker(names, turn_ids)
    speakers: dict[str, dict[str, list[Item]]] = {}
    raw_speakers = data.get("speakers")
    if not isinstance(raw_speakers, list):
        c.problems.append("speakers: required, an array with one object per speaker")
        raw_speakers = []
    for n, s in enumerate(raw_speakers):
        at = f"speakers[{n}]"
        if not isinstance(s, dict):
            c.problems.append(f"{at}: must be an object")
            continue
        label = s.get("speaker")
        p = names.find(label) if isinstance(label, str) else None
        if p is None:
            c.problems.append(f"{at}.speaker: {label!r} is not one of {', '.join(names.labels)}")
            continue
        parts = speakers.setdefault(p.label, {"said": [], "positions": [], "commitments": [], "open_questions": []})
        for key in parts:
            parts[key] += c.items(s.get(key), f"{at}.{key}", action=key == "commitments")
    decisions = c.items(data.get("decisions"), "decisions", action=False)
    actions = c.items(data.get("action_items"), "action_items", action=True)
    if c.total and c.dropped * 2 > c.total:
        c.problems.append(f"{c.dropped} of {c.total} items cite no turn id of this transcript (use the numbers after 't')")
    if c.problems:
        shown = c.problems[:8] + ([f"… and {len(c.problems) - 8} more"] if len(c.problems) > 8 else [])
        raise MalformedSummary(f"the model's summary did not match the schema ({c.problems[0]})", tuple(shown))
    order = {label: i for i, label in enumerate(names.labels)}
    out = []
    for label, parts in sorted(speakers.items(), key=lambda kv: order[kv[0]]):
        # a commitment without an owner belongs to the speaker who made it
        commitments = tuple(Item(i.text, i.turn_ids, i.owner or label, None, i.due) for i in parts["commitments"])
        out.append(SpeakerSummary(label, None, tuple(parts["said"]), tuple(parts["positions"]), commitments, tuple(parts["open_questions"])))
    return MeetingSummary(tuple(out), decisions, actions, model, False, prompt_version)


def to_tool_input(s: MeetingSummary) -> dict:
    """A (pseudonymous) summary back in the tool's JSON shape, for the merge call."""

    def items(xs: tuple[Item, ...], action: bool) -> list[dict]:
        return [{"text": i.text, "turn_ids": list(i.turn_ids), **({"owner": i.owner, "due": i.due} if action else {})} for i in xs]

    return {
        "speakers": [
            {
                "speaker": sp.speaker,
                "said": items(sp.said, False),
                "positions": items(sp.positions, False),
                "commitments": items(sp.commitments, True),
                "open_questions": items(sp.open_questions, False),
            }
            for sp in s.speakers
        ],
        "decisions": items(s.decisions, False),
        "action_items": items(s.action_items, True),
    }
