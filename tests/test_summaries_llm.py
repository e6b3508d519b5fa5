"""Summaries from a local LLM server: Parley's own urllib client against a real HTTP server on
127.0.0.1 that speaks the OpenAI-compatible chat API of Ollama / llama-server / LM Studio
(tests/summaries_fixtures/openai_server.py), a real SQLite store and ``parley summarize``.
Failures are the server's; the client is not patched."""

from __future__ import annotations

import json

import pytest

from meetings.cli import main as parley_main
from summaries.config import SummarySettings, load_settings
from summaries.service import summarize_events, summarize_meeting
from summaries.types import Finished, Notice, Progress, TextDelta

from .conftest import EVAL
from .summaries_fixtures.meetings import long_meeting_turns, release_meeting, seglst_turns, store_turns, turn
from .summaries_fixtures.openai_server import LINE, LocalLLMServer


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("PARLEY_LLM_URL", "PARLEY_LLM_MODEL", "PARLEY_LLM_ALLOW_REMOTE", "PARLEY_CLOUD_SUMMARIES", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PARLEY_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def llm():
    server = LocalLLMServer()
    yield server
    server.close()


@pytest.fixture
def meeting(store):
    return release_meeting(store)


def settings(**kw) -> SummarySettings:
    return SummarySettings(**{"timeout": 5.0, "max_retries": 1, "stream": False, **kw})


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
def test_summary_from_a_local_server_with_pseudonyms_schema_and_provenance(store, meeting, llm, stream):
    events = list(summarize_events(store, meeting, settings=settings(), llm_url=llm.url, model="qwen2.5:7b-instruct", stream=stream))
    run = events[-1].run
    assert not any(isinstance(e, Notice) for e in events)  # no fallback
    s = run.summary
    assert not s.local and s.model == "local-llm:qwen2.5:7b-instruct"
    alice = next(sp for sp in s.speakers if sp.speaker == "Alice Jones")
    assert alice.commitments[0].due == "by Friday" and alice.commitments[0].owner == "Alice Jones"
    [action] = s.action_items
    assert action.owner == "Alice Jones" and action.owner_id == alice.speaker_id
    [decision] = s.decisions
    turns = store.turns(meeting)
    assert decision.turn_ids == (turns[2].id,)
    bob = next(sp for sp in s.speakers if sp.speaker == "Bob Smith")
    assert bob.open_questions[0].text == "Thanks Alice Jones. Can we ship on Friday?"  # the name sent as Speaker A, restored
    # what went to the server: pseudonyms only, the schema as response_format, the transcript lines
    [chat] = llm.chats()
    sent = chat.text
    assert "Alice" not in sent and "Bob" not in sent and "Speaker A" in sent and "Speaker B" in sent
    assert chat.body["response_format"]["type"] == "json_schema"
    assert chat.body["response_format"]["json_schema"]["schema"]["properties"]["speakers"]["items"]["properties"]["speaker"]["enum"] == ["Speaker A", "Speaker B"]
    assert chat.body["stream"] is stream and chat.body["temperature"] == 0
    user = next(m["content"] for m in chat.body["messages"] if m["role"] == "user")
    assert [int(t) for t, *_ in LINE.findall(user)] == [t.id for t in turns]
    if stream:
        assert any(isinstance(e, TextDelta) for e in events)
        assert chat.body["stream_options"] == {"include_usage": True}
        assert run.usage.output_tokens > 0
    # stored with provenance, shown as written on a local server
    assert run.markdown.startswith("### Summary (local-llm:qwen2.5:7b-instruct)")
    assert "on a local LLM server" in run.markdown
    [stored] = [x for x in store.summaries(meeting) if x.kind == "meeting"]
    assert stored.model == "local-llm:qwen2.5:7b-instruct" and not stored.local


def test_the_model_is_taken_from_the_server_list_when_none_is_set(store, meeting, llm):
    run = summarize_meeting(store, meeting, settings=settings(llm_url=llm.url))  # from the settings, no --model
    assert run.summary.model == "local-llm:qwen2.5:7b-instruct"
    assert [(r.method, r.path) for r in llm.requests][:2] == [("GET", "/v1/models"), ("POST", "/v1/chat/completions")]
    assert llm.chats()[0].body["model"] == "qwen2.5:7b-instruct"


def test_a_server_without_json_schema_is_asked_for_a_json_object(store, meeting, llm):
    llm.formats = {"json_object"}  # e.g. an older llama-server
    run = summarize_meeting(store, meeting, settings=settings(), llm_url=llm.url, model="llama3.2:3b")
    assert run.summary.model == "local-llm:llama3.2:3b" and run.summary.action_items
    assert [c.body.get("response_format", {}).get("type") for c in llm.chats()] == ["json_schema", "json_object"]
    # the schema still reaches the model, in the system message
    system = llm.chats()[1].body["messages"][0]["content"]
    assert "matching this JSON schema exactly" in system and '"record_summary"' not in system


@pytest.mark.parametrize("style", ["fenced", "think"])
def test_json_in_a_fence_or_after_a_reasoning_block_is_read(store, meeting, llm, style):
    llm.style = style
    run = summarize_meeting(store, meeting, settings=settings(), llm_url=llm.url, model="qwen2.5:7b-instruct")
    assert run.summary.model.startswith("local-llm:") and len(run.summary.speakers) == 2


def test_an_off_schema_answer_is_sent_back_once_for_repair(store, meeting, llm):
    llm.script = ["bad_schema"]
    run = summarize_meeting(store, meeting, settings=settings(), llm_url=llm.url, model="qwen2.5:7b-instruct")
    assert run.summary.model.startswith("local-llm:")
    first, repair = llm.chats()
    roles = [m["role"] for m in repair.body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert json.loads(repair.body["messages"][2]["content"]) == {"speakers": [{"speaker": "Mallory"}], "decisions": "none"}
    assert "did not match the schema" in repair.body["messages"][3]["content"]


def test_prose_instead_of_json_falls_back_to_the_extractive_summary(store, meeting, llm):
    llm.script = ["prose", "prose"]
    events = list(summarize_events(store, meeting, settings=settings(), llm_url=llm.url, model="qwen2.5:7b-instruct"))
    [note] = [e.message for e in events if isinstance(e, Notice)]
    assert note == "local LLM summary failed: the model did not answer with a JSON object; wrote the extractive summary instead"
    assert events[-1].run.summary.local and len(llm.chats()) == 2  # asked once more, then gave up


def test_a_cut_off_answer_is_redone_in_halves(store, meeting, llm):
    llm.script = ["length"]
    run = summarize_meeting(store, meeting, settings=settings(), llm_url=llm.url, model="qwen2.5:7b-instruct")
    assert run.summary.model.startswith("local-llm:")
    assert len(llm.chats()) == 4  # cut off, then two halves, then their merge
    assert "Merge them into one summary" in llm.chats()[-1].text


def test_server_errors_are_retried_then_reported(store, meeting, llm):
    llm.script = ["500"]
    run = summarize_meeting(store, meeting, settings=settings(max_retries=1), llm_url=llm.url, model="qwen2.5:7b-instruct")
    assert run.summary.model.startswith("local-llm:") and len(llm.chats()) == 2
    llm.script = ["500", "500"]
    events = list(summarize_events(store, meeting, settings=settings(max_retries=1), llm_url=llm.url, model="qwen2.5:7b-instruct"))
    [note] = [e.message for e in events if isinstance(e, Notice)]
    assert "the local LLM server at" in note and "HTTP 500: llama runner process has terminated" in note
    assert events[-1].run.summary.local


def test_an_unknown_model_and_a_stopped_server_fall_back_with_the_reason(store, meeting, llm):
    events = list(summarize_events(store, meeting, settings=settings(), llm_url=llm.url, model="mistral:7b"))
    [note] = [e.message for e in events if isinstance(e, Notice)]
    assert "the local LLM server has no model 'mistral:7b' (HTTP 404: model \"mistral:7b\" not found, try pulling it first)" in note
    url = llm.url
    llm.close()
    events = list(summarize_events(store, meeting, settings=settings(), llm_url=url, model="qwen2.5:7b-instruct"))
    [note] = [e.message for e in events if isinstance(e, Notice)]
    assert note.startswith(f"local LLM summary failed: cannot reach a local LLM server at {url}")
    assert "is Ollama, llama-server or LM Studio running?" in note
    assert events[-1].run.summary.local


def test_only_servers_on_this_machine_get_the_transcript(store, meeting, monkeypatch):
    events = list(summarize_events(store, meeting, settings=settings(), llm_url="http://192.168.1.20:11434/v1", model="m"))
    [note] = [e.message for e in events if isinstance(e, Notice)]
    assert "192.168.1.20 is not this machine" in note and "PARLEY_LLM_ALLOW_REMOTE=1" in note
    assert events[-1].run.summary.local


def test_long_meeting_is_chunked_to_the_local_context_then_merged(store, llm):
    mid = store_turns(store, long_meeting_turns(EVAL), title="All sessions")
    events = list(summarize_events(store, mid, settings=settings(chunk_tokens=3200, llm_context_tokens=16384, llm_max_output_tokens=4096), llm_url=llm.url, model="qwen2.5:7b-instruct"))
    run = events[-1].run
    assert run.summary.model.startswith("local-llm:")
    chats = llm.chats()
    parts = [c for c in chats if "Merge them into one summary" not in c.text]
    assert len(parts) >= 2 and len(chats) > len(parts)  # several chunks, then merged
    sent = [int(t) for c in parts for t, *_ in LINE.findall(next(m["content"] for m in c.body["messages"] if m["role"] == "user"))]
    assert sent == [t.id for t in store.turns(mid)]  # every turn once, in order
    assert all(c.body["max_tokens"] == 4096 for c in chats)
    assert len(run.summary.speakers) >= 20
    assert not any(isinstance(e, Notice) for e in events)
    assert [e.done for e in events if isinstance(e, Progress) and e.stage == "chunk"] == list(range(len(parts) + 1))


def test_settings_and_environment_choose_the_server(monkeypatch, tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "summaries.json").write_text(json.dumps({"llm_url": "http://localhost:8080/v1", "llm_model": "phi4"}))
    s = load_settings()
    assert s.llm_url == "http://localhost:8080/v1" and s.llm_model == "phi4"
    monkeypatch.setenv("PARLEY_LLM_URL", "http://127.0.0.1:1234/v1")
    monkeypatch.setenv("PARLEY_LLM_MODEL", "qwen3-8b")
    s = load_settings()
    assert s.llm_url == "http://127.0.0.1:1234/v1" and s.llm_model == "qwen3-8b"


def test_parley_summarize_with_llm_and_list_models(tmp_path, llm, capsys):
    from meetings.store import Store

    db = tmp_path / "parley.db"
    mid = store_turns(Store(db), seglst_turns(EVAL / "ami_EN2002b_000-030s" / "ami_EN2002b_000-030s.seglst.json"), title="EN2002b")
    assert parley_main(["--db", str(db), "summarize", "--list-models", "--llm", llm.url]) == 0
    assert capsys.readouterr().out.splitlines() == ["qwen2.5:7b-instruct", "llama3.2:3b"]
    assert parley_main(["--db", str(db), "summarize", str(mid), "--llm", llm.url.removesuffix("/v1"), "--model", "llama3.2:3b"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("### Summary (local-llm:llama3.2:3b)") and err == ""
    assert llm.chats()[-1].body["model"] == "llama3.2:3b"
    assert parley_main(["--db", str(db), "summarize"]) == 2
    assert "which meeting?" in capsys.readouterr().err


@pytest.mark.qt
def test_the_desktop_writes_its_offline_summary_with_the_configured_local_server(qtbot, tmp_path, llm):
    from desktop.summary_worker import SummaryWorker
    from meetings.store import Store

    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "summaries.json").write_text(json.dumps({"llm_url": llm.url, "llm_model": "llama3.2:3b", "stream": False}))
    db = tmp_path / "parley.db"
    mid = store_turns(Store(db), [turn("SPK_A", 0.0, 4.0, "I'll send the slides by Friday."), turn("SPK_B", 5.0, 8.0, "Great, thanks.")], title="Slides")
    worker = SummaryWorker()
    finished, notices = [], []
    worker.finished.connect(finished.append)
    worker.notice.connect(notices.append)
    worker.run(str(db), mid, True)  # the app's cloud switch is off: "local"
    assert finished == [mid] and notices == []
    [stored] = [s for s in Store(db).summaries(mid) if s.kind == "meeting"]
    assert stored.model == "local-llm:llama3.2:3b"
    assert llm.chats()[0].body["model"] == "llama3.2:3b"
