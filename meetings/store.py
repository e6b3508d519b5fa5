"""The SQLite store (sqlite-utils): meetings, speakers, turns, words, corrections, summaries.

One file, WAL journal, foreign keys on. Every write that belongs together is one
transaction, so a crash never leaves half a meeting or half a correction. Public methods
return frozen records, never rows. Corrections keep an append-only audit trail with
before/after snapshots, which is also what undo and redo replay.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import re
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sqlite_utils import Database

from meetings.errors import StoreError
from meetings.migrations import migrate
from meetings.records import Correction, SearchHit, StoredSummary, StoredTurn, StoredWord
from meetings.types import AudioInfo, FlagReason, Meeting, PipelineOptions, Speaker, Turn

__all__ = ["Store", "StoredTurn", "StoredWord", "Correction", "SearchHit", "StoredSummary"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some sandboxes
        return "unknown"


def _join(texts: Iterable[str]) -> str:
    return "".join(t if t.startswith(" ") else " " + t for t in texts).strip()


class Store:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        self.db = Database(conn)
        self.conn = conn
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        try:
            migrate(self.db)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot upgrade the database {self.path}: {exc}") from exc

    @classmethod
    def default(cls) -> "Store":
        env = os.environ.get("PARLEY_DATA_DIR")
        if env:
            folder = Path(env)
        else:
            import platformdirs

            folder = Path(platformdirs.user_data_dir("parley"))
        return cls(folder / "parley.db")

    @property
    def data_dir(self) -> Path:
        return self.path.parent

    def close(self) -> None:
        self.conn.close()

    # -- transactions ----------------------------------------------------------------

    def _tx(self):
        store = self

        class _Tx:
            def __enter__(self):
                store.conn.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type, exc, tb):
                if exc_type is None:
                    store.conn.execute("COMMIT")
                else:
                    store.conn.execute("ROLLBACK")
                return False

        return _Tx()

    def _q(self, sql: str, params: Sequence = ()) -> list[sqlite3.Row]:
        cur = self.conn.execute(sql, params)
        cols = [c[0] for c in cur.description] if cur.description else []
        return [dict(zip(cols, row)) for row in cur.fetchall()]

    # -- meetings ----------------------------------------------------------------------

    def mark_interrupted(self) -> int:
        """Meetings left 'processing' by a crash become 'interrupted' (run at start-up)."""
        cur = self.conn.execute("UPDATE meetings SET status='interrupted', error='the import was interrupted' WHERE status='processing'")
        return cur.rowcount

    def find_by_sha256(self, sha: str) -> Meeting | None:
        rows = self._q("SELECT id FROM meetings WHERE sha256=?", (sha,))
        return self.get_meeting(rows[0]["id"]) if rows else None

    def begin_meeting(self, title: str, audio: AudioInfo, audio_path: str, options: PipelineOptions, asr_model: str, diarization_model: str) -> int:
        with self._tx():
            cur = self.conn.execute(
                "INSERT INTO meetings (title, created_at, duration, source_path, sha256, audio_path, status, options_json,"
                " asr_model, diarization_model, warnings_json) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    title, _now(), audio.duration, audio.source_path, audio.sha256, audio_path, "processing",
                    json.dumps(dataclasses.asdict(options)), asr_model, diarization_model, json.dumps(list(audio.warnings)),
                ),
            )
            meeting_id = cur.lastrowid
            self.conn.execute(
                "INSERT INTO audio_sources (meeting_id, kind, path, channels, sample_rate, codec, container) VALUES (?,?,?,?,?,?,?)",
                (meeting_id, "file", audio.source_path, audio.channels, audio.source_sample_rate, audio.codec, audio.container),
            )
        return meeting_id

    def save_result(self, meeting_id: int, *, speakers: Sequence[str], centroids: np.ndarray | None, turns: Sequence[Turn], language: str) -> None:
        """Store a finished meeting in one transaction; on any error nothing is written."""
        order = {}
        for t in sorted(turns, key=lambda t: t.start):
            order.setdefault(t.speaker, len(order))
        labels = list(speakers) + [s for s in order if s not in speakers]
        ranked = sorted(labels, key=lambda s: order.get(s, len(order) + labels.index(s)))
        try:
            with self._tx():
                ids = {}
                for n, label in enumerate(ranked, start=1):
                    blob = None
                    if centroids is not None and label in speakers and speakers.index(label) < len(centroids):
                        blob = np.asarray(centroids[speakers.index(label)], dtype=np.float32).tobytes()
                    cur = self.conn.execute(
                        "INSERT INTO speakers (meeting_id, label, name, centroid) VALUES (?,?,?,?)", (meeting_id, label, f"Speaker {n}", blob)
                    )
                    ids[label] = cur.lastrowid
                for seq, t in enumerate(sorted(turns, key=lambda t: (t.start, t.end))):
                    sid = ids[t.speaker]
                    cur = self.conn.execute(
                        'INSERT INTO turns (meeting_id, seq, speaker_id, start, "end", confidence, flags, overlapped, text) VALUES (?,?,?,?,?,?,?,?,?)',
                        (meeting_id, seq, sid, t.start, t.end, t.confidence, json.dumps([f.value for f in t.flags]), int(t.overlapped), t.text),
                    )
                    turn_id = cur.lastrowid
                    self.conn.executemany(
                        'INSERT INTO words (meeting_id, turn_id, idx, start, "end", text, probability, timed, speaker_id, overlapping, speaker_share)'
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        [
                            (meeting_id, turn_id, i, w.word.start, w.word.end, w.word.text, w.word.probability, int(w.word.timed), ids[w.speaker], json.dumps(list(w.overlapping)), w.speaker_share)
                            for i, w in enumerate(t.words)
                        ],
                    )
                self.conn.execute("UPDATE meetings SET status='done', language=?, error=NULL WHERE id=?", (language, meeting_id))
        except (sqlite3.Error, KeyError, ValueError) as exc:
            raise StoreError(f"could not save meeting {meeting_id}: {exc}") from exc

    def fail_meeting(self, meeting_id: int, error: str) -> None:
        self.conn.execute("UPDATE meetings SET status='failed', error=? WHERE id=?", (error[:2000], meeting_id))

    def delete_meeting(self, meeting_id: int) -> None:
        with self._tx():
            self.conn.execute("DELETE FROM meetings WHERE id=?", (meeting_id,))

    _MEETING_SQL = """
        SELECT m.*, (SELECT COUNT(*) FROM speakers s WHERE s.meeting_id=m.id
                       AND EXISTS (SELECT 1 FROM turns t WHERE t.speaker_id=s.id)) AS n_spk,
               (SELECT COUNT(*) FROM turns t WHERE t.meeting_id=m.id) AS n_turns,
               (SELECT COUNT(*) FROM turns t WHERE t.meeting_id=m.id AND t.flags != '[]' AND t.reviewed=0) AS n_flag
        FROM meetings m"""

    def _meeting(self, r: dict) -> Meeting:
        return Meeting(
            id=r["id"], title=r["title"], created_at=r["created_at"], duration=r["duration"], audio_path=r["audio_path"],
            source_path=r["source_path"], sha256=r["sha256"], status=r["status"], num_speakers=r["n_spk"], num_turns=r["n_turns"], num_flagged=r["n_flag"],
        )

    def get_meeting(self, meeting_id: int) -> Meeting:
        rows = self._q(self._MEETING_SQL + " WHERE m.id=?", (meeting_id,))
        if not rows:
            raise StoreError(f"no meeting with id {meeting_id}")
        return self._meeting(rows[0])

    def list_meetings(self) -> list[Meeting]:
        return [self._meeting(r) for r in self._q(self._MEETING_SQL + " ORDER BY m.created_at DESC, m.id DESC")]

    def revision(self, meeting_id: int) -> int:
        rows = self._q("SELECT revision FROM meetings WHERE id=?", (meeting_id,))
        if not rows:
            raise StoreError(f"no meeting with id {meeting_id}")
        return rows[0]["revision"]

    # -- reading -------------------------------------------------------------------------

    def speakers(self, meeting_id: int) -> list[Speaker]:
        return [Speaker(r["id"], r["meeting_id"], r["label"], r["name"]) for r in self._q("SELECT * FROM speakers WHERE meeting_id=? ORDER BY id", (meeting_id,))]

    def speaker_centroids(self, meeting_id: int) -> dict[int, np.ndarray]:
        rows = self._q("SELECT id, centroid FROM speakers WHERE meeting_id=? AND centroid IS NOT NULL", (meeting_id,))
        return {r["id"]: np.frombuffer(r["centroid"], dtype=np.float32).copy() for r in rows}

    def turns(self, meeting_id: int) -> list[StoredTurn]:
        words: dict[int, list[StoredWord]] = {}
        for r in self._q('SELECT * FROM words WHERE meeting_id=? ORDER BY turn_id, idx', (meeting_id,)):
            words.setdefault(r["turn_id"], []).append(
                StoredWord(r["id"], r["idx"], r["start"], r["end"], r["text"], r["probability"], bool(r["timed"]), r["speaker_id"], tuple(json.loads(r["overlapping"])), r["speaker_share"])
            )
        rows = self._q(
            "SELECT t.*, s.label AS s_label, s.name AS s_name FROM turns t JOIN speakers s ON s.id=t.speaker_id WHERE t.meeting_id=? ORDER BY t.seq",
            (meeting_id,),
        )
        return [
            StoredTurn(
                id=r["id"], meeting_id=meeting_id, seq=r["seq"], speaker_id=r["speaker_id"], speaker_label=r["s_label"], speaker_name=r["s_name"],
                start=r["start"], end=r["end"], text=r["text"], confidence=r["confidence"], flags=tuple(FlagReason(f) for f in json.loads(r["flags"])),
                overlapped=bool(r["overlapped"]), reviewed=bool(r["reviewed"]), words=tuple(words.get(r["id"], ())),
            )
            for r in rows
        ]

    def turn(self, turn_id: int) -> StoredTurn:
        rows = self._q("SELECT meeting_id FROM turns WHERE id=?", (turn_id,))
        if not rows:
            raise StoreError(f"no turn with id {turn_id}")
        return next(t for t in self.turns(rows[0]["meeting_id"]) if t.id == turn_id)

    _FTS_TOKEN = re.compile(r"\w+", re.UNICODE)

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Full-text search over every transcript; any user input is safe (quoted into tokens)."""
        tokens = self._FTS_TOKEN.findall(query)
        if not tokens:
            return []
        match = " ".join('"' + t.replace('"', "") + '"' for t in tokens)
        rows = self._q(
            "SELECT t.id, t.meeting_id, t.start, m.title, s.name, snippet(turns_fts, 0, '[', ']', '…', 12) AS snip"
            " FROM turns_fts JOIN turns t ON t.rowid = turns_fts.rowid JOIN meetings m ON m.id=t.meeting_id JOIN speakers s ON s.id=t.speaker_id"
            " WHERE turns_fts MATCH ? ORDER BY rank LIMIT ?",
            (match, limit),
        )
        return [SearchHit(r["meeting_id"], r["title"], r["id"], r["start"], r["name"], r["snip"]) for r in rows]

    # -- corrections ---------------------------------------------------------------------

    def _snapshot(self, meeting_id: int, turn_ids: Iterable[int]) -> dict:
        ids = sorted(set(turn_ids))
        marks = ",".join("?" * len(ids)) or "NULL"
        return {
            "speakers": self._q("SELECT id, meeting_id, label, name FROM speakers WHERE meeting_id=?", (meeting_id,)),
            "turns": self._q("SELECT * FROM turns WHERE meeting_id=?", (meeting_id,)),
            "words": self._q(f"SELECT * FROM words WHERE turn_id IN ({marks})", ids),
        }

    def _restore(self, meeting_id: int, snap: dict) -> None:
        def upsert(table: str, rows: list[dict]) -> None:
            for r in rows:
                cols = list(r)
                self.conn.execute(
                    f"INSERT INTO {table} ({','.join(f'[{c}]' for c in cols)}) VALUES ({','.join('?' * len(cols))})"
                    f" ON CONFLICT(id) DO UPDATE SET {','.join(f'[{c}]=excluded.[{c}]' for c in cols if c != 'id')}",
                    [r[c] for c in cols],
                )

        upsert("speakers", snap["speakers"])
        upsert("turns", snap["turns"])
        upsert("words", snap["words"])
        keep_turns = [r["id"] for r in snap["turns"]]
        keep_spk = [r["id"] for r in snap["speakers"]]
        self.conn.execute(f"DELETE FROM turns WHERE meeting_id=? AND id NOT IN ({','.join('?' * len(keep_turns)) or 'NULL'})", [meeting_id, *keep_turns])
        self.conn.execute(f"DELETE FROM speakers WHERE meeting_id=? AND id NOT IN ({','.join('?' * len(keep_spk)) or 'NULL'})", [meeting_id, *keep_spk])

    def _correct(self, meeting_id: int, action: str, summary: str, turn_ids: Iterable[int], apply) -> object:
        """Run ``apply()`` in a transaction with an audit row holding before/after snapshots."""
        turn_ids = set(turn_ids)
        with self._tx():
            before = self._snapshot(meeting_id, turn_ids)
            result = apply()
            if isinstance(result, int):
                turn_ids.add(result)
            after = self._snapshot(meeting_id, turn_ids)
            self.conn.execute(
                "INSERT INTO corrections (meeting_id, at, actor, action, summary, payload_json) VALUES (?,?,?,?,?,?)",
                (meeting_id, _now(), _actor(), action, summary, json.dumps({"before": before, "after": after})),
            )
            # a new correction ends the redo chain
            self.conn.execute("DELETE FROM corrections WHERE meeting_id=? AND undone=1", (meeting_id,))
            self._touch(meeting_id)
        return result

    def _touch(self, meeting_id: int) -> None:
        self.conn.execute("UPDATE meetings SET revision = revision + 1 WHERE id=?", (meeting_id,))
        self.conn.execute("UPDATE summaries SET stale=1 WHERE meeting_id=?", (meeting_id,))

    def _meeting_of(self, table: str, row_id: int) -> int:
        rows = self._q(f"SELECT meeting_id FROM {table} WHERE id=?", (row_id,))
        if not rows:
            raise StoreError(f"no {table[:-1]} with id {row_id}")
        return rows[0]["meeting_id"]

    def _retext(self, turn_id: int) -> None:
        words = self._q('SELECT id, text, start, "end" FROM words WHERE turn_id=? ORDER BY start, idx', (turn_id,))
        for i, w in enumerate(words):
            self.conn.execute("UPDATE words SET idx=? WHERE id=?", (i, w["id"]))
        if words:
            self.conn.execute(
                'UPDATE turns SET text=?, start=?, "end"=? WHERE id=?',
                (_join(w["text"] for w in words), min(w["start"] for w in words), max(w["end"] for w in words), turn_id),
            )
        else:
            self.conn.execute("UPDATE turns SET text='' WHERE id=?", (turn_id,))

    def _renumber(self, meeting_id: int) -> None:
        rows = self._q('SELECT id FROM turns WHERE meeting_id=? ORDER BY start, "end", id', (meeting_id,))
        for seq, r in enumerate(rows):
            self.conn.execute("UPDATE turns SET seq=? WHERE id=?", (seq, r["id"]))

    def rename_speaker(self, speaker_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise StoreError("a speaker name cannot be empty")
        mid = self._meeting_of("speakers", speaker_id)
        self._correct(mid, "rename_speaker", f"speaker {speaker_id} → {name}", (), lambda: self.conn.execute("UPDATE speakers SET name=? WHERE id=?", (name, speaker_id)) and None)

    def reassign_turn(self, turn_id: int, speaker_id: int) -> None:
        mid = self._meeting_of("turns", turn_id)
        if self._meeting_of("speakers", speaker_id) != mid:
            raise StoreError("that speaker belongs to another meeting")

        def apply():
            self.conn.execute("UPDATE turns SET speaker_id=?, reviewed=1 WHERE id=?", (speaker_id, turn_id))
            self.conn.execute("UPDATE words SET speaker_id=? WHERE turn_id=?", (speaker_id, turn_id))

        self._correct(mid, "reassign_turn", f"turn {turn_id} → speaker {speaker_id}", (turn_id,), apply)

    def reassign_speaker_turns(self, from_speaker_id: int, to_speaker_id: int, only_turn_ids: Sequence[int] | None = None) -> int:
        mid = self._meeting_of("speakers", from_speaker_id)
        if self._meeting_of("speakers", to_speaker_id) != mid:
            raise StoreError("that speaker belongs to another meeting")
        ids = [r["id"] for r in self._q("SELECT id FROM turns WHERE speaker_id=?", (from_speaker_id,))]
        if only_turn_ids is not None:
            ids = [i for i in ids if i in set(only_turn_ids)]

        def apply():
            for tid in ids:
                self.conn.execute("UPDATE turns SET speaker_id=?, reviewed=1 WHERE id=?", (to_speaker_id, tid))
                self.conn.execute("UPDATE words SET speaker_id=? WHERE turn_id=?", (to_speaker_id, tid))

        self._correct(mid, "reassign_speaker_turns", f"{len(ids)} turns of speaker {from_speaker_id} → {to_speaker_id}", ids, apply)
        return len(ids)

    def merge_speakers(self, keep_id: int, drop_id: int) -> None:
        if keep_id == drop_id:
            raise StoreError("cannot merge a speaker with itself")
        mid = self._meeting_of("speakers", keep_id)
        if self._meeting_of("speakers", drop_id) != mid:
            raise StoreError("speakers of different meetings cannot be merged")
        ids = [r["id"] for r in self._q("SELECT id FROM turns WHERE speaker_id=?", (drop_id,))]

        def apply():
            self.conn.execute("UPDATE turns SET speaker_id=? WHERE speaker_id=?", (keep_id, drop_id))
            self.conn.execute("UPDATE words SET speaker_id=? WHERE speaker_id=?", (keep_id, drop_id))
            self.conn.execute("UPDATE summaries SET speaker_id=NULL WHERE speaker_id=?", (drop_id,))
            self.conn.execute("DELETE FROM speakers WHERE id=?", (drop_id,))

        self._correct(mid, "merge_speakers", f"speaker {drop_id} merged into {keep_id}", ids, apply)

    def split_turn(self, turn_id: int, at_word_idx: int) -> int:
        mid = self._meeting_of("turns", turn_id)
        words = self._q("SELECT id, idx FROM words WHERE turn_id=? ORDER BY idx", (turn_id,))
        if not 0 < at_word_idx < len(words):
            raise StoreError(f"cannot split a turn of {len(words)} words at word {at_word_idx}")

        def apply() -> int:
            t = self._q("SELECT * FROM turns WHERE id=?", (turn_id,))[0]
            cur = self.conn.execute(
                'INSERT INTO turns (meeting_id, seq, speaker_id, start, "end", confidence, flags, overlapped, text, reviewed) VALUES (?,?,?,?,?,?,?,?,?,?)',
                (mid, t["seq"], t["speaker_id"], t["start"], t["end"], t["confidence"], t["flags"], t["overlapped"], "", t["reviewed"]),
            )
            new_id = cur.lastrowid
            moved = [w["id"] for w in words if w["idx"] >= at_word_idx]
            self.conn.execute(f"UPDATE words SET turn_id=? WHERE id IN ({','.join('?' * len(moved))})", [new_id, *moved])
            self._retext(turn_id)
            self._retext(new_id)
            self._renumber(mid)
            return new_id

        return self._correct(mid, "split_turn", f"turn {turn_id} split at word {at_word_idx}", (turn_id,), apply)

    def merge_turn_with_previous(self, turn_id: int) -> int:
        """Move the turn's words into the previous turn (which keeps its speaker); returns that turn's id."""
        mid = self._meeting_of("turns", turn_id)
        seq = self._q("SELECT seq FROM turns WHERE id=?", (turn_id,))[0]["seq"]
        prev = self._q("SELECT id, speaker_id FROM turns WHERE meeting_id=? AND seq<? ORDER BY seq DESC LIMIT 1", (mid, seq))
        if not prev:
            raise StoreError("the first turn has no previous turn to merge with")
        prev_id, spk = prev[0]["id"], prev[0]["speaker_id"]

        def apply():
            self.conn.execute("UPDATE words SET turn_id=?, speaker_id=? WHERE turn_id=?", (prev_id, spk, turn_id))
            self.conn.execute("DELETE FROM turns WHERE id=?", (turn_id,))
            self._retext(prev_id)
            self._renumber(mid)

        self._correct(mid, "merge_turn_with_previous", f"turn {turn_id} merged into {prev_id}", (turn_id, prev_id), apply)
        return prev_id

    def mark_reviewed(self, turn_id: int, reviewed: bool = True) -> None:
        mid = self._meeting_of("turns", turn_id)
        self._correct(mid, "mark_reviewed", f"turn {turn_id} reviewed={reviewed}", (turn_id,), lambda: self.conn.execute("UPDATE turns SET reviewed=? WHERE id=?", (int(reviewed), turn_id)) and None)

    def undo(self, meeting_id: int) -> bool:
        """Undo the latest correction still in effect. A new correction clears what could be redone."""
        rows = self._q("SELECT id, payload_json FROM corrections WHERE meeting_id=? AND undone=0 ORDER BY id DESC LIMIT 1", (meeting_id,))
        if not rows:
            return False
        with self._tx():
            self._restore(meeting_id, json.loads(rows[0]["payload_json"])["before"])
            self.conn.execute("UPDATE corrections SET undone=1 WHERE id=?", (rows[0]["id"],))
            self._touch(meeting_id)
        return True

    def redo(self, meeting_id: int) -> bool:
        rows = self._q("SELECT id, payload_json FROM corrections WHERE meeting_id=? AND undone=1 ORDER BY id ASC LIMIT 1", (meeting_id,))
        if not rows:
            return False
        with self._tx():
            self._restore(meeting_id, json.loads(rows[0]["payload_json"])["after"])
            self.conn.execute("UPDATE corrections SET undone=0 WHERE id=?", (rows[0]["id"],))
            self._touch(meeting_id)
        return True

    def corrections(self, meeting_id: int) -> list[Correction]:
        return [
            Correction(r["id"], r["meeting_id"], r["at"], r["actor"], r["action"], r["summary"], bool(r["undone"]))
            for r in self._q("SELECT * FROM corrections WHERE meeting_id=? ORDER BY id", (meeting_id,))
        ]

    # -- summaries -----------------------------------------------------------------------

    def add_summary(self, meeting_id: int, *, speaker_id: int | None, kind: str, model: str, prompt_version: str, content_json: str, markdown: str, local: bool) -> int:
        with self._tx():
            rev = self.revision(meeting_id)
            cur = self.conn.execute(
                "INSERT INTO summaries (meeting_id, speaker_id, kind, model, prompt_version, transcript_revision, created_at, content_json, markdown, local)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (meeting_id, speaker_id, kind, model, prompt_version, rev, _now(), content_json, markdown, int(local)),
            )
        return cur.lastrowid

    def summaries(self, meeting_id: int, include_old: bool = False) -> list[StoredSummary]:
        rows = self._q("SELECT * FROM summaries WHERE meeting_id=? ORDER BY id", (meeting_id,))
        if not include_old:
            latest: dict[tuple, dict] = {}
            for r in rows:
                latest[(r["speaker_id"], r["kind"])] = r
            rows = sorted(latest.values(), key=lambda r: r["id"])
        return [
            StoredSummary(
                r["id"], r["meeting_id"], r["speaker_id"], r["kind"], r["model"], r["prompt_version"], r["transcript_revision"],
                r["created_at"], r["content_json"], r["markdown"], bool(r["local"]), bool(r["stale"]),
            )
            for r in rows
        ]
