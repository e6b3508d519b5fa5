"""The offline summary on the reference meeting transcripts, and the pure parts of the summaries
package: validation of the model's output, pseudonyms, Markdown, settings, chunk planning."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from summaries.chunking import TokenMeter, estimate_tokens, plan_chunks
from summaries.client import Request, TokenCountUnavailable
from summaries.config import SummarySettings, find_api_key, load_settings, price_of, resolve_model
from summaries.local import MODEL, find_due, summarize_local
from summaries.prompt import Pseudonyms, render_transcript
from summaries.render import render_markdown
from summaries.schema import to_tool_input, tool, validate
from summaries.service import lines_from_turns, summarize_meeting
from summaries.types import Item, MalformedSummary, MeetingSummary, SpeakerSummary, SummaryError, Tier, TranscriptLine

from .conftest import EVAL, SAMPLE
from .summaries_fixtures.meetings import seglst_turns, store_turns

REFERENCES = sorted(EVAL.glob("*/*.seglst.json")) + [SAMPLE / "meeting.seglst.json"]


def reference_lines(name: str) -> list[TranscriptLine]:
    path = next(p for p in REFERENCES if p.stem.startswith(name))
    return [TranscriptLine(i, None, e["speaker"], float(e["start_time"]), float(e["end_time"]), e["words"]) for i, e in enumerate(json.loads(path.read_text()))]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower().replace("…", "")))


# --- the offline summary on real transcripts ---------------------------------------------------------


@pytest.mark.parametrize("path", REFERENCES, ids=lambda p: p.stem.split(".")[0])
def test_local_summary_of_each_reference_meeting_is_grounded_in_its_turns(store, path):
    mid = store_turns(store, seglst_turns(path), title=path.stem)
    run = summarize_meeting(store, mid, local=True)
    turns = {t.id: t for t in store.turns(mid)}
    s = run.summary
    assert s.local and s.model == MODEL and "### Local summary (offline)" in run.markdown
    # one section per speaker who spoke, in order of first appearance, with their store ids
    assert [(sp.speaker, sp.speaker_id) for sp in s.speakers] == [(spk.name, spk.id) for spk in store.speakers(mid) if any(t.speaker_id == spk.id for t in turns.values())]
    for sp in s.speakers:
        for item in (*sp.said, *sp.positions, *sp.commitments, *sp.open_questions):
            assert item.turn_ids  # one turn, or the turns of a sentence the speaker finished after an interjection
            assert all(turns[tid].speaker_id == sp.speaker_id for tid in item.turn_ids)  # a speaker's items come from their own turns
            assert words(item.text) <= words(" ".join(turns[tid].text for tid in item.turn_ids))  # extractive: nothing invented
            tid = item.turn_ids[0]
            assert f"[{int(turns[tid].start) // 60:02d}:{int(turns[tid].start) % 60:02d}]" in run.markdown
    for item in (*s.decisions, *s.action_items):
        assert all(t in turns for t in item.turn_ids) and words(item.text) <= words(" ".join(turns[t].text for t in item.turn_ids))
    # stored as local, per meeting and per speaker
    rows = store.summaries(mid)
    assert {r.model for r in rows} == {"local-extractive"} and all(r.local for r in rows)
    assert len([r for r in rows if r.kind == "speaker"]) == len(s.speakers)


def test_local_summary_finds_what_people_asked_proposed_and_requested():
    s = summarize_local(reference_lines("ami_EN2002b"))  # "Okay Who wants to take notes today" — then "Oh"
    [q] = [i for sp in s.speakers if sp.speaker == "FEO070" for i in sp.open_questions]
    assert q.text == "Who wants to take notes today"

    s = summarize_local(reference_lines("ami_EN2003a"))  # "Can you just remind me …", answered by MEO074's "Yeah"
    [request] = s.action_items
    assert request.text.startswith("Can you just remind me") and request.owner == "MEO074"

    s = summarize_local(reference_lines("ami_EN2009b"))
    fee083 = next(sp for sp in s.speakers if sp.speaker == "FEO083" or sp.speaker == "FEE083")
    assert any("my view on this was that the need for people to back up their data" in p.text for p in fee083.positions)

    s = summarize_local(reference_lines("pyannote_sample_call"))  # punctuated, telephone-style
    said = {sp.speaker: " ".join(i.text for i in sp.said) for sp in s.speakers}
    assert "Diane in New Jersey" in said["speaker90"] and "Sheila in Texas" in said["speaker91"]
    assert all(not q.text.startswith("Hello") for sp in s.speakers for q in sp.open_questions)  # greetings are not questions


def test_local_commitments_decisions_requests_and_due_dates():
    lines = [
        TranscriptLine(1, 10, "Ana", 0.0, 4.0, "Okay, um, so the the revised budget is the main concern for everyone. I'll send the revised budget by Friday."),
        TranscriptLine(2, 20, "Ben", 5.0, 9.0, "Ana, can you also check the venue contract? We decided to go with the spring launch."),
        TranscriptLine(3, 10, "Ana", 9.5, 12.0, "Sure. What about the printers?"),
        TranscriptLine(4, 20, "Ben", 12.5, 14.0, "Right."),
        TranscriptLine(5, 30, "Cy", 14.5, 20.0, "I think we should move the launch party indoors. We need to book the hall next week."),
        TranscriptLine(6, 30, "Cy", 20.5, 22.0, "Who is paying for the catering?"),
        TranscriptLine(7, 10, "Ana", 22.5, 30.0, "The catering is paid by the sponsor, their catering budget covers everything."),
    ]
    s = summarize_local(lines)
    ana, ben, cy = s.speakers
    assert ana.commitments == (Item("I'll send the revised budget by Friday.", (1,), "Ana", 10, "by Friday"),)
    assert [q.text for q in ana.open_questions] == ["What about the printers?"]  # Ben's "Right." answers nothing
    assert cy.open_questions == ()  # Ana answered it
    assert [p.text for p in cy.positions] == ["I think we should move the launch party indoors."]
    assert [d.text for d in s.decisions] == ["We decided to go with the spring launch."]
    actions = {a.text: (a.owner, a.owner_id, a.due) for a in s.action_items}
    assert actions == {
        "I'll send the revised budget by Friday.": ("Ana", 10, "by Friday"),
        "Ana, can you also check the venue contract?": ("Ana", 10, None),  # a request: owned by whoever was asked
        "We need to book the hall next week.": ("Cy", 30, "next week"),
    }
    assert [i.text for i in ana.said] == [  # fillers, repeats and leading "okay so" cleaned away
        "The revised budget is the main concern for everyone.",
        "The catering is paid by the sponsor, their catering budget covers everything.",
    ]


def test_phone_call_questions_offers_and_split_sentences_read_right():
    """The reference transcript of a real service call (punctuated, turns cut at pauses)."""
    lines = reference_lines("phone_call_40")
    s = summarize_local(lines)
    by_id = {l.turn_id: l for l in lines}
    actions = [a.text for a in s.action_items]
    assert not any("spell that" in a or "prefer" in a for a in actions)  # a question and an offer are not work to do
    assert not any(len(a.split()) < 4 for a in actions)  # no "Let's do it."
    assert all(a.owner == by_id[a.turn_ids[0]].speaker for a in s.action_items if a.text.startswith(("I'm going", "I might", "Let's")))
    caller = next(sp for sp in s.speakers if sp.speaker == "caller")
    said = [i for i in caller.said if i.text.startswith("I'm calling in today")]
    [first] = said  # "… I got a car" / "from the dealership …": one sentence across the two turns
    assert first.text.endswith("I got a car from the dealership and the service flight came on already.") and len(first.turn_ids) == 2
    agent = next(sp for sp in s.speakers if sp.speaker == "agent")
    everything = [i.text for i in (*agent.said, *agent.positions, *agent.commitments, *agent.open_questions, *s.action_items)]
    assert not any(t.startswith(("Appointment", "M. ", "M ")) for t in everything)  # nothing starts where "8 a .m." was cut
    assert [c.due for c in caller.commitments] == ["as soon as possible"]


def test_an_offer_of_times_is_one_question_not_an_action_for_the_listener():
    lines = [
        TranscriptLine(1, 1, "Michelle", 0.0, 6.0, "Would you prefer between 8 a.m. and 10 a.m. or would you prefer between 3 p.m. and 5 p.m.?"),
        TranscriptLine(2, 2, "Jack", 6.5, 8.0, "8 to 10, the earlier the better."),
        TranscriptLine(3, 1, "Michelle", 8.5, 14.0, "So I have an 8 a.m. appointment for your Tesla service on Thursday. Could you spell your last name for me, please?"),
        TranscriptLine(4, 2, "Jack", 14.5, 17.0, "S-I-T-I-L-L-E."),
        TranscriptLine(5, 1, "Michelle", 17.5, 22.0, "Can you send me the photos of the dashboard by Friday?"),
        TranscriptLine(6, 2, "Jack", 22.5, 24.0, "Sure, I will. Let's do it."),
        TranscriptLine(7, 2, "Jack", 24.5, 27.0, "I'll be an hour early. I'll call my boss Dr. Smith about the time off tomorrow."),
    ]
    s = summarize_local(lines)
    assert [(a.text, a.owner, a.due) for a in s.action_items] == [
        ("Can you send me the photos of the dashboard by Friday?", "Jack", "by Friday"),
        ("I'll call my boss Dr. Smith about the time off tomorrow.", "Jack", "tomorrow"),
    ]
    michelle, jack = s.speakers
    assert michelle.open_questions == ()  # the offer was answered, the spelling given
    assert [i.text for i in michelle.said] == ["I have an 8 a.m. appointment for your Tesla service on Thursday."]


@pytest.mark.parametrize(
    "text, due",
    [
        ("I'll send it by Friday.", "by Friday"),
        ("we need to finish next week", "next week"),
        ("have it done by the end of the month", "by the end of the month"),
        ("let's meet on March 3rd", "on March 3rd"),
        ("I'll have a draft in two weeks", "in two weeks"),
        ("before 5 pm please", "before 5 pm"),
        ("tomorrow morning works", "tomorrow morning"),
        ("I'm going to come in as soon as possible", "as soon as possible"),
        ("I'll look at it", None),
        ("the fifth point is moot", None),
    ],
)
def test_due_dates_are_taken_as_stated(text, due):
    assert find_due(text) == due


# --- validating the model's output ----------------------------------------------------------------


NAMES = Pseudonyms.of([TranscriptLine(1, 7, "Ana Lopez", 0, 1, "x"), TranscriptLine(2, 8, "Ben", 1, 2, "y")])


def check(data, turns=(1, 2)):
    return validate(data, names=NAMES, turn_ids=set(turns), model="m", prompt_version="v")


def test_validation_repairs_small_slips():
    s = check({
        "speakers": [
            {"speaker": "speaker a", "said": [{"text": "  Wants  the budget ", "turn_ids": ["t1", "2", 99]}]},
            {"speaker": "Speaker A", "commitments": [{"text": "Sends it", "turn_ids": [1], "due": "null"}]},
            {"speaker": "Speaker B", "said": [], "open_questions": [{"text": "When?", "turn_ids": [2.0]}]},
        ],
        "decisions": [{"text": "Ship", "turn_ids": [1, 1]}],
        "action_items": [{"text": "Book", "turn_ids": [2], "owner": "speaker b", "due": "by Friday"}],
    })
    a, b = s.speakers
    assert a.said == (Item("Wants the budget", (1, 2)),)
    assert a.commitments == (Item("Sends it", (1,), "Speaker A"),)  # owner defaults to who committed; "null" is no date
    assert b.open_questions == (Item("When?", (2,)),)
    assert s.decisions == (Item("Ship", (1,)),) and s.action_items == (Item("Book", (2,), "Speaker B", None, "by Friday"),)
    restored = NAMES.restore_summary(s)
    assert restored.speakers[0].speaker == "Ana Lopez" and restored.speakers[0].speaker_id == 7
    assert restored.action_items[0].owner == "Ben" and restored.action_items[0].owner_id == 8


@pytest.mark.parametrize(
    "data, problem",
    [
        ("not json", "not a JSON object"),
        ([], "must be an object"),
        ({"decisions": []}, "speakers: required"),
        ({"speakers": [{"speaker": "Mallory", "said": []}]}, "'Mallory' is not one of Speaker A, Speaker B"),
        ({"speakers": [{"speaker": "Speaker A", "said": "everything"}]}, "speakers[0].said: must be an array"),
        ({"speakers": [{"speaker": "Speaker A", "said": ["a bare string"]}]}, "speakers[0].said[0]: must be an object"),
        ({"speakers": [{"speaker": "Speaker A", "said": [{"text": "", "turn_ids": [1]}]}]}, "speakers[0].said[0].text: must be a non-empty string"),
        ({"speakers": [], "decisions": [{"text": "x"}]}, "decisions[0].turn_ids: must be an array"),
        ({"speakers": [], "decisions": [{"text": "x", "turn_ids": [5]}, {"text": "y", "turn_ids": [6]}]}, "2 of 2 items cite no turn id"),
    ],
)
def test_validation_rejects_malformed_output_with_the_problem_named(data, problem):
    with pytest.raises(MalformedSummary) as err:
        check(data)
    assert any(problem in p for p in err.value.problems), err.value.problems
    assert str(err.value).startswith("the model's summary did not match the schema")


def test_tool_schema_and_round_trips():
    t = tool(NAMES.labels)
    assert t["name"] == "record_summary" and t["input_schema"]["additionalProperties"] is False
    assert t["input_schema"]["properties"]["speakers"]["items"]["properties"]["speaker"]["enum"] == ["Speaker A", "Speaker B"]
    s = check({"speakers": [{"speaker": "Speaker A", "said": [{"text": "x", "turn_ids": [1]}]}], "decisions": [], "action_items": [{"text": "y", "turn_ids": [2], "owner": None, "due": None}]})
    assert check(to_tool_input(s)) == s
    assert MeetingSummary.from_json(s.to_json()) == s


# --- pseudonyms ---------------------------------------------------------------------------------------


def test_pseudonyms_cover_speaker_column_and_mentions_and_come_back():
    lines = [
        TranscriptLine(1, 1, "Maria Gonzalez", 0, 1, "Hi, I'm Maria. Ask Gonzalez or maria gonzalez."),
        TranscriptLine(2, 2, "Speaker 2", 1, 2, "Will you send it, Maria? Speaker 2 agrees."),
        TranscriptLine(3, 3, "Will Turner", 2, 3, "I will. Turner out."),
    ]
    names = Pseudonyms.of(lines)
    sent = render_transcript(names.apply(lines))
    assert "Maria" not in sent and "Gonzalez" not in sent.replace("gonzalez", "Gonzalez") and "Turner" not in sent
    assert sent.splitlines() == [
        "[t1 00:00] Speaker A: Hi, I'm Speaker A. Ask Speaker A or Speaker A.",
        "[t2 00:01] Speaker B: Will you send it, Speaker A? Speaker 2 agrees.",  # "Will" the word is kept; default names are not personal
        "[t3 00:02] Speaker C: I will. Speaker C out.",
    ]
    assert names.restore_text("Speaker A thanked Speaker C; Speaker AB is unknown") == "Maria Gonzalez thanked Will Turner; Speaker AB is unknown"
    many = Pseudonyms.of([TranscriptLine(i, i, f"P{i}", 0, 1, "x") for i in range(30)])
    assert many.labels[25:28] == ("Speaker Z", "Speaker AA", "Speaker AB")


# --- rendering ----------------------------------------------------------------------------------------


def test_markdown_has_timestamps_owners_and_escapes():
    s = MeetingSummary(
        (SpeakerSummary("Ana", 1, said=(Item("Use *bold* [links]", (1, 2)),)), SpeakerSummary("Ben", 2)),
        (Item("Ship v2", (2,)),),
        (Item("Write notes", (1,), "Ana", 1, "by Friday"),),
        "claude-haiku-4-5", False, "v9",
    )
    md = render_markdown(s, {1: 5.2, 2: 3725.0}, revision=4, created_at="2026-11-24 10:00 UTC")
    assert md.startswith("### Summary (claude-haiku-4-5)\n")
    assert "transcript revision 4 · prompt v9 · 2026-11-24 10:00 UTC" in md
    assert "- Write notes — owner: Ana · due: by Friday [00:05]" in md
    assert "- Ship v2 [62:05]" in md
    assert r"- Use \*bold\* \[links\] [00:05] [62:05]" in md
    assert "#### Ben\n- only short responses, nothing to summarize" in md


# --- settings, models, prices, key ------------------------------------------------------------------


def test_settings_file_then_environment(tmp_path):
    path = tmp_path / "summaries.json"
    path.write_text(json.dumps({"cloud_enabled": True, "timeout": 30, "batch_model": "claude-3-5-haiku", "max_retries": "many", "bogus": 1}))
    s = load_settings(path, env={})
    assert (s.cloud_enabled, s.timeout, s.batch_model, s.max_retries) == (True, 30.0, "claude-3-5-haiku", 3)
    s = load_settings(path, env={"PARLEY_CLOUD_SUMMARIES": "0", "PARLEY_SUMMARY_MODEL": "strong", "PARLEY_SUMMARY_MAX_USD": "0.5"})
    assert (s.cloud_enabled, s.model, s.max_usd) == (False, "strong", 0.5)
    with pytest.raises(SummaryError, match="PARLEY_CLOUD_SUMMARIES"):
        load_settings(path, env={"PARLEY_CLOUD_SUMMARIES": "maybe"})
    assert load_settings(tmp_path / "missing.json", env={}) == SummarySettings()


def test_models_by_tier_and_prices():
    s = SummarySettings()
    assert resolve_model(None, Tier.BATCH, s) == "claude-haiku-4-5"
    assert resolve_model(None, Tier.ON_DEMAND, s) == "claude-sonnet-4-5"
    assert resolve_model("strong", Tier.BATCH, s) == "claude-sonnet-4-5"
    assert resolve_model(None, Tier.BATCH, SummarySettings(model="claude-opus-4-1")) == "claude-opus-4-1"
    with pytest.raises(SummaryError):
        resolve_model("rm -rf /", Tier.BATCH, s)
    assert price_of("claude-haiku-4-5-20251001") == (1.0, 5.0, True)
    assert price_of("claude-future-9") == (3.0, 15.0, False)


def test_api_key_lookup_never_shows_the_key():
    found = find_api_key({"ANTHROPIC_API_KEY": " sk-secret-1 "})
    assert found.key.value == "sk-secret-1" and found.key.source == "environment"
    assert "sk-secret-1" not in repr(found) and "sk-secret-1" not in str(found.key)


# --- chunk planning -----------------------------------------------------------------------------------


def _build(lines):
    return Request("m", 100, ({"type": "text", "text": "SYSTEM" * 10},), ({"role": "user", "content": [{"type": "text", "text": render_transcript(lines) or "-"}]},), {"name": "t"})


def _count(request: Request) -> int:  # a deterministic "API" counter: a token per 4 characters
    return len(json.dumps(request.params())) // 4


def test_chunks_are_consecutive_and_fit_the_budget():
    lines = reference_lines("ami_EN2009b") + reference_lines("ami_EN2005a")
    lines = [TranscriptLine(i, None, l.speaker, l.start, l.end, l.text) for i, l in enumerate(lines)]
    plan = plan_chunks(lines, _build, TokenMeter(_count), 200, render_transcript)
    assert len(plan.chunks) >= 3 and plan.counted and all(c.tokens <= 200 for c in plan.chunks)
    flat = [l for c in plan.chunks for l in c.lines]
    assert [l.turn_id for l in flat] == sorted(l.turn_id for l in flat)
    assert " ".join(l.text for l in flat).split() == " ".join(l.text for l in lines).split()  # long turns are cut, nothing lost
    assert len(plan_chunks(lines, _build, TokenMeter(_count), 10_000, render_transcript).chunks) == 1


def test_token_meter_falls_back_to_chars_over_3_5():
    def broken(request):
        raise TokenCountUnavailable("404")

    meter = TokenMeter(broken)
    req = _build([TranscriptLine(1, None, "A", 0, 1, "hello there")])
    assert meter(req) == estimate_tokens(json.dumps(req.params())) and not meter.counted
    assert estimate_tokens("x" * 35) == 10


def test_lines_from_store_turns(store):
    mid = store_turns(store, seglst_turns(Path(SAMPLE / "meeting.seglst.json")))
    lines = lines_from_turns(store.turns(mid))
    assert [l.turn_id for l in lines] == [t.id for t in store.turns(mid)] and all(l.speaker.startswith("Speaker ") for l in lines)
