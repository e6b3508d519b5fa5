"""A small local LLM server on 127.0.0.1 speaking the OpenAI-compatible chat API that Ollama,
llama.cpp's llama-server and LM Studio serve: ``GET /v1/models`` and ``POST /v1/chat/completions``
(a ``chat.completion`` object, or ``chat.completion.chunk`` server-sent events ending in
``data: [DONE]`` when ``stream`` is true, with a usage chunk when ``stream_options.include_usage``).

Its "model" reads the request as a real one would have to: the JSON schema from the system
message or ``response_format``, the transcript lines (``[t12 00:03] Speaker A: text``) or the
partial summaries of a merge request from the user message, and writes a summary from them
(first words of each speaker, their questions, "I'll …" commitments, "decided" sentences). It
never sees what a test asserts. Requests are validated like the servers do (unknown model: 404
in Ollama's words; a ``response_format`` type the server does not support: 400).

Knobs: ``models``; ``formats`` (the response_format types accepted; llama-server-like servers
without json_schema: ``{"json_object"}``); ``style`` of the answer text (``json``, ``fenced``,
``think``); ``script``, one behaviour per chat request (``ok``, ``500``, ``prose`` — an answer
that is not JSON, ``length`` — cut off at max_tokens, ``bad_schema`` — JSON that breaks the schema).
"""

from __future__ import annotations

import json
import re
import time

from tests.summaries_fixtures.http import LocalServer, Recorded

LINE = re.compile(r"^\[t(\d+) (\d+:\d\d)\] (Speaker [A-Z]+): (.*)$", re.M)

__all__ = ["LocalLLMServer", "Recorded"]


class LocalLLMServer(LocalServer):
    prefix = "/v1"

    def __init__(self, models: tuple[str, ...] = ("qwen2.5:7b-instruct", "llama3.2:3b"), formats: frozenset[str] = frozenset({"json_schema", "json_object"})):
        self.models = list(models)
        self.formats = set(formats)
        self.style = "json"
        self.script: list[str] = []
        super().__init__()

    def respond(self, h, rec: Recorded | None) -> None:
        if h.command == "GET":
            if h.path.split("?")[0].rstrip("/") == "/v1/models":
                now = int(time.time())
                return self.send(h, 200, {"object": "list", "data": [{"id": m, "object": "model", "created": now, "owned_by": "library"} for m in self.models]})
            return self.send(h, 404, {"error": {"message": "404 page not found", "type": "not_found"}})
        if rec is None:
            return self._error(h, 400, "invalid_request_error", "invalid JSON body")
        if rec.path != "/v1/chat/completions":
            return self._error(h, 404, "not_found", "404 page not found")
        self._chat(h, rec.body)

    def chats(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    def _error(self, h, code: int, kind: str, message: str) -> None:
        self.send(h, code, {"error": {"message": message, "type": kind, "param": None, "code": None}})

    # -- chat completions ----------------------------------------------------------------------------

    def _chat(self, h, body: dict) -> None:
        model = body.get("model")
        if model not in self.models:
            return self._error(h, 404, "api_error", f'model "{model}" not found, try pulling it first')
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) and m.get("role") in ("system", "user", "assistant") and isinstance(m.get("content"), str) for m in messages):
            return self._error(h, 400, "invalid_request_error", "messages: each needs a role and string content")
        fmt = (body.get("response_format") or {}).get("type")
        if fmt and fmt not in self.formats:
            return self._error(h, 400, "invalid_request_error", f"response_format type {fmt!r} is not supported")
        with self._lock:
            behaviour = self.script.pop(0) if self.script else "ok"
        if behaviour == "500":
            return self._error(h, 500, "api_error", "llama runner process has terminated")
        schema = self._schema(body, messages)
        user = next(m["content"] for m in messages if m["role"] == "user")
        summary = self._merge(user) if "Merge them into one summary" in user else self._summarize(user, schema)
        if behaviour == "bad_schema":
            summary = {"speakers": [{"speaker": "Mallory"}], "decisions": "none"}
        text = json.dumps(summary)
        if behaviour == "prose":
            text = "Here is a summary of the meeting: the speakers discussed the release."
        elif self.style == "fenced":
            text = f"```json\n{json.dumps(summary, indent=2)}\n```"
        elif self.style == "think":
            text = f"<think>The user wants JSON. Speakers: {', '.join(s['speaker'] for s in summary.get('speakers', []))}.</think>\n{text}"
        finish = "stop"
        limit = int(body.get("max_tokens") or 1 << 30)
        if behaviour == "length":
            text, finish = text[: len(text) // 2], "length"
        elif len(text) // 4 > limit:
            text, finish = text[: limit * 4], "length"
        usage = {"prompt_tokens": sum(len(m["content"]) for m in messages) // 4, "completion_tokens": len(text) // 4}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if body.get("stream"):
            return self._stream(h, model, text, finish, usage if (body.get("stream_options") or {}).get("include_usage") else None)
        self.send(h, 200, {
            "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": model,
            "system_fingerprint": "fp_local",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": usage,
        })

    def _stream(self, h, model: str, text: str, finish: str, usage: dict | None) -> None:
        self.begin_events(h)

        def chunk(delta: dict, reason: str | None) -> dict:
            return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                    "system_fingerprint": "fp_local", "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}

        events = [chunk({"role": "assistant", "content": ""}, None)]
        events += [chunk({"content": text[i : i + 40]}, None) for i in range(0, len(text), 40)]
        events.append(chunk({}, finish))
        if usage is not None:
            events.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": int(time.time()), "model": model, "choices": [], "usage": usage})
        for e in events:
            h.wfile.write(f"data: {json.dumps(e)}\n\n".encode())
            h.wfile.flush()
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()

    # -- the "model" ---------------------------------------------------------------------------------

    @staticmethod
    def _schema(body: dict, messages: list[dict]) -> dict:
        rf = body.get("response_format") or {}
        if rf.get("type") == "json_schema":
            return rf["json_schema"]["schema"]
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        start = system.find("{", system.find("JSON schema"))
        return json.loads(system[start:]) if start >= 0 else {}

    @staticmethod
    def _summarize(user: str, schema: dict) -> dict:
        allowed = set(schema["properties"]["speakers"]["items"]["properties"]["speaker"]["enum"])
        lines = [(int(t), spk, text) for t, _, spk, text in LINE.findall(user) if spk in allowed]
        speakers: dict[str, dict] = {}
        decisions, actions = [], []
        for tid, spk, text in lines:
            s = speakers.setdefault(spk, {"speaker": spk, "said": [], "positions": [], "commitments": [], "open_questions": []})
            if not s["said"]:
                s["said"].append({"text": f"{spk} said: {text[:60]}", "turn_ids": [tid]})
            if "?" in text:
                s["open_questions"].append({"text": text[:80], "turn_ids": [tid]})
            if "I'll" in text:
                due = "by Friday" if "Friday" in text else None
                s["commitments"].append({"text": text[:80], "turn_ids": [tid], "owner": spk, "due": due})
                actions.append({"text": text[:80], "turn_ids": [tid], "owner": spk, "due": due})
            if "decided" in text:
                decisions.append({"text": f"{spk}: {text[:60]}", "turn_ids": [tid]})
        return {"speakers": list(speakers.values()), "decisions": decisions, "action_items": actions}

    @staticmethod
    def _merge(user: str) -> dict:
        parts = json.loads(user.split("\n\n", 1)[0])
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
