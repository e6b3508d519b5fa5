"""Transcript exporters: txt, md, srt, vtt, json, rttm.

The exporters work on :class:`ExportDoc`, a plain view of a meeting that does not depend on
the store, so every format can be produced (and tested) without a database. Times are seconds.

JSON schema (``fmt="json"``), floats rounded to 3 decimals, non-finite numbers as ``null``::

    {"title": str, "duration": float, "speakers": [str],
     "turns": [{"speaker": str, "start": float, "end": float, "text": str,
                "confidence": float, "flags": [str], "overlapped": bool,
                "words": [{"start": float, "end": float, "text": str, "probability": float}]}]}
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from meetings.errors import ParleyError

__all__ = ["ExportTurn", "ExportDoc", "FORMATS", "export", "timestamp",
           "to_txt", "to_md", "to_srt", "to_vtt", "to_json", "to_rttm", "speaker_activity", "with_activity"]

FORMATS = ("txt", "md", "srt", "vtt", "json", "rttm")

#: subtitle cue limits: a cue is split before it would run longer than this...
MAX_CUE_SECONDS = 7.0
#: ...or hold more characters than this (two 42-character subtitle lines)
MAX_CUE_CHARS = 84


@dataclass(frozen=True, slots=True)
class ExportTurn:
    speaker: str  # display name
    start: float
    end: float
    text: str
    confidence: float
    flags: tuple[str, ...]  # FlagReason values, e.g. ("overlap",)
    overlapped: bool
    words: tuple[tuple[float, float, str, float], ...] = ()  # (start, end, text, probability)


@dataclass(frozen=True, slots=True)
class ExportDoc:
    title: str
    duration: float
    speakers: tuple[str, ...]
    turns: tuple[ExportTurn, ...]
    summaries_markdown: str = ""  # already-rendered markdown, appended by md export when non-empty
    #: who spoke when: (start, end, speaker display name), the diarization's speaker activity as
    #: relabelled by the voice stage and the corrections (:func:`speaker_activity`); empty for
    #: meetings stored without it, whose RTTM then falls back to the turns
    activity: tuple[tuple[float, float, str], ...] = ()


def export(doc: ExportDoc, fmt: str) -> str:
    """Render ``doc`` in ``fmt`` (one of :data:`FORMATS`, case-insensitive)."""
    key = fmt.strip().lower().lstrip(".")
    if key not in _WRITERS:
        raise ParleyError(f"unknown export format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    return _WRITERS[key](doc)


def timestamp(seconds: float) -> str:
    """``HH:MM:SS`` (whole seconds, rounded down; negative or non-finite times read as 0)."""
    s = int(seconds) if math.isfinite(seconds) and seconds > 0 else 0
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


# --- helpers ---------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _speakers(doc: ExportDoc) -> tuple[str, ...]:
    return doc.speakers or tuple(dict.fromkeys(t.speaker for t in doc.turns))


def _marks(turn: ExportTurn) -> tuple[str, str]:
    """(``overlapping`` or "", ``check: a, b`` or "")."""
    return ("overlapping" if turn.overlapped else "", f"check: {', '.join(turn.flags)}" if turn.flags else "")


# --- txt / md --------------------------------------------------------------------------------


def to_txt(doc: ExportDoc) -> str:
    """One line per turn: ``[00:01:02] Speaker 1 (overlapping): text [check: overlap]``."""
    lines = []
    for t in doc.turns:
        overlap, check = _marks(t)
        who = f"{t.speaker} ({overlap})" if overlap else t.speaker
        line = f"[{timestamp(t.start)}] {who}: {_one_line(t.text)}".rstrip()
        lines.append(f"{line} [{check}]" if check else line)
    return "".join(line + "\n" for line in lines)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", _one_line(text))


def to_md(doc: ExportDoc) -> str:
    """Title heading, speakers line, one paragraph per turn, then the summaries if any."""
    parts = [f"# {_md(doc.title) or 'Untitled meeting'}"]
    speakers = _speakers(doc)
    if speakers:
        parts.append("**Speakers:** " + ", ".join(_md(s) for s in speakers))
    for t in doc.turns:
        para = f"**{_md(t.speaker)}** [{timestamp(t.start)}]: {_md(t.text)}"
        marks = "; ".join(m for m in _marks(t) if m)
        parts.append(f"{para} *({marks})*" if marks else para)
    if doc.summaries_markdown.strip():
        parts.append("## Summaries")
        parts.append(doc.summaries_markdown.strip())
    return "\n\n".join(parts) + "\n"


# --- subtitles -------------------------------------------------------------------------------


def _pieces(turn: ExportTurn, text: str) -> list[tuple[float, float, str]]:
    """The turn as timed tokens: its words when they spell its text, else text spread evenly."""
    words = sorted((float(s), max(float(s), float(e)), w.strip()) for s, e, w, _ in turn.words if w.strip())
    if words and " ".join(w for _, _, w in words) == text:
        return words
    tokens = text.split()
    span = max(turn.end - turn.start, 0.0)
    total = sum(len(tok) + 1 for tok in tokens)
    out, pos = [], 0
    for tok in tokens:
        a = turn.start + span * pos / total
        pos += len(tok) + 1
        out.append((a, turn.start + span * pos / total, tok))
    return out


def _ms(seconds: float) -> int:
    return max(int(round(seconds * 1000)), 0) if math.isfinite(seconds) else 0


def _cues(turn: ExportTurn) -> list[tuple[int, int, str]]:
    """Split one turn into (start_ms, end_ms, text) cues of at most ~7 s / 84 chars.

    Cues of a turn never overlap each other and always have end > start.
    """
    text = _one_line(turn.text)
    if not text:
        return []
    groups: list[list[tuple[float, float, str]]] = []
    for piece in _pieces(turn, text):
        cur = groups[-1] if groups else None
        if cur and (
            piece[1] - cur[0][0] <= MAX_CUE_SECONDS
            and sum(len(p[2]) + 1 for p in cur) + len(piece[2]) <= MAX_CUE_CHARS
        ):
            cur.append(piece)
        else:
            groups.append([piece])
    cues, last_end = [], 0
    for g in groups:
        start = max(_ms(g[0][0]), last_end if cues else 0)
        end = max(_ms(max(p[1] for p in g)), start + 1)
        cues.append((start, end, " ".join(p[2] for p in g)))
        last_end = end
    return cues


def _all_cues(doc: ExportDoc) -> list[tuple[int, int, str, str]]:
    """(start_ms, end_ms, speaker, text) for every turn, ordered by time."""
    cues = [(a, b, t.speaker, text) for t in doc.turns for a, b, text in _cues(t)]
    return sorted(cues, key=lambda c: (c[0], c[1]))


def _clock(ms: int, sep: str) -> str:
    s, ms = divmod(ms, 1000)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{sep}{ms:03d}"


def to_srt(doc: ExportDoc) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm`` times, text prefixed with the speaker."""
    blocks = [
        f"{i}\n{_clock(a, ',')} --> {_clock(b, ',')}\n{_one_line(spk)}: {text}\n"
        for i, (a, b, spk, text) in enumerate(_all_cues(doc), 1)
    ]
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(doc: ExportDoc) -> str:
    """WebVTT: ``WEBVTT`` header, ``HH:MM:SS.mmm`` times, ``<v Speaker>`` voice spans."""
    blocks = ["WEBVTT\n"] + [
        f"{_clock(a, '.')} --> {_clock(b, '.')}\n<v {_vtt_escape(_one_line(spk))}>{_vtt_escape(text)}</v>\n"
        for a, b, spk, text in _all_cues(doc)
    ]
    return "\n".join(blocks)


# --- json / rttm -----------------------------------------------------------------------------


def _num(x: float) -> float | None:
    return round(float(x), 3) if math.isfinite(x) else None


def to_json(doc: ExportDoc) -> str:
    """The documented schema above (see the module docstring)."""
    data = {
        "title": doc.title,
        "duration": _num(doc.duration),
        "speakers": list(_speakers(doc)),
        "turns": [
            {
                "speaker": t.speaker,
                "start": _num(t.start),
                "end": _num(t.end),
                "text": t.text,
                "confidence": _num(t.confidence),
                "flags": list(t.flags),
                "overlapped": bool(t.overlapped),
                "words": [
                    {"start": _num(s), "end": _num(e), "text": w, "probability": _num(p)}
                    for s, e, w, p in t.words
                ],
            }
            for t in doc.turns
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _rttm_token(text: str, default: str) -> str:
    return "_".join(text.split()) or default


def to_rttm(doc: ExportDoc) -> str:
    """NIST RTTM ``SPEAKER`` lines of the speaker activity (``doc.activity``: all the speech,
    words or not), ordered by start; one per turn where a meeting has no activity stored."""
    uri = _rttm_token(doc.title, "meeting")
    spans = doc.activity or tuple((t.start, t.end, t.speaker) for t in doc.turns)
    lines = []
    for a, b, who in sorted(spans, key=lambda x: (x[0], x[1], x[2])):
        start, dur = round(a, 3), round(b - a, 3)
        if not (math.isfinite(start) and math.isfinite(dur)) or dur <= 0:
            continue
        lines.append(f"SPEAKER {uri} 1 {start:.3f} {dur:.3f} <NA> <NA> {_rttm_token(who, 'unknown')} <NA> <NA>\n")
    return "".join(lines)


def with_activity(doc: ExportDoc, store, meeting_id: int) -> ExportDoc:
    """``doc`` with the meeting's stored speaker activity, renamed by its turns (for the RTTM)."""
    from dataclasses import replace

    segments = store.activity(meeting_id) if hasattr(store, "activity") else []
    if not segments:
        return doc
    names = {s.label: s.name for s in store.speakers(meeting_id)}
    return replace(doc, activity=speaker_activity(segments, doc.turns, names))


def speaker_activity(segments, turns, name_of: dict[str, str]) -> tuple[tuple[float, float, str], ...]:
    """The stored diarization activity ``segments`` ((start, end, label)) relabelled by the
    current ``turns`` (:class:`ExportTurn`, display names; corrections included): see
    :func:`diarization.activity.relabel_activity`. ``name_of`` maps labels to display names; a
    label whose speaker is gone (merged away) keeps its label until the turns claim it."""
    from diarization.activity import relabel_activity
    from meetings.types import AttributedWord, SpeakerSegment, Turn, Word

    segs = [SpeakerSegment(float(a), float(b), name_of.get(lab, lab)) for a, b, lab in segments]
    plain = [Turn(t.speaker, t.start, t.end, tuple(AttributedWord(Word(w[0], w[1], w[2], w[3]), t.speaker) for w in t.words)
                  or (AttributedWord(Word(t.start, t.end, t.text, 1.0, timed=False), t.speaker),), overlapped=t.overlapped) for t in turns]
    return tuple((s.start, s.end, s.speaker) for s in relabel_activity(segs, plain, keep=set(name_of.values())))


_WRITERS = {"txt": to_txt, "md": to_md, "srt": to_srt, "vtt": to_vtt, "json": to_json, "rttm": to_rttm}
