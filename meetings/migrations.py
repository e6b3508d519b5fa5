"""Versioned schema migrations.

``MIGRATIONS[i]`` brings a database from version ``i`` to ``i + 1``; the version lives in
``PRAGMA user_version``. Each step runs in one transaction together with the version bump,
so a crash mid-upgrade leaves the database at the previous version, never half-migrated.
(That is why the steps run their statements one by one: ``executescript`` and sqlite-utils'
``enable_fts`` commit whatever transaction is open.)

v1: meetings, speakers, turns, words.
v2: meetings.revision/warnings_json, audio_sources, corrections, summaries, FTS5 over turns.text.
v3: the indexes every database should have. The first v1/v2 code (commit 7cb9a51) made its
    schema without the speaker and meeting indexes that later v1/v2 steps include, so those
    databases scan whole tables on a speaker merge or a cascade delete; v3 adds what is missing.
v4: people and their voice profiles (``meetings/people.py``): ``people``; ``voice_samples`` (each a
    sum of unit speaker embeddings with its count, seconds, embedding model and where it came from;
    a person's profile per model is the sum of their samples); ``speakers.person_id`` (who the
    speaker is, no foreign key: an undone correction may bring back a link to a forgotten person,
    which then reads as no link; people ids are never reused), ``speakers.naming`` ('' | 'auto' |
    'user' | 'local'), ``speakers.suggested_id`` and ``speakers.match_score`` (a name offered, not given).

v5: ``speaker_activity``: who spoke when as the diarization heard it (all the speech, words or not),
    by diarization label; the RTTM export renames it by the current turns (``meetings/export.py``).

``tests/fixtures/schemas`` holds databases made by earlier commits' own code (every version,
both v1/v2 layouts); ``tests/test_reliability_migrations.py`` migrates them forward.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from sqlite_utils import Database

__all__ = ["MIGRATIONS", "LATEST", "version", "migrate"]


def _run(db: Database, script: str) -> None:
    """Execute ``script`` statement by statement inside the caller's transaction."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):  # a trigger body holds ';' of its own
            if statement.strip(" \n;"):
                db.execute(statement)
            statement = ""
    if statement.strip(" \n;"):
        raise ValueError(f"incomplete SQL statement in migration: {statement.strip()[:80]}")


def _v1(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE meetings (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            created_at TEXT NOT NULL,
            duration REAL NOT NULL,
            source_path TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            audio_path TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('processing', 'done', 'failed', 'interrupted')),
            options_json TEXT NOT NULL DEFAULT '{}',
            asr_model TEXT NOT NULL DEFAULT '',
            diarization_model TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT '',
            error TEXT
        );
        CREATE TABLE speakers (
            id INTEGER PRIMARY KEY,
            meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            name TEXT NOT NULL,
            centroid BLOB,
            UNIQUE (meeting_id, label)
        );
        CREATE TABLE turns (
            id INTEGER PRIMARY KEY,
            meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            speaker_id INTEGER NOT NULL REFERENCES speakers(id),
            start REAL NOT NULL,
            "end" REAL NOT NULL,
            confidence REAL NOT NULL,
            flags TEXT NOT NULL DEFAULT '[]',
            overlapped INTEGER NOT NULL DEFAULT 0,
            text TEXT NOT NULL,
            reviewed INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX turns_meeting ON turns (meeting_id, seq);
        CREATE INDEX turns_speaker ON turns (speaker_id);
        CREATE TABLE words (
            id INTEGER PRIMARY KEY,
            meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
            turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            start REAL NOT NULL,
            "end" REAL NOT NULL,
            text TEXT NOT NULL,
            probability REAL NOT NULL,
            timed INTEGER NOT NULL DEFAULT 1,
            speaker_id INTEGER NOT NULL REFERENCES speakers(id),
            overlapping TEXT NOT NULL DEFAULT '[]',
            speaker_share REAL NOT NULL DEFAULT 1.0
        );
        CREATE INDEX words_turn ON words (turn_id, idx);
        CREATE INDEX words_meeting ON words (meeting_id);
        CREATE INDEX words_speaker ON words (speaker_id);
        """,
    )


def _v2(db: Database) -> None:
    _run(
        db,
        """
        ALTER TABLE meetings ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE meetings ADD COLUMN warnings_json TEXT NOT NULL DEFAULT '[]';
        CREATE TABLE audio_sources (
            id INTEGER PRIMARY KEY,
            meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('file', 'mic', 'system')),
            path TEXT NOT NULL,
            channels INTEGER NOT NULL,
            sample_rate INTEGER NOT NULL,
            codec TEXT NOT NULL DEFAULT '',
            container TEXT NOT NULL DEFAULT ''
        );
        -- undone: 0 = in effect, 1 = undone (redo-able), 2 = undone and dropped from the redo chain
        CREATE TABLE corrections (
            id INTEGER PRIMARY KEY,
            meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '',
            payload_json TEXT NOT NULL,
            undone INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX corrections_meeting ON corrections (meeting_id, id);
        CREATE TABLE summaries (
            id INTEGER PRIMARY KEY,
            meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
            speaker_id INTEGER REFERENCES speakers(id) ON DELETE SET NULL,
            kind TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            transcript_revision INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            content_json TEXT NOT NULL,
            markdown TEXT NOT NULL,
            local INTEGER NOT NULL DEFAULT 0,
            stale INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX summaries_meeting ON summaries (meeting_id, id);
        -- the layout sqlite-utils' enable_fts(["text"], create_triggers=True) makes, written out
        -- so that it runs inside this step's transaction
        CREATE VIRTUAL TABLE [turns_fts] USING FTS5 ([text], tokenize='porter', content=[turns]);
        INSERT INTO turns_fts (rowid, text) SELECT rowid, text FROM turns;
        CREATE TRIGGER turns_ai AFTER INSERT ON turns BEGIN
            INSERT INTO turns_fts (rowid, text) VALUES (new.rowid, new.text);
        END;
        CREATE TRIGGER turns_ad AFTER DELETE ON turns BEGIN
            INSERT INTO turns_fts (turns_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
        END;
        CREATE TRIGGER turns_au AFTER UPDATE OF text ON turns BEGIN
            INSERT INTO turns_fts (turns_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
            INSERT INTO turns_fts (rowid, text) VALUES (new.rowid, new.text);
        END;
        """,
    )


def _v3(db: Database) -> None:
    _run(
        db,
        """
        CREATE INDEX IF NOT EXISTS turns_speaker ON turns (speaker_id);
        CREATE INDEX IF NOT EXISTS words_meeting ON words (meeting_id);
        CREATE INDEX IF NOT EXISTS words_speaker ON words (speaker_id);
        CREATE INDEX IF NOT EXISTS summaries_meeting ON summaries (meeting_id, id);
        """,
    )


def _v4(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE people (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            is_self INTEGER NOT NULL DEFAULT 0
        );
        CREATE UNIQUE INDEX people_name ON people (name COLLATE NOCASE);
        CREATE TABLE voice_samples (
            id INTEGER PRIMARY KEY,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            vec_sum BLOB NOT NULL,
            n INTEGER NOT NULL,
            seconds REAL NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('meeting', 'recording', 'file')),
            meeting_id INTEGER REFERENCES meetings(id) ON DELETE SET NULL,
            speaker_label TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX voice_samples_person ON voice_samples (person_id, model);
        CREATE INDEX voice_samples_meeting ON voice_samples (meeting_id);
        ALTER TABLE speakers ADD COLUMN person_id INTEGER;
        ALTER TABLE speakers ADD COLUMN naming TEXT NOT NULL DEFAULT '';
        ALTER TABLE speakers ADD COLUMN suggested_id INTEGER;
        ALTER TABLE speakers ADD COLUMN match_score REAL;
        CREATE INDEX speakers_person ON speakers (person_id);
        """,
    )


def _v5(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE speaker_activity (
            id INTEGER PRIMARY KEY,
            meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            start REAL NOT NULL,
            "end" REAL NOT NULL
        );
        CREATE INDEX speaker_activity_meeting ON speaker_activity (meeting_id, start);
        """,
    )


MIGRATIONS: list[Callable[[Database], None]] = [_v1, _v2, _v3, _v4, _v5]
LATEST = len(MIGRATIONS)


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: Database, target: int = LATEST) -> int:
    """Bring the schema up to ``target``, one transaction per step; returns the starting version.

    The connection must be in autocommit mode (``isolation_level=None``) or have no open
    transaction. A database newer than this code is refused rather than guessed at.
    """
    conn = db.conn
    start = version(conn)
    if start > LATEST:
        raise sqlite3.DatabaseError(f"database schema v{start} is newer than this Parley (v{LATEST})")
    for v in range(start, target):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[v](db)
            conn.execute(f"PRAGMA user_version = {v + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return start
