"""Upgrades: databases made by earlier commits' own code (``tests/fixtures/schemas``, see its
``make_fixtures.py``) migrate forward with their data intact, old corrections still undo and
redo, and the schema ends up the same as a new database's."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from meetings.migrations import LATEST
from meetings.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "schemas"
V1 = sorted(FIXTURES.glob("v1-*.db"))
V2 = sorted(FIXTURES.glob("v2-*.db"))


def opened(tmp_path: Path, fixture: Path) -> Store:
    path = tmp_path / "parley.db"
    shutil.copy(fixture, path)
    return Store(path)


def schema(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    return {(t, n) for t, n in conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")}


def healthy(store: Store) -> None:
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_there_is_a_fixture_of_every_earlier_version_from_more_than_one_commit():
    assert {p.name.split("-")[0] for p in FIXTURES.glob("*.db")} == {f"v{v}" for v in range(1, LATEST)}
    assert len(V1) >= 2 and len(V2) >= 2


@pytest.mark.parametrize("fixture", V1, ids=[p.stem for p in V1])
def test_a_v1_database_migrates_with_its_data(tmp_path, fixture):
    store = opened(tmp_path, fixture)
    healthy(store)
    fresh = Store(tmp_path / "fresh" / "parley.db")
    assert schema(store.conn) == schema(fresh.conn)
    done, crashed = store.get_meeting(1), store.get_meeting(2)
    assert (done.title, done.status, done.duration, done.num_speakers, done.num_turns) == ("Weekly sync", "done", 12.5, 2, 3)
    assert [(t.speaker_name, t.text) for t in store.turns(1)] == [
        ("Ana", "we should ship friday"), ("Speaker 2", "budget review tomorrow"), ("Ana", "agreed then")]
    assert [w.text for w in store.turns(1)[0].words] == [" we", " should", " ship", " friday"]
    assert [f.value for f in store.turns(1)[2].flags] == ["short_turn"]
    assert store.revision(1) == 0 and store.corrections(1) == [] and store.summaries(1) == []
    assert [h.turn_id for h in store.search("budget")] == [2]  # the old turns were indexed by the upgrade
    assert crashed.status == "processing" and store.mark_interrupted() == 1
    store.split_turn(1, 2)  # the new tables work on old rows
    assert [t.text for t in store.turns(1)][:2] == ["we should", "ship friday"]
    assert store.undo(1) and [t.text for t in store.turns(1)][0] == "we should ship friday"
    healthy(store)


@pytest.mark.parametrize("fixture", V2, ids=[p.stem for p in V2])
def test_a_v2_database_migrates_and_its_old_corrections_still_undo(tmp_path, fixture):
    store = opened(tmp_path, fixture)
    healthy(store)
    fresh = Store(tmp_path / "fresh" / "parley.db")
    assert schema(store.conn) == schema(fresh.conn)
    [crashed, numbers, weekly] = store.list_meetings()
    assert (weekly.title, weekly.status, weekly.num_turns, numbers.title, numbers.num_turns) == ("Weekly sync", "done", 4, "Numbers", 1)
    assert crashed.status == "processing" and store.mark_interrupted() == 1
    assert [s.name for s in store.speakers(weekly.id)] == ["Ana", "Speaker 2"]  # "Ben" was undone
    assert [t.text for t in store.turns(weekly.id)] == ["we should", "ship friday", "budget review tomorrow", "agreed then"]
    cs = store.corrections(weekly.id)
    assert [(c.action, c.undone) for c in cs] == [("rename_speaker", False), ("split_turn", False), ("rename_speaker", True)]
    [summary] = store.summaries(weekly.id)
    assert summary.markdown == "- ships friday" and summary.local and not summary.stale
    assert [h.meeting_id for h in store.search("quarterly")] == [numbers.id]

    # corrections written by the old code replay with today's
    assert store.redo(weekly.id) and [s.name for s in store.speakers(weekly.id)] == ["Ana", "Ben"]
    assert store.undo(weekly.id) and store.undo(weekly.id)
    assert [t.text for t in store.turns(weekly.id)] == ["we should ship friday", "budget review tomorrow", "agreed then"]
    assert store.undo(weekly.id) and [s.name for s in store.speakers(weekly.id)][0] == "Speaker 1"
    assert not store.undo(weekly.id)
    healthy(store)
    # and deleting a migrated meeting purges it like a new one
    store.delete_meeting(weekly.id)
    healthy(store)
    assert store.search("friday") == [] and [m.id for m in store.list_meetings()] == [crashed.id, numbers.id]
