"""The SQLite store (sqlite-utils): meetings, speakers, turns, words, corrections, summaries.

One file, WAL journal, ``synchronous=NORMAL``, foreign keys on. Everything that belongs
together is one transaction, so a crash never leaves half a meeting or half a correction.
Public methods return frozen records (:mod:`meetings.types`, :mod:`meetings.records`), never rows.

Corrections and undo/redo
-------------------------
Every correction appends a ``corrections`` row whose payload holds the *before* and *after*
images of exactly the rows it touched (speakers, turns, summaries whole; words, which are
only ever moved, by turn, idx and speaker); rows it created are absent from *before*, rows
it deleted are absent from *after*. Undo writes *before* back (upserting what is there,
deleting what is not), redo writes *after* back. Both bump the meeting's revision and mark
its summaries stale, like the correction itself.

The rule, a plain undo stack: ``undone`` is 0 (in effect), 1 (undone, can be redone) or 2
(undone, and then dropped from the redo chain by a newer correction). ``undo`` undoes the
newest correction in effect; ``redo`` re-applies the most recently undone one (the oldest
with ``undone=1``, since undone ones are always newer than those in effect). A new
correction turns every ``undone=1`` into 2. Audit rows are never deleted.

Turn order: ``seq`` is always the turns' order by (start, end, id); a turn's text is its
words' texts joined (Whisper words carry their leading space), recomputed whenever words move.
"""

from __future__ import annotations

import base64
import dataclasses
import getpass
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlite_utils import Database

from meetings.errors import StoreError
from meetings.files import FILE_MODE, ImportLock, create_private, lock_is_free, private_dir, tighten
from meetings.migrations import LATEST, migrate, version
from meetings.records import ChangeSet, Correction, SearchHit, StoredSummary, StoredTurn, StoredWord
from meetings.types import AudioInfo, FlagReason, Meeting, PipelineOptions, Speaker, Turn

__all__ = ["Store", "StoredTurn", "StoredWord", "Correction", "SearchHit", "StoredSummary", "ChangeSet"]

Row = dict[str, Any]
#: the error of a meeting whose import the user cancelled (it reads as status 'cancelled')
CANCELLED = "cancelled"
#: the tables a correction may touch, parents before children
_TABLES = ("speakers", "turns", "words", "summaries")
#: what a correction image keeps of a row: everything, except of words, which are only moved or re-spelt
_IMAGE_COLUMNS = {"speakers": "*", "turns": "*", "words": "id, turn_id, idx, speaker_id, text", "summaries": "*"}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some sandboxes and services
        return "unknown"


def _join(texts: Iterable[str]) -> str:
    """Same rule as :attr:`Turn.text`: words joined by their own leading space (or one)."""
    return "".join(t if t.startswith(" ") else " " + t for t in texts).strip()


def _ids(values: Iterable[int]) -> str:
    """A JSON array for ``IN (SELECT value FROM json_each(?))`` (no limit on the count)."""
    return json.dumps(sorted(set(values)))


def _to_json(row: Row) -> Row:
    return {k: {"b64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v for k, v in row.items()}


def _from_json(row: Row) -> Row:
    return {k: base64.b64decode(v["b64"]) if isinstance(v, dict) else v for k, v in row.items()}


class _Change:
    """The rows one correction touches: *before* images are taken when a row is first touched."""

    def __init__(self, store: Store):
        self._store = store
        self.ids: dict[str, set[int]] = {t: set() for t in _TABLES}
        self.before: dict[str, list[Row]] = {t: [] for t in _TABLES}

    def touch(self, table: str, ids: Iterable[int]) -> None:
        new = set(ids) - self.ids[table]
        self.ids[table] |= new
        self.before[table] += self._store._fetch(table, new)

    def created(self, table: str, row_id: int) -> None:
        self.ids[table].add(row_id)

    def after(self) -> dict[str, list[Row]]:
        return {t: self._store._fetch(t, ids) for t, ids in self.ids.items()}


class Store:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._lock = threading.RLock()
        #: the rows the latest correction, undo or redo touched (what a view must redraw)
        self.last_change: ChangeSet | None = None
        #: True when the database or its folder cannot be written: reading works, writing raises StoreError
        self.readonly = False
        self._claims: dict[str, ImportLock] = {}
        self._tx_depth = 0
        try:
            self._connect()
        except (OSError, sqlite3.Error) as exc:
            if hasattr(self, "conn"):
                self.conn.close()
            if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
                raise StoreError(
                    f"cannot open the database {self.path}: it is damaged ({exc}); Parley will not write to it:"
                    " restore a backup or move it aside"
                ) from exc
            raise StoreError(f"cannot open the database {self.path}: {getattr(exc, 'strerror', None) or exc}") from exc

    def _connect(self) -> None:
        """Open (creating it user-only if missing) and check the database; a read-only one is opened read-only."""
        folder = self.path.parent
        if not folder.exists():
            private_dir(folder)
        if not self.path.exists() and os.access(folder, os.W_OK):
            create_private(self.path)
        for p in (self.path, self.path.with_name(self.path.name + "-wal"), self.path.with_name(self.path.name + "-shm")):
            tighten(p, FILE_MODE)  # SQLite gives -wal/-shm the database's own mode
        if not self.path.exists():
            raise StoreError(f"cannot open the database {self.path}: it does not exist and its folder is read-only")
        self.readonly = not (os.access(folder, os.W_OK) and os.access(self.path, os.W_OK))
        if self.readonly:
            self.conn = self._connect_readonly()
        else:
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db = Database(self.conn)
        self.conn.execute("PRAGMA busy_timeout=30000")  # a writer waits for another writer; WAL readers never wait
        if not self.readonly:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA secure_delete=ON")  # freed pages are zeroed: deleted text does not linger in the file
        self._check_integrity()
        if self.readonly:
            if version(self.conn) != LATEST:
                raise StoreError(f"the database {self.path} needs an upgrade, but it is read-only")
        else:
            migrate(self.db)
            self._tighten_audio()

    def _tighten_audio(self) -> None:
        """Recordings made by an older Parley (0755 folder, 0644 files) become user-only too."""
        audio = self.data_dir / "audio"
        if audio.is_dir():
            tighten(audio, 0o700)
            for f in audio.iterdir():
                if f.is_file():
                    tighten(f, FILE_MODE)

    def _connect_readonly(self) -> sqlite3.Connection:
        from urllib.parse import quote

        uri = "file:" + quote(str(self.path.resolve()))
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:  # WAL in a read-only folder with no -shm: nobody can be writing, read it as is
            conn.close()
            return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None, check_same_thread=False)

    def _check_integrity(self) -> None:
        """A damaged database is refused at open, before anything is written to it."""
        rows = [r[0] for r in self.conn.execute("PRAGMA quick_check(3)").fetchall()]
        if rows != ["ok"]:
            raise sqlite3.DatabaseError(" ".join(" ".join(map(str, rows)).split())[:200])

    @classmethod
    def default(cls) -> Store:
        """``$PARLEY_DATA_DIR/parley.db``, else ``parley.db`` in the platform's user data folder."""
        env = os.environ.get("PARLEY_DATA_DIR")
        if env:
            folder = Path(env).expanduser()
        else:
            import platformdirs

            folder = Path(platformdirs.user_data_dir("parley"))
        tighten(folder, 0o700)  # Parley's own folder (an older Parley made it 0755)
        return cls(folder / "parley.db")

    @property
    def data_dir(self) -> Path:
        """The folder of the database; meetings' audio lives in ``data_dir / "audio"``."""
        return self.path.parent

    def close(self) -> None:
        for lock in self._claims.values():
            lock.release()
        self._claims.clear()
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One write transaction; any error rolls it back and surfaces as a StoreError.

        Re-entrant: inside :meth:`transaction` (or another ``_tx``) it joins the open transaction.
        """
        with self._lock:
            if self._tx_depth:
                self._tx_depth += 1
                try:
                    yield
                finally:
                    self._tx_depth -= 1
                return
            if self.readonly:
                raise StoreError(f"the database {self.path} is read-only (its file or folder cannot be written)")
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"the database is not writable: {exc}") from None
            self._tx_depth = 1
            try:
                yield
                self.conn.execute("COMMIT")  # a full disk may only show here
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"database write failed: {exc}") from None
                raise
            finally:
                self._tx_depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several writes (say, a meeting summary and its per-speaker parts) into one commit:
        a crash leaves all of them or none."""
        with self._tx():
            yield

    def _rollback(self) -> None:
        if self.conn.in_transaction:  # SQLite may have rolled back already (e.g. disk full)
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # nothing committed; the journal undoes the rest at the next open

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            try:
                return list(self.db.query(sql, params))
            except sqlite3.Error as exc:
                raise StoreError(f"database read failed: {exc}") from exc

    def _fetch(self, table: str, ids: Iterable[int]) -> list[Row]:
        """The correction image of these rows."""
        return self._rows(
            f"SELECT {_IMAGE_COLUMNS[table]} FROM {table} WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id", (_ids(ids),)
        )

    def _meeting_of(self, table: str, row_id: int) -> int:
        rows = self._rows(f"SELECT meeting_id FROM {table} WHERE id=?", (row_id,))
        if not rows:
            raise StoreError(f"no {table.rstrip('s')} with id {row_id}")
        return int(rows[0]["meeting_id"])

    # -- meetings --------------------------------------------------------------------------

    def _import_lock(self, sha: str) -> ImportLock:
        return ImportLock(self.data_dir / ".locks" / f"{sha[:64] or 'unknown'}.lock")

    @contextmanager
    def importing(self, sha: str) -> Iterator[None]:
        """Hold the lock that says "this recording (by content hash) is being imported by this process".

        Another process importing the same recording gets a StoreError at once; the lock goes with
        the process, so a crashed import never blocks the next one. Re-entrant within one Store.
        """
        if sha in self._claims:
            yield
            return
        if self.readonly:
            raise StoreError(f"the database {self.path} is read-only (its file or folder cannot be written)")
        try:
            private_dir(self.data_dir / ".locks")
            lock = self._import_lock(sha)
            got = lock.acquire()
        except OSError as exc:
            raise StoreError(f"cannot lock the import in {self.data_dir}: {exc.strerror or exc}") from None
        if not got:
            pid = lock.holder()
            raise StoreError(f"this recording is being imported right now by another Parley process{f' (pid {pid})' if pid else ''}")
        self._claims[sha] = lock
        try:
            yield
        finally:
            self._claims.pop(sha, None)
            lock.release()

    def mark_interrupted(self) -> int:
        """Meetings left 'processing' by an import whose process is gone become 'interrupted'. Returns how many.

        An import still running (in this or another process) holds its lock and is left alone.
        A half-decoded copy (``audio/*.wav.part``) left by an import that is gone is removed too.
        """
        if self.readonly:
            return 0
        self._remove_orphan_parts()
        rows = self._rows("SELECT id, sha256 FROM meetings WHERE status='processing'")
        gone = [r["id"] for r in rows if r["sha256"] not in self._claims and lock_is_free(self._import_lock(r["sha256"]).path)]
        if not gone:
            return 0
        with self._tx():
            cur = self.conn.execute(
                "UPDATE meetings SET status='interrupted', error='the import was interrupted'"
                " WHERE status='processing' AND id IN (SELECT value FROM json_each(?))",
                (_ids(gone),),
            )
        return cur.rowcount

    def _remove_orphan_parts(self) -> None:
        audio = self.data_dir / "audio"
        if not audio.is_dir():
            return
        for part in audio.glob("*.wav.part"):
            prefix = part.name[: -len(".wav.part")]  # the decoded copy is named by the hash's first 16 digits
            if any(sha.startswith(prefix) for sha in self._claims):
                continue
            if all(lock_is_free(p) for p in (self.data_dir / ".locks").glob(f"{prefix}*.lock")):
                part.unlink(missing_ok=True)

    def find_by_sha256(self, sha: str) -> Meeting | None:
        rows = self._rows("SELECT id FROM meetings WHERE sha256=?", (sha,))
        return self.get_meeting(rows[0]["id"]) if rows else None

    def begin_meeting(
        self, title: str, audio: AudioInfo, audio_path: str, options: PipelineOptions, asr_model: str, diarization_model: str,
        sources: Sequence[tuple[str, str]] | None = None,
    ) -> int:
        """A new meeting in status 'processing', with its source file as an audio source."""
        existing = self.find_by_sha256(audio.sha256)
        if existing is not None:
            raise StoreError(f"this recording is already meeting {existing.id} ({existing.title!r})")
        with self._tx():
            cur = self.conn.execute(
                "INSERT INTO meetings (title, created_at, duration, source_path, sha256, audio_path, status, options_json,"
                " asr_model, diarization_model, warnings_json) VALUES (?,?,?,?,?,?,'processing',?,?,?,?)",
                (title, _now(), audio.duration, audio.source_path, audio.sha256, audio_path,
                 json.dumps(dataclasses.asdict(options)), asr_model, diarization_model, json.dumps(list(audio.warnings))),
            )
            meeting_id = int(cur.lastrowid)
            # an import has its source file; a live recording one raw file per channel ('mic', 'system')
            for kind, path in sources or (("file", audio.source_path),):
                self.conn.execute(
                    "INSERT INTO audio_sources (meeting_id, kind, path, channels, sample_rate, codec, container) VALUES (?,?,?,?,?,?,?)",
                    (meeting_id, kind, path, audio.channels if kind == "file" else 1, audio.source_sample_rate, audio.codec, audio.container),
                )
        return meeting_id

    def save_result(
        self, meeting_id: int, *, speakers: Sequence[str], centroids: np.ndarray | None, turns: Sequence[Turn], language: str,
        names: dict[str, str] | None = None, activity: Sequence = (), warnings: Sequence[str] = (),
    ) -> None:
        """Store a processed meeting in one transaction and mark it 'done'; on any error nothing is written.

        Speakers are named "Speaker 1", "Speaker 2", … by first appearance; ``centroids`` rows
        align with ``speakers``. Every turn's and word's speaker must be one of ``speakers`` (when
        ``speakers`` is empty, as when diarization found nobody, the turns' labels are the speakers).
        ``activity`` (:class:`~meetings.types.SpeakerSegment`, diarization labels) is who spoke when,
        kept for the RTTM export. ``warnings`` (whole-meeting checks: "sounds like more speakers",
        "one speaker holds almost all of a call") join the decoder's in the meeting record.
        """
        ordered = sorted(turns, key=lambda t: (t.start, t.end))  # stable: ids then follow seq
        labels = list(speakers)
        if not labels:  # diarization found nobody: the aligner's own label (SPEAKER_00) is the speaker
            labels, centroids = list(dict.fromkeys(t.speaker for t in ordered)), None
        if len(set(labels)) != len(labels):
            raise StoreError(f"meeting {meeting_id}: duplicate speaker labels in {labels}")
        if centroids is not None and len(centroids) != len(labels):
            raise StoreError(f"meeting {meeting_id}: {len(centroids)} centroids for {len(labels)} speakers")
        known = set(labels)
        for t in turns:
            stray = {t.speaker, *(w.speaker for w in t.words)} - known
            if stray:
                raise StoreError(f"meeting {meeting_id}: the turn at {t.start:.2f}s has unknown speaker(s) {sorted(stray)}")
        first: dict[str, int] = {}
        for t in ordered:
            first.setdefault(t.speaker, len(first))
        ranked = sorted(range(len(labels)), key=lambda i: (first.get(labels[i], len(first)), i))

        with self._tx():
            status = self._rows("SELECT status FROM meetings WHERE id=?", (meeting_id,))
            if not status:
                raise StoreError(f"no meeting with id {meeting_id}")
            if status[0]["status"] == "done":
                raise StoreError(f"meeting {meeting_id} already has a result")
            ids: dict[str, int] = {}
            names, n = names or {}, 0  # given names (the mic channel's "You"); the others numbered in order
            for i in ranked:
                blob = None if centroids is None else np.asarray(centroids[i], dtype=np.float32).tobytes()
                if labels[i] not in names:
                    n += 1
                cur = self.conn.execute(
                    "INSERT INTO speakers (meeting_id, label, name, centroid) VALUES (?,?,?,?)",
                    (meeting_id, labels[i], names.get(labels[i]) or f"Speaker {n}", blob),
                )
                ids[labels[i]] = int(cur.lastrowid)
            for seq, t in enumerate(ordered):
                cur = self.conn.execute(
                    'INSERT INTO turns (meeting_id, seq, speaker_id, start, "end", confidence, flags, overlapped, text)'
                    " VALUES (?,?,?,?,?,?,?,?,?)",
                    (meeting_id, seq, ids[t.speaker], t.start, t.end, t.confidence,
                     json.dumps([FlagReason(f).value for f in t.flags]), int(t.overlapped), t.text),
                )
                turn_id = int(cur.lastrowid)
                self.conn.executemany(
                    'INSERT INTO words (meeting_id, turn_id, idx, start, "end", text, probability, timed, speaker_id, overlapping,'
                    " speaker_share) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        (meeting_id, turn_id, i, w.word.start, w.word.end, w.word.text, w.word.probability, int(w.word.timed),
                         ids[w.speaker], json.dumps(list(w.overlapping)), w.speaker_share)
                        for i, w in enumerate(t.words)
                    ],
                )
            self.conn.executemany(
                'INSERT INTO speaker_activity (meeting_id, label, start, "end") VALUES (?,?,?,?)',
                [(meeting_id, str(a.speaker), float(a.start), float(a.end)) for a in activity if a.end > a.start],
            )
            before = self._rows("SELECT warnings_json FROM meetings WHERE id=?", (meeting_id,))[0]["warnings_json"]
            merged = list(dict.fromkeys([*json.loads(before or "[]"), *warnings]))
            self.conn.execute("UPDATE meetings SET status='done', language=?, error=NULL, warnings_json=? WHERE id=?",
                              (language, json.dumps(merged), meeting_id))

    def warnings(self, meeting_id: int) -> tuple[str, ...]:
        """What the user should know about how a meeting was heard: decoder warnings (damaged or
        truncated audio, recording gaps) and whole-meeting checks, in that order."""
        rows = self._rows("SELECT warnings_json FROM meetings WHERE id=?", (meeting_id,))
        if not rows:
            raise StoreError(f"no meeting with id {meeting_id}")
        return tuple(json.loads(rows[0]["warnings_json"] or "[]"))

    def activity(self, meeting_id: int) -> list[tuple[float, float, str]]:
        """Who spoke when as the diarization heard it: (start, end, diarization label), by start
        (``save_result``'s ``activity``; none for meetings stored before schema v5)."""
        rows = self.conn.execute('SELECT start, "end", label FROM speaker_activity WHERE meeting_id=? ORDER BY start, id',
                                 (meeting_id,)).fetchall()
        return [(float(r[0]), float(r[1]), str(r[2])) for r in rows]

    def cancel_meeting(self, meeting_id: int) -> None:
        """The import was cancelled by the user: the meeting reads as status 'cancelled' (retry or delete it).

        (Schema v1's CHECK knows no 'cancelled': it is stored as 'failed' with the error 'cancelled'.)
        """
        self.fail_meeting(meeting_id, CANCELLED)

    def fail_meeting(self, meeting_id: int, error: str) -> None:
        with self._tx():
            self.conn.execute("UPDATE meetings SET status='failed', error=? WHERE id=?", (error[:2000], meeting_id))

    def delete_meeting(self, meeting_id: int, *, keep_audio: bool = False) -> list[Path]:
        """Delete a meeting and everything of it, for good; returns the audio files removed.

        One transaction removes the meeting, its audio sources, speakers (and their voice
        embeddings), turns, words, corrections and summaries, and rebuilds the full-text index
        without its words (FTS5 otherwise keeps deleted tokens until a merge). ``secure_delete``
        zeroes the freed space, and a WAL checkpoint moves that into the database file and
        empties the WAL, so the deleted text is gone from the bytes on disk. Audio files inside
        the data folder (the decoded copy, recordings) are then removed; the user's own source
        file elsewhere is never touched.
        """
        with self._tx():
            rows = self._rows("SELECT audio_path, sha256, status FROM meetings WHERE id=?", (meeting_id,))
            if not rows:
                raise StoreError(f"no meeting with id {meeting_id}")
            sha = rows[0]["sha256"]
            if rows[0]["status"] == "processing" and sha not in self._claims and not lock_is_free(self._import_lock(sha).path):
                raise StoreError(f"meeting {meeting_id} is being imported right now: cancel the import first")
            paths = {rows[0]["audio_path"], *(r["path"] for r in self._rows("SELECT path FROM audio_sources WHERE meeting_id=?", (meeting_id,)))}
            self.conn.execute("DELETE FROM meetings WHERE id=?", (meeting_id,))
            self.conn.execute("INSERT INTO turns_fts (turns_fts) VALUES ('optimize')")
        removed = [] if keep_audio else self._remove_owned_files(paths)
        lock = self._import_lock(sha)
        if sha not in self._claims and lock_is_free(lock.path):  # not even the recording's hash stays behind
            lock.path.unlink(missing_ok=True)
        self.checkpoint()
        return removed

    def _remove_owned_files(self, paths: Iterable[str]) -> list[Path]:
        """Unlink the files among ``paths`` that live inside the data folder (and their partial/peak siblings)."""
        root = self.data_dir.resolve()
        removed = []
        for p in paths:
            if not p:
                continue
            path = Path(p).resolve()
            if root not in path.parents:
                continue  # the user's own file: never ours to delete
            for f in (path, path.with_name(path.name + ".part")):
                try:
                    f.unlink()
                    removed.append(f)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise StoreError(f"the meeting was deleted, but its audio {f} could not be removed: {exc.strerror or exc}") from None
        return removed

    def checkpoint(self) -> bool:
        """Copy the WAL into the database file and empty it; False when a reader kept part of it (retried next time)."""
        with self._lock:
            try:
                self.conn.execute("PRAGMA busy_timeout=2000")  # a reader elsewhere: do not wait long, retried next time
                busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.Error:
                return False
            finally:
                self.conn.execute("PRAGMA busy_timeout=30000")
        return busy == 0

    _MEETING_SQL = """
        SELECT m.*,
               (SELECT COUNT(DISTINCT t.speaker_id) FROM turns t WHERE t.meeting_id=m.id) AS n_speakers,
               (SELECT COUNT(*) FROM turns t WHERE t.meeting_id=m.id) AS n_turns,
               (SELECT COUNT(*) FROM turns t WHERE t.meeting_id=m.id AND t.flags != '[]' AND t.reviewed=0) AS n_flagged
        FROM meetings m"""

    @staticmethod
    def _meeting(r: Row) -> Meeting:
        status = "cancelled" if r["status"] == "failed" and r["error"] == CANCELLED else r["status"]
        return Meeting(
            id=r["id"], title=r["title"], created_at=r["created_at"], duration=r["duration"], audio_path=r["audio_path"],
            source_path=r["source_path"], sha256=r["sha256"], status=status,
            num_speakers=r["n_speakers"], num_turns=r["n_turns"], num_flagged=r["n_flagged"],
        )

    def source_kind(self, meeting_id: int) -> str:
        """``"live"`` for a meeting recorded by Parley (mic/system channels), else ``"import"``."""
        kinds = {r["kind"] for r in self._rows("SELECT kind FROM audio_sources WHERE meeting_id=?", (meeting_id,))}
        return "live" if kinds & {"mic", "system"} else "import"

    def get_meeting(self, meeting_id: int) -> Meeting:
        """The meeting; ``num_speakers`` counts speakers who have turns, ``num_flagged`` unreviewed flagged turns."""
        rows = self._rows(self._MEETING_SQL + " WHERE m.id=?", (meeting_id,))
        if not rows:
            raise StoreError(f"no meeting with id {meeting_id}")
        return self._meeting(rows[0])

    def list_meetings(self) -> list[Meeting]:
        """Newest first."""
        return [self._meeting(r) for r in self._rows(self._MEETING_SQL + " ORDER BY m.created_at DESC, m.id DESC")]

    def revision(self, meeting_id: int) -> int:
        """How many corrections (undo and redo included) the transcript has had."""
        rows = self._rows("SELECT revision FROM meetings WHERE id=?", (meeting_id,))
        if not rows:
            raise StoreError(f"no meeting with id {meeting_id}")
        return int(rows[0]["revision"])

    # -- reading ---------------------------------------------------------------------------

    def speakers(self, meeting_id: int) -> list[Speaker]:
        rows = self._rows("SELECT id, meeting_id, label, name FROM speakers WHERE meeting_id=? ORDER BY id", (meeting_id,))
        return [Speaker(r["id"], r["meeting_id"], r["label"], r["name"]) for r in rows]

    def speaker_centroids(self, meeting_id: int) -> dict[int, np.ndarray]:
        """Speaker id → float32 centroid embedding, for speakers that have one."""
        rows = self._rows("SELECT id, centroid FROM speakers WHERE meeting_id=? AND centroid IS NOT NULL", (meeting_id,))
        return {r["id"]: np.frombuffer(r["centroid"], dtype=np.float32).copy() for r in rows}

    def _turns(self, where: str, params: Sequence[Any]) -> list[StoredTurn]:
        turn_rows = self._rows(
            "SELECT t.*, s.label AS speaker_label, s.name AS speaker_name FROM turns t JOIN speakers s ON s.id=t.speaker_id"
            f" WHERE {where} ORDER BY t.seq, t.id",
            params,
        )
        words: dict[int, list[StoredWord]] = {r["id"]: [] for r in turn_rows}
        for w in self._rows(
            "SELECT * FROM words WHERE turn_id IN (SELECT value FROM json_each(?)) ORDER BY turn_id, idx", (_ids(words),)
        ):
            words[w["turn_id"]].append(
                StoredWord(
                    id=w["id"], idx=w["idx"], start=w["start"], end=w["end"], text=w["text"], probability=w["probability"],
                    timed=bool(w["timed"]), speaker_id=w["speaker_id"], overlapping=tuple(json.loads(w["overlapping"])),
                    speaker_share=w["speaker_share"],
                )
            )
        return [
            StoredTurn(
                id=r["id"], meeting_id=r["meeting_id"], seq=r["seq"], speaker_id=r["speaker_id"], speaker_label=r["speaker_label"],
                speaker_name=r["speaker_name"], start=r["start"], end=r["end"], text=r["text"], confidence=r["confidence"],
                flags=tuple(FlagReason(f) for f in json.loads(r["flags"])), overlapped=bool(r["overlapped"]),
                reviewed=bool(r["reviewed"]), words=tuple(words[r["id"]]),
            )
            for r in turn_rows
        ]

    def turns(self, meeting_id: int) -> list[StoredTurn]:
        """The meeting's turns in ``seq`` order, each with its words."""
        return self._turns("t.meeting_id=?", (meeting_id,))

    def turns_by_ids(self, turn_ids: Iterable[int]) -> list[StoredTurn]:
        """These turns (those that still exist), in ``seq`` order, each with its words."""
        return self._turns("t.id IN (SELECT value FROM json_each(?))", (_ids(turn_ids),))

    def turn(self, turn_id: int) -> StoredTurn:
        found = self._turns("t.id=?", (turn_id,))
        if not found:
            raise StoreError(f"no turn with id {turn_id}")
        return found[0]

    _TOKEN = re.compile(r"\w+")

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Full-text search over all transcripts, best match first; matches are [bracketed] in snippets.

        Any input is safe: each whitespace-separated chunk becomes one quoted FTS5 phrase of its
        word characters (so ``don't`` is the phrase "don t"), and operators like AND are plain words.
        The last word of the query matches as a prefix (``flo`` finds "floods"), as you type.
        A query that names a speaker or a meeting title first lists that speaker's first turn
        (per meeting) and that meeting's first turn.
        """
        phrases = [" ".join(tokens) for chunk in query.split() if (tokens := self._TOKEN.findall(chunk))]
        if not phrases or limit <= 0:
            return []
        match = " ".join(f'"{p}"' for p in phrases) + "*"
        named = self._search_names(query.strip(), limit)
        rows = self._rows(
            "SELECT t.id, t.meeting_id, t.start, m.title, s.name, snippet(turns_fts, 0, '[', ']', '…', 12) AS snip"
            " FROM turns_fts JOIN turns t ON t.id = turns_fts.rowid JOIN meetings m ON m.id = t.meeting_id"
            " JOIN speakers s ON s.id = t.speaker_id WHERE turns_fts MATCH ? ORDER BY rank, t.meeting_id, t.seq LIMIT ?",
            (match, limit),
        )
        hits = [SearchHit(r["meeting_id"], r["title"], r["id"], r["start"], r["name"], r["snip"]) for r in rows]
        return (named + [h for h in hits if h.turn_id not in {n.turn_id for n in named}])[:limit]

    def _search_names(self, query: str, limit: int) -> list[SearchHit]:
        """Speakers whose name, and meetings whose title, contain ``query`` (case-insensitive): their first turn."""
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        first = ("SELECT t.id, t.meeting_id, t.start, m.title, s.name, t.text FROM turns t JOIN meetings m ON m.id = t.meeting_id"
                 " JOIN speakers s ON s.id = t.speaker_id WHERE t.id IN (SELECT (SELECT t2.id FROM turns t2 WHERE {cond}"
                 " ORDER BY t2.seq LIMIT 1) FROM {table} WHERE {where} ESCAPE '\\') ORDER BY m.created_at DESC, t.seq LIMIT ?")
        speakers = self._rows(first.format(cond="t2.speaker_id = x.id", table="speakers x", where="x.name LIKE ?"), (like, limit))
        titles = self._rows(first.format(cond="t2.meeting_id = x.id", table="meetings x", where="x.title LIKE ?"), (like, limit))
        out = [SearchHit(r["meeting_id"], r["title"], r["id"], r["start"], r["name"], f"[{r['name']}]: {r['text'][:80]}") for r in speakers]
        out += [SearchHit(r["meeting_id"], r["title"], r["id"], r["start"], r["name"], f"[{r['title']}]: {r['text'][:80]}")
                for r in titles if r["id"] not in {h.turn_id for h in out}]
        return out

    # -- corrections -----------------------------------------------------------------------

    @contextmanager
    def _correction(self, meeting_id: int, action: str, summary: str) -> Iterator[_Change]:
        """A transaction that records what the body touches as one audited, undoable correction."""
        with self._tx():
            change = _Change(self)
            yield change
            payload = {"before": {t: [_to_json(r) for r in rows] for t, rows in change.before.items()},
                       "after": {t: [_to_json(r) for r in rows] for t, rows in change.after().items()}}
            self.conn.execute("UPDATE corrections SET undone=2 WHERE meeting_id=? AND undone=1", (meeting_id,))
            self.conn.execute(
                "INSERT INTO corrections (meeting_id, at, actor, action, summary, payload_json) VALUES (?,?,?,?,?,?)",
                (meeting_id, _now(), _actor(), action, summary, json.dumps(payload)),
            )
            self._bump(meeting_id)
        self.last_change = ChangeSet(meeting_id, **{t: frozenset(ids) for t, ids in change.ids.items()})

    def _bump(self, meeting_id: int) -> None:
        self.conn.execute("UPDATE meetings SET revision = revision + 1 WHERE id=?", (meeting_id,))
        self.conn.execute("UPDATE summaries SET stale=1 WHERE meeting_id=?", (meeting_id,))

    def _restore(self, meeting_id: int, image: dict[str, list[Row]], other: dict[str, list[Row]]) -> None:
        """Make the rows named in either image look exactly like ``image`` (absent there = deleted)."""
        for table in _TABLES:
            for row in map(_from_json, image.get(table, [])):
                cols = list(row)
                sets = ",".join(f"[{c}]=?" for c in cols if c != "id")
                values = [row[c] for c in cols if c != "id"]
                if _IMAGE_COLUMNS[table] != "*":  # a partial image: the row exists, move it back
                    self.conn.execute(f"UPDATE {table} SET {sets} WHERE id=?", [*values, row["id"]])
                else:  # a whole row: it may have been deleted since
                    self.conn.execute(
                        f"INSERT INTO {table} ({','.join(f'[{c}]' for c in cols)}) VALUES ({','.join('?' * len(cols))})"
                        f" ON CONFLICT(id) DO UPDATE SET {sets}",
                        [*(row[c] for c in cols), *values],
                    )
        for table in reversed(_TABLES):
            gone = {r["id"] for r in other.get(table, [])} - {r["id"] for r in image.get(table, [])}
            self.conn.execute(f"DELETE FROM {table} WHERE id IN (SELECT value FROM json_each(?))", (_ids(gone),))
        self._renumber(meeting_id)

    def _renumber(self, meeting_id: int) -> None:
        self.conn.execute(
            "UPDATE turns SET seq = r.n FROM (SELECT id, row_number() OVER (ORDER BY start, \"end\", id) - 1 AS n"
            " FROM turns WHERE meeting_id=?) AS r WHERE turns.id = r.id AND turns.seq != r.n",
            (meeting_id,),
        )

    def _retext(self, turn_id: int) -> None:
        """Order the turn's words by time, renumber their idx from 0, recompute the turn's text."""
        words = self._rows("SELECT id, text FROM words WHERE turn_id=? ORDER BY start, idx", (turn_id,))
        self.conn.executemany("UPDATE words SET idx=? WHERE id=?", [(i, w["id"]) for i, w in enumerate(words)])
        self.conn.execute("UPDATE turns SET text=? WHERE id=?", (_join(w["text"] for w in words), turn_id))

    def _word_ids(self, where: str, params: Sequence[Any]) -> list[int]:
        return [r["id"] for r in self._rows(f"SELECT id FROM words WHERE {where}", params)]

    def _same_meeting(self, speaker_id: int, meeting_id: int) -> None:
        if self._meeting_of("speakers", speaker_id) != meeting_id:
            raise StoreError(f"speaker {speaker_id} belongs to another meeting")

    def rename_speaker(self, speaker_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise StoreError("a speaker name cannot be empty")
        mid = self._meeting_of("speakers", speaker_id)
        old = self._rows("SELECT name FROM speakers WHERE id=?", (speaker_id,))[0]["name"]
        with self._correction(mid, "rename_speaker", f"{old!r} renamed to {name!r}") as ch:
            ch.touch("speakers", [speaker_id])
            self.conn.execute("UPDATE speakers SET name=? WHERE id=?", (name, speaker_id))

    def reassign_turn(self, turn_id: int, speaker_id: int) -> None:
        """Give the turn and its words to ``speaker_id``; the user decided, so the turn counts as reviewed."""
        mid = self._meeting_of("turns", turn_id)
        self._same_meeting(speaker_id, mid)
        with self._correction(mid, "reassign_turn", f"turn {turn_id} given to speaker {speaker_id}") as ch:
            ch.touch("turns", [turn_id])
            ch.touch("words", self._word_ids("turn_id=?", (turn_id,)))
            self.conn.execute("UPDATE turns SET speaker_id=?, reviewed=1 WHERE id=?", (speaker_id, turn_id))
            self.conn.execute("UPDATE words SET speaker_id=? WHERE turn_id=?", (speaker_id, turn_id))

    def reassign_speaker_turns(self, from_speaker_id: int, to_speaker_id: int, only_turn_ids: Iterable[int] | None = None) -> int:
        """Move the turns of one speaker (all, or those in ``only_turn_ids``) to another; returns how many moved.

        Moving nothing records no correction.
        """
        mid = self._meeting_of("speakers", from_speaker_id)
        self._same_meeting(to_speaker_id, mid)
        ids = {r["id"] for r in self._rows("SELECT id FROM turns WHERE speaker_id=?", (from_speaker_id,))}
        if only_turn_ids is not None:
            ids &= set(only_turn_ids)
        if not ids or from_speaker_id == to_speaker_id:
            return 0
        sel = "IN (SELECT value FROM json_each(?))"
        with self._correction(mid, "reassign_speaker_turns", f"{len(ids)} turns of speaker {from_speaker_id} given to {to_speaker_id}") as ch:
            ch.touch("turns", ids)
            ch.touch("words", self._word_ids(f"turn_id {sel}", (_ids(ids),)))
            self.conn.execute(f"UPDATE turns SET speaker_id=?, reviewed=1 WHERE id {sel}", (to_speaker_id, _ids(ids)))
            self.conn.execute(f"UPDATE words SET speaker_id=? WHERE turn_id {sel}", (to_speaker_id, _ids(ids)))
        return len(ids)

    def merge_speakers(self, keep_id: int, drop_id: int) -> None:
        """All turns and words of ``drop_id`` (and its summaries, now stale) go to ``keep_id``; ``drop_id`` is deleted."""
        if keep_id == drop_id:
            raise StoreError("cannot merge a speaker with itself")
        mid = self._meeting_of("speakers", keep_id)
        self._same_meeting(drop_id, mid)
        with self._correction(mid, "merge_speakers", f"speaker {drop_id} merged into speaker {keep_id}") as ch:
            turn_ids = [r["id"] for r in self._rows("SELECT id FROM turns WHERE speaker_id=?", (drop_id,))]
            ch.touch("speakers", [keep_id, drop_id])
            ch.touch("turns", turn_ids)
            ch.touch("words", self._word_ids("speaker_id=? OR turn_id IN (SELECT value FROM json_each(?))", (drop_id, _ids(turn_ids))))
            ch.touch("summaries", [r["id"] for r in self._rows("SELECT id FROM summaries WHERE speaker_id=?", (drop_id,))])
            self.conn.execute("UPDATE turns SET speaker_id=? WHERE speaker_id=?", (keep_id, drop_id))
            self.conn.execute("UPDATE words SET speaker_id=? WHERE speaker_id=?", (keep_id, drop_id))
            self.conn.execute("UPDATE summaries SET speaker_id=? WHERE speaker_id=?", (keep_id, drop_id))
            self.conn.execute("DELETE FROM speakers WHERE id=?", (drop_id,))

    def split_turn(self, turn_id: int, at_word_idx: int) -> int:
        """Words from ``at_word_idx`` on become a new turn of the same speaker; returns its id."""
        mid = self._meeting_of("turns", turn_id)
        with self._correction(mid, "split_turn", f"turn {turn_id} split at word {at_word_idx}") as ch:
            words = self._rows('SELECT id, idx, start, "end" FROM words WHERE turn_id=? ORDER BY idx', (turn_id,))
            if not 0 < at_word_idx < len(words):
                raise StoreError(f"cannot split a turn of {len(words)} words at word {at_word_idx}")
            kept, moved = words[:at_word_idx], words[at_word_idx:]
            t = self._rows("SELECT * FROM turns WHERE id=?", (turn_id,))[0]
            ch.touch("turns", [turn_id])
            ch.touch("words", [w["id"] for w in moved])
            cur = self.conn.execute(
                'INSERT INTO turns (meeting_id, seq, speaker_id, start, "end", confidence, flags, overlapped, text, reviewed)'
                " VALUES (?,?,?,?,?,?,?,?,'',?)",
                (mid, t["seq"], t["speaker_id"], moved[0]["start"], max(t["end"], moved[-1]["end"]), t["confidence"],
                 t["flags"], t["overlapped"], t["reviewed"]),
            )
            new_id = int(cur.lastrowid)
            ch.created("turns", new_id)
            self.conn.execute(
                "UPDATE words SET turn_id=? WHERE id IN (SELECT value FROM json_each(?))", (new_id, _ids(w["id"] for w in moved))
            )
            self.conn.execute('UPDATE turns SET "end"=? WHERE id=?', (max(w["end"] for w in kept), turn_id))
            self._retext(turn_id)
            self._retext(new_id)
            self._renumber(mid)
        return new_id

    def merge_turn_with_previous(self, turn_id: int) -> int:
        """Move the turn's words into the previous turn (whose speaker they take); returns that turn's id.

        The merged turn spans both, carries both turns' flags and the lower confidence.
        """
        mid = self._meeting_of("turns", turn_id)
        with self._correction(mid, "merge_turn_with_previous", f"turn {turn_id} merged into the previous turn") as ch:
            t = self._rows("SELECT * FROM turns WHERE id=?", (turn_id,))[0]
            prev = self._rows("SELECT * FROM turns WHERE meeting_id=? AND seq<? ORDER BY seq DESC LIMIT 1", (mid, t["seq"]))
            if not prev:
                raise StoreError("the first turn has no previous turn to merge with")
            p = prev[0]
            ch.touch("turns", [turn_id, p["id"]])
            ch.touch("words", self._word_ids("turn_id=?", (turn_id,)))
            flags = list(dict.fromkeys(json.loads(p["flags"]) + json.loads(t["flags"])))
            self.conn.execute("UPDATE words SET turn_id=?, speaker_id=? WHERE turn_id=?", (p["id"], p["speaker_id"], turn_id))
            self.conn.execute("DELETE FROM turns WHERE id=?", (turn_id,))
            self.conn.execute(
                'UPDATE turns SET start=?, "end"=?, confidence=?, flags=? WHERE id=?',
                (min(p["start"], t["start"]), max(p["end"], t["end"]), min(p["confidence"], t["confidence"]), json.dumps(flags), p["id"]),
            )
            self._retext(p["id"])
            self._renumber(mid)
        return int(p["id"])

    def edit_word(self, word_id: int, text: str) -> int:
        """Re-spell one word (a misheard word or name); the turn's text follows. Returns the turn id."""
        text = " ".join(text.split())
        if not text:
            raise StoreError("a word cannot be empty")
        rows = self._rows("SELECT meeting_id, turn_id, text FROM words WHERE id=?", (word_id,))
        if not rows:
            raise StoreError(f"no word with id {word_id}")
        mid, turn_id, old = rows[0]["meeting_id"], rows[0]["turn_id"], rows[0]["text"]
        lead = " " if old.startswith(" ") else ""
        with self._correction(mid, "edit_word", f"word {word_id} {old.strip()!r} changed to {text!r}") as ch:
            ch.touch("turns", [turn_id])
            ch.touch("words", [word_id])
            self.conn.execute("UPDATE words SET text=? WHERE id=?", (lead + text, word_id))
            self._retext(turn_id)
        return int(turn_id)

    def add_speaker(self, meeting_id: int, name: str) -> int:
        """A new speaker (a voice the diarizer missed), with no turns yet; returns its id."""
        name = name.strip()
        if not name:
            raise StoreError("a speaker name cannot be empty")
        self.get_meeting(meeting_id)
        with self._correction(meeting_id, "add_speaker", f"speaker {name!r} added") as ch:
            taken = {r["label"] for r in self._rows("SELECT label FROM speakers WHERE meeting_id=?", (meeting_id,))}
            label = next(f"USER_{k:02d}" for k in range(1, len(taken) + 2) if f"USER_{k:02d}" not in taken)
            cur = self.conn.execute(
                "INSERT INTO speakers (meeting_id, label, name, centroid) VALUES (?,?,?,NULL)", (meeting_id, label, name)
            )
            ch.created("speakers", int(cur.lastrowid))
        return int(cur.lastrowid)

    def mark_reviewed(self, turn_id: int, reviewed: bool = True) -> None:
        """Accept a turn as it is (or take the acceptance back); changes nothing else."""
        mid = self._meeting_of("turns", turn_id)
        with self._correction(mid, "mark_reviewed", f"turn {turn_id} {'accepted' if reviewed else 'no longer accepted'}") as ch:
            ch.touch("turns", [turn_id])
            self.conn.execute("UPDATE turns SET reviewed=? WHERE id=?", (int(reviewed), turn_id))

    def undo(self, meeting_id: int) -> bool:
        """Undo the newest correction in effect; False when there is none."""
        return self._replay(meeting_id, "SELECT id, payload_json FROM corrections WHERE meeting_id=? AND undone=0 ORDER BY id DESC LIMIT 1", undo=True)

    def redo(self, meeting_id: int) -> bool:
        """Re-apply the most recently undone correction; False when there is none (or a newer correction dropped it)."""
        return self._replay(meeting_id, "SELECT id, payload_json FROM corrections WHERE meeting_id=? AND undone=1 ORDER BY id ASC LIMIT 1", undo=False)

    def _replay(self, meeting_id: int, pick: str, *, undo: bool) -> bool:
        with self._tx():
            rows = self._rows(pick, (meeting_id,))
            if not rows:
                return False
            payload = json.loads(rows[0]["payload_json"])
            image, other = (payload["before"], payload["after"]) if undo else (payload["after"], payload["before"])
            self._restore(meeting_id, image, other)
            self.conn.execute("UPDATE corrections SET undone=? WHERE id=?", (int(undo), rows[0]["id"]))
            self._bump(meeting_id)
        touched = {t: frozenset(r["id"] for r in (*image.get(t, []), *other.get(t, []))) for t in _TABLES}
        self.last_change = ChangeSet(meeting_id, **touched)
        return True

    def corrections(self, meeting_id: int) -> list[Correction]:
        """The audit trail, oldest first (``undone`` is True for corrections not in effect)."""
        return [
            Correction(r["id"], r["meeting_id"], r["at"], r["actor"], r["action"], r["summary"], bool(r["undone"]))
            for r in self._rows("SELECT * FROM corrections WHERE meeting_id=? ORDER BY id", (meeting_id,))
        ]

    # -- summaries -------------------------------------------------------------------------

    def add_summary(
        self, meeting_id: int, *, speaker_id: int | None, kind: str, model: str, prompt_version: str,
        content_json: str, markdown: str, local: bool,
    ) -> int:
        """Record a summary of the meeting's transcript as it is now (its current revision)."""
        if speaker_id is not None:
            self._same_meeting(speaker_id, meeting_id)
        with self._tx():
            rev = self.revision(meeting_id)
            cur = self.conn.execute(
                "INSERT INTO summaries (meeting_id, speaker_id, kind, model, prompt_version, transcript_revision, created_at,"
                " content_json, markdown, local) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (meeting_id, speaker_id, kind, model, prompt_version, rev, _now(), content_json, markdown, int(local)),
            )
        return int(cur.lastrowid)

    def summaries(self, meeting_id: int, include_old: bool = False) -> list[StoredSummary]:
        """The latest summary per (speaker, kind), or every summary with ``include_old``; oldest first."""
        rows = self._rows("SELECT * FROM summaries WHERE meeting_id=? ORDER BY id", (meeting_id,))
        if not include_old:
            latest = {(r["speaker_id"], r["kind"]): r for r in rows}
            rows = sorted(latest.values(), key=lambda r: r["id"])
        return [
            StoredSummary(
                id=r["id"], meeting_id=r["meeting_id"], speaker_id=r["speaker_id"], kind=r["kind"], model=r["model"],
                prompt_version=r["prompt_version"], transcript_revision=r["transcript_revision"], created_at=r["created_at"],
                content_json=r["content_json"], markdown=r["markdown"], local=bool(r["local"]), stale=bool(r["stale"]),
            )
            for r in rows
        ]
