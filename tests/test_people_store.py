"""People and voice profiles without the speech models: the naming rule, people in SQLite (rename,
merge, forget — the vectors gone from the file's bytes), export/import, auto-naming from given
voiceprints, corrections that teach, a person's page, and the v3 → v4 migration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from diarization.profiles import DEFAULT_RULE, MatchRule, Voiceprint, match, windows
from meetings import people as P
from meetings.errors import StoreError
from meetings.store import Store
from meetings.types import AttributedWord, AudioInfo, PipelineOptions, Turn, Word

FIXTURES = Path(__file__).parent / "fixtures" / "schemas"
DIM = 192


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


def near(v: np.ndarray, noise: float, seed: int) -> np.ndarray:
    w = v + noise * np.random.default_rng(1000 + seed).standard_normal(DIM) / np.sqrt(DIM)
    return (w / np.linalg.norm(w)).astype(np.float32)


def vp(v: np.ndarray, n: int = 10, model: str = "m1") -> Voiceprint:
    return Voiceprint(model, (v * n).astype(np.float32), n, 3.0 * n)


# -- the rule (pure) ------------------------------------------------------------------------


def test_a_clear_match_is_named_and_a_stranger_is_not():
    a, b, stranger = unit(1), unit(2), unit(3)
    d = match({"S1": near(a, 0.5, 10), "S2": stranger}, {"ana": a, "ben": b})
    assert d["S1"].named == "ana" and d["S1"].reason == "named"
    assert d["S2"].named is None and d["S2"].suggested is None and d["S2"].reason == "weak"


def test_two_close_people_give_a_suggestion_not_a_name():
    a = unit(1)
    twin = near(a, 0.45, 2)  # another person who sounds much the same
    x = near(a, 0.3, 3)
    d = match({"S": x}, {"ana": a, "twin": twin})
    assert d["S"].named is None and d["S"].reason == "close" and d["S"].suggested in ("ana", "twin")


def test_two_speakers_never_get_the_same_person():
    a = unit(1)
    d = match({"S1": near(a, 0.3, 1), "S2": near(a, 0.35, 2)}, {"ana": a})
    named = [k for k, x in d.items() if x.named == "ana"]
    assert len(named) <= 1
    # the farther of the two is never named as her
    far = min(d, key=lambda k: d[k].score)
    assert d[far].named is None and d[far].reason in ("taken", "contested")


def test_a_weak_best_match_is_a_suggestion_and_short_speech_is_never_named():
    a = unit(1)
    rule = MatchRule(threshold=0.9, margin_second=0.05, suggest=0.3, min_seconds=2.0)
    d = match({"S": near(a, 0.8, 4)}, {"ana": a}, rule)
    assert d["S"].named is None and d["S"].suggested == "ana" and d["S"].reason == "weak"
    d = match({"S": a}, {"ana": a}, DEFAULT_RULE, seconds={"S": 1.0})
    assert d["S"].named is None and d["S"].suggested == "ana" and d["S"].reason == "short"


def test_taken_people_are_not_candidates_and_no_profiles_name_nobody():
    a, b = unit(1), unit(2)
    assert match({"S": a}, {"ana": a, "ben": b}, taken=["ana"])["S"].named is None
    assert match({"S": a}, {})["S"].reason == "no profiles"


def test_windows_cut_speech_evenly_and_keep_at_most_some():
    assert windows([(0.0, 0.5)]) == []
    assert windows([(0.0, 6.0)]) == [(0.0, 3.0), (3.0, 6.0)]
    assert len(windows([(0.0, 300.0)], most=40)) == 40


# -- a store with a meeting -----------------------------------------------------------------


def meeting(store: Store, sha: str, spec, title: str = "Sync", kind: str | None = None) -> int:
    """``spec``: (label, start, end, text) turns; the audio path is not needed (voices are given)."""
    info = AudioInfo(f"/rec/{sha}.wav", sha, 60.0, 16000, 1, "pcm", "wav")
    mid = store.begin_meeting(title, info, f"/data/{sha}.wav", PipelineOptions(), "tiny.en", "embedded",
                              sources=((kind, f"/rec/{sha}-{kind}.wav"),) if kind else None)
    turns = []
    for label, a, b, text in spec:
        ws = text.split()
        step = (b - a) / len(ws)
        turns.append(Turn(label, a, b, tuple(AttributedWord(Word(a + i * step, a + (i + 1) * step, " " + w, 0.9), label)
                                              for i, w in enumerate(ws))))
    labels = list(dict.fromkeys(t.speaker for t in turns))
    store.save_result(mid, speakers=labels, centroids=None, turns=turns, language="en",
                      names={"LOCAL": "You"} if "LOCAL" in labels else None)
    return mid


SPEC = [("A", 0.0, 5.0, "we should ship on friday"), ("B", 5.5, 9.0, "the budget review is tomorrow"),
        ("A", 9.5, 12.0, "agreed then"), ("C", 12.5, 14.0, "hello everyone")]


def sid(store, mid, label):
    return next(s.id for s in store.speakers(mid) if s.label == label)


def test_people_rename_merge_and_forget_removes_the_voice_from_the_file(store):
    ana = P.create_person(store, "Ana")
    v = unit(7)
    P._add_sample(store, ana.id, vp(v), "recording")
    P._add_sample(store, ana.id, vp(near(v, 0.3, 1), 5), "recording")
    got = P.person(store, ana.id)
    assert (got.samples, got.windows, got.seconds, got.models) == (2, 15, 45.0, ("m1",))
    assert P.profile(store, ana.id, "m1").n == 15 and P.profile(store, ana.id, "m2") is None
    with pytest.raises(StoreError, match="already"):
        P.create_person(store, "ana")
    assert P.rename_person(store, "Ana", "Ana Lima").name == "Ana Lima"
    dup = P.create_person(store, "A. Lima")
    P._add_sample(store, dup.id, vp(near(v, 0.3, 2), 4), "recording")
    merged = P.merge_people(store, "Ana Lima", "A. Lima")
    assert merged.samples == 3 and P.find_person(store, "A. Lima") is None
    assert [p.name for p in P.people(store)] == ["Ana Lima"]

    needle = np.asarray(v * 10, dtype=np.float32).tobytes()
    store.checkpoint()
    assert needle in (store.path.read_bytes() + store.path.with_name("parley.db-wal").read_bytes())
    P.forget(store, "Ana Lima")
    assert P.people(store) == [] and store.conn.execute("SELECT COUNT(*) FROM voice_samples").fetchone()[0] == 0
    raw = store.path.read_bytes()
    wal = store.path.with_name("parley.db-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    assert needle not in raw and needle[:64] not in raw  # gone from the bytes on disk, not only from the table


def test_profiles_of_another_model_are_never_compared(store):
    mid = meeting(store, "m", SPEC)
    a = unit(1)
    ana = P.create_person(store, "Ana")
    P._add_sample(store, ana.id, vp(a, model="other-model"), "recording")
    out = P.auto_name(store, mid, None, voices={sid(store, mid, "A"): vp(a)})
    assert {n.status for n in out} == {"unnamed"}
    assert P.profiles(store, "m1") == {} and set(P.profiles(store, "other-model")) == {ana.id}


def test_auto_naming_names_only_when_clear_suggests_otherwise_and_never_twice(store):
    a, b, c = unit(1), unit(2), unit(3)
    for name, v in (("Ana", a), ("Ben", b)):
        P._add_sample(store, P.create_person(store, name).id, vp(v), "recording")
    mid = meeting(store, "m", SPEC)
    # two speakers who both sound much like Ana: neither is named (a suggestion instead)
    voices = {sid(store, mid, "A"): vp(near(a, 0.4, 1)), sid(store, mid, "B"): vp(near(a, 0.5, 2)), sid(store, mid, "C"): vp(c)}
    out = {n.label: n for n in P.auto_name(store, mid, None, voices=voices)}
    assert out["A"].status == "suggested" and out["B"].status == "unnamed" and out["A"].name.startswith("Speaker")
    # one clearly Ana, another only somewhat like her: only the first is Ana
    voices[sid(store, mid, "B")] = vp(near(a, 1.2, 2))
    out = {n.label: n for n in P.auto_name(store, mid, None, voices=voices)}
    assert out["A"].status == "named" and out["A"].name == "Ana" and out["A"].person_name == "Ana"
    assert out["B"].status == "unnamed" and out["B"].name.startswith("Speaker")  # not a second Ana
    assert out["C"].status == "unnamed" and out["C"].name.startswith("Speaker")  # a stranger
    assert [t.speaker_name for t in store.turns(mid)][0] == "Ana"


def test_a_speaker_with_a_name_of_its_own_is_never_renamed_from_a_profile(store):
    a = unit(1)
    P._add_sample(store, P.create_person(store, "Ana").id, vp(a), "recording")
    mid = meeting(store, "m", SPEC)
    spk = sid(store, mid, "A")
    with store.transaction():  # named during a live meeting, say
        store.conn.execute("UPDATE speakers SET name='Chair' WHERE id=?", (spk,))
    out = {n.label: n for n in P.auto_name(store, mid, None, voices={spk: vp(a)})}
    assert out["A"].name == "Chair" and out["A"].status == "unnamed"


def test_a_suggestion_is_confirmed_with_one_call_and_the_user_naming_is_kept(store):
    a = unit(1)
    ana = P.create_person(store, "Ana")
    P._add_sample(store, ana.id, vp(a), "recording")
    mid = meeting(store, "m", SPEC)
    spk = sid(store, mid, "A")
    P.auto_name(store, mid, None, voices={spk: vp(near(a, 1.3, 5))}, rule=MatchRule(threshold=0.95, suggest=0.1))
    n = next(x for x in P.namings(store, mid) if x.speaker_id == spk)
    assert n.status == "suggested" and n.person_name == "Ana"
    P.confirm_suggestion(store, spk)
    assert next(x for x in P.namings(store, mid) if x.speaker_id == spk).status == "user"
    assert store.speakers(mid)[0].name == "Ana" and store.corrections(mid)[-1].action == "rename_speaker"
    # a second auto-naming run leaves what the user decided
    P.auto_name(store, mid, None, voices={spk: vp(unit(9))})
    assert next(x for x in P.namings(store, mid) if x.speaker_id == spk).person_name == "Ana"


def test_a_rename_contradicting_an_automatic_name_unlinks_it_and_links_the_named_person(store):
    a = unit(1)
    for name in ("Ana", "Bea"):
        P.create_person(store, name)
    P._add_sample(store, P.find_person(store, "Ana").id, vp(a), "recording")
    mid = meeting(store, "m", SPEC)
    spk = sid(store, mid, "A")
    P.auto_name(store, mid, None, voices={spk: vp(near(a, 0.4, 1))})
    assert store.speakers(mid)[0].name == "Ana"
    store.rename_speaker(spk, "Bea")  # the user says: that is Bea
    notes = P.reconcile(store, mid)
    assert any("no longer linked to Ana" in x for x in notes)
    n = next(x for x in P.namings(store, mid) if x.speaker_id == spk)
    assert (n.status, n.person_name) == ("user", "Bea")
    assert P.meetings_with(store, "Bea") == {mid} and P.meetings_with(store, "Ana") == set()


def test_a_rename_of_a_remembered_speaker_moves_their_voice(store):
    mid = meeting(store, "m", SPEC)
    spk = sid(store, mid, "A")
    ana = P.create_person(store, "Ana")
    with store.transaction():
        store.conn.execute("UPDATE speakers SET person_id=?, naming='user', name='Ana' WHERE id=?", (ana.id, spk))
    P._add_sample(store, ana.id, vp(unit(1)), "meeting", mid, "A")
    store.rename_speaker(spk, "Carla")
    notes = P.reconcile(store, mid)
    assert notes == ["Carla: this voice moved from Ana's profile to Carla's"]
    assert P.find_person(store, "Ana").samples == 0 and P.find_person(store, "Carla").samples == 1


def test_undoing_a_remember_unlearns_the_voice(store):
    mid = meeting(store, "m", SPEC)
    spk = sid(store, mid, "A")
    p = P.remember(store, spk, "Ana", None, learn=False)
    P.learn_voice(store, spk, vp(unit(1)))
    assert P.person(store, p.id).samples == 1 and P.reconcile(store, mid) == []
    assert store.undo(mid)  # the rename (and the link with it) undone
    assert P.reconcile(store, mid) == ["the voice learned from this meeting left Ana's profile"]
    assert P.person(store, p.id).samples == 0


def test_the_mic_speaker_of_a_live_meeting_is_the_local_user(store):
    mid = meeting(store, "live", [("LOCAL", 0.0, 4.0, "hi this is me"), ("SYS_00", 4.5, 8.0, "hello there")], kind="mic")
    me_voice = unit(11)
    out = {n.label: n for n in P.auto_name(store, mid, None, voices={sid(store, mid, "LOCAL"): vp(me_voice)})}
    assert out["LOCAL"].status == "local" and out["LOCAL"].name == "You" and out["LOCAL"].person_name == "You"
    me = P.find_person(store, "You")
    assert me.is_self and me.samples == 1  # learned from the mic channel
    # in an imported meeting, the local user's voice names them
    mid2 = meeting(store, "imp", SPEC)
    out = {n.label: n for n in P.auto_name(store, mid2, None, voices={sid(store, mid2, "B"): vp(near(me_voice, 0.4, 3))})}
    assert out["B"].status == "named" and out["B"].name == "You"


def test_export_and_import_a_profile_file(store, tmp_path):
    ana = P.create_person(store, "Ana")
    P._add_sample(store, ana.id, vp(unit(1)), "meeting", None, "A")
    path = P.export_profile(store, "Ana", tmp_path / "ana.json")
    assert path.stat().st_mode & 0o777 == 0o600
    doc = json.loads(path.read_text())
    assert doc["format"] == "parley-voice-profile" and doc["name"] == "Ana" and "meeting" not in path.read_text()
    other = Store(tmp_path / "other" / "parley.db")
    got = P.import_profile(other, path)
    assert (got.name, got.samples, got.windows) == ("Ana", 1, 10)
    assert np.allclose(P.profile(other, got.id, "m1").centroid, P.profile(store, ana.id, "m1").centroid)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(StoreError, match="cannot read"):
        P.import_profile(other, tmp_path / "bad.json")


def test_a_persons_page_what_they_said_and_their_action_items(store):
    from summaries.types import Item, MeetingSummary

    a = unit(1)
    ana = P.create_person(store, "Ana")
    P._add_sample(store, ana.id, vp(a), "recording")
    m1 = meeting(store, "m1", SPEC, title="Monday")
    m2 = meeting(store, "m2", [("X", 0.0, 4.0, "budget numbers look fine"), ("Y", 4.5, 6.0, "ok")], title="Tuesday")
    P.auto_name(store, m1, None, voices={sid(store, m1, "A"): vp(near(a, 0.3, 1))})
    P.auto_name(store, m2, None, voices={sid(store, m2, "X"): vp(near(a, 0.3, 2))})
    spk = sid(store, m1, "A")
    turn = store.turns(m1)[0].id
    summary = MeetingSummary(speakers=(), decisions=(), action_items=(Item("ship on friday", (turn,), "Ana", spk, "friday"),
                                                                       Item("review budget", (turn,), "Speaker 2", spk + 1)),
                             model="extractive", local=True, prompt_version="1")
    store.add_summary(m1, speaker_id=None, kind="meeting", model="extractive", prompt_version="1",
                      content_json=summary.to_json(), markdown="", local=True)
    page = P.person_page(store, "Ana")
    assert [m.title for m in page.meetings] == ["Tuesday", "Monday"]
    assert page.person.meetings == 2 and page.person.talk_time == pytest.approx(5.0 + 2.5 + 4.0)
    assert [(i.title, i.text, i.due) for i in page.action_items] == [("Monday", "ship on friday", "friday")]
    assert [h.snippet for h in P.said(store, "Ana", "budg")] == ["[budget] numbers look fine"]
    assert len(P.said(store, "Ana")) == 3 and P.said(store, "Ana", "hello") == []  # Speaker C said hello, not Ana


def test_a_v3_database_migrates_to_people(tmp_path):
    fixture = FIXTURES / "v3-4fd8e95.db"
    path = tmp_path / "parley.db"
    shutil.copy(fixture, path)
    store = Store(path)
    from meetings.migrations import LATEST

    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST  # v4 (people) and on
    fresh = Store(tmp_path / "fresh" / "parley.db")
    q = "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    assert set(store.conn.execute(q)) == set(fresh.conn.execute(q))
    weekly = next(m for m in store.list_meetings() if m.title == "Weekly sync")
    assert [s.name for s in store.speakers(weekly.id)] == ["Ana", "Speaker 2"]
    assert store.redo(weekly.id) and store.undo(weekly.id)  # old correction images (no person columns) still replay
    assert [n.status for n in P.namings(store, weekly.id)] == ["unnamed", "unnamed"]
    assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
