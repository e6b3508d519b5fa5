"""Summarize a stored meeting: the cloud when it is enabled, a key exists and it works; the
offline summary otherwise (and on any API failure). Results are stored with their provenance
(model, prompt version, transcript revision, time); the store keeps older versions and marks
them stale when the transcript is corrected.

``summarize_events`` is the streaming form for a UI (an iterator of progress, cost estimate,
streamed text, notices and the finished run); ``summarize_meeting`` runs it to the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .cloud import CloudSummarizer
from .config import ApiKey, SummarySettings, find_api_key, load_settings, resolve_model
from .local import MODEL as LOCAL_MODEL
from .local import summarize_local
from .prompt import PROMPT_VERSION
from .render import render_markdown, render_speaker
from .types import (
    CostEstimate,
    EstimateReady,
    Finished,
    MeetingSummary,
    Notice,
    Progress,
    SummaryError,
    SummaryEvent,
    SummaryRun,
    Tier,
    TranscriptChanged,
    TranscriptLine,
    Usage,
)

__all__ = ["lines_from_turns", "Route", "choose_route", "estimate_cost", "summarize_events", "summarize_meeting", "needs_refresh"]

log = logging.getLogger(__name__)


def lines_from_turns(turns: Sequence) -> list[TranscriptLine]:
    """The store's turns (``StoredTurn``: id, speaker_id, speaker_name, start, end, text) as lines."""
    return [TranscriptLine(t.id, t.speaker_id, t.speaker_name, t.start, t.end, t.text) for t in turns if t.text.strip()]


@dataclass(frozen=True, slots=True)
class Route:
    """Cloud, a local LLM server, or the extractive summary, and why (the note is "" for the first two)."""

    cloud: bool
    note: str
    key: ApiKey | None = field(default=None, repr=False)
    llm_url: str | None = None  # a local LLM server's OpenAI-compatible API


def choose_route(*, local: bool, settings: SummarySettings, api_key: str | None = None, llm_url: str | None = None) -> Route:
    if local:
        return Route(False, "local summary (offline), as asked with --local")
    if llm_url or settings.llm_url:
        return Route(False, "", llm_url=llm_url or settings.llm_url)
    if not settings.cloud_enabled:
        return Route(False, "local summary (offline): cloud summaries are off (PARLEY_CLOUD_SUMMARIES=1 sends transcript text to Anthropic)")
    if api_key:
        return Route(True, "", ApiKey(api_key, "argument"))
    found = find_api_key()
    if found.key is None:
        return Route(False, f"local summary (offline): {found.problem}")
    return Route(True, "", found.key)


def _summarizer(key: ApiKey, model: str, settings: SummarySettings, base_url: str | None) -> CloudSummarizer:
    from .client import AnthropicClient

    client = AnthropicClient(key, base_url=base_url or settings.base_url, timeout=settings.timeout, max_retries=settings.max_retries)
    return CloudSummarizer(client, model, settings)


def estimate_cost(
    store, meeting_id: int, *, model: str | None = None, tier: Tier = Tier.BATCH, settings: SummarySettings | None = None,
    base_url: str | None = None, api_key: str | None = None,
) -> CostEstimate:
    """What a cloud summary of this meeting would cost, before running it (counts tokens only)."""
    settings = settings or load_settings()
    key = ApiKey(api_key, "argument") if api_key else find_api_key().key
    if key is None:
        raise SummaryError("no Anthropic API key, so no cloud summary to estimate")
    lines = _lines(store, meeting_id)
    return _summarizer(key, resolve_model(model, tier, settings), settings, base_url).plan(lines).estimate


def _lines(store, meeting_id: int) -> list[TranscriptLine]:
    store.get_meeting(meeting_id)  # a clear error for an unknown id
    lines = lines_from_turns(store.turns(meeting_id))
    if not lines:
        raise SummaryError(f"meeting {meeting_id} has no transcript text to summarize")
    return lines


def summarize_events(
    store,
    meeting_id: int,
    *,
    local: bool = False,
    model: str | None = None,
    tier: Tier = Tier.BATCH,
    settings: SummarySettings | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    stream: bool | None = None,
    llm_url: str | None = None,
) -> Iterator[SummaryEvent]:
    """Write and store a summary, yielding events as it goes; the last one is :class:`Finished`.

    ``llm_url`` (or the ``llm_url`` setting) sends it to a local LLM server; ``model`` then names
    the model there."""
    settings = settings or load_settings()
    revision = store.revision(meeting_id)
    lines = _lines(store, meeting_id)
    route = choose_route(local=local, settings=settings, api_key=api_key, llm_url=llm_url)
    note, summary, usage, estimate = route.note, None, Usage(), None
    if route.llm_url:
        try:
            summary, usage = yield from _llm_summary(route.llm_url, model, settings, lines, stream)
        except TranscriptChanged:
            raise
        except SummaryError as exc:
            log.info("local LLM summary failed: %s", exc)
            note = f"local LLM summary failed: {exc}; wrote the extractive summary instead"
    elif route.cloud:
        model_id = resolve_model(model, tier, settings)  # a bad --model is the user's to fix, not a fallback
        try:
            summarizer = _summarizer(route.key, model_id, settings, base_url)
            yield Progress("plan", 0, 1, "counting tokens")
            plan = summarizer.plan(lines)
            estimate = plan.estimate
            yield EstimateReady(estimate)
            if settings.max_usd is not None and estimate.usd > settings.max_usd:
                note = f"local summary (offline): the cloud run would cost about ${estimate.usd:.2f}, above the ${settings.max_usd:.2f} limit (PARLEY_SUMMARY_MAX_USD)"
            else:
                summary, usage = yield from summarizer.run(plan, stream=settings.stream if stream is None else stream)
        except TranscriptChanged:
            raise
        except SummaryError as exc:
            log.info("cloud summary failed: %s", exc)
            note = f"cloud summary failed: {exc}; wrote the local summary (offline) instead"
    if summary is None:
        if note:
            yield Notice(note)
        yield Progress("local", 0, 1, "extractive summary")
        summary = summarize_local(lines)
    yield Progress("store", 0, 1)
    yield Finished(_store(store, meeting_id, revision, lines, summary, note, usage, estimate))


def _llm_summary(url: str, model: str | None, settings: SummarySettings, lines, stream: bool | None):
    """A summary from a local LLM server (summaries/llm.py), stored as ``local-llm:<model>``."""
    from dataclasses import replace

    from .llm import LocalLLMClient, LocalLLMSummarizer

    client = LocalLLMClient(url, model or settings.llm_model, timeout=settings.timeout, max_retries=settings.max_retries)
    summarizer = LocalLLMSummarizer(client, settings)
    yield Progress("plan", 0, 1, f"local LLM {summarizer.model} at {client.base_url}")
    plan = summarizer.plan(lines)
    summary, usage = yield from summarizer.run(plan, stream=settings.stream if stream is None else stream)
    return replace(summary, model=f"local-llm:{summarizer.model}"), usage


def _store(store, meeting_id: int, revision: int, lines: Sequence[TranscriptLine], summary: MeetingSummary, note: str, usage: Usage, estimate: CostEstimate | None) -> SummaryRun:
    if store.revision(meeting_id) != revision:
        raise TranscriptChanged("the transcript was corrected while the summary was being written; summarize again")
    starts = {l.turn_id: l.start for l in lines}
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    model = LOCAL_MODEL if summary.local else summary.model
    markdown = render_markdown(summary, starts, revision=revision, created_at=when)
    common = dict(model=model, prompt_version=PROMPT_VERSION, local=summary.local)
    speaker_ids = []
    with store.transaction():  # the meeting summary and its per-speaker parts: all of them or none
        sid = store.add_summary(meeting_id, speaker_id=None, kind="meeting", content_json=summary.to_json(), markdown=markdown, **common)
        for sp in summary.speakers:
            if sp.speaker_id is None:
                continue
            owned = tuple(i for i in summary.action_items if i.owner_id == sp.speaker_id)
            part = MeetingSummary((sp,), (), owned, summary.model, summary.local, summary.prompt_version)
            md = render_speaker(summary, sp, starts, revision=revision, created_at=when)
            speaker_ids.append(store.add_summary(meeting_id, speaker_id=sp.speaker_id, kind="speaker", content_json=part.to_json(), markdown=md, **common))
    return SummaryRun(summary, markdown, sid, tuple(speaker_ids), revision, note, usage, estimate)


def summarize_meeting(store, meeting_id: int, *, on_event: Callable[[SummaryEvent], None] | None = None, **options) -> SummaryRun:
    """:func:`summarize_events` run to the end (``on_event`` sees every event); returns the run."""
    run = None
    for event in summarize_events(store, meeting_id, **options):
        if on_event is not None:
            on_event(event)
        if isinstance(event, Finished):
            run = event.run
    assert run is not None
    return run


def needs_refresh(store, meeting_id: int) -> bool:
    """True when the meeting has no summary yet, or its latest one predates a correction."""
    latest = [s for s in store.summaries(meeting_id) if s.kind == "meeting"]
    return not latest or latest[-1].stale
