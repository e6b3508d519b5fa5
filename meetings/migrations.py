"""Versioned schema migrations (``PRAGMA user_version``), applied in order, each in a transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from sqlite_utils import Database


def _v1(db: Database) -> None:
    db.executescript(
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
        """
    )


def _v2(db: Database) -> None:
    db.executescript(
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
        """
    )
    db["turns"].enable_fts(["text"], create_triggers=True, tokenize="porter")


MIGRATIONS: list[Callable[[Database], None]] = [_v1, _v2]
LATEST = len(MIGRATIONS)


def version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: Database, target: int = LATEST) -> int:
    """Bring the schema to ``target``; returns the version it started from."""
    start = version(db.conn)
    for v in range(start, target):
        with db.conn:
            MIGRATIONS[v](db)
            db.conn.execute(f"PRAGMA user_version = {v + 1}")
    return start
