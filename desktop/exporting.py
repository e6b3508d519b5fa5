"""Export from the app (every format ``parley export`` writes) and copy, Qt-free: the meeting
as an :class:`~meetings.export.ExportDoc`, rendered to text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from desktop.logic import fmt_clock
from meetings.export import FORMATS, ExportDoc, ExportTurn, export

__all__ = ["FORMATS", "FILTERS", "export_doc", "export_text", "format_for", "turns_as_text"]

FILTERS = {
    "txt": "Plain text (*.txt)",
    "md": "Markdown (*.md)",
    "srt": "SubRip subtitles (*.srt)",
    "vtt": "WebVTT subtitles (*.vtt)",
    "json": "JSON (*.json)",
    "rttm": "RTTM speaker diarization (*.rttm)",
}


def export_doc(store, meeting_id: int) -> ExportDoc:
    """The meeting as the exporters see it (the meeting summary, if any, rides along for md)."""
    meeting = store.get_meeting(meeting_id)
    summaries = [s for s in store.summaries(meeting_id) if s.kind == "meeting"]
    md = "\n\n".join(("*This summary predates later corrections (stale).*\n\n" if s.stale else "") + s.markdown for s in summaries)
    return ExportDoc(
        title=meeting.title,
        duration=meeting.duration,
        speakers=tuple(s.name for s in store.speakers(meeting_id)),
        turns=tuple(
            ExportTurn(t.speaker_name, t.start, t.end, t.text, t.confidence, tuple(f.value for f in t.flags), t.overlapped,
                       tuple((w.start, w.end, w.text, w.probability) for w in t.words))
            for t in store.turns(meeting_id)
        ),
        summaries_markdown=md,
    )


def export_text(store, meeting_id: int, fmt: str) -> str:
    from meetings.export import with_activity

    doc = export_doc(store, meeting_id)
    return export(with_activity(doc, store, meeting_id) if fmt.strip().lower().lstrip(".") == "rttm" else doc, fmt)


def format_for(path: str, name_filter: str = "") -> str:
    """The format a save dialog asked for: the file's extension, else the chosen filter's."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext in FORMATS:
        return ext
    return next((fmt for fmt, f in FILTERS.items() if f == name_filter), "txt")


def turns_as_text(turns: Sequence) -> str:
    """Turns for the clipboard: ``[mm:ss] Name: text`` lines."""
    return "\n".join(f"[{fmt_clock(t.start)}] {t.speaker_name}: {t.text}" for t in turns)
