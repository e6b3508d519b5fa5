"""Summarize a stored meeting: cloud when enabled and possible, otherwise (or on failure) local."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from .cloud import CloudConfig, CloudSummarizer, CostEstimate, api_key, model_for
from .local import MODEL as LOCAL_MODEL
from .local import summarize_local
from .model import PROMPT_VERSION, MeetingSummary, SummaryError
from .render import to_markdown
from .transcript import lines_from_turns


def cloud_enabled() -> bool:
    """Cloud summaries are opt-in: PARLEY_CLOUD_SUMMARIES=1 (the desktop settings set it too)."""
    return os.environ.get("PARLEY_CLOUD_SUMMARIES", "").lower() in ("1", "true", "yes")


@dataclass(frozen=True, slots=True)
class SummaryRun:
    summary: MeetingSummary
    markdown: str
    summary_id: int
    note: str  # why local was used, or "" for the cloud


def summarize_meeting(
    store,
    meeting_id: int,
    *,
    local: bool = False,
    model: str | None = None,
    config: CloudConfig | None = None,
    on_text: Callable[[str], None] | None = None,
    on_estimate: Callable[[CostEstimate], None] | None = None,
) -> SummaryRun:
    turns = store.turns(meeting_id)
    lines = lines_from_turns(turns)
    starts = {t.id: t.start for t in turns}
    note = ""
    summary = None
    key = None if local else api_key()
    if local:
        note = "local summary, as asked"
    elif not cloud_enabled():
        note = "local summary: cloud summaries are off (set PARLEY_CLOUD_SUMMARIES=1 to send transcript text to Anthropic)"
    elif not key:
        note = "local summary: no Anthropic API key (ANTHROPIC_API_KEY or the OS keyring)"
    else:
        cfg = config or CloudConfig(model=model_for(model))
        try:
            summarizer = CloudSummarizer(key, cfg)
            if on_estimate is not None:  # shown before the (possibly long, paid) run
                on_estimate(summarizer.estimate(lines))
            summary = summarizer.summarize(lines, on_text)
        except SummaryError as exc:
            note = f"local summary: {exc}"
    if summary is None:
        summary = summarize_local(lines)
    markdown = to_markdown(summary, starts)
    sid = store.add_summary(
        meeting_id, speaker_id=None, kind="meeting", model=summary.model if not summary.local else LOCAL_MODEL,
        prompt_version=PROMPT_VERSION, content_json=summary.to_json(), markdown=markdown, local=summary.local,
    )
    by_name = {s.name: s.id for s in store.speakers(meeting_id)}
    for sp in summary.speakers:
        if sp.speaker in by_name:
            part = MeetingSummary((sp,), (), (), summary.model, summary.local)
            store.add_summary(
                meeting_id, speaker_id=by_name[sp.speaker], kind="speaker", model=summary.model, prompt_version=PROMPT_VERSION,
                content_json=part.to_json(), markdown=to_markdown(part, starts), local=summary.local,
            )
    return SummaryRun(summary, markdown, sid, note)


__all__ = ["SummaryRun", "summarize_meeting", "cloud_enabled", "SummaryError"]
