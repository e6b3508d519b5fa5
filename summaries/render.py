"""Markdown rendering; every item links back to the time of its source turns."""

from __future__ import annotations

from .model import Item, MeetingSummary
from .transcript import stamp


def _item(i: Item, starts: dict[int, float]) -> str:
    refs = " ".join(f"[{stamp(starts[t])}]" for t in i.turn_ids if t in starts)
    extra = []
    if i.owner:
        extra.append(f"owner: {i.owner}")
    if i.due:
        extra.append(f"due: {i.due}")
    tail = f" ({'; '.join(extra)})" if extra else ""
    return f"- {i.text}{tail}{' ' + refs if refs else ''}"


def to_markdown(s: MeetingSummary, starts: dict[int, float]) -> str:
    head = "Local summary (offline, extractive)" if s.local else f"Summary ({s.model})"
    out = [f"### {head}", ""]
    for title, items in (("Decisions", s.decisions), ("Action items", s.action_items)):
        out.append(f"**{title}**")
        out.extend(_item(i, starts) for i in items) if items else out.append("- none recorded")
        out.append("")
    for sp in s.speakers:
        out.append(f"#### {sp.speaker}")
        for title, items in (("Said", sp.said), ("Positions", sp.positions), ("Commitments", sp.commitments), ("Open questions", sp.open_questions)):
            if items:
                out.append(f"*{title}*")
                out.extend(_item(i, starts) for i in items)
        out.append("")
    return "\n".join(out).rstrip() + "\n"
