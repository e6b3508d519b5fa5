"""A cloud summary of one transcript: plan (pseudonymize, count, chunk, estimate), then run
(one forced tool call per chunk, validated, repaired once if malformed; then merges).

Prompt caching: when a meeting needs several calls, the shared prefix (tool schema + system
prompt) and each transcript block are marked ``cache_control: ephemeral``, so every later call
reuses the prefix and a repair request (which resends the same transcript) reads it from the
cache instead of paying for it again.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace

from . import schema
from .chunking import ChunkPlan, TokenMeter, plan_chunks
from .client import AnthropicClient, OutputTruncated, Request, ToolCall
from .config import SummarySettings, price_of
from .prompt import MERGE, PROMPT_VERSION, REPAIR, SUMMARIZE, SYSTEM, Pseudonyms, render_partials, render_transcript
from .types import CostEstimate, MalformedSummary, MeetingSummary, Progress, SummaryError, SummaryEvent, TextDelta, TranscriptLine, Usage

__all__ = ["CloudPlan", "CloudSummarizer"]

_CACHE = {"cache_control": {"type": "ephemeral"}}
_MAX_SPLITS = 3  # a chunk whose summary overflows max_tokens is halved at most this deep
_Run = Generator[SummaryEvent, None, tuple[MeetingSummary, Usage]]  # yields events, returns (summary, usage)


@dataclass(frozen=True, slots=True)
class CloudPlan:
    names: Pseudonyms
    chunks: ChunkPlan  # of pseudonymous lines
    turn_ids: frozenset[int]
    estimate: CostEstimate

    @property
    def cached(self) -> bool:
        return len(self.chunks.chunks) > 1


class CloudSummarizer:
    def __init__(self, client: AnthropicClient, model: str, settings: SummarySettings = SummarySettings()):
        self.client = client
        self.model = model
        self.settings = settings
        self.budget = max(min(settings.chunk_tokens, settings.context_tokens - settings.max_output_tokens - 1024), 256)
        self._calls = 0
        self._meter = TokenMeter(client.count_tokens)

    # -- requests ------------------------------------------------------------------------------

    def _request(self, tool: dict, body: str, instruction: str, cache: bool) -> Request:
        mark = _CACHE if cache else {}
        return Request(
            self.model,
            self.settings.max_output_tokens,
            ({"type": "text", "text": SYSTEM, **mark},),
            ({"role": "user", "content": [{"type": "text", "text": body, **mark}, {"type": "text", "text": instruction}]},),
            tool,
        )

    def _chunk_request(self, tool: dict, lines: Sequence[TranscriptLine], part: int, parts: int, cache: bool) -> Request:
        if parts == 1:
            instruction = SUMMARIZE
        else:
            instruction = (
                f"This is part {part} of {parts} of a longer meeting. Summarize this part only; "
                "decisions, action items and questions may be settled in other parts. " + SUMMARIZE
            )
        return self._request(tool, render_transcript(lines), instruction, cache)

    # -- plan ------------------------------------------------------------------------------------

    def plan(self, lines: Sequence[TranscriptLine]) -> CloudPlan:
        """Pseudonymize, count and chunk; the estimate is known before any paid call."""
        if not lines:
            raise SummaryError("the meeting has no transcript text to summarize")
        names = Pseudonyms.of(lines)
        sent = names.apply(lines)
        tool = schema.tool(names.labels)
        self._meter = meter = TokenMeter(self.client.count_tokens)
        chunks = plan_chunks(sent, lambda ls: self._chunk_request(tool, ls, 1, 2, True), meter, self.budget, render_transcript)
        return CloudPlan(names, chunks, frozenset(l.turn_id for l in lines), self._estimate(chunks))

    def _estimate(self, chunks: ChunkPlan) -> CostEstimate:
        """Counted input tokens; output expected at ~15% of each chunk's transcript,
        merges fed with those outputs; ``usd_max`` assumes every call fills ``max_output_tokens``."""
        pin, pout, known = price_of(self.model)
        cap = self.settings.max_output_tokens
        overhead = chunks.overhead
        outs = [min(max(int(0.15 * max(c.tokens - overhead, 0)), 50), cap) for c in chunks.chunks]
        n, inp, out = len(outs), chunks.input_tokens, sum(outs)
        merges = 0
        if n > 1:  # partial summaries in, one summary out; a second level when they overflow a call
            merges = 1 if sum(outs) + overhead <= self.budget else math.ceil(sum(outs) / (self.budget * 0.9)) + 1
            inp += sum(outs) * (1 if merges == 1 else 2) + overhead * merges
            out += min(cap, int(0.6 * sum(outs))) * merges
        calls = n + merges
        cache_write = 0.25 * chunks.input_tokens if n > 1 else 0.0  # writing the cache costs 25% more
        usd = (inp * pin + out * pout) / 1e6
        usd_max = ((inp + cache_write) * pin + calls * cap * pout) / 1e6
        return CostEstimate(self.model, calls, n, inp, out, round(usd, 4), round(max(usd_max, usd), 4), chunks.counted, known)

    # -- run -------------------------------------------------------------------------------------

    def run(self, plan: CloudPlan, *, stream: bool = False) -> _Run:
        """Yields progress (and streamed text); returns the summary with real names, and the usage."""
        names, tool, cache = plan.names, schema.tool(plan.names.labels), plan.cached
        usage = Usage()
        chunks = [(list(c.lines), 0) for c in plan.chunks.chunks]
        parts: list[MeetingSummary] = []
        total = len(chunks)
        while chunks:
            lines, depth = chunks.pop(0)
            yield Progress("chunk", len(parts), total, f"part {len(parts) + 1} of {total}")
            request = self._chunk_request(tool, lines, len(parts) + 1, total, cache)
            try:
                part, used = yield from self._summary_call(request, names, {l.turn_id for l in lines}, stream)
            except OutputTruncated:
                if len(lines) < 2 or depth >= _MAX_SPLITS:
                    raise
                mid = len(lines) // 2  # too much to say about this chunk in one answer: halve it
                chunks[:0] = [(lines[:mid], depth + 1), (lines[mid:], depth + 1)]
                total += 1
                continue
            usage += used
            parts.append(part)
        yield Progress("chunk", total, total)
        summary, used = yield from self._merge(parts, names, plan.turn_ids, tool, stream)
        usage += used
        return names.restore_summary(replace(summary, model=self.model, prompt_version=PROMPT_VERSION)), usage

    def _merge(self, parts: list[MeetingSummary], names: Pseudonyms, turn_ids: frozenset[int], tool: dict, stream: bool) -> _Run:
        """Merge partial summaries, in groups that fit the budget, level by level, until one is left."""
        usage = Usage()
        level = 0
        while len(parts) > 1:
            level += 1
            whole = self._meter(self._request(tool, render_partials([schema.to_tool_input(p) for p in parts]), MERGE, cache=True))
            groups = 1 if whole <= self.budget else math.ceil(whole / (self.budget * 0.9))
            size = max(2, math.ceil(len(parts) / groups))
            merged: list[MeetingSummary] = []
            for g in range(0, len(parts), size):
                group = parts[g : g + size]
                if len(group) == 1:
                    merged.append(group[0])
                    continue
                yield Progress("merge", g // size, math.ceil(len(parts) / size), f"merging {len(group)} parts (level {level})")
                body = render_partials([schema.to_tool_input(p) for p in group])
                request = self._request(tool, body, MERGE, cache=True)
                part, used = yield from self._summary_call(request, names, turn_ids, stream)
                usage += used
                merged.append(part)
            parts = merged
        return parts[0], usage

    def _summary_call(self, request: Request, names: Pseudonyms, turn_ids: set[int] | frozenset[int], stream: bool) -> _Run:
        """One tool call, validated; a malformed answer is sent back once with the problems."""
        usage = Usage()
        try:
            call = yield from self._send(request, stream)
        except MalformedSummary:  # no tool call at all (should not happen with a forced tool): ask again
            call = yield from self._send(request, stream)
        usage += call.usage
        try:
            return schema.validate(call.input, names=names, turn_ids=turn_ids, model=self.model, prompt_version=PROMPT_VERSION), usage
        except MalformedSummary as first:
            problems = "\n".join(f"- {p}" for p in first.problems)
            yield Progress("repair", 0, 1, first.problems[0] if first.problems else "")
            given = call.input if isinstance(call.input, dict) else {"value": call.input}
            history = (
                {"role": "assistant", "content": [{"type": "tool_use", "id": call.tool_use_id, "name": schema.TOOL_NAME, "input": given}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.tool_use_id, "is_error": True, "content": REPAIR.format(problems=problems)}]},
            )
            again = yield from self._send(replace(request, messages=request.messages + history), stream)
            usage += again.usage
            try:
                return schema.validate(again.input, names=names, turn_ids=turn_ids, model=self.model, prompt_version=PROMPT_VERSION), usage
            except MalformedSummary as second:
                raise MalformedSummary(f"the model's summary was still malformed after a repair request ({second.problems[0]})", second.problems) from second

    def _send(self, request: Request, stream: bool) -> Generator[SummaryEvent, None, ToolCall]:
        self._calls += 1
        call_no = self._calls
        gen = self.client.call(request, stream=stream)
        while True:
            try:
                text, is_json = next(gen)
            except StopIteration as done:
                return done.value
            yield TextDelta(text, call_no, is_json)
