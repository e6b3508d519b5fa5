"""Summaries from a local LLM server the user already runs — Ollama, llama.cpp's ``llama-server``,
LM Studio, vLLM — through their OpenAI-compatible chat API (``/v1/chat/completions``,
``/v1/models``). The transcript never leaves the machine: only loopback servers are used unless
``PARLEY_LLM_ALLOW_REMOTE=1``.

Everything else is the cloud path's (:mod:`summaries.cloud`): the same pseudonyms, prompt, JSON
schema, validation, one repair request, chunking of long meetings and merging. This module only
translates one request: the record_summary tool's schema becomes a JSON-schema
``response_format`` (servers that refuse it are asked for a JSON object, then for plain text
holding JSON), and the model's JSON answer — from ``tool_calls`` or from the message text,
fenced or after a ``<think>`` block — becomes the tool call the cloud path expects.
Standard library HTTP only (urllib), streamed by default so a slow model is not mistaken for a
dead server.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import replace

from .chunking import estimate_tokens
from .client import OutputTruncated, Request, ToolCall
from .cloud import CloudSummarizer
from .config import SummarySettings
from .types import CloudUnavailable, CostEstimate, MalformedSummary, SummaryError, Usage

__all__ = ["DEFAULT_URL", "LocalLLMClient", "LocalLLMSummarizer", "LLMUnavailable", "check_url"]

log = logging.getLogger(__name__)

#: Ollama's OpenAI-compatible endpoint (llama.cpp's server: http://127.0.0.1:8080/v1, LM Studio: http://127.0.0.1:1234/v1)
DEFAULT_URL = "http://127.0.0.1:11434/v1"
_JSON_RULE = (
    "\n\nAnswer with one JSON object and nothing else: the input of the record_summary tool, "
    "matching this JSON schema exactly:\n{schema}"
)
_JSON_BRIEF = (
    "\n\nAnswer with one JSON object and nothing else: the input of the record_summary tool, with keys "
    '"speakers" (one object per speaker: "speaker", "said", "positions", "commitments", "open_questions"), '
    '"decisions" and "action_items"; every item has "text" and "turn_ids", commitments and action items '
    'also "owner" and "due".'
)
_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


class LLMUnavailable(CloudUnavailable):
    """The local LLM server could not be used (not running, no such model, errors after retries)."""


def check_url(url: str) -> str:
    """The server's base URL (…/v1), refusing hosts off this machine unless explicitly allowed."""
    parsed = urllib.parse.urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SummaryError(f"{url!r} is not a server URL (e.g. {DEFAULT_URL})")
    host = parsed.hostname
    if not _loopback(host) and os.environ.get("PARLEY_LLM_ALLOW_REMOTE", "").strip().lower() not in ("1", "true", "yes", "on"):
        raise SummaryError(
            f"{host} is not this machine: transcripts go only to a local LLM server (localhost); "
            "set PARLEY_LLM_ALLOW_REMOTE=1 to send them to another machine"
        )
    base = url.strip().rstrip("/")
    return base if parsed.path.rstrip("/").endswith("/v1") else base + "/v1"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LocalLLMClient:
    """The OpenAI chat-completions API of a local server, in the interface :class:`CloudSummarizer` uses."""

    def __init__(self, base_url: str, model: str | None = None, *, timeout: float = 120.0, max_retries: int = 2, api_key: str | None = None):
        self.base_url = check_url(base_url)
        self.timeout = timeout
        self.max_retries = max_retries
        self.api_key = api_key or os.environ.get("PARLEY_LLM_API_KEY") or None  # LM Studio / vLLM may ask for one
        self.model = model
        self._formats = ["json_schema", "json_object", "none"]  # what the server accepts, learnt on the way

    def __repr__(self) -> str:
        return f"LocalLLMClient(base_url={self.base_url!r}, model={self.model!r})"

    # -- HTTP ----------------------------------------------------------------------------------

    def _open(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        attempt = 0
        while True:
            try:
                return urllib.request.urlopen(req, timeout=self.timeout)
            except urllib.error.HTTPError as exc:
                if exc.code >= 500 and attempt < self.max_retries:
                    attempt += 1
                    exc.close()
                    time.sleep(min(0.5 * 2**attempt, 8.0))
                    continue
                raise
            except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, (socket.timeout, TimeoutError)):
                    raise LLMUnavailable(f"the local LLM server at {self.base_url} sent nothing for {self.timeout:g} s") from exc
                raise LLMUnavailable(
                    f"cannot reach a local LLM server at {self.base_url} ({reason}): is Ollama, llama-server or LM Studio running?"
                ) from exc

    @staticmethod
    def _error_text(exc: urllib.error.HTTPError) -> str:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            return f"HTTP {exc.code}"
        err = body.get("error", body) if isinstance(body, dict) else body
        msg = err.get("message") if isinstance(err, dict) else err
        return f"HTTP {exc.code}: {str(msg)[:200]}" if msg else f"HTTP {exc.code}"

    # -- models --------------------------------------------------------------------------------

    def list_models(self) -> list[str]:
        """The models the server offers (``GET /v1/models``)."""
        try:
            with self._open("GET", "/models") as resp:
                data = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise LLMUnavailable(f"the local LLM server at {self.base_url} did not list its models ({self._error_text(exc)})") from exc
        except ValueError as exc:
            raise LLMUnavailable(f"the server at {self.base_url} did not answer like an OpenAI-compatible API (GET /models)") from exc
        return [m["id"] for m in data.get("data", []) if isinstance(m, dict) and m.get("id")]

    def resolve_model(self) -> str:
        """The configured model, else the server's first (a server running one model: that one)."""
        if self.model:
            return self.model
        models = self.list_models()
        if not models:
            raise LLMUnavailable(f"the local LLM server at {self.base_url} has no models (e.g. `ollama pull qwen2.5:7b`)")
        self.model = models[0]
        return self.model

    # -- the CloudSummarizer client interface -----------------------------------------------------

    def count_tokens(self, request: Request) -> int:
        """The character estimate of the body actually sent (the schema goes in the prompt as well as
        in ``response_format``); OpenAI-compatible servers have no token counting endpoint."""
        return estimate_tokens(json.dumps(self.chat_body(request, False, self._formats[0]), ensure_ascii=False))

    def chat_body(self, request: Request, stream: bool, fmt: str) -> dict:
        schema = request.tool["input_schema"]
        system = "\n\n".join(b["text"] for b in request.system)
        if fmt == "json_schema":  # the server holds the model to the schema: name its parts, save the context
            system += _JSON_BRIEF
        else:
            system += _JSON_RULE.format(schema=json.dumps(schema, ensure_ascii=False, separators=(",", ":")))
        messages = [{"role": "system", "content": system}]
        for m in request.messages:
            messages.append({"role": m["role"], "content": _text_of(m["content"])})
        body = {
            "model": request.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": 0,
            "stream": stream,
        }
        if fmt == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": request.tool["name"], "schema": schema, "strict": False}}
        elif fmt == "json_object":
            body["response_format"] = {"type": "json_object"}
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def call(self, request: Request, *, stream: bool) -> Generator[tuple[str, bool], None, ToolCall]:
        """Send ``request``; yields ``(text, True)`` deltas when streaming; returns the JSON answer as a tool call."""
        while True:
            fmt = self._formats[0]
            try:
                resp = self._open("POST", "/chat/completions", self.chat_body(request, stream, fmt))
            except urllib.error.HTTPError as exc:
                text = self._error_text(exc)
                if exc.code in (400, 422) and len(self._formats) > 1 and re.search(r"response_format|json_schema|json_object|schema|grammar", text, re.I):
                    log.info("server refused response_format=%s (%s); trying %s", fmt, text, self._formats[1])
                    self._formats.pop(0)
                    continue
                if exc.code == 404:
                    raise LLMUnavailable(f"the local LLM server has no model {request.model!r} ({text})") from exc
                raise LLMUnavailable(f"the local LLM server at {self.base_url} failed: {text}") from exc
            break
        with resp:
            try:
                if stream:
                    content, tool_args, finish, usage = yield from self._read_stream(resp)
                else:
                    content, tool_args, finish, usage = self._read_json(resp)
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise LLMUnavailable(f"the local LLM server sent a response that could not be read ({type(exc).__name__})") from exc
            except (socket.timeout, TimeoutError) as exc:
                raise LLMUnavailable(f"the local LLM server stopped sending for {self.timeout:g} s") from exc
        if finish == "length":
            raise OutputTruncated(f"the summary was cut off at max_tokens={request.max_tokens}")
        raw = tool_args if tool_args else content
        return ToolCall("llm-" + str(int(time.time() * 1000)), _parse_json(raw), usage)

    def _read_json(self, resp):
        data = json.loads(resp.read())
        choice = data["choices"][0]
        msg = choice.get("message") or {}
        calls = msg.get("tool_calls") or []
        tool_args = calls[0]["function"]["arguments"] if calls else ""
        u = data.get("usage") or {}
        return msg.get("content") or "", tool_args, choice.get("finish_reason"), Usage(int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0), 0, 0, 1)

    @staticmethod
    def _read_stream(resp) -> Generator[tuple[str, bool], None, tuple[str, str, str | None, Usage]]:
        content: list[str] = []
        args: list[str] = []
        finish = None
        usage = Usage(0, 0, 0, 0, 1)
        for event in _sse(resp):
            if event == "[DONE]":
                break
            data = json.loads(event)
            if "error" in data:
                raise LLMUnavailable(f"the local LLM server failed while answering: {str(data['error'])[:200]}")
            if data.get("usage"):
                u = data["usage"]
                usage = Usage(int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0), 0, 0, 1)
            for choice in data.get("choices") or ():
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    content.append(delta["content"])
                    yield delta["content"], True
                for tc in delta.get("tool_calls") or ():
                    piece = (tc.get("function") or {}).get("arguments") or ""
                    if piece:
                        args.append(piece)
                        yield piece, True
                finish = choice.get("finish_reason") or finish
        return "".join(content), "".join(args), finish, usage


def _sse(resp) -> Iterator[str]:
    """The ``data:`` payloads of a server-sent event stream."""
    buf: list[str] = []
    for raw in resp:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if buf:
                yield "\n".join(buf)
                buf = []
            continue
        if line.startswith("data:"):
            buf.append(line[5:].lstrip())
    if buf:
        yield "\n".join(buf)


def _text_of(content) -> str:
    """An Anthropic-shaped message content (text, tool_use, tool_result blocks) as chat text."""
    if isinstance(content, str):
        return content
    parts = []
    for b in content:
        kind = b.get("type")
        if kind == "text":
            parts.append(b["text"])
        elif kind == "tool_use":  # the model's earlier answer, in a repair request
            parts.append(json.dumps(b.get("input"), ensure_ascii=False))
        elif kind == "tool_result":
            c = b.get("content")
            parts.append(c if isinstance(c, str) else _text_of(c or []))
    return "\n\n".join(p for p in parts if p)


def _parse_json(raw: str) -> object:
    """The JSON object in a model's answer: bare, fenced, or after a reasoning block."""
    text = _THINK.sub("", raw or "").strip()
    m = _FENCE.match(text)
    if m:
        text = m.group(1)
    try:
        return json.loads(text)
    except ValueError:
        pass
    start, end = text.find("{"), text.rfind("}")
    if start >= 0 and end > start:
        try:
            return json.loads(text[start : end + 1])
        except ValueError:
            pass
    raise MalformedSummary("the model did not answer with a JSON object", ("answer: not a JSON object",))


class LocalLLMSummarizer(CloudSummarizer):
    """The cloud summarizer's plan/run over a local server: no price, a local context budget."""

    def __init__(self, client: LocalLLMClient, settings: SummarySettings = SummarySettings()):
        local = replace(settings, context_tokens=settings.llm_context_tokens, max_output_tokens=min(settings.max_output_tokens, settings.llm_max_output_tokens))
        super().__init__(client, client.resolve_model(), local)

    def _estimate(self, chunks) -> CostEstimate:
        calls = len(chunks.chunks) + (1 if len(chunks.chunks) > 1 else 0)
        return CostEstimate(self.model, calls, len(chunks.chunks), chunks.input_tokens, 0, 0.0, 0.0, False, True)
