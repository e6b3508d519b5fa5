"""The Anthropic Messages API through the official SDK: one forced tool call per request,
streamed or not, token counting, and one clear error when the SDK's retries are used up.

Retries are the SDK's (``max_retries``): exponential backoff with jitter on 408/409/429/5xx,
timeouts and dropped connections, honouring ``retry-after`` / ``retry-after-ms``. What is left
after them becomes a :class:`CloudUnavailable` that says what happened, never the key.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass

from .config import ApiKey
from .types import CloudUnavailable, MalformedSummary, SummaryError, Usage

__all__ = ["Request", "ToolCall", "AnthropicClient", "OutputTruncated", "TokenCountUnavailable"]

log = logging.getLogger(__name__)


class OutputTruncated(SummaryError):
    """The answer hit max_tokens before the tool input was complete."""


class TokenCountUnavailable(Exception):
    """The token counting endpoint could not be used (the caller estimates instead)."""


@dataclass(frozen=True, slots=True)
class Request:
    """One Messages API request. The block lists are the API's own JSON shapes."""

    model: str
    max_tokens: int
    system: tuple[dict, ...]
    messages: tuple[dict, ...]
    tool: dict

    def params(self) -> dict:
        return {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": list(self.system),
            "messages": list(self.messages),
            "tools": [self.tool],
            "tool_choice": {"type": "tool", "name": self.tool["name"]},
        }


@dataclass(frozen=True, slots=True)
class ToolCall:
    tool_use_id: str
    input: object  # the tool input as the model sent it; schema.validate checks it
    usage: Usage


class AnthropicClient:
    def __init__(self, key: ApiKey, *, base_url: str | None = None, timeout: float = 120.0, max_retries: int = 3):
        import anthropic

        self.max_retries = max_retries
        self.timeout = timeout
        self._sdk = anthropic.Anthropic(api_key=key.value, base_url=base_url, timeout=timeout, max_retries=max_retries)

    def __repr__(self) -> str:
        return f"AnthropicClient(base_url={self.base_url!r}, timeout={self.timeout}, max_retries={self.max_retries})"

    @property
    def base_url(self) -> str:
        return str(self._sdk.base_url)

    def count_tokens(self, request: Request) -> int:
        """Input tokens of ``request`` by the API's counter (``messages.count_tokens``)."""
        import anthropic

        p = request.params()
        p.pop("max_tokens")
        try:
            return int(self._sdk.with_options(max_retries=min(self.max_retries, 1)).messages.count_tokens(**p).input_tokens)
        except (anthropic.APIError, ValueError, TypeError, AttributeError) as exc:
            log.info("token counting unavailable (%s); estimating from characters", type(exc).__name__)
            raise TokenCountUnavailable(type(exc).__name__) from exc

    def call(self, request: Request, *, stream: bool) -> Generator[tuple[str, bool], None, ToolCall]:
        """Send ``request``; yields ``(text, is_json)`` deltas when streaming; returns the tool call."""
        import anthropic

        log.debug("messages request: model=%s, %d message(s), stream=%s", request.model, len(request.messages), stream)
        try:
            if stream:
                with self._sdk.messages.stream(**request.params()) as s:
                    for event in s:
                        if event.type == "input_json":
                            yield event.partial_json, True
                        elif event.type == "text":
                            yield event.text, False
                    msg = s.get_final_message()
            else:
                msg = self._sdk.messages.create(**request.params())
        except anthropic.APIError as exc:
            raise self._failure(exc) from exc
        except Exception as exc:  # inside the SDK: a body or event stream that is not JSON, or cut off
            raise CloudUnavailable(f"the Anthropic API sent a response that could not be read ({type(exc).__name__})") from exc
        u = msg.usage
        usage = Usage(
            int(u.input_tokens or 0), int(u.output_tokens or 0),
            int(getattr(u, "cache_creation_input_tokens", 0) or 0), int(getattr(u, "cache_read_input_tokens", 0) or 0), 1,
        )
        if msg.stop_reason == "max_tokens":
            raise OutputTruncated(f"the summary was cut off at max_tokens={request.max_tokens}")
        for block in msg.content:
            if getattr(block, "type", "") == "tool_use" and block.name == request.tool["name"]:
                return ToolCall(block.id, block.input, usage)
        raise MalformedSummary("the model answered without calling record_summary", ("no record_summary tool call",))

    def _failure(self, exc: Exception) -> CloudUnavailable:
        import anthropic

        tries = f"after {self.max_retries + 1} {'try' if self.max_retries == 0 else 'tries'}"
        if isinstance(exc, anthropic.APITimeoutError):
            return CloudUnavailable(f"the Anthropic API timed out {tries} ({self.timeout:g} s each)")
        if isinstance(exc, anthropic.APIConnectionError):
            return CloudUnavailable(f"cannot reach the Anthropic API at {self.base_url} (offline?) {tries}")
        if isinstance(exc, anthropic.AuthenticationError):
            return CloudUnavailable("the Anthropic API refused the API key (HTTP 401)")
        if isinstance(exc, anthropic.PermissionDeniedError):
            return CloudUnavailable("this Anthropic API key may not use that model (HTTP 403)")
        if isinstance(exc, anthropic.NotFoundError):
            return CloudUnavailable("the Anthropic API does not know that model (HTTP 404); try --model batch or strong")
        if isinstance(exc, anthropic.RateLimitError):
            wait = exc.response.headers.get("retry-after")
            return CloudUnavailable(f"the Anthropic API is rate-limiting this key (HTTP 429) {tries}" + (f"; it asks to wait {wait} s" if wait else ""))
        if isinstance(exc, anthropic.APIStatusError):
            if exc.status_code >= 500:
                return CloudUnavailable(f"the Anthropic API failed (HTTP {exc.status_code}) {tries}")
            return CloudUnavailable(f"the Anthropic API rejected the request (HTTP {exc.status_code}): {_message(exc)}")
        return CloudUnavailable(f"the Anthropic API sent a response that could not be read ({type(exc).__name__})")


def _message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))[:200]
    return type(exc).__name__
