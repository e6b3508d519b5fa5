"""The SQLite store on real files: round trips, transactions, corrections with undo/redo, search, migrations."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from sqlite_utils import Database

from meetings.errors import StoreError
from meetings.migrations import LATEST, migrate
from meetings.store import Store
from meetings.types import AttributedWord, AudioInfo, FlagReason, PipelineOptions, Turn, Word


def audio(sha="abc") -> AudioInfo:
    return AudioInfo(source_path="/x/call.m4a", sha256=sha, duration=12.0, source_sample_rate=48000, channels=2, codec="aac", container="mov")


def turn(speaker, start, texts, flags=(), overlapped=False):
    words = tuple(
        AttributedWord(Word(start + i * 0.5, start + i * 0.5 + 0.4, " " + t, 0.8), speaker, ("B",) if overlapped else (), 0.9)
        for i, t in enumerate(texts)
    )
    return Turn(speaker, start, start + len(texts) * 0.5, words, confidence=0.42 if flags else 0.9, flags=flags, overlapped=overlapped)


TURNS = [
    turn("A", 0.0, ["we", "should", "ship", "friday"]),
    turn("B", 2.5, ["don't", "agree"], flags=(FlagReason.SHORT_TURN, FlagReason.OVERLAP)),
    turn("A", 4.0, ["why", "not"]),
    turn("B", 4.2, ["yeah"], overlapped=True, flags=(FlagReason.OVERLAP,)),
]


@pytest.fixture
def meeting(store):
    mid = store.begin_meeting("Weekly sync", audio(), "/data/a.wav", PipelineOptions(), "tiny.en", "embedded")
    store.save_result(mid, speakers=("A", "B", "C"), centroids=np.eye(3, dtype=np.float32), turns=TURNS, language="en")
    return mid


def state(store, mid):
    return [(t.speaker_label, t.speaker_name, t.text, t.seq, t.reviewed, [w.speaker_id for w in t.words]) for t in store.turns(mid)], [
        (s.label, s.name) for s in store.speakers(mid)
    ]


def test_round_trip(store, meeting):
    m = store.get_meeting(meeting)
    assert (m.status, m.num_turns, m.num_flagged, m.num_speakers) == ("done", 4, 2, 2)
    turns = store.turns(meeting)
    assert [t.text for t in turns] == ["we should ship friday", "don't agree", "why not", "yeah"]
    assert turns[1].flags == (FlagReason.SHORT_TURN, FlagReason.OVERLAP)
    assert turns[3].overlapped and turns[3].words[0].overlapping == ("B",)
    assert [s.name for s in store.speakers(meeting)] == ["Speaker 1", "Speaker 2", "Speaker 3"]
    cents = store.speaker_centroids(meeting)
    assert len(cents) == 3 and all(v.dtype == np.float32 for v in cents.values())
    assert turns[0].words[2].start == pytest.approx(1.0)


def test_failed_save_writes_nothing(store):
    mid = store.begin_meeting("bad", audio("zz"), "/a.wav", PipelineOptions(), "tiny.en", "embedded")
    broken = [turn("A", 0.0, ["ok"]), Turn("A", 1.0, 2.0, (AttributedWord(Word(1, 2, " x", 0.5), "GHOST"),))]
    with pytest.raises(StoreError):
        store.save_result(mid, speakers=("A",), centroids=None, turns=broken, language="en")
    assert store.conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0
    assert store.conn.execute("SELECT COUNT(*) FROM words").fetchone()[0] == 0
    assert store.get_meeting(mid).status == "processing"


def test_dedupe_and_interrupted(store, meeting):
    assert store.find_by_sha256("abc").id == meeting
    other = store.begin_meeting("crashed", audio("def"), "/b.wav", PipelineOptions(), "tiny.en", "embedded")
    assert store.mark_interrupted() == 1
    assert store.get_meeting(other).status == "interrupted"
    with pytest.raises(StoreError, match="no meeting"):
        store.get_meeting(999)


def test_every_correction_undoes_and_redoes_exactly(store, meeting):
    spk = {s.label: s.id for s in store.speakers(meeting)}
    ops = [
        lambda: store.rename_speaker(spk["A"], "Ana"),
        lambda: store.reassign_turn(store.turns(meeting)[1].id, spk["A"]),
        lambda: store.split_turn(store.turns(meeting)[0].id, 2),
        lambda: store.merge_turn_with_previous(store.turns(meeting)[2].id),
        lambda: store.mark_reviewed(store.turns(meeting)[0].id),
        lambda: store.reassign_speaker_turns(spk["B"], spk["C"]),
        lambda: store.merge_speakers(spk["A"], spk["C"]),
    ]
    for op in ops:
        before = state(store, meeting)
        rev = store.revision(meeting)
        op()
        after = state(store, meeting)
        assert after != before
        assert store.revision(meeting) == rev + 1
        assert store.undo(meeting)
        assert state(store, meeting) == before
        assert store.redo(meeting)
        assert state(store, meeting) == after
    audit = store.corrections(meeting)
    assert [c.action for c in audit] == ["rename_speaker", "reassign_turn", "split_turn", "merge_turn_with_previous", "mark_reviewed", "reassign_speaker_turns", "merge_speakers"]
    assert all(c.actor for c in audit)
    # words always agree with their turn's speaker
    for t in store.turns(meeting):
        assert all(w.speaker_id == t.speaker_id for w in t.words)


def test_split_and_merge_texts(store, meeting):
    first = store.turns(meeting)[0]
    new_id = store.split_turn(first.id, 2)
    texts = {t.id: t.text for t in store.turns(meeting)}
    assert texts[first.id] == "we should" and texts[new_id] == "ship friday"
    assert store.merge_turn_with_previous(new_id) == first.id
    assert store.turns(meeting)[0].text == "we should ship friday"
    with pytest.raises(StoreError):
        store.split_turn(first.id, 0)
    with pytest.raises(StoreError):
        store.merge_turn_with_previous(store.turns(meeting)[0].id)


def test_undo_chain_and_new_correction_clears_redo(store, meeting):
    spk = {s.label: s.id for s in store.speakers(meeting)}
    start = state(store, meeting)
    store.rename_speaker(spk["A"], "Ana")
    store.rename_speaker(spk["B"], "Ben")
    assert store.undo(meeting) and store.undo(meeting)
    assert state(store, meeting) == start
    assert not store.undo(meeting)
    store.rename_speaker(spk["A"], "Alice")
    assert not store.redo(meeting)


def test_corrections_mark_summaries_stale(store, meeting):
    sid = store.add_summary(meeting, speaker_id=None, kind="meeting", model="local-extractive", prompt_version="1", content_json="{}", markdown="# x", local=True)
    assert not store.summaries(meeting)[0].stale
    store.rename_speaker(store.speakers(meeting)[0].id, "Ana")
    [s] = store.summaries(meeting)
    assert s.id == sid and s.stale and s.transcript_revision == 0
    store.add_summary(meeting, speaker_id=None, kind="meeting", model="local-extractive", prompt_version="1", content_json="{}", markdown="# y", local=True)
    assert [s.markdown for s in store.summaries(meeting)] == ["# y"]
    assert len(store.summaries(meeting, include_old=True)) == 2
    assert store.summaries(meeting)[0].transcript_revision == 1


@pytest.mark.parametrize("query", ["don't", '"', "AND", "ship OR", "*", "", "friday)"])
def test_search_never_raises(store, meeting, query):
    store.search(query)


def test_search_finds_turns_and_follows_corrections(store, meeting):
    [hit] = store.search("friday")
    assert hit.meeting_title == "Weekly sync" and hit.speaker_name == "Speaker 1" and "friday" in hit.snippet
    first = store.turns(meeting)[0]
    store.split_turn(first.id, 2)
    hits = store.search("friday")
    assert len(hits) == 1 and hits[0].turn_id != first.id


def test_migrates_a_v1_database_with_data(tmp_path):
    path = tmp_path / "old.db"
    db = Database(sqlite3.connect(path))
    migrate(db, target=1)
    db.conn.execute(
        "INSERT INTO meetings (id, title, created_at, duration, source_path, sha256, audio_path, status) VALUES (1,'old','2025-01-01',5,'/s','h','/a','done')"
    )
    db.conn.execute("INSERT INTO speakers (id, meeting_id, label, name) VALUES (1,1,'SPEAKER_00','Speaker 1')")
    db.conn.execute("INSERT INTO turns (id, meeting_id, seq, speaker_id, start, \"end\", confidence, text) VALUES (1,1,0,1,0,1,0.9,'hello world')")
    db.conn.commit()
    db.conn.close()
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert store.list_meetings()[0].title == "old"
    assert store.turns(1)[0].text == "hello world"
    assert store.search("hello")[0].turn_id == 1


def test_writes_survive_without_close(tmp_path):
    path = tmp_path / "p.db"
    s1 = Store(path)
    mid = s1.begin_meeting("m", audio(), "/a.wav", PipelineOptions(), "tiny.en", "embedded")
    s1.save_result(mid, speakers=("A", "B"), centroids=None, turns=TURNS, language="en")
    s1.rename_speaker(s1.speakers(mid)[0].id, "Ana")
    # a second connection (as after a crash) sees everything that was committed
    s2 = Store(path)
    assert s2.speakers(mid)[0].name == "Ana" and len(s2.turns(mid)) == 4
    assert json.loads(s2.conn.execute("SELECT payload_json FROM corrections").fetchone()[0])["after"]["speakers"]
