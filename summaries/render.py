"""Markdown for a summary. Every item ends with the ``[mm:ss]`` times of the turns it comes from."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .prompt import stamp
from .types import Item, MeetingSummary, SpeakerSummary

__all__ = ["LOCAL_TITLE", "render_markdown", "render_speaker", "provenance"]

LOCAL_TITLE = "Local summary (offline)"
_MD = re.compile(r"([\\`*_\[\]<>|])")
_SECTIONS = (("said", "Said"), ("positions", "Positions"), ("commitments", "Commitments"), ("open_questions", "Open questions"))


def _escape(text: str) -> str:
    text = _MD.sub(r"\\\1", text)
    return re.sub(r"^([#>+-]|\d+\.)", r"\\\1", text)


def _refs(turn_ids: tuple[int, ...], starts: Mapping[int, float]) -> str:
    times = sorted({starts[t] for t in turn_ids if t in starts})
    shown = [f"[{stamp(t)}]" for t in times[:4]] + (["…"] if len(times) > 4 else [])
    return " ".join(shown)


def _item(i: Item, starts: Mapping[int, float], owner: bool = True) -> str:
    extra = []
    if owner and i.owner:
        extra.append(f"owner: {_escape(i.owner)}")
    if i.due:
        extra.append(f"due: {_escape(i.due)}")
    tail = f" — {' · '.join(extra)}" if extra else ""
    refs = _refs(i.turn_ids, starts)
    return f"- {_escape(i.text)}{tail}{' ' + refs if refs else ''}"


def provenance(s: MeetingSummary, revision: int | None = None, created_at: str | None = None) -> str:
    if s.local:
        what = "Extractive: sentences picked from the transcript on this machine; nothing was sent anywhere"
    elif s.model.startswith("local-llm:"):
        what = f"Written by {s.model.removeprefix('local-llm:')} on a local LLM server from the transcript text (speaker names were pseudonymized)"
    else:
        what = f"Written by {s.model} from the transcript text (speaker names were pseudonymized)"
    facts = [f"transcript revision {revision}" if revision is not None else "", f"prompt {s.prompt_version}", created_at or ""]
    return f"*{what}. " + " · ".join(f for f in facts if f) + ".*"


def _speaker_body(sp: SpeakerSummary, starts: Mapping[int, float]) -> list[str]:
    out: list[str] = []
    for attr, title in _SECTIONS:
        items = getattr(sp, attr)
        if items:
            out.append(f"*{title}*")
            out += [_item(i, starts, owner=False) for i in items]
    if not out:
        out.append("- only short responses, nothing to summarize")
    return out


def render_markdown(s: MeetingSummary, starts: Mapping[int, float], *, revision: int | None = None, created_at: str | None = None) -> str:
    """The whole summary: title, provenance, decisions, action items, then one section per speaker."""
    out = [f"### {LOCAL_TITLE}" if s.local else f"### Summary ({s.model})", "", provenance(s, revision, created_at), ""]
    for title, items in (("Decisions", s.decisions), ("Action items", s.action_items)):
        out.append(f"**{title}**")
        out += [_item(i, starts) for i in items] if items else ["- none recorded"]
        out.append("")
    for sp in s.speakers:
        out += [f"#### {_escape(sp.speaker)}", *_speaker_body(sp, starts), ""]
    return "\n".join(out).rstrip() + "\n"


def render_speaker(s: MeetingSummary, sp: SpeakerSummary, starts: Mapping[int, float], *, revision: int | None = None, created_at: str | None = None) -> str:
    """One speaker's part (stored per speaker; the reader shows the speaker's name above it)."""
    label = LOCAL_TITLE if s.local else f"Summary ({s.model})"
    owned = [i for i in s.action_items if sp.speaker_id is not None and i.owner_id == sp.speaker_id and i not in sp.commitments]
    body = _speaker_body(sp, starts)
    if owned:
        body += ["*Action items*", *[_item(i, starts, owner=False) for i in owned]]
    return "\n".join([f"*{label}*", "", *body, "", provenance(s, revision, created_at)]).rstrip() + "\n"
