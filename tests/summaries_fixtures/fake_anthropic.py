"""A small Anthropic Messages API on 127.0.0.1 for the summaries tests.

It speaks the wire format the real ``anthropic`` SDK expects: ``POST /v1/messages`` (a JSON
message with a ``tool_use`` block, or server-sent events when ``stream`` is true) and
``POST /v1/messages/count_tokens``. Each request to /v1/messages takes the next behaviour from
``script`` (default ``ok``): ``429`` (with retry-after), ``500``, ``slow`` (answers after the
client gave up), ``malformed`` (a truncated JSON body), ``bad_tool`` (valid JSON whose tool input
breaks the schema), ``truncated`` (stop_reason max_tokens), ``401``. ``count_script`` does the same
for count_tokens (``ok`` or an HTTP status). The key is checked like the real API does, prompt
caching is simulated (a marked prefix seen before is reported as a cache read), and every request
is recorded.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable

from tests.summaries_fixtures.http import LocalServer, Recorded

LINE = re.compile(r"^\[t(\d+) (\d+:\d\d)\] (Speaker [A-Z]+): (.*)$", re.M)

__all__ = ["FakeAnthropic", "Recorded"]


class FakeAnthropic(LocalServer):
    def __init__(self, key: str = "test-key", slow_seconds: float = 3.0):
        self.key = key
        self.slow_seconds = slow_seconds
        self.script: list[str] = []
        self.count_script: list[str] = []
        self.on_message: Callable[[Recorded], None] | None = None
        self.stream_preamble = ""  # streamed as a text block before the tool call
        self._cache: set[str] = set()
        self._stop = threading.Event()
        super().__init__()

    def respond(self, h, rec: Recorded | None) -> None:
        if rec is None:
            return self._error(h, 400, "invalid_request_error", "invalid JSON body")
        with self._lock:
            script = self.count_script if rec.path.endswith("/count_tokens") else self.script
            behaviour = script.pop(0) if script else "ok"
        self._respond(h, rec, behaviour)

    def close(self) -> None:
        self._stop.set()
        super().close()

    # -- what was asked ------------------------------------------------------------------------

    def messages(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v1/messages"]

    def counts(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v1/messages/count_tokens"]

    @staticmethod
    def key_sent(rec: Recorded) -> str | None:
        """The key as the SDK sends it (``x-api-key``, or ``Authorization: Bearer`` in newer SDKs)."""
        if "x-api-key" in rec.headers:
            return rec.headers["x-api-key"]
        auth = rec.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

    # -- answers -------------------------------------------------------------------------------

    @classmethod
    def _send(cls, h, code: int, payload, headers: tuple[tuple[str, str], ...] = ()) -> None:
        cls.send(h, code, payload, (("request-id", "req_test"), *headers))

    def _error(self, h, code: int, kind: str, message: str, headers=()) -> None:
        self._send(h, code, {"type": "error", "error": {"type": kind, "message": message}}, headers)

    def _respond(self, h, rec: Recorded, behaviour: str) -> None:
        if self.key_sent(rec) != self.key or behaviour == "401":
            return self._error(h, 401, "authentication_error", "invalid x-api-key")
        if rec.path.endswith("/count_tokens"):
            if behaviour != "ok":
                return self._error(h, int(behaviour), "not_found_error", "no token counting here")
            return self._send(h, 200, {"input_tokens": len(json.dumps(rec.body["messages"]) + json.dumps(rec.body.get("system", ""))) // 4 + 50})
        if self.on_message is not None:
            self.on_message(rec)
        if behaviour == "429":
            return self._error(h, 429, "rate_limit_error", "slow down", (("retry-after", "0.05"),))
        if behaviour == "500":
            return self._error(h, 500, "api_error", "internal error")
        if behaviour == "slow":
            self._stop.wait(self.slow_seconds)
            return self._send(h, 200, {})
        if behaviour == "malformed":
            if rec.body.get("stream"):
                self.begin_events(h)
                h.wfile.write(b'event: message_start\ndata: {"type": "message_start", "message": {"id": \n\n')
                return None
            return self._send(h, 200, b'{"id": "msg_x", "type": "message", "content": [{"type": "tool_use", ')
        tool_input = self.answer(rec)
        if behaviour == "bad_tool":
            tool_input = {"speakers": [{"speaker": "Mallory", "said": "everything"}], "decisions": "none"}
        stop = "max_tokens" if behaviour == "truncated" else "tool_use"
        usage = self._usage(rec)
        if rec.body.get("stream"):
            return self._stream(h, rec, tool_input, stop, usage)
        self._send(h, 200, {
            "id": "msg_test", "type": "message", "role": "assistant", "model": rec.body["model"],
            "content": [{"type": "tool_use", "id": f"toolu_{len(self.requests)}", "name": "record_summary", "input": tool_input}],
            "stop_reason": stop, "stop_sequence": None, "usage": usage,
        })

    def _usage(self, rec: Recorded) -> dict:
        """Simulated prompt caching: every marked prefix is written once, then read."""
        read = written = 0
        prefix: list = [rec.body.get("tools")]
        blocks = [("system", b) for b in rec.body.get("system", [])]
        for m in rec.body["messages"]:
            content = m["content"] if isinstance(m["content"], list) else [{"type": "text", "text": m["content"]}]
            blocks += [(m["role"], b) for b in content]
        for role, b in blocks:
            prefix.append([role, {k: v for k, v in b.items() if k != "cache_control"}])
            if "cache_control" in b:
                key = hashlib.sha256(json.dumps(prefix, sort_keys=True).encode()).hexdigest()
                size = len(json.dumps(prefix)) // 4
                with self._lock:
                    if key in self._cache:
                        read = max(read, size)
                    else:
                        self._cache.add(key)
                        written = size - read
        return {"input_tokens": len(rec.text) // 4, "output_tokens": 200, "cache_creation_input_tokens": written, "cache_read_input_tokens": read}

    def _stream(self, h, rec: Recorded, tool_input: dict, stop: str, usage: dict) -> None:
        self.begin_events(h)
        events = [("message_start", {"type": "message_start", "message": {
            "id": "msg_stream", "type": "message", "role": "assistant", "model": rec.body["model"], "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {**usage, "output_tokens": 1}}})]
        index = 0
        if self.stream_preamble:
            events += [
                ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": self.stream_preamble}}),
                ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ]
            index = 1
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": "toolu_stream", "name": "record_summary", "input": {}}}))
        js = json.dumps(tool_input)
        for i in range(0, len(js), 48):
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": js[i : i + 48]}}))
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": index}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": usage["output_tokens"]}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        for name, data in events:
            h.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            h.wfile.flush()
        h.close_connection = True

    # -- a plausible summary from what was sent --------------------------------------------------

    def answer(self, rec: Recorded) -> dict:
        first = rec.body["messages"][0]["content"]
        body = first[0]["text"] if isinstance(first, list) else first
        if rec.is_merge:
            return self._merge(json.loads(body))
        lines = [(int(t), spk, text) for t, _, spk, text in LINE.findall(body)]
        speakers: dict[str, dict] = {}
        decisions, actions = [], []
        for tid, spk, text in lines:
            s = speakers.setdefault(spk, {"speaker": spk, "said": [], "positions": [], "commitments": [], "open_questions": []})
            if not s["said"]:
                s["said"].append({"text": f"{spk} opened with: {text[:60]}", "turn_ids": [tid]})
            if "?" in text:
                s["open_questions"].append({"text": text[:80], "turn_ids": [tid]})
            if "I'll" in text:
                due = "by Friday" if "Friday" in text else None
                s["commitments"].append({"text": text[:80], "turn_ids": [tid], "owner": spk, "due": due})
                actions.append({"text": text[:80], "turn_ids": [tid], "owner": spk, "due": due})
            if "decided" in text or "ship" in text:
                decisions.append({"text": f"{spk}: {text[:60]}", "turn_ids": [tid, 999999]})
        names = sorted(speakers)
        if len(names) > 1 and lines:
            speakers[names[0]]["positions"].append({"text": f"{names[0]} agreed with {names[1]}", "turn_ids": [lines[0][0]]})
        return {"speakers": list(speakers.values()), "decisions": decisions, "action_items": actions}

    @staticmethod
    def _merge(parts: list[dict]) -> dict:
        speakers: dict[str, dict] = {}
        out = {"decisions": [], "action_items": []}
        for p in parts:
            for s in p["speakers"]:
                m = speakers.setdefault(s["speaker"], {"speaker": s["speaker"], "said": [], "positions": [], "commitments": [], "open_questions": []})
                for k in ("said", "positions", "commitments", "open_questions"):
                    m[k] += s.get(k, [])
            out["decisions"] += p["decisions"]
            out["action_items"] += p["action_items"]
        return {"speakers": list(speakers.values()), **out}
