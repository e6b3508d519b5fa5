"""Splitting a long meeting into consecutive chunks that each fit the per-call token budget.

Token counts come from the API's counter (``messages.count_tokens``) on the real request, so
the system prompt, the tool schema and the transcript are all counted. Only when counting
fails is a conservative estimate used: characters / 3.5 of the whole request (English runs
near 4 characters per token, so this over-counts).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from .client import Request, TokenCountUnavailable
from .types import SummaryError, TranscriptLine

__all__ = ["estimate_tokens", "TokenMeter", "Chunk", "ChunkPlan", "plan_chunks"]

CHARS_PER_TOKEN = 3.5


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


class TokenMeter:
    """Counts request tokens with ``count`` (the API) until it fails once, then estimates."""

    def __init__(self, count: Callable[[Request], int] | None):
        self._count = count
        self.counted = count is not None

    def __call__(self, request: Request) -> int:
        if self._count is not None:
            try:
                return self._count(request)
            except TokenCountUnavailable:
                self._count = None
                self.counted = False
        return estimate_tokens(json.dumps(request.params(), ensure_ascii=False))


@dataclass(frozen=True, slots=True)
class Chunk:
    lines: tuple[TranscriptLine, ...]
    tokens: int  # input tokens of the whole request for this chunk


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    chunks: tuple[Chunk, ...]
    budget: int
    counted: bool
    overhead: int = 0  # tokens of a request besides its transcript (tool schema, system prompt, instruction)

    @property
    def input_tokens(self) -> int:
        return sum(c.tokens for c in self.chunks)


def _split_long_line(line: TranscriptLine, pieces: int) -> list[TranscriptLine]:
    """A monologue too long for one call, cut into word windows that keep the turn id."""
    words = line.text.split()
    size = max(1, math.ceil(len(words) / pieces))
    return [replace(line, text=" ".join(words[i : i + size])) for i in range(0, len(words), size)]


def plan_chunks(
    lines: Sequence[TranscriptLine],
    build: Callable[[Sequence[TranscriptLine]], Request],
    meter: TokenMeter,
    budget: int,
    render: Callable[[Sequence[TranscriptLine]], str],
) -> ChunkPlan:
    """Consecutive chunks whose requests (``build(chunk)``) each count at most ``budget`` tokens."""
    lines = list(lines)
    whole = meter(build(lines))
    overhead = max(meter(build(lines[:1])) - estimate_tokens(render(lines[:1])), 0) if lines else 0
    if whole <= budget or len(lines) == 0:
        return ChunkPlan((Chunk(tuple(lines), whole),), budget, meter.counted, overhead)
    if overhead > budget * 0.6:
        raise SummaryError(f"a call's token budget ({budget:,}) leaves too little room for the transcript next to the prompt (~{overhead:,} tokens)")

    text_len = max(len(render(lines)), 1)
    per_char = max(whole - overhead, 1) / text_len
    room = max(budget - overhead, 1)

    # greedy packing on per-line estimates scaled to the counted total, 10% headroom
    groups: list[list[TranscriptLine]] = []
    cur: list[TranscriptLine] = []
    used = 0.0
    for line in lines:
        t = (len(render([line])) + 1) * per_char
        if t > room * 0.9:  # one turn longer than a chunk: its own chunks
            if cur:
                groups.append(cur)
                cur, used = [], 0.0
            groups += [[piece] for piece in _split_long_line(line, math.ceil(t / (room * 0.5)))]
            continue
        if cur and used + t > room * 0.9:
            groups.append(cur)
            cur, used = [], 0.0
        cur.append(line)
        used += t
    if cur:
        groups.append(cur)

    # verify each chunk with the meter; halve the ones that still do not fit
    chunks: list[Chunk] = []
    todo = groups[::-1]
    while todo:
        g = todo.pop()
        n = meter(build(g))
        if n <= budget:
            chunks.append(Chunk(tuple(g), n))
        elif len(g) > 1:
            mid = len(g) // 2
            todo += [g[mid:], g[:mid]]
        else:
            halves = _split_long_line(g[0], 2)
            if len(halves) > 1:
                todo += [[h] for h in halves[::-1]]
            else:  # one word over budget: nothing left to split
                chunks.append(Chunk(tuple(g), n))
    return ChunkPlan(tuple(chunks), budget, meter.counted, overhead)
