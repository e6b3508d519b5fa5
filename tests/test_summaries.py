"""Cloud summaries end to end: the real ``anthropic`` SDK against a local HTTP server that speaks
the Messages API wire format (tests/summaries_fixtures/fake_anthropic.py), a real SQLite store,
and the ``parley summarize`` command. No client is patched; failures are scripted server-side."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace

import keyring
import pytest
from keyring.backend import KeyringBackend

from meetings.cli import main as parley_main
from summaries.cli import summarize_command
from summaries.config import SummarySettings
from summaries.service import estimate_cost, needs_refresh, summarize_events, summarize_meeting
from summaries.types import EstimateReady, Finished, MeetingSummary, Progress, TextDelta, TranscriptChanged

from .conftest import EVAL
from .summaries_fixtures.fake_anthropic import LINE, FakeAnthropic
from .summaries_fixtures.meetings import long_meeting_turns, release_meeting, seglst_turns, store_turns

KEY = "sk-ant-test-SECRET-7f3a9c"


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self, passwords: dict | None = None, broken: bool = False):
        super().__init__()
        self.passwords = passwords or {}
        self.broken = broken

    def get_password(self, service, username):
        if self.broken:
            raise keyring.errors.KeyringLocked("locked")
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self.passwords[(service, username)] = password

    def delete_password(self, service, username):
        self.passwords.pop((service, username), None)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No user settings, no real key, no keyring: every test says what it needs."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "PARLEY_CLOUD_SUMMARIES", "PARLEY_SUMMARY_MODEL", "PARLEY_SUMMARY_MAX_USD",
                 "PARLEY_SUMMARY_TIMEOUT", "PARLEY_SUMMARY_MAX_RETRIES", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PARLEY_CONFIG_DIR", str(tmp_path / "config"))
    before = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(before)


@pytest.fixture
def api():
    server = FakeAnthropic(key=KEY)
    yield server
    server.close()


@pytest.fixture
def meeting(store):
    return release_meeting(store)


def cloud(api, **kw) -> SummarySettings:
    return SummarySettings(cloud_enabled=True, base_url=api.url, **{"timeout": 5.0, "max_retries": 2, "stream": False, **kw})


def run_cli(store, meeting_id, *, local=False, model=None) -> int:
    return summarize_command(store, argparse.Namespace(id=meeting_id, local=local, model=model))


# --- the happy path, provenance, privacy ----------------------------------------------------------


def test_cloud_summary_stored_with_provenance_names_restored_key_never_leaks(store, meeting, api, caplog):
    caplog.set_level(logging.DEBUG)
    run = summarize_meeting(store, meeting, settings=cloud(api), api_key=KEY)

    assert run.note == "" and not run.summary.local and run.summary.model == "claude-haiku-4-5"
    # the request: forced tool, a schema, the transcript text with pseudonyms only
    [req] = api.messages()
    assert req.body["tool_choice"] == {"type": "tool", "name": "record_summary"}
    assert req.body["tools"][0]["input_schema"]["required"] == ["speakers", "decisions", "action_items"]
    assert req.body["model"] == "claude-haiku-4-5"
    for sent in (req, *api.counts()):
        for secret in ("Alice", "Bob", "Jones", "Smith"):
            assert secret not in sent.text
    assert "Speaker A: I'll write" in req.text and "Thanks Speaker A." in req.text
    assert "cache_control" not in req.text  # one call: nothing to share
    # the result: real names back, speaker ids resolved, items linked to real turns
    turns = store.turns(meeting)
    spk = {s.name: s.id for s in store.speakers(meeting)}
    assert [(s.speaker, s.speaker_id) for s in run.summary.speakers] == [("Alice Jones", spk["Alice Jones"]), ("Bob Smith", spk["Bob Smith"])]
    alice = run.summary.speakers[0]
    assert alice.positions[0].text == "Alice Jones agreed with Bob Smith"
    [action] = run.summary.action_items
    assert (action.owner, action.owner_id, action.due, action.turn_ids) == ("Alice Jones", spk["Alice Jones"], "by Friday", (turns[0].id,))
    assert all(t in {x.id for x in turns} for i in run.summary.items() for t in i.turn_ids)  # the bogus 999999 was dropped
    assert "[00:00]" in run.markdown and "[01:10]" in run.markdown and "owner: Alice Jones" in run.markdown
    # stored: one meeting row, one row per speaker, with provenance
    rows = store.summaries(meeting)
    by_kind = {(r.kind, r.speaker_id): r for r in rows}
    assert set(by_kind) == {("meeting", None), ("speaker", spk["Alice Jones"]), ("speaker", spk["Bob Smith"])}
    top = by_kind[("meeting", None)]
    assert (top.id, top.model, top.local, top.stale) == (run.summary_id, "claude-haiku-4-5", False, False)
    assert top.prompt_version == run.summary.prompt_version and top.transcript_revision == store.revision(meeting) == run.transcript_revision
    assert top.created_at and top.markdown == run.markdown
    assert MeetingSummary.from_json(top.content_json) == run.summary
    assert "I'll write the release notes" in by_kind[("speaker", spk["Alice Jones"])].markdown
    # the key went to the server, and nowhere else
    assert api.key_sent(req) == KEY
    dump = "\n".join(store.conn.iterdump())
    assert KEY not in dump and KEY not in caplog.text and KEY not in repr(run)
    assert "Alice Jones" in dump  # (the names stay on this machine, in the store)


def test_key_from_the_keyring_and_base_url_from_the_environment(store, meeting, api, monkeypatch, capsys):
    keyring.set_keyring(MemoryKeyring({("parley", "anthropic_api_key"): KEY}))
    monkeypatch.setenv("PARLEY_CLOUD_SUMMARIES", "1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
    assert run_cli(store, meeting) == 0
    out, err = capsys.readouterr()
    assert "### Summary (claude-haiku-4-5)" in out and "Alice Jones" in out
    assert "cloud summary with claude-haiku-4-5" in err and "call(s)" in err  # the estimate, before the run
    assert api.key_sent(api.messages()[0]) == KEY
    assert KEY not in out + err


def test_without_a_key_or_without_opting_in_the_summary_is_local(store, meeting, api, monkeypatch, capsys):
    assert run_cli(store, meeting) == 0  # cloud not enabled (the default)
    out, err = capsys.readouterr()
    assert "### Local summary (offline)" in out and err.strip().splitlines() == [err.strip()] and "cloud summaries are off" in err
    monkeypatch.setenv("PARLEY_CLOUD_SUMMARIES", "1")
    assert run_cli(store, meeting) == 0  # enabled, but no key anywhere
    assert "no Anthropic API key" in capsys.readouterr().err
    keyring.set_keyring(MemoryKeyring(broken=True))
    assert run_cli(store, meeting) == 0  # enabled, keyring locked: handled, explained
    assert "keyring is unavailable (KeyringLocked)" in capsys.readouterr().err
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
    assert run_cli(store, meeting, local=True) == 0  # a key, but --local
    assert "as asked with --local" in capsys.readouterr().err
    assert api.requests == []  # nothing ever left the machine
    rows = store.summaries(meeting, include_old=True)
    assert {r.model for r in rows} == {"local-extractive"} and all(r.local for r in rows)


def test_settings_file_enables_cloud_and_picks_the_model(store, meeting, api, monkeypatch, tmp_path):
    from summaries.config import load_settings, set_cloud_enabled

    set_cloud_enabled(True)
    assert load_settings().cloud_enabled
    monkeypatch.setenv("PARLEY_SUMMARY_MODEL", "strong")
    run = summarize_meeting(store, meeting, settings=replace(load_settings(), base_url=api.url, stream=False), api_key=KEY)
    assert api.messages()[0].body["model"] == "claude-sonnet-4-5" and run.summary.model == "claude-sonnet-4-5"
    summarize_meeting(store, meeting, model="claude-opus-4-5", settings=replace(load_settings(), base_url=api.url, stream=False), api_key=KEY)
    assert api.messages()[-1].body["model"] == "claude-opus-4-5"


def test_cost_estimate_before_the_run_and_the_spending_limit(store, meeting, api):
    est = estimate_cost(store, meeting, settings=cloud(api), api_key=KEY)
    assert est.counted and est.calls == 1 and est.input_tokens > 0 and 0 < est.usd <= est.usd_max and est.price_known
    assert api.messages() == [] and api.counts()  # counting is free: no summary was bought
    run = summarize_meeting(store, meeting, settings=cloud(api, max_usd=0.000001), api_key=KEY)
    assert run.summary.local and "above the $0.00 limit" in run.note and api.messages() == []


# --- streaming ------------------------------------------------------------------------------------


def test_streaming_yields_progress_estimate_and_partial_json(store, meeting, api):
    api.stream_preamble = "Summarizing."
    events = list(summarize_events(store, meeting, settings=cloud(api, stream=True), api_key=KEY))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Progress" and isinstance(events[-1], Finished)
    first = {kind: next(i for i, e in enumerate(events) if isinstance(e, kind)) for kind in (EstimateReady, TextDelta)}
    assert first[EstimateReady] < first[TextDelta]  # the cost is known before the paid call starts
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert [d.text for d in deltas if not d.json] == ["Summarizing."]
    streamed = json.loads("".join(d.text for d in deltas if d.json))
    assert {s["speaker"] for s in streamed["speakers"]} == {"Speaker A", "Speaker B"}  # pseudonyms on the wire
    assert api.messages()[0].body["stream"] is True
    run = events[-1].run
    assert not run.summary.local and run.summary.speakers[0].speaker == "Alice Jones" and run.usage.calls == 1


# --- retries and failures ---------------------------------------------------------------------------


def test_429_and_500_are_retried_by_the_sdk(store, meeting, api):
    api.script = ["429", "500", "ok"]
    run = summarize_meeting(store, meeting, settings=cloud(api, max_retries=3), api_key=KEY)
    assert not run.summary.local and run.note == ""
    assert [r.headers["x-stainless-retry-count"] for r in api.messages()] == ["0", "1", "2"]


def test_rate_limit_after_all_retries_falls_back_to_local_with_a_clear_reason(store, meeting, api, monkeypatch, capsys):
    monkeypatch.setenv("PARLEY_CLOUD_SUMMARIES", "1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
    monkeypatch.setenv("PARLEY_SUMMARY_MAX_RETRIES", "2")
    api.script = ["429"] * 3
    assert run_cli(store, meeting) == 0
    out, err = capsys.readouterr()
    assert len(api.messages()) == 3
    assert "cloud summary failed: the Anthropic API is rate-limiting this key (HTTP 429) after 3 tries" in err
    assert "### Local summary (offline)" in out
    [row] = [r for r in store.summaries(meeting) if r.kind == "meeting"]
    assert row.local and row.model == "local-extractive"


def test_a_response_slower_than_the_timeout_falls_back_to_local(store, meeting, api):
    api.script = ["slow", "slow"]
    run = summarize_meeting(store, meeting, settings=cloud(api, timeout=0.3, max_retries=1), api_key=KEY)
    assert run.summary.local and run.fell_back
    assert run.note.startswith("cloud summary failed: the Anthropic API timed out after 2 tries")
    assert len(api.messages()) == 2


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_json_from_the_server_falls_back_to_local(store, meeting, api, stream):
    api.script = ["malformed"]
    run = summarize_meeting(store, meeting, settings=cloud(api, stream=stream), api_key=KEY)
    assert run.summary.local and "could not be read" in run.note


def test_refused_key_falls_back_without_retrying(store, meeting, api):
    run = summarize_meeting(store, meeting, settings=cloud(api), api_key="sk-wrong")
    assert run.summary.local and "refused the API key (HTTP 401)" in run.note
    assert len(api.messages()) == 1 and "sk-wrong" not in run.note


def test_off_schema_tool_input_is_sent_back_once_for_repair(store, meeting, api):
    api.script = ["bad_tool", "ok"]
    progress = []
    run = summarize_meeting(store, meeting, settings=cloud(api), api_key=KEY, on_event=progress.append)
    assert not run.summary.local and run.usage.calls == 2
    first, second = api.messages()
    history = second.body["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    assert history[0] == first.body["messages"][0]  # the same transcript prefix
    result = history[2]["content"][0]
    assert result["type"] == "tool_result" and result["is_error"] and "'Mallory' is not one of Speaker A, Speaker B" in result["content"]
    assert any(isinstance(e, Progress) and e.stage == "repair" for e in progress)

    api.script = ["bad_tool", "bad_tool"]
    run = summarize_meeting(store, meeting, settings=cloud(api), api_key=KEY)
    assert run.summary.local and "still malformed after a repair request" in run.note


def test_a_summary_cut_off_at_max_tokens_is_redone_in_halves(store, meeting, api):
    api.script = ["truncated"]
    run = summarize_meeting(store, meeting, settings=cloud(api), api_key=KEY)
    assert not run.summary.local
    calls = api.messages()
    assert len(calls) == 4 and calls[-1].is_merge  # whole (cut off), two halves, one merge
    assert {s.speaker for s in run.summary.speakers} == {"Alice Jones", "Bob Smith"}


# --- long meetings -----------------------------------------------------------------------------------


def test_long_meeting_is_chunked_by_counted_tokens_then_merged_with_caching(store, api):
    mid = store_turns(store, long_meeting_turns(EVAL), title="All sessions")
    settings = cloud(api, chunk_tokens=1200)
    est = estimate_cost(store, mid, settings=settings, api_key=KEY)
    assert est.counted and est.chunks >= 3 and est.calls == est.chunks + 1
    api.requests.clear()

    events = list(summarize_events(store, mid, settings=settings, api_key=KEY))
    run = events[-1].run
    calls = api.messages()
    chunks = [c for c in calls if not c.is_merge]
    merges = [c for c in calls if c.is_merge]
    assert len(chunks) == est.chunks and calls[: len(chunks)] == chunks  # the planned chunks, then merges
    # these partial summaries overflow one merge call at this budget: merged in two levels
    assert len(merges) == 2 and len(calls) >= est.calls
    assert api.counts()  # the budget was checked with the token counting endpoint
    # every turn was sent exactly once, in order, across the chunks
    sent = [int(t) for c in chunks for t, *_ in LINE.findall(c.body["messages"][0]["content"][0]["text"])]
    assert sent == [t.id for t in store.turns(mid)]
    assert all(f"part {i + 1} of {len(chunks)}" in c.text for i, c in enumerate(chunks))
    # the shared prefix is marked for caching; later calls read it
    for c in calls:
        assert c.body["system"][0]["cache_control"] == {"type": "ephemeral"}
        assert c.body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert run.usage.cache_read_input_tokens > 0 and run.usage.calls == len(calls)
    # merged: every speaker who had a said-item in some chunk is in the result, with real labels
    names = {s.name for s in store.speakers(mid)}
    assert {s.speaker for s in run.summary.speakers} <= names and len(run.summary.speakers) >= 20
    assert [e.done for e in events if isinstance(e, Progress) and e.stage == "chunk"] == list(range(len(chunks) + 1))


def test_token_counting_unavailable_falls_back_to_a_conservative_estimate(store, api):
    mid = store_turns(store, long_meeting_turns(EVAL), title="All sessions")
    api.count_script = ["404"] * 50
    est = estimate_cost(store, mid, settings=cloud(api, chunk_tokens=3000), api_key=KEY)
    assert not est.counted and est.chunks >= 2 and len(api.counts()) == 1  # a 404 is not retried; then it stops asking
    run = summarize_meeting(store, mid, settings=cloud(api, chunk_tokens=3000), api_key=KEY)
    assert not run.summary.local and run.estimate is not None and not run.estimate.counted
    assert len([c for c in api.messages() if not c.is_merge]) == run.estimate.chunks
    # chars / 3.5 over-counts, so a budget that leaves no room for the transcript is refused, not split to dust
    api.requests.clear()
    run = summarize_meeting(store, mid, settings=cloud(api, chunk_tokens=1000), api_key=KEY)
    assert run.summary.local and "leaves too little room for the transcript" in run.note and api.messages() == []


# --- freshness ------------------------------------------------------------------------------------------


def test_corrections_make_summaries_stale_and_regenerating_keeps_the_old_version(store, api):
    mid = store_turns(store, seglst_turns(EVAL / "ami_ES2003a_000-030s" / "ami_ES2003a_000-030s.seglst.json"), title="ES2003a")
    first = summarize_meeting(store, mid, settings=cloud(api), api_key=KEY)
    assert not needs_refresh(store, mid)
    speakers = store.speakers(mid)
    store.rename_speaker(speakers[0].id, "Adam Duguid")  # he says his name in the meeting
    assert all(s.stale for s in store.summaries(mid)) and needs_refresh(store, mid)
    store.reassign_turn(store.turns(mid)[-1].id, speakers[1].id)
    api.requests.clear()

    second = summarize_meeting(store, mid, settings=cloud(api), api_key=KEY)
    assert second.summary_id != first.summary_id and second.transcript_revision == store.revision(mid) > first.transcript_revision
    assert "#### Adam Duguid" in second.markdown and "#### Speaker 1" in first.markdown
    sent = api.messages()[0].text
    assert "Adam" not in sent and "Duguid" not in sent and "my name's Speaker A" in sent  # scrubbed from the text too
    assert "- Adam Duguid opened with" in second.markdown  # and put back
    latest = store.summaries(mid)
    assert [r.id for r in latest if r.kind == "meeting"] == [second.summary_id] and not any(r.stale for r in latest)
    old = [r for r in store.summaries(mid, include_old=True) if r.kind == "meeting"]
    assert [r.id for r in old] == [first.summary_id, second.summary_id] and old[0].stale


def test_a_correction_during_the_run_is_not_stored_as_fresh(store, meeting, api):
    spk = store.speakers(meeting)[1]
    api.on_message = lambda rec: store.rename_speaker(spk.id, "Robert Smith")
    with pytest.raises(TranscriptChanged):
        summarize_meeting(store, meeting, settings=cloud(api), api_key=KEY)
    assert store.summaries(meeting) == []


# --- the command line -----------------------------------------------------------------------------------


def test_parley_summarize_command(tmp_path, api, monkeypatch, capsys):
    from meetings.store import Store

    db = tmp_path / "parley.db"
    mid = store_turns(Store(db), seglst_turns(EVAL / "ami_EN2002b_000-030s" / "ami_EN2002b_000-030s.seglst.json"), title="EN2002b")
    assert parley_main(["--db", str(db), "summarize", str(mid)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("### Local summary (offline)") and "Who wants to take notes today" in out and "cloud summaries are off" in err

    monkeypatch.setenv("PARLEY_CLOUD_SUMMARIES", "1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
    assert parley_main(["--db", str(db), "summarize", str(mid), "--model", "strong"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("### Summary (claude-sonnet-4-5)") and err.startswith("cloud summary with claude-sonnet-4-5")

    assert parley_main(["--db", str(db), "summarize", str(mid), "--model", "no such model!"]) == 2
    assert "is not a model name" in capsys.readouterr().err
    assert parley_main(["--db", str(db), "summarize", "999"]) == 2
    assert "no meeting with id 999" in capsys.readouterr().err
