"""Summaries through the Anthropic Messages API (official SDK), done carefully.

* model by tier: a cheaper model for batch imports, a stronger one on demand;
* structured output through a forced tool call, validated by :func:`model.parse_summary`;
* long meetings: chunk-then-merge within a token budget counted by the API's own
  ``count_tokens`` (a characters/3.5 estimate only when counting is unavailable);
* retries with exponential backoff on 429 (honouring ``retry-after``), 5xx, timeouts and
  dropped connections (the SDK's retry loop), then one clear error;
* prompt caching on the transcript block, streaming of text for a UI, a cost estimate;
* speaker names pseudonymized before sending and restored after. The API key is read from
  the environment or the OS keyring and is never logged or stored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .model import TOOL, MeetingSummary, SummaryError, parse_summary
from .transcript import Line, pseudonymize, render_lines, restore

TIERS = {"batch": "claude-haiku-4-5", "strong": "claude-sonnet-4-5"}
#: USD per million tokens (input, output); used only for the estimate shown before a run
PRICES = {"claude-haiku-4-5": (1.0, 5.0), "claude-sonnet-4-5": (3.0, 15.0), "claude-opus-4-1": (15.0, 75.0)}
KEYRING_SERVICE, KEYRING_USER = "parley", "anthropic_api_key"

SYSTEM = (
    "You summarize meeting transcripts. Each line is `[t<turn id> mm:ss] <speaker>: <text>`. "
    "For every speaker: what they said, their positions, their commitments and their open questions. "
    "For the meeting: decisions, and action items with owner (a speaker) and due date only when stated. "
    "Cite the turn ids each item comes from. Use only what the transcript says. Call record_summary."
)
MERGE = (
    "These are partial summaries of consecutive parts of one meeting, as JSON. Merge them into one summary of the "
    "whole meeting: combine each speaker's entries, remove repeats, keep turn ids. Call record_summary."
)


def api_key() -> str | None:
    """ANTHROPIC_API_KEY, else the OS keyring; None when neither has one (keyring errors included)."""
    key = os.environ.get("ANTHROPIC_API_KEY")
    if key:
        return key
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception:  # no keyring backend on this machine
        return None


def model_for(tier_or_name: str | None) -> str:
    name = tier_or_name or os.environ.get("PARLEY_SUMMARY_MODEL") or "batch"
    return TIERS.get(name, name)


@dataclass(frozen=True, slots=True)
class CloudConfig:
    model: str = TIERS["batch"]
    base_url: str | None = None  # None: the SDK's default (or ANTHROPIC_BASE_URL)
    timeout: float = 60.0
    max_retries: int = 4
    max_output_tokens: int = 4096
    chunk_tokens: int = 60_000  # transcript tokens per call before chunk-then-merge


@dataclass(frozen=True, slots=True)
class CostEstimate:
    input_tokens: int
    calls: int
    usd: float


class CloudSummarizer:
    def __init__(self, key: str, config: CloudConfig = CloudConfig()):
        import anthropic

        self.config = config
        self.client = anthropic.Anthropic(api_key=key, base_url=config.base_url, timeout=config.timeout, max_retries=config.max_retries)
        self.calls = 0

    # -- tokens ----------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        import anthropic

        try:
            r = self.client.messages.count_tokens(model=self.config.model, system=SYSTEM, messages=[{"role": "user", "content": text}])
            return int(r.input_tokens)
        except (anthropic.APIError, ValueError, TypeError):
            return int(len(text) / 3.5) + 1

    def chunks(self, lines: Sequence[Line]) -> list[list[Line]]:
        """Consecutive groups of lines whose rendered text fits ``chunk_tokens`` each."""
        total = self.count_tokens(render_lines(lines))
        if total <= self.config.chunk_tokens:
            return [list(lines)]
        per_char = total / max(len(render_lines(lines)), 1)
        out, cur, cur_tokens = [], [], 0.0
        for l in lines:
            t = (len(l.text) + 20) * per_char
            if cur and cur_tokens + t > self.config.chunk_tokens:
                out.append(cur)
                cur, cur_tokens = [], 0.0
            cur.append(l)
            cur_tokens += t
        if cur:
            out.append(cur)
        return out

    def estimate(self, lines: Sequence[Line]) -> CostEstimate:
        tokens = self.count_tokens(render_lines(lines))
        calls = len(self.chunks(lines))
        calls += 1 if calls > 1 else 0
        pin, pout = PRICES.get(self.config.model, (3.0, 15.0))
        usd = (tokens * pin + calls * self.config.max_output_tokens * pout) / 1e6
        return CostEstimate(tokens, calls, round(usd, 4))

    # -- calls -------------------------------------------------------------------------------

    def _call(self, text: str, instruction: str, on_text: Callable[[str], None] | None) -> dict:
        import anthropic

        content = [{"type": "text", "text": text}, {"type": "text", "text": instruction}]
        if len(text) > 4000:  # long enough to be cacheable: later calls on this transcript reuse it
            content[0]["cache_control"] = {"type": "ephemeral"}
        kwargs = dict(
            model=self.config.model,
            max_tokens=self.config.max_output_tokens,
            system=SYSTEM,
            messages=[{"role": "user", "content": content}],
            tools=[TOOL],
            tool_choice={"type": "tool", "name": TOOL["name"]},
        )
        self.calls += 1
        try:
            if on_text is None:
                msg = self.client.messages.create(**kwargs)
            else:
                with self.client.messages.stream(**kwargs) as stream:
                    for event in stream:
                        if event.type == "text":
                            on_text(event.text)
                        elif event.type == "input_json":
                            on_text(event.partial_json)
                    msg = stream.get_final_message()
        except anthropic.APITimeoutError as exc:
            raise SummaryError(f"the summaries API timed out after {self.config.max_retries + 1} tries") from exc
        except anthropic.APIConnectionError as exc:
            raise SummaryError("the summaries API cannot be reached (offline?)") from exc
        except anthropic.RateLimitError as exc:
            raise SummaryError("the summaries API is rate-limiting this key; try again later") from exc
        except anthropic.AuthenticationError as exc:
            raise SummaryError("the Anthropic API key was refused") from exc
        except anthropic.APIStatusError as exc:
            raise SummaryError(f"the summaries API failed with HTTP {exc.status_code}") from exc
        except (anthropic.APIError, json.JSONDecodeError, ValueError) as exc:
            raise SummaryError(f"the summaries API sent a response that could not be read ({type(exc).__name__})") from exc
        for block in msg.content:
            if getattr(block, "type", "") == "tool_use" and block.name == TOOL["name"]:
                if not isinstance(block.input, dict):
                    raise SummaryError("the summaries API returned a malformed summary")
                return block.input
        raise SummaryError("the summaries API did not return a structured summary")

    def summarize(self, lines: Sequence[Line], on_text: Callable[[str], None] | None = None) -> MeetingSummary:
        pseudo, mapping = pseudonymize(lines)
        valid = {l.turn_id for l in lines}
        chunks = self.chunks(pseudo)
        parts = [self._call(render_lines(c), "Summarize this meeting transcript.", on_text) for c in chunks]
        data = parts[0] if len(parts) == 1 else self._call(json.dumps(parts, ensure_ascii=False), MERGE, on_text)
        return restore(parse_summary(data, valid_turns=valid, model=self.config.model, local=False), mapping)
