"""The SQLite store on real files: round trips, transactions, corrections with undo/redo, search, migrations."""

from __future__ import annotations

import getpass
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sqlite_utils import Database

import meetings.migrations as migrations
from meetings.errors import StoreError
from meetings.migrations import LATEST, migrate
from meetings.store import Store
from meetings.types import AttributedWord, AudioInfo, FlagReason, PipelineOptions, Turn, Word

REPO = Path(__file__).resolve().parent.parent


def audio(sha: str = "abc") -> AudioInfo:
    return AudioInfo(source_path="/x/call.m4a", sha256=sha, duration=12.0, source_sample_rate=48000, channels=2, codec="aac", container="mov")


def turn(speaker: str, start: float, texts: list[str], flags=(), overlapped: bool = False) -> Turn:
    words = tuple(
        AttributedWord(Word(start + i * 0.5, start + i * 0.5 + 0.4, " " + t, 0.8 - i * 0.01), speaker, ("B",) if overlapped else (), 0.9)
        for i, t in enumerate(texts)
    )
    return Turn(speaker, start, start + len(texts) * 0.5, words, confidence=0.42 if flags else 0.9, flags=flags, overlapped=overlapped)


TURNS = [
    turn("A", 0.0, ["we", "should", "ship", "friday"]),
    turn("B", 2.5, ["don't", "agree"], flags=(FlagReason.SHORT_TURN, FlagReason.OVERLAP)),
    turn("A", 4.0, ["why", "not", "and", "when"]),
    turn("B", 4.2, ["yeah"], overlapped=True, flags=(FlagReason.OVERLAP,)),
]
CENTROIDS = np.array([[0.1, 0.2, 0.3], [1e-7, -2.5, 3.25], [7.0, 8.0, 9.0]], dtype=np.float32)


def begin(store: Store, sha: str = "abc", title: str = "Weekly sync") -> int:
    return store.begin_meeting(title, audio(sha), f"/data/audio/{sha}.wav", PipelineOptions(), "tiny.en", "embedded")


@pytest.fixture
def meeting(store: Store) -> int:
    mid = begin(store)
    store.save_result(mid, speakers=("A", "B", "C"), centroids=CENTROIDS, turns=TURNS, language="en")
    return mid


def count(store: Store, table: str) -> int:
    return store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def dump(store: Store, mid: int) -> dict[str, list[tuple]]:
    """Every row of the meeting's transcript tables, byte for byte (summaries without the stale flag)."""
    out = {t: store.conn.execute(f"SELECT * FROM {t} WHERE meeting_id=? ORDER BY id", (mid,)).fetchall() for t in ("speakers", "turns", "words")}
    out["summaries"] = store.conn.execute("SELECT id, speaker_id, kind, markdown FROM summaries WHERE meeting_id=? ORDER BY id", (mid,)).fetchall()
    return out


def fts_consistent(store: Store) -> None:
    """Every turn is found by its own text, and the FTS index holds exactly the turns."""
    for tid, text in store.conn.execute("SELECT id, text FROM turns").fetchall():
        assert tid in {h.turn_id for h in store.search(text, limit=1000)}, text
    indexed = store.conn.execute("SELECT id FROM turns_fts_docsize ORDER BY id").fetchall()
    assert indexed == store.conn.execute("SELECT id FROM turns ORDER BY id").fetchall()
    store.conn.execute("INSERT INTO turns_fts (turns_fts) VALUES ('integrity-check')")


# -- schema and connection -----------------------------------------------------------------------


def test_pragmas_and_schema(store: Store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST == 5
    assert {"meetings", "audio_sources", "speakers", "turns", "words", "corrections", "summaries", "turns_fts"} <= set(store.db.table_names())
    assert store.db["turns"].detect_fts() == "turns_fts"  # sqlite-utils recognises the index


def test_default_location_and_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / "here"))
    s = Store.default()
    assert s.path == tmp_path / "here" / "parley.db" and s.path.is_file()
    assert s.data_dir == tmp_path / "here"


def test_not_a_database_is_a_store_error(tmp_path):
    bad = tmp_path / "parley.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store(bad)


# -- saving and loading ---------------------------------------------------------------------------


def test_round_trip(store: Store, meeting: int):
    m = store.get_meeting(meeting)
    assert (m.title, m.status, m.duration, m.sha256, m.audio_path, m.source_path) == ("Weekly sync", "done", 12.0, "abc", "/data/audio/abc.wav", "/x/call.m4a")
    assert (m.num_turns, m.num_flagged, m.num_speakers) == (4, 2, 2)  # C has no turn
    turns = store.turns(meeting)
    assert [t.seq for t in turns] == [0, 1, 2, 3]
    assert [t.text for t in turns] == ["we should ship friday", "don't agree", "why not and when", "yeah"]
    assert [t.speaker_label for t in turns] == ["A", "B", "A", "B"]
    assert turns[1].flags == (FlagReason.SHORT_TURN, FlagReason.OVERLAP) and turns[1].confidence == 0.42
    assert turns[3].overlapped and not turns[0].overlapped and not any(t.reviewed for t in turns)
    for stored, original in zip(turns, TURNS):
        assert (stored.start, stored.end) == (original.start, original.end)
        assert [(w.idx, w.start, w.end, w.text, w.probability, w.timed, w.overlapping, w.speaker_share) for w in stored.words] == [
            (i, a.word.start, a.word.end, a.word.text, a.word.probability, a.word.timed, a.overlapping, a.speaker_share)
            for i, a in enumerate(original.words)
        ]
        assert all(w.speaker_id == stored.speaker_id for w in stored.words)
    spk = store.speakers(meeting)
    assert [(s.label, s.name) for s in spk] == [("A", "Speaker 1"), ("B", "Speaker 2"), ("C", "Speaker 3")]
    cents = store.speaker_centroids(meeting)
    for s, row in zip(spk, CENTROIDS):
        assert cents[s.id].dtype == np.float32 and np.array_equal(cents[s.id], row)
    assert store.turn(turns[2].id) == turns[2]
    src = store.conn.execute("SELECT kind, path, channels, sample_rate, codec, container FROM audio_sources").fetchall()
    assert src == [("file", "/x/call.m4a", 2, 48000, "aac", "mov")]
    options = json.loads(store.conn.execute("SELECT options_json FROM meetings").fetchone()[0])
    assert options["asr_model"] == "tiny.en" and options["beam_size"] == 5


def test_meeting_warnings_keep_the_decoders_and_add_the_whole_meeting_checks(store: Store):
    from dataclasses import replace

    mid = store.begin_meeting("Call", replace(audio("w1"), warnings=("the file ends early: 3.2 s of 15.4 s decoded",)),
                              "/data/audio/w1.wav", PipelineOptions(), "tiny.en", "embedded")
    assert store.warnings(mid) == ("the file ends early: 3.2 s of 15.4 s decoded",)
    checks = ("one speaker holds 97 % of the speech: a call's two parties may have been merged",)
    store.save_result(mid, speakers=("A", "B", "C"), centroids=CENTROIDS, turns=TURNS, language="en",
                      warnings=checks + ("the file ends early: 3.2 s of 15.4 s decoded",))  # a repeat is kept once
    assert store.warnings(mid) == ("the file ends early: 3.2 s of 15.4 s decoded", *checks)
    with pytest.raises(StoreError):
        store.warnings(mid + 100)


def test_speakers_are_numbered_by_first_appearance(store: Store):
    mid = begin(store)
    late_first = [turn("SPEAKER_01", 0.0, ["hi"]), turn("SPEAKER_00", 1.0, ["hello"]), turn("SPEAKER_01", 0.5, ["again"])]
    store.save_result(mid, speakers=("SPEAKER_00", "SPEAKER_01", "SPEAKER_02"), centroids=None, turns=late_first, language="en")
    names = {s.label: s.name for s in store.speakers(mid)}
    assert names == {"SPEAKER_01": "Speaker 1", "SPEAKER_00": "Speaker 2", "SPEAKER_02": "Speaker 3"}
    assert [t.text for t in store.turns(mid)] == ["hi", "again", "hello"]  # seq in time order
    assert store.speaker_centroids(mid) == {}


def test_no_diarized_speakers_takes_the_turns_labels(store: Store):
    mid = begin(store)
    store.save_result(mid, speakers=(), centroids=None, turns=[turn("SPEAKER_00", 0.0, ["hello"])], language="en")
    assert [(s.label, s.name) for s in store.speakers(mid)] == [("SPEAKER_00", "Speaker 1")]
    assert store.turns(mid)[0].speaker_name == "Speaker 1"


def test_unknown_speaker_label_writes_nothing(store: Store):
    mid = begin(store, "zz")
    broken = [turn("A", 0.0, ["ok"]), turn("GHOST", 1.0, ["boo"])]
    with pytest.raises(StoreError, match="GHOST"):
        store.save_result(mid, speakers=("A",), centroids=None, turns=broken, language="en")
    word_only = [Turn("A", 1.0, 2.0, (AttributedWord(Word(1, 2, " x", 0.5), "GHOST"),))]
    with pytest.raises(StoreError, match="GHOST"):
        store.save_result(mid, speakers=("A",), centroids=None, turns=word_only, language="en")
    with pytest.raises(StoreError, match="centroids"):
        store.save_result(mid, speakers=("A",), centroids=np.zeros((2, 3), np.float32), turns=broken[:1], language="en")
    assert (count(store, "speakers"), count(store, "turns"), count(store, "words"), count(store, "turns_fts_docsize")) == (0, 0, 0, 0)
    assert store.get_meeting(mid).status == "processing"


def test_failure_mid_write_rolls_back(store: Store):
    mid = begin(store, "zz")
    nan_word = Turn("B", 3.0, 4.0, (AttributedWord(Word(float("nan"), 4.0, " x", 0.5), "B"),))  # NaN is NULL: NOT NULL fails
    with pytest.raises(StoreError):
        store.save_result(mid, speakers=("A", "B"), centroids=None, turns=[*TURNS[:1], nan_word], language="en")
    assert (count(store, "speakers"), count(store, "turns"), count(store, "words"), count(store, "turns_fts_docsize")) == (0, 0, 0, 0)
    assert store.get_meeting(mid).status == "processing"
    store.save_result(mid, speakers=("A", "B"), centroids=None, turns=TURNS, language="en")  # the store is still usable
    assert store.get_meeting(mid).num_turns == 4
    with pytest.raises(StoreError, match="already has a result"):
        store.save_result(mid, speakers=("A", "B"), centroids=None, turns=TURNS, language="en")
    with pytest.raises(StoreError, match="no meeting with id 77"):
        store.save_result(77, speakers=("A",), centroids=None, turns=[], language="en")


def test_dedupe_interrupted_failed_and_listing(store: Store, meeting: int):
    assert store.find_by_sha256("abc").id == meeting and store.find_by_sha256("nope") is None
    with pytest.raises(StoreError, match=f"already meeting {meeting}"):
        begin(store, "abc")
    crashed = begin(store, "def", "crashed")
    failed = begin(store, "ghi", "broken")
    store.fail_meeting(failed, "decoder exploded")
    assert store.mark_interrupted() == 1 and store.mark_interrupted() == 0
    assert [store.get_meeting(i).status for i in (meeting, crashed, failed)] == ["done", "interrupted", "failed"]
    assert [m.id for m in store.list_meetings()] == [failed, crashed, meeting]  # newest first
    with pytest.raises(StoreError, match="no meeting with id 999"):
        store.get_meeting(999)


def test_delete_meeting_cascades(store: Store, meeting: int):
    other = begin(store, "other", "Other")
    store.save_result(other, speakers=("A",), centroids=None, turns=[turn("A", 0.0, ["friday", "again"])], language="en")
    store.add_summary(meeting, speaker_id=None, kind="meeting", model="m", prompt_version="1", content_json="{}", markdown="x", local=True)
    store.rename_speaker(store.speakers(meeting)[0].id, "Ana")
    store.delete_meeting(meeting)
    for table in ("audio_sources", "speakers", "turns", "words", "corrections", "summaries"):
        assert store.conn.execute(f"SELECT COUNT(*) FROM {table} WHERE meeting_id=?", (meeting,)).fetchone()[0] == 0, table
    assert [h.meeting_id for h in store.search("friday")] == [other]
    assert [m.id for m in store.list_meetings()] == [other]


# -- corrections -----------------------------------------------------------------------------------


def ops(store: Store, mid: int):
    spk = {s.label: s.id for s in store.speakers(mid)}
    t = lambda i: store.turns(mid)[i].id  # noqa: E731
    return [
        ("rename_speaker", lambda: store.rename_speaker(spk["A"], "Ana")),
        ("reassign_turn", lambda: store.reassign_turn(t(1), spk["A"])),
        ("split_turn", lambda: store.split_turn(t(0), 2)),
        ("merge_turn_with_previous", lambda: store.merge_turn_with_previous(t(2))),
        ("mark_reviewed", lambda: store.mark_reviewed(t(0))),
        ("reassign_speaker_turns", lambda: store.reassign_speaker_turns(spk["B"], spk["C"])),
        ("merge_speakers", lambda: store.merge_speakers(spk["A"], spk["C"])),
    ]


def test_every_correction_undoes_and_redoes_exactly(store: Store, meeting: int):
    spk_c = store.speakers(meeting)[2].id
    store.add_summary(meeting, speaker_id=spk_c, kind="speaker", model="m", prompt_version="1", content_json="{}", markdown="C", local=True)
    for n, (action, op) in enumerate(ops(store, meeting), start=1):
        before, rev = dump(store, meeting), store.revision(meeting)
        op()
        after = dump(store, meeting)
        assert after != before, action
        assert store.revision(meeting) == rev + 1
        assert store.undo(meeting)
        assert dump(store, meeting) == before, action
        fts_consistent(store)
        assert store.redo(meeting)
        assert dump(store, meeting) == after, action
        fts_consistent(store)
        assert store.revision(meeting) == rev + 3  # the correction, its undo, its redo
        audit = store.corrections(meeting)
        assert len(audit) == n and audit[-1].action == action and not audit[-1].undone
        assert audit[-1].actor == getpass.getuser() and audit[-1].summary
    # words always agree with their turn's speaker, seq is the time order, texts come from words
    turns = store.turns(meeting)
    assert [t.seq for t in turns] == list(range(len(turns)))
    assert [(t.start, t.end) for t in turns] == sorted((t.start, t.end) for t in turns)
    for t in turns:
        assert all(w.speaker_id == t.speaker_id for w in t.words)
        assert [w.idx for w in t.words] == list(range(len(t.words)))
        assert t.text == "".join(w.text for w in t.words).strip()
    # the merged-away speaker's summary now belongs to the kept one
    assert [s.speaker_id for s in store.summaries(meeting)] == [store.speakers(meeting)[0].id]


def test_undo_all_returns_to_the_saved_result(store: Store, meeting: int):
    saved = dump(store, meeting)
    for _, op in ops(store, meeting):
        op()
    n = len(store.corrections(meeting))
    for _ in range(n):
        assert store.undo(meeting)
    assert not store.undo(meeting)
    assert dump(store, meeting) == saved
    assert np.array_equal(list(store.speaker_centroids(meeting).values())[2], CENTROIDS[2])  # merged-away speaker is back whole
    for _ in range(n):
        assert store.redo(meeting)
    assert not store.redo(meeting)
    assert all(not c.undone for c in store.corrections(meeting))


def test_payload_holds_before_and_after(store: Store, meeting: int):
    sid = store.speakers(meeting)[0].id
    store.rename_speaker(sid, "  Ana  ")
    payload = json.loads(store.conn.execute("SELECT payload_json FROM corrections").fetchone()[0])
    assert [r["name"] for r in payload["before"]["speakers"]] == ["Speaker 1"]
    assert [r["name"] for r in payload["after"]["speakers"]] == ["Ana"]
    row = store.conn.execute("SELECT meeting_id, actor, action, undone FROM corrections").fetchone()
    assert row == (meeting, getpass.getuser(), "rename_speaker", 0)


def test_new_correction_after_undo_drops_the_redo_chain(store: Store, meeting: int):
    a, b = (s.id for s in store.speakers(meeting)[:2])
    start = dump(store, meeting)
    store.rename_speaker(a, "Ana")
    store.rename_speaker(b, "Ben")
    assert store.undo(meeting) and store.undo(meeting)
    assert dump(store, meeting) == start and not store.undo(meeting)
    assert store.redo(meeting)  # redo re-applies the most recently undone: Ana
    assert [s.name for s in store.speakers(meeting)][:2] == ["Ana", "Speaker 2"]
    store.rename_speaker(b, "Bea")  # drops "Ben" from the redo chain
    assert not store.redo(meeting)
    assert store.undo(meeting)  # undoes Bea
    assert [s.name for s in store.speakers(meeting)][:2] == ["Ana", "Speaker 2"]
    assert store.redo(meeting)  # re-applies Bea, never Ben
    assert [s.name for s in store.speakers(meeting)][:2] == ["Ana", "Bea"]
    audit = store.corrections(meeting)  # append-only: nothing was deleted
    assert [(c.summary, c.undone) for c in audit] == [
        ("'Speaker 1' renamed to 'Ana'", False), ("'Speaker 2' renamed to 'Ben'", True), ("'Speaker 2' renamed to 'Bea'", False)
    ]


def test_split_and_merge_texts_and_times(store: Store, meeting: int):
    first = store.turns(meeting)[0]
    new_id = store.split_turn(first.id, 2)
    by_id = {t.id: t for t in store.turns(meeting)}
    a, b = by_id[first.id], by_id[new_id]
    assert (a.text, b.text) == ("we should", "ship friday")
    assert (a.seq, b.seq) == (0, 1) and (a.speaker_id, b.speaker_id) == (first.speaker_id, first.speaker_id)
    assert (a.start, a.end, b.start, b.end) == (0.0, 0.9, 1.0, 2.0)
    assert [w.idx for w in b.words] == [0, 1] and b.flags == first.flags
    assert store.merge_turn_with_previous(new_id) == first.id
    merged = store.turns(meeting)[0]
    assert (merged.text, merged.start, merged.end, len(store.turns(meeting))) == ("we should ship friday", 0.0, 2.0, 4)
    flagged = store.turns(meeting)[1]
    assert store.merge_turn_with_previous(flagged.id) == first.id  # B's words join A's turn and become A's
    merged = store.turns(meeting)[0]
    assert merged.text == "we should ship friday don't agree" and merged.flags == flagged.flags and merged.confidence == 0.42
    assert {w.speaker_id for w in merged.words} == {first.speaker_id}


def test_corrections_refuse_bad_input_and_change_nothing(store: Store, meeting: int):
    other = begin(store, "other")
    store.save_result(other, speakers=("X",), centroids=None, turns=[turn("X", 0.0, ["hi"])], language="en")
    x = store.speakers(other)[0].id
    first, spk = store.turns(meeting)[0], store.speakers(meeting)
    saved, rev = dump(store, meeting), store.revision(meeting)
    for bad in (
        lambda: store.split_turn(first.id, 0),
        lambda: store.split_turn(first.id, 4),
        lambda: store.merge_turn_with_previous(first.id),
        lambda: store.rename_speaker(spk[0].id, "   "),
        lambda: store.reassign_turn(first.id, x),
        lambda: store.merge_speakers(spk[0].id, spk[0].id),
        lambda: store.merge_speakers(spk[0].id, x),
        lambda: store.reassign_turn(12345, spk[0].id),
        lambda: store.add_summary(meeting, speaker_id=x, kind="speaker", model="m", prompt_version="1", content_json="{}", markdown="", local=True),
    ):
        with pytest.raises(StoreError):
            bad()
    assert store.reassign_speaker_turns(spk[2].id, spk[0].id) == 0  # C has no turns: nothing to do, nothing recorded
    assert dump(store, meeting) == saved and store.revision(meeting) == rev and store.corrections(meeting) == []
    assert not store.undo(meeting) and not store.redo(meeting)


def test_reassign_only_some_turns_and_review_flags(store: Store, meeting: int):
    a, b, c = (s.id for s in store.speakers(meeting))
    b_turns = [t.id for t in store.turns(meeting) if t.speaker_id == b]
    assert store.reassign_speaker_turns(b, c, only_turn_ids=[b_turns[1], store.turns(meeting)[0].id]) == 1
    moved = {t.id: t for t in store.turns(meeting)}
    assert moved[b_turns[1]].speaker_id == c and moved[b_turns[0]].speaker_id == b and moved[b_turns[1]].reviewed
    assert store.get_meeting(meeting).num_flagged == 1 and store.get_meeting(meeting).num_speakers == 3
    store.mark_reviewed(b_turns[0])
    assert store.get_meeting(meeting).num_flagged == 0
    store.mark_reviewed(b_turns[0], reviewed=False)
    assert store.get_meeting(meeting).num_flagged == 1
    assert store.turns(meeting)[1].flags == (FlagReason.SHORT_TURN, FlagReason.OVERLAP)  # accepting clears nothing else


# -- summaries -------------------------------------------------------------------------------------


def test_summaries_latest_revision_and_stale(store: Store, meeting: int):
    s1 = store.speakers(meeting)[0].id
    kw = dict(model="local-extractive", prompt_version="1", content_json='{"a": 1}', local=True)
    first = store.add_summary(meeting, speaker_id=None, kind="meeting", markdown="# x", **kw)
    store.add_summary(meeting, speaker_id=s1, kind="speaker", markdown="s1", **kw)
    assert [(s.kind, s.stale, s.transcript_revision, s.local) for s in store.summaries(meeting)] == [("meeting", False, 0, True), ("speaker", False, 0, True)]
    store.rename_speaker(s1, "Ana")
    assert all(s.stale for s in store.summaries(meeting))
    newer = store.add_summary(meeting, speaker_id=None, kind="meeting", markdown="# y", **kw)
    latest = store.summaries(meeting)
    assert [(s.id, s.stale, s.transcript_revision) for s in latest if s.kind == "meeting"] == [(newer, False, 1)]
    assert [s.id for s in store.summaries(meeting, include_old=True)][0] == first and len(store.summaries(meeting, include_old=True)) == 3
    assert store.undo(meeting)  # undo is a change of the transcript too
    assert all(s.stale for s in store.summaries(meeting)) and store.revision(meeting) == 2


# -- search ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["don't", '"', '""', "AND", "OR", "NOT", "ship OR", "NEAR(ship friday)", "*", "fri*", "^ship", "text:ship", "-ship",
     "(", "friday)", "", "   ", "_", "a'b\"c", "🙂", "x" * 5000, "ship AND", "'; DROP TABLE turns; --"],
)
def test_search_never_raises(store: Store, meeting: int, query: str):
    hits = store.search(query)
    assert isinstance(hits, list) and all(h.meeting_id == meeting for h in hits)
    assert count(store, "turns") == 4


def test_search_finds_words_not_operators(store: Store, meeting: int):
    assert [h.turn_id for h in store.search("don't")] == [store.turns(meeting)[1].id]
    assert [h.turn_id for h in store.search("AND")] == [store.turns(meeting)[2].id]  # "and" is a word here
    assert store.search("ship OR nothing") == []  # OR is a word too: every word must match
    [hit] = store.search("Friday")
    assert (hit.meeting_title, hit.speaker_name, hit.start) == ("Weekly sync", "Speaker 1", 0.0)
    assert "[friday]" in hit.snippet
    assert len(store.search("ship", limit=0)) == 0


def test_search_follows_corrections(store: Store, meeting: int):
    first = store.turns(meeting)[0]
    store.rename_speaker(first.speaker_id, "Ana")
    new_id = store.split_turn(first.id, 2)
    [hit] = store.search("friday")
    assert hit.turn_id == new_id and hit.speaker_name == "Ana"
    assert [h.turn_id for h in store.search("should")] == [first.id]
    store.undo(meeting)
    assert [h.turn_id for h in store.search("friday")] == [first.id]


# -- migrations and durability ---------------------------------------------------------------------


def make_v1(path: Path) -> None:
    db = Database(sqlite3.connect(path, isolation_level=None))
    migrate(db, target=1)
    db.conn.executescript(
        """
        INSERT INTO meetings (id, title, created_at, duration, source_path, sha256, audio_path, status)
            VALUES (1, 'old', '2025-01-01T00:00:00+00:00', 5, '/s', 'h', '/a', 'done');
        INSERT INTO speakers (id, meeting_id, label, name) VALUES (1, 1, 'SPEAKER_00', 'Speaker 1');
        INSERT INTO turns (id, meeting_id, seq, speaker_id, start, "end", confidence, text) VALUES (1, 1, 0, 1, 0, 1, 0.9, 'hello world');
        INSERT INTO words (meeting_id, turn_id, idx, start, "end", text, probability, speaker_id) VALUES (1, 1, 0, 0, 0.5, ' hello', 0.9, 1);
        INSERT INTO words (meeting_id, turn_id, idx, start, "end", text, probability, speaker_id) VALUES (1, 1, 1, 0.5, 1, ' world', 0.9, 1);
        """
    )
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "corrections" not in db.table_names()
    db.conn.close()


def test_migrates_a_v1_database_with_data(tmp_path):
    path = tmp_path / "old.db"
    make_v1(path)
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert (count(store, "meetings"), count(store, "speakers"), count(store, "turns"), count(store, "words")) == (1, 1, 1, 2)
    assert [m.title for m in store.list_meetings()] == ["old"] and store.revision(1) == 0
    [t] = store.turns(1)
    assert t.text == "hello world" and [w.text for w in t.words] == [" hello", " world"]
    assert store.search("hello")[0].turn_id == 1  # existing turns were indexed
    store.split_turn(1, 1)  # and the new tables work
    assert store.undo(1) and store.turns(1)[0].text == "hello world"
    Store(path)  # opening a migrated database again changes nothing
    assert count(store, "turns_fts_docsize") == 1


def test_a_failing_migration_step_leaves_the_previous_version(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    make_v1(path)

    def broken(db: Database) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk on fire")

    monkeypatch.setattr(migrations, "MIGRATIONS", [migrations.MIGRATIONS[0], broken])
    with pytest.raises(StoreError, match="disk on fire"):
        Store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name='half_done'").fetchone()[0] == 0
    conn.close()
    monkeypatch.undo()
    assert Store(path).turns(1)[0].text == "hello world"


def test_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_committed_writes_are_visible_to_a_second_connection(tmp_path):
    path = tmp_path / "p.db"
    s1 = Store(path)
    mid = begin(s1)
    s1.save_result(mid, speakers=("A", "B"), centroids=None, turns=TURNS, language="en")
    s1.rename_speaker(s1.speakers(mid)[0].id, "Ana")
    s2 = Store(path)  # s1 is never closed
    assert s2.speakers(mid)[0].name == "Ana" and len(s2.turns(mid)) == 4
    assert s2.undo(mid) and s1.speakers(mid)[0].name == "Speaker 1"


def test_data_survives_a_crash(tmp_path):
    """A process that writes and dies without closing anything (WAL not checkpointed)."""
    path = tmp_path / "crash.db"
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_store import TURNS, begin
        from meetings.store import Store
        s = Store({str(path)!r})
        mid = begin(s)
        s.save_result(mid, speakers=("A", "B"), centroids=None, turns=TURNS, language="en")
        s.split_turn(s.turns(mid)[0].id, 2)
        crashed = begin(s, "def", "half")  # left 'processing'
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO, timeout=120)
    assert (tmp_path / "crash.db-wal").exists()
    store = Store(path)
    assert store.mark_interrupted() == 1
    [half, done] = store.list_meetings()
    assert (half.status, done.status, done.num_turns) == ("interrupted", "done", 5)
    assert [t.text for t in store.turns(done.id)][:2] == ["we should", "ship friday"]
    assert [c.action for c in store.corrections(done.id)] == ["split_turn"]
    fts_consistent(store)


def test_half_decoded_audio_of_a_dead_import_is_removed_and_a_running_ones_kept(store: Store):
    from meetings.files import ImportLock, private_dir

    audio_dir = private_dir(store.data_dir / "audio")
    locks = private_dir(store.data_dir / ".locks")
    dead, running, ours = "a" * 64, "b" * 64, "c" * 64
    for sha in (dead, running, ours):
        (audio_dir / f"{sha[:16]}.wav.part").write_bytes(b"RIFF")
    (locks / f"{dead}.lock").write_text("12345\n")  # its process was killed: the lock file stays, unheld
    other = ImportLock(locks / f"{running}.lock")  # held through another descriptor, as another process would
    assert other.acquire()
    keep = audio_dir / f"{dead[:16]}.wav"
    keep.write_bytes(b"RIFF")  # a finished decoded copy is never touched
    try:
        with store.importing(ours):
            store.mark_interrupted()
    finally:
        other.release()
    assert sorted(p.name for p in audio_dir.iterdir()) == sorted([keep.name, f"{running[:16]}.wav.part", f"{ours[:16]}.wav.part"])
