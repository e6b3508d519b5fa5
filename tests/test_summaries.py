"""Summaries against a real HTTP server on localhost speaking the Messages API wire format,
with the real `anthropic` client pointed at it; and the offline fallback on real transcripts."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from meetings.types import AttributedWord, AudioInfo, PipelineOptions, Turn, Word
from summaries.cloud import CloudConfig, CloudSummarizer
from summaries.local import summarize_local
from summaries.model import SummaryError, parse_summary
from summaries.service import summarize_meeting
from summaries.transcript import Line

from .conftest import EVAL

KEY = "sk-test-SECRET-KEY-123"


class FakeAnthropic:
    """Scripted Messages API: each request pops the next behaviour (default 'ok')."""

    def __init__(self):
        self.script: list[str] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])) or b"{}")
                with outer.lock:
                    outer.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                    behaviour = outer.script.pop(0) if (outer.script and not self.path.endswith("count_tokens")) else "ok"
                try:
                    outer.respond(self, behaviour, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages(self):
        return [r for r in self.requests if r["path"] == "/v1/messages"]

    @staticmethod
    def summary_for(body: dict) -> dict:
        text = " ".join(c["text"] for c in body["messages"][0]["content"])
        speakers = sorted(set(re.findall(r"\] (Speaker [A-Z]+):", text))) or sorted(set(re.findall(r"Speaker [A-Z]+", text)))
        turns = [int(t) for t in re.findall(r"\[t(\d+) ", text)] or [int(t) for t in re.findall(r'"turn_ids": \[(\d+)', text)]
        return {
            "speakers": [{"speaker": s, "said": [{"text": f"{s} proposed shipping", "turn_ids": turns[:1]}], "commitments": []} for s in speakers],
            "decisions": [{"text": "Ship on Friday", "turn_ids": turns[:1]}],
            "action_items": [{"text": "Write release notes", "turn_ids": turns[-1:], "owner": speakers[0] if speakers else None, "due": "Friday"}],
        }

    def respond(self, h, behaviour: str, body: dict) -> None:
        def send(code, payload, headers=()):
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            h.send_response(code)
            h.send_header("content-type", "application/json")
            for k, v in headers:
                h.send_header(k, v)
            h.send_header("content-length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)

        if h.path.endswith("/count_tokens"):
            return send(200, {"input_tokens": len(json.dumps(body)) // 4})
        if behaviour == "429":
            return send(429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}, [("retry-after", "0")])
        if behaviour == "500":
            return send(500, {"type": "error", "error": {"type": "api_error", "message": "boom"}})
        if behaviour == "slow":
            time.sleep(2.0)
            return send(200, {})
        if behaviour == "malformed":
            return send(200, b'{"id": "msg_1", "content": [ {"type": "tool_use", ')
        tool_input = self.summary_for(body)
        if body.get("stream"):
            events = [
                ("message_start", {"type": "message_start", "message": {"id": "msg_s", "type": "message", "role": "assistant", "model": body["model"], "content": [], "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
                ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_s", "name": "record_summary", "input": {}}}),
            ]
            js = json.dumps(tool_input)
            for i in range(0, len(js), 40):
                events.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": js[i : i + 40]}}))
            events += [
                ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 30}}),
                ("message_stop", {"type": "message_stop"}),
            ]
            h.send_response(200)
            h.send_header("content-type", "text/event-stream")
            h.end_headers()
            for name, data in events:
                h.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                h.wfile.flush()
            return
        send(200, {
            "id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "record_summary", "input": tool_input}],
            "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 20},
        })


@pytest.fixture
def api():
    srv = FakeAnthropic()
    yield srv
    srv.server.shutdown()


@pytest.fixture
def meeting(store):
    turns = [
        Turn("A", 0.0, 3.0, tuple(AttributedWord(Word(i * 0.5, i * 0.5 + 0.4, " " + w, 0.9), "A") for i, w in enumerate("I'll write the release notes by Friday .".split()))),
        Turn("B", 3.5, 6.0, tuple(AttributedWord(Word(3.5 + i * 0.5, 3.9 + i * 0.5, " " + w, 0.9), "B") for i, w in enumerate("Can we ship on Friday ?".split()))),
    ]
    info = AudioInfo("/x.wav", "sha-s", 6.0, 16000, 1, "pcm", "wav")
    mid = store.begin_meeting("Release", info, "/x.wav", PipelineOptions(), "tiny.en", "embedded")
    store.save_result(mid, speakers=("A", "B"), centroids=None, turns=turns, language="en")
    spk = store.speakers(mid)
    store.rename_speaker(spk[0].id, "Alice Real")
    store.rename_speaker(spk[1].id, "Bob Real")
    return mid


def cfg(api, **kw):
    return CloudConfig(base_url=api.url, timeout=kw.pop("timeout", 5.0), max_retries=kw.pop("max_retries", 2), **kw)


def test_cloud_summary_is_stored_with_provenance_and_names_never_leave(store, meeting, api, monkeypatch, caplog):
    monkeypatch.setenv("PARLEY_CLOUD_SUMMARIES", "1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    estimates = []
    run = summarize_meeting(store, meeting, config=cfg(api), on_estimate=estimates.append)
    assert run.note == "" and not run.summary.local
    assert estimates and estimates[0].calls == 1 and estimates[0].input_tokens > 0 and estimates[0].usd > 0
    sent = json.dumps([r["body"] for r in api.messages()])
    assert "Alice Real" not in sent and "Bob Real" not in sent and "Speaker A" in sent
    assert {s.speaker for s in run.summary.speakers} == {"Alice Real", "Bob Real"}
    assert run.summary.action_items[0].owner == "Alice Real"
    # the tool call was forced and the transcript block is marked for caching only when long
    body = api.messages()[0]["body"]
    assert body["tool_choice"] == {"type": "tool", "name": "record_summary"}
    rows = store.summaries(meeting)
    meeting_row = next(r for r in rows if r.kind == "meeting")
    assert meeting_row.model == "claude-haiku-4-5" and meeting_row.transcript_revision == store.revision(meeting) and not meeting_row.local
    assert {r.kind for r in rows} == {"meeting", "speaker"}
    assert "[00:00]" in run.markdown and "Ship on Friday" in run.markdown
    # the key is never stored, never logged
    dump = "\n".join(store.conn.iterdump())
    assert KEY not in dump and KEY not in caplog.text
    headers = {k.lower(): v for k, v in api.requests[0]["headers"].items()}
    assert KEY in (headers.get("x-api-key", ""), headers.get("authorization", "").removeprefix("Bearer ")), sorted(headers)


def test_streaming_delivers_partial_json(meeting, store, api):
    chunks = []
    s = CloudSummarizer(KEY, cfg(api))
    lines = [Line(t.id, t.speaker_name, t.start, t.text) for t in store.turns(meeting)]
    summary = s.summarize(lines, on_text=chunks.append)
    assert len(chunks) > 1 and json.loads("".join(chunks))["decisions"]
    assert summary.decisions[0].text == "Ship on Friday"


def test_retries_on_429_and_500(meeting, store, api):
    api.script = ["429", "500", "ok"]
    s = CloudSummarizer(KEY, cfg(api, max_retries=3))
    lines = [Line(t.id, t.speaker_name, t.start, t.text) for t in store.turns(meeting)]
    assert s.summarize(lines).speakers
    assert len(api.messages()) == 3


def test_timeout_and_malformed_fall_back_to_local(store, meeting, api, monkeypatch, capsys):
    monkeypatch.setenv("PARLEY_CLOUD_SUMMARIES", "1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    api.script = ["slow", "slow"]
    run = summarize_meeting(store, meeting, config=cfg(api, timeout=0.5, max_retries=1))
    assert run.summary.local and "timed out" in run.note
    assert len(api.messages()) == 2
    api.script = ["malformed", "malformed"]
    run = summarize_meeting(store, meeting, config=cfg(api, max_retries=1))
    assert run.summary.local and "could not be read" in run.note


def test_long_meeting_is_chunked_then_merged(store, meeting, api):
    s = CloudSummarizer(KEY, cfg(api, chunk_tokens=40))
    lines = [Line(i, f"Person {i % 3}", i * 5.0, f"Sentence number {i} about the budget and the launch plan.") for i in range(1, 13)]
    summary = s.summarize(lines)
    calls = api.messages()
    assert len(calls) >= 3  # several chunks + one merge
    assert "partial summaries" in json.dumps(calls[-1]["body"])
    assert summary.speakers and all(not n.startswith("Speaker ") for n in (sp.speaker for sp in summary.speakers))
    assert s.estimate(lines).calls == len(calls)


def test_no_key_or_not_enabled_uses_local(store, meeting, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("PARLEY_CLOUD_SUMMARIES", raising=False)
    run = summarize_meeting(store, meeting)
    assert run.summary.local and "cloud summaries are off" in run.note
    assert "Local summary (offline" in run.markdown


def test_stale_after_correction_and_regenerate_keeps_old(store, meeting):
    first = summarize_meeting(store, meeting, local=True)
    store.reassign_turn(store.turns(meeting)[1].id, store.speakers(meeting)[0].id)
    assert all(s.stale for s in store.summaries(meeting))
    second = summarize_meeting(store, meeting, local=True)
    assert second.summary_id != first.summary_id
    latest = [s for s in store.summaries(meeting) if s.kind == "meeting"]
    assert len(latest) == 1 and not latest[0].stale
    assert len([s for s in store.summaries(meeting, include_old=True) if s.kind == "meeting"]) == 2


def test_local_summary_on_real_meeting_transcripts():
    for path in sorted(EVAL.glob("ami_*/*.seglst.json"))[:6]:
        entries = json.loads(Path(path).read_text())
        lines = [Line(i, e["speaker"], float(e["start_time"]), e["words"]) for i, e in enumerate(entries)]
        s = summarize_local(lines)
        spoken = {l.speaker for l in lines if len(l.text.split()) > 2}
        assert {sp.speaker for sp in s.speakers} >= spoken
        for sp in s.speakers:
            for item in sp.said:
                assert item.text in " ".join(l.text for l in lines if l.speaker == sp.speaker)
                assert item.turn_ids and all(lines[t].speaker == sp.speaker for t in item.turn_ids)


def test_local_action_items_and_due_dates():
    lines = [
        Line(1, "Ana", 0.0, "I'll send the budget by Friday. The rest is fine."),
        Line(2, "Ben", 5.0, "Can you check the venue? We decided to go with the spring launch."),
        Line(3, "Ana", 9.0, "What about the printers?"),
    ]
    s = summarize_local(lines)
    ana = next(sp for sp in s.speakers if sp.speaker == "Ana")
    assert ana.commitments[0].due == "by Friday" and ana.commitments[0].owner == "Ana"
    assert ana.open_questions[0].text == "What about the printers?"
    assert any("venue" in a.text and a.owner is None for a in s.action_items)
    assert s.decisions and "spring launch" in s.decisions[0].text


def test_parse_rejects_malformed_and_drops_unknown_turns():
    with pytest.raises(SummaryError):
        parse_summary({"speakers": "nope"}, valid_turns=set(), model="m", local=False)
    with pytest.raises(SummaryError):
        parse_summary({"speakers": [{"speaker": "A", "said": [{"text": ""}]}]}, valid_turns=set(), model="m", local=False)
    s = parse_summary({"speakers": [{"speaker": "A", "said": [{"text": "x", "turn_ids": [1, 99]}]}], "decisions": [], "action_items": []}, valid_turns={1}, model="m", local=False)
    assert s.speakers[0].said[0].turn_ids == (1,)
