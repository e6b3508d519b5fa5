"""People across meetings: voice profiles, enrolment, safe auto-naming, a person's page.

Everything is in the meeting database (schema v4, :mod:`meetings.migrations`) and never leaves
the machine: a profile is exported only by :func:`export_profile`, on request.

* A **person** has a name; their **profile** (per embedding model) is the sum of their
  ``voice_samples``: each sample is one enrolment (a meeting speaker's clean speech, a short
  recording, or an imported profile file) as a :class:`~diarization.profiles.Voiceprint`.
  Profiles of another embedding model are never compared.
* A meeting speaker is linked to a person by ``speakers.person_id`` with ``naming``:
  ``auto`` (named from the profiles at import), ``user`` (named by the user; their voice may be
  learned), ``local`` (the mic channel of a live recording: the local user, "You").
  A weaker match leaves the speaker unnamed with ``suggested_id`` (confirm it with one key).
* :func:`forget` deletes a person with every voice sample (freed pages are zeroed by
  ``secure_delete`` and the WAL is checkpointed, so the vectors are gone from the file).
  Deleting a meeting keeps the people learned from it (their samples lose the link).
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from diarization.profiles import DEFAULT_RULE, MatchRule, Voiceprint, match, voiceprint
from meetings.errors import StoreError
from meetings.records import SearchHit, StoredTurn
from meetings.types import FlagReason

if TYPE_CHECKING:
    from meetings.store import Store

__all__ = [
    "Embedder", "Person", "Naming", "PersonMeeting", "ActionItem", "PersonPage",
    "embedder_for", "people", "person", "find_person", "create_person", "rename_person", "merge_people", "forget",
    "profile", "profiles", "speaker_spans", "speaker_voice", "learn_voice", "remember", "enrol_recording", "auto_name",
    "confirm_suggestion", "TurnCheck", "rescore_turns", "turns_to_rescore", "turn_voices", "apply_rescore", "namings", "name_after_import", "reconcile", "export_profile", "import_profile", "person_page", "said",
    "resolve_speaker", "meetings_with", "LOCAL_LABEL", "SELF_NAME", "PROFILE_FORMAT",
]

LOCAL_LABEL = "LOCAL"  # diarization.channels.LOCAL: the mic channel's speaker of a live recording
SELF_NAME = "You"
PROFILE_FORMAT = "parley-voice-profile"
log = logging.getLogger(__name__)
_DEFAULT_NAME = re.compile(r"Speaker \d+")  # what save_result names a speaker nobody named
_TOKEN = re.compile(r"\w+")  # as Store.search: each chunk becomes one quoted FTS5 phrase of its word characters


class Embedder(Protocol):
    """What makes voiceprints: the embedding model's id and a batch embedding function."""

    model: str

    def embed_many(self, clips: list[np.ndarray]) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class _DiarizerEmbedder:
    model: str
    _diarizer: Any

    def embed_many(self, clips: list[np.ndarray]) -> np.ndarray:
        return self._diarizer.embed_many(clips)


def embedder_for(diarizer) -> Embedder:
    from diarization.profiles import embedding_model_id

    return _DiarizerEmbedder(embedding_model_id(diarizer), diarizer)


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str
    is_self: bool
    meetings: int  # meetings with a speaker linked to them
    talk_time: float  # seconds of their turns, all meetings
    samples: int  # enrolments in their profile(s)
    windows: int  # embedding windows behind the profile(s)
    seconds: float  # seconds of speech behind the profile(s)
    models: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Naming:
    """What auto-naming did for one speaker."""

    speaker_id: int
    label: str
    name: str  # the speaker's name now
    status: str  # "named" | "suggested" | "local" | "unnamed"
    person_id: int | None  # named as, or suggested
    person_name: str | None
    score: float | None


@dataclass(frozen=True, slots=True)
class PersonMeeting:
    meeting_id: int
    title: str
    created_at: str
    speaker_id: int
    talk_time: float
    turns: int


@dataclass(frozen=True, slots=True)
class ActionItem:
    meeting_id: int
    title: str
    text: str
    due: str | None
    turn_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PersonPage:
    person: Person
    meetings: tuple[PersonMeeting, ...]
    action_items: tuple[ActionItem, ...]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _q(store: Store, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    try:
        return list(store.db.query(sql, params))
    except Exception as exc:  # sqlite3.Error
        raise StoreError(f"database read failed: {exc}") from exc


# -- people ---------------------------------------------------------------------------------

_PEOPLE_SQL = """
    SELECT p.id, p.name, p.is_self,
           (SELECT COUNT(DISTINCT s.meeting_id) FROM speakers s WHERE s.person_id = p.id) AS meetings,
           (SELECT COALESCE(SUM(t."end" - t.start), 0) FROM turns t JOIN speakers s ON s.id = t.speaker_id
             WHERE s.person_id = p.id) AS talk,
           (SELECT COUNT(*) FROM voice_samples v WHERE v.person_id = p.id) AS samples,
           (SELECT COALESCE(SUM(v.n), 0) FROM voice_samples v WHERE v.person_id = p.id) AS windows,
           (SELECT COALESCE(SUM(v.seconds), 0) FROM voice_samples v WHERE v.person_id = p.id) AS seconds,
           (SELECT group_concat(DISTINCT v.model) FROM voice_samples v WHERE v.person_id = p.id) AS models
    FROM people p"""


def _person(r: dict) -> Person:
    return Person(r["id"], r["name"], bool(r["is_self"]), r["meetings"], float(r["talk"]), r["samples"], r["windows"],
                  float(r["seconds"]), tuple(sorted((r["models"] or "").split(","))) if r["models"] else ())


def people(store: Store) -> list[Person]:
    """Everyone, by name: the one place where every voice profile is listed (and can be forgotten)."""
    return [_person(r) for r in _q(store, _PEOPLE_SQL + " ORDER BY p.name COLLATE NOCASE")]


def person(store: Store, person_id: int) -> Person:
    rows = _q(store, _PEOPLE_SQL + " WHERE p.id=?", (person_id,))
    if not rows:
        raise StoreError(f"no person with id {person_id}")
    return _person(rows[0])


def find_person(store: Store, ref: str | int) -> Person | None:
    """By id (a number) or name (case-insensitive)."""
    if isinstance(ref, int) or str(ref).isdigit():
        rows = _q(store, "SELECT id FROM people WHERE id=?", (int(ref),))
    else:
        rows = _q(store, "SELECT id FROM people WHERE name = ? COLLATE NOCASE", (str(ref).strip(),))
    return person(store, rows[0]["id"]) if rows else None


def _resolve(store: Store, ref: str | int) -> Person:
    p = find_person(store, ref)
    if p is None:
        raise StoreError(f"no person {ref!r} (parley people lists them)")
    return p


def create_person(store: Store, name: str, *, is_self: bool = False) -> Person:
    name = " ".join(name.split())
    if not name:
        raise StoreError("a person's name cannot be empty")
    if name.isdigit():
        raise StoreError("a person's name cannot be only a number (numbers refer to people by id)")
    if find_person(store, name) is not None:
        raise StoreError(f"there is already a person called {name!r}")
    with store.transaction():
        cur = store.conn.execute("INSERT INTO people (name, created_at, is_self) VALUES (?,?,?)", (name, _now(), int(is_self)))
    return person(store, int(cur.lastrowid))


def _self_person(store: Store) -> Person:
    rows = _q(store, "SELECT id FROM people WHERE is_self=1 ORDER BY id LIMIT 1")
    if rows:
        return person(store, rows[0]["id"])
    existing = find_person(store, SELF_NAME)
    if existing is not None:  # someone named "You" by hand: that is the local user
        with store.transaction():
            store.conn.execute("UPDATE people SET is_self=1 WHERE id=?", (existing.id,))
        return person(store, existing.id)
    return create_person(store, SELF_NAME, is_self=True)


def rename_person(store: Store, ref: str | int, name: str) -> Person:
    """A new name for a person, and for every meeting speaker named as them."""
    p = _resolve(store, ref)
    name = " ".join(name.split())
    if not name:
        raise StoreError("a person's name cannot be empty")
    other = find_person(store, name)
    if other is not None and other.id != p.id:
        raise StoreError(f"there is already a person called {other.name!r}: merge them instead")
    with store.transaction():
        store.conn.execute("UPDATE people SET name=? WHERE id=?", (name, p.id))
        store.conn.execute("UPDATE speakers SET name=? WHERE person_id=? AND naming IN ('auto', 'user')", (name, p.id))
    return person(store, p.id)


def merge_people(store: Store, keep_ref: str | int, drop_ref: str | int) -> Person:
    """``drop`` was ``keep`` all along: their voice samples and meeting speakers become ``keep``'s.

    Refused when both are speakers of one meeting (merge those speakers first)."""
    keep, drop = _resolve(store, keep_ref), _resolve(store, drop_ref)
    if keep.id == drop.id:
        raise StoreError("cannot merge a person with themselves")
    both = _q(store, "SELECT m.title FROM meetings m WHERE EXISTS (SELECT 1 FROM speakers s WHERE s.meeting_id=m.id AND s.person_id=?)"
                     " AND EXISTS (SELECT 1 FROM speakers s WHERE s.meeting_id=m.id AND s.person_id=?)", (keep.id, drop.id))
    if both:
        raise StoreError(f"{keep.name} and {drop.name} are two speakers of {both[0]['title']!r}: merge those speakers first")
    with store.transaction():
        store.conn.execute("UPDATE voice_samples SET person_id=? WHERE person_id=?", (keep.id, drop.id))
        store.conn.execute("UPDATE speakers SET person_id=?, name=? WHERE person_id=? AND naming IN ('auto', 'user')",
                           (keep.id, keep.name, drop.id))
        store.conn.execute("UPDATE speakers SET person_id=? WHERE person_id=?", (keep.id, drop.id))
        store.conn.execute("UPDATE speakers SET suggested_id=? WHERE suggested_id=?", (keep.id, drop.id))
        store.conn.execute("UPDATE people SET is_self = MAX(is_self, ?) WHERE id=?", (int(drop.is_self), keep.id))
        store.conn.execute("DELETE FROM people WHERE id=?", (drop.id,))
    store.checkpoint()
    return person(store, keep.id)


def forget(store: Store, ref: str | int) -> Person:
    """Delete a person and all their voice data, for good. Meeting transcripts keep the names the
    speakers had, without the link. Returns what was deleted."""
    p = _resolve(store, ref)
    with store.transaction():
        store.conn.execute("UPDATE speakers SET person_id=NULL, naming='' WHERE person_id=?", (p.id,))
        store.conn.execute("UPDATE speakers SET suggested_id=NULL, match_score=NULL WHERE suggested_id=?", (p.id,))
        store.conn.execute("DELETE FROM voice_samples WHERE person_id=?", (p.id,))
        store.conn.execute("DELETE FROM people WHERE id=?", (p.id,))
    store.checkpoint()  # the zeroed pages reach the database file; the WAL is emptied
    return p


# -- profiles -------------------------------------------------------------------------------

def _blob(v: np.ndarray) -> bytes:
    return np.asarray(v, dtype=np.float32).tobytes()


def profile(store: Store, person_id: int, model: str) -> Voiceprint | None:
    """The person's profile made by ``model`` (the sum of their samples), or None."""
    rows = _q(store, "SELECT vec_sum, n, seconds FROM voice_samples WHERE person_id=? AND model=?", (person_id, model))
    if not rows:
        return None
    vec = sum(np.frombuffer(r["vec_sum"], dtype=np.float32).astype(np.float64) for r in rows)
    return Voiceprint(model, np.asarray(vec, dtype=np.float32), sum(r["n"] for r in rows), sum(r["seconds"] for r in rows))


def profiles(store: Store, model: str) -> dict[int, np.ndarray]:
    """Person id → profile centroid, for every person with a profile of ``model`` (and only that model)."""
    sums: dict[int, np.ndarray] = {}
    for r in _q(store, "SELECT person_id, vec_sum FROM voice_samples WHERE model=?", (model,)):
        v = np.frombuffer(r["vec_sum"], dtype=np.float32).astype(np.float64)
        sums[r["person_id"]] = sums[r["person_id"]] + v if r["person_id"] in sums else v
    return {p: Voiceprint(model, v.astype(np.float32), 1, 0.0).centroid for p, v in sums.items()}


def _add_sample(store: Store, person_id: int, vp: Voiceprint, source: str, meeting_id: int | None = None,
                label: str | None = None) -> None:
    with store.transaction():
        if meeting_id is not None:  # one sample per meeting speaker: learning it again replaces it
            store.conn.execute("DELETE FROM voice_samples WHERE meeting_id=? AND speaker_label=? AND model=?",
                               (meeting_id, label, vp.model))
        store.conn.execute(
            "INSERT INTO voice_samples (person_id, model, vec_sum, n, seconds, source, meeting_id, speaker_label, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (person_id, vp.model, _blob(vp.vec_sum), vp.n, vp.seconds, source, meeting_id, label, _now()))


def speaker_spans(turns: Sequence[StoredTurn], speaker_id: int, enough: float = 6.0, max_gap: float = 0.5) -> list[tuple[float, float]]:
    """A speaker's clean speech: runs of their words with no one else heard, in turns that are not
    overlapped. Reviewed or unflagged turns first; the rest only when those give less than ``enough`` s."""
    mine = [t for t in turns if t.speaker_id == speaker_id and not t.overlapped and FlagReason.OVERLAP not in t.flags]

    def runs(ts) -> list[tuple[float, float]]:
        out = []
        for t in ts:
            a = b = None
            for w in t.words:
                if w.speaker_id != speaker_id or w.overlapping or not w.timed:
                    if a is not None:
                        out.append((a, b))
                    a = b = None
                    continue
                if a is not None and w.start - b > max_gap:
                    out.append((a, b))
                    a = None
                a, b = (w.start if a is None else a), w.end
            if a is not None:
                out.append((a, b))
        return out

    best = runs([t for t in mine if t.reviewed or not t.flags])
    if sum(b - a for a, b in best) >= enough:
        return best
    return runs(mine)


def learn_voice(store: Store, speaker_id: int, vp: Voiceprint) -> Person:
    """Add a meeting speaker's voiceprint (made elsewhere, e.g. on a worker thread) to the profile of the
    person the speaker is linked to; it replaces what was learned from this speaker before."""
    row = _speaker_row(store, speaker_id)
    if row["person_id"] is None or find_person(store, row["person_id"]) is None:
        raise StoreError(f"{row['name']} is not linked to a person: name them first")
    _add_sample(store, row["person_id"], vp, "meeting", row["meeting_id"], row["label"])
    return person(store, row["person_id"])


def speaker_voice(store: Store, speaker_id: int, embedder: Embedder, turns: Sequence[StoredTurn] | None = None) -> Voiceprint | None:
    """The voiceprint of a meeting speaker's clean speech, from the meeting's audio (None: too little)."""
    from capture.decode import read_mono

    rows = _q(store, "SELECT s.meeting_id, m.audio_path FROM speakers s JOIN meetings m ON m.id = s.meeting_id WHERE s.id=?", (speaker_id,))
    if not rows:
        raise StoreError(f"no speaker with id {speaker_id}")
    wav = rows[0]["audio_path"]
    if not Path(wav).is_file():
        raise StoreError(f"the meeting's audio {wav} is missing: its voices cannot be learned")
    turns = store.turns(rows[0]["meeting_id"]) if turns is None else turns
    return voiceprint(embedder.model, embedder.embed_many, lambda a, b: read_mono(wav, a, b), speaker_spans(turns, speaker_id))


def _speaker_row(store: Store, speaker_id: int) -> dict:
    rows = _q(store, "SELECT * FROM speakers WHERE id=?", (speaker_id,))
    if not rows:
        raise StoreError(f"no speaker with id {speaker_id}")
    return rows[0]


def resolve_speaker(store: Store, meeting_id: int, ref: str) -> int:
    """A speaker of the meeting by number (as in "Speaker 2" or its position), label, name or id."""
    speakers = store.speakers(meeting_id)
    ref = ref.strip()
    for s in speakers:
        if ref in (s.label, s.name) or ref.lower() == s.name.lower() or ref.lower() == f"speaker {s.name}".lower():
            return s.id
    if ref.isdigit():
        k = int(ref)
        by_name = [s for s in speakers if s.name == f"Speaker {k}"]
        if by_name:
            return by_name[0].id
        if 1 <= k <= len(speakers):
            return speakers[k - 1].id
    raise StoreError(f"meeting {meeting_id} has no speaker {ref!r} (its speakers: {', '.join(s.name for s in speakers)})")


def remember(store: Store, speaker_id: int, name: str, embedder: Embedder | None, *, learn: bool = True) -> Person:
    """Name a meeting speaker as a person (created if new) and, with ``learn``, enrol their voice.

    The rename is an ordinary (undoable) correction. Refused when another speaker of the meeting
    already is that person. If the speaker had been named from another person's profile, that
    naming was wrong: the speaker's sample (if any) leaves the old profile.
    """
    row = _speaker_row(store, speaker_id)
    target = find_person(store, name) if not name.strip().isdigit() else None
    if target is not None:
        twin = _q(store, "SELECT name FROM speakers WHERE meeting_id=? AND person_id=? AND id!=?", (row["meeting_id"], target.id, speaker_id))
        if twin:
            raise StoreError(f"{target.name} is already {twin[0]['name']!r} in this meeting: merge the two speakers instead")
    vp = None
    if learn:
        if embedder is None:
            raise StoreError("learning a voice needs the speaker-embedding model")
        vp = speaker_voice(store, speaker_id, embedder)
        if vp is None:
            raise StoreError(f"{row['name']} has too little clean speech in this meeting to learn their voice (name them without --learn)")
    if target is None:
        target = create_person(store, name)
    if row["name"] != target.name:
        store.rename_speaker(speaker_id, target.name)
    with store.transaction():
        if row["person_id"] is not None and row["person_id"] != target.id:  # the old link was wrong: unlearn it there
            store.conn.execute("DELETE FROM voice_samples WHERE person_id=? AND meeting_id=? AND speaker_label=?",
                               (row["person_id"], row["meeting_id"], row["label"]))
        store.conn.execute("UPDATE speakers SET person_id=?, naming=?, suggested_id=NULL, match_score=NULL WHERE id=?",
                           (target.id, "local" if row["naming"] == "local" else "user", speaker_id))
    if vp is not None:
        _add_sample(store, target.id, vp, "meeting", row["meeting_id"], row["label"])
    return person(store, target.id)


def enrol_recording(store: Store, name: str, wav: str | Path, embedder: Embedder, spans: Sequence[tuple[float, float]] | None = None) -> Person:
    """Enrol a person from a short recording of them alone (a 16 kHz WAV; ``spans``: where they speak, default all)."""
    from capture.decode import read_mono

    audio = read_mono(wav)
    duration = len(audio) / 16000
    if spans is None:  # the whole recording, less its quiet 3 s windows
        spans = [(0.0, duration)]
    vp = voiceprint(embedder.model, embedder.embed_many, lambda a, b: audio[int(a * 16000):int(b * 16000)], spans, most=60)
    if vp is None:
        raise StoreError(f"{wav}: too little speech to learn a voice from (at least {1.0:g} s)")
    target = find_person(store, name) or create_person(store, name)
    _add_sample(store, target.id, vp, "recording")
    return person(store, target.id)


# -- auto-naming ----------------------------------------------------------------------------

def auto_name(store: Store, meeting_id: int, embedder: Embedder | None, rule: MatchRule = DEFAULT_RULE,
              voices: dict[int, Voiceprint | None] | None = None) -> list[Naming]:
    """Name the meeting's speakers from the voice profiles (only where unambiguous), or suggest.

    The mic channel's speaker of a live recording is the local user (learned into their profile);
    speakers the user named are left as they are. With no profile of the embedder's model nothing is
    embedded at all. ``voices`` (speaker id → voiceprint) skips embedding, for tests and benchmarks.
    """
    speakers = _q(store, "SELECT * FROM speakers WHERE meeting_id=? ORDER BY id", (meeting_id,))
    turns = store.turns(meeting_id)
    talk = {s["id"]: 0.0 for s in speakers}
    for t in turns:
        talk[t.speaker_id] = talk.get(t.speaker_id, 0.0) + (t.end - t.start)
    taken: set[int] = {s["person_id"] for s in speakers if s["person_id"] is not None and s["naming"] in ("user", "local")}
    live = store.source_kind(meeting_id) == "live"
    for s in speakers:
        if live and s["label"] == LOCAL_LABEL and s["naming"] != "user":
            me = _self_person(store)
            with store.transaction():
                store.conn.execute("UPDATE speakers SET person_id=?, naming='local' WHERE id=?", (me.id, s["id"]))
            s["person_id"], s["naming"] = me.id, "local"
            taken.add(me.id)
            vp = voices.get(s["id"]) if voices is not None else (
                speaker_voice(store, s["id"], embedder, turns) if embedder is not None else None)
            if vp is not None:
                _add_sample(store, me.id, vp, "meeting", meeting_id, s["label"])
    model = embedder.model if embedder is not None else (next((v.model for v in (voices or {}).values() if v), None))
    # a speaker with a name of its own (given during a live meeting, or by hand) keeps it
    candidates = [s for s in speakers if s["naming"] not in ("user", "local") and talk.get(s["id"], 0.0) > 0
                  and (s["naming"] == "auto" or _DEFAULT_NAME.fullmatch(s["name"]))]
    known = profiles(store, model) if model else {}
    known = {p: c for p, c in known.items() if p not in taken}
    if candidates and known:
        prints: dict[int, Voiceprint] = {}
        for s in candidates:
            vp = voices.get(s["id"]) if voices is not None else speaker_voice(store, s["id"], embedder, turns)
            if vp is not None and vp.model == model:
                prints[s["id"]] = vp
        decisions = match({k: v.centroid for k, v in prints.items()}, known, rule,
                          seconds={k: v.seconds for k, v in prints.items()})
        names = {r["id"]: r["name"] for r in _q(store, "SELECT id, name FROM people")}
        with store.transaction():
            for s in candidates:  # a new decision replaces an earlier suggestion
                store.conn.execute("UPDATE speakers SET suggested_id=NULL, match_score=NULL WHERE id=?", (s["id"],))
            for sid, d in decisions.items():
                if d.named is not None:
                    store.conn.execute("UPDATE speakers SET name=?, person_id=?, naming='auto', suggested_id=NULL, match_score=?"
                                       " WHERE id=?", (names[d.named], d.named, d.score, sid))
                elif d.suggested is not None:
                    store.conn.execute("UPDATE speakers SET suggested_id=?, match_score=? WHERE id=? AND naming != 'user'",
                                       (d.suggested, d.score, sid))
    return namings(store, meeting_id)


def name_after_import(store: Store, meeting_id: int, diarizer: Callable[[], Any]) -> list[Naming]:
    """:func:`auto_name` at the end of an import or a live meeting (``diarizer``: returns the loaded
    diarizer, whose embedding model makes the voiceprints). Never fails the import: a problem is logged."""
    try:
        live = store.source_kind(meeting_id) == "live"
        if not live and not _q(store, "SELECT 1 FROM voice_samples LIMIT 1"):
            return namings(store, meeting_id)  # nobody to recognise: nothing is embedded
        return auto_name(store, meeting_id, embedder_for(diarizer()))
    except Exception as exc:  # naming is a convenience; the meeting is saved already
        log.warning("naming speakers from voice profiles failed: %s", exc)
        return []


def namings(store: Store, meeting_id: int) -> list[Naming]:
    """Each speaker of the meeting: named from a profile, suggested, the local user, or unnamed."""
    out = []
    for r in _q(store, "SELECT s.*, p.name AS pname, q.name AS qname FROM speakers s LEFT JOIN people p ON p.id = s.person_id"
                       " LEFT JOIN people q ON q.id = s.suggested_id WHERE s.meeting_id=? ORDER BY s.id", (meeting_id,)):
        if r["pname"] is not None and r["naming"] == "local":
            out.append(Naming(r["id"], r["label"], r["name"], "local", r["person_id"], r["pname"], None))
        elif r["pname"] is not None and r["naming"] in ("auto", "user"):
            out.append(Naming(r["id"], r["label"], r["name"], "named" if r["naming"] == "auto" else "user", r["person_id"],
                              r["pname"], r["match_score"]))
        elif r["qname"] is not None:
            out.append(Naming(r["id"], r["label"], r["name"], "suggested", r["suggested_id"], r["qname"], r["match_score"]))
        else:
            out.append(Naming(r["id"], r["label"], r["name"], "unnamed", None, None, None))
    return out


def confirm_suggestion(store: Store, speaker_id: int, embedder: Embedder | None = None, *, learn: bool = False) -> Person:
    """Accept the name suggested for a speaker (one key in the app); ``learn`` adds this voice to the profile."""
    row = _speaker_row(store, speaker_id)
    if row["suggested_id"] is None:
        raise StoreError(f"{row['name']} has no suggested name")
    p = person(store, row["suggested_id"])
    return remember(store, speaker_id, p.name, embedder, learn=learn)


def reconcile(store: Store, meeting_id: int) -> list[str]:
    """After a user correction (rename, merge, undo …): links that the speakers' names now contradict are
    fixed, and what that taught is returned as sentences.

    * A speaker named from a profile and renamed by the user to someone else: the automatic name was
      wrong; the speaker is linked to the person of the new name, if there is one.
    * A speaker the user had named (and whose voice was learned) renamed to someone else: the voice moves
      to the new person's profile (created if new).
    * A speaker renamed to an existing person's name: linked to them (nothing learned without "remember").
    """
    notes = []
    rows = _q(store, "SELECT s.*, p.name AS pname FROM speakers s LEFT JOIN people p ON p.id = s.person_id WHERE s.meeting_id=?",
              (meeting_id,))
    for r in rows:
        if r["naming"] == "local":
            continue
        if r["pname"] is not None and r["name"].strip().lower() == r["pname"].lower():
            continue
        new = find_person(store, r["name"]) if not r["name"].startswith("Speaker ") else None
        twin = new is not None and any(o["person_id"] == new.id and o["id"] != r["id"] for o in rows)
        with store.transaction():
            if r["pname"] is not None and r["naming"] == "user":
                moved = store.conn.execute(
                    "SELECT COUNT(*) FROM voice_samples WHERE person_id=? AND meeting_id=? AND speaker_label=?",
                    (r["person_id"], meeting_id, r["label"])).fetchone()[0]
                if moved and not twin:
                    if new is None:
                        new_id = store.conn.execute("INSERT INTO people (name, created_at) VALUES (?,?)", (r["name"], _now())).lastrowid
                        new = Person(int(new_id), r["name"], False, 0, 0.0, 0, 0, 0.0, ())
                    store.conn.execute("UPDATE voice_samples SET person_id=? WHERE person_id=? AND meeting_id=? AND speaker_label=?",
                                       (new.id, r["person_id"], meeting_id, r["label"]))
                    notes.append(f"{r['name']}: this voice moved from {r['pname']}'s profile to {r['name']}'s")
                elif moved:
                    store.conn.execute("DELETE FROM voice_samples WHERE person_id=? AND meeting_id=? AND speaker_label=?",
                                       (r["person_id"], meeting_id, r["label"]))
                    notes.append(f"{r['name']}: this voice left {r['pname']}'s profile")
            elif r["pname"] is not None:
                notes.append(f"{r['name']} was named {r['pname']} from the voice profiles; no longer linked to {r['pname']}")
            if new is not None and not twin:
                store.conn.execute("UPDATE speakers SET person_id=?, naming='user', suggested_id=NULL WHERE id=?", (new.id, r["id"]))
                if r["pname"] is None:
                    notes.append(f"{r['name']}: linked to the person {new.name}")
            elif r["person_id"] is not None or r["naming"]:
                store.conn.execute("UPDATE speakers SET person_id=NULL, naming='' WHERE id=?", (r["id"],))
    # a voice learned from a speaker who is no longer that person (an undone "remember", say) is unlearned
    stale = _q(store, "SELECT v.id, p.name FROM voice_samples v JOIN speakers s ON s.meeting_id = v.meeting_id AND"
                      " s.label = v.speaker_label JOIN people p ON p.id = v.person_id WHERE v.meeting_id=?"
                      " AND (s.person_id IS NULL OR s.person_id != v.person_id)", (meeting_id,))
    if stale:
        with store.transaction():
            store.conn.execute("DELETE FROM voice_samples WHERE id IN (SELECT value FROM json_each(?))",
                               (json.dumps([r["id"] for r in stale]),))
        notes += [f"the voice learned from this meeting left {r['name']}'s profile" for r in stale]
    return notes


@dataclass(frozen=True, slots=True)
class TurnCheck:
    """A turn that sounds more like another speaker's person than its own speaker's."""

    turn_id: int
    speaker_id: int
    own: float  # its voice against its own speaker's person's profile
    other_speaker_id: int
    other: float  # … against the closest other speaker's person


def rescore_turns(store: Store, meeting_id: int, embedder: Embedder, rule: MatchRule = DEFAULT_RULE, *,
                  flag: bool = True) -> list[TurnCheck]:
    """Re-score the meeting's turns against the profiles of the people in it (after a naming or a correction).

    Each unreviewed turn with at least 1 s of clean speech, of a speaker who is a person with a profile, is
    compared with the profiles of the people the meeting's speakers are; a turn whose voice is clearly closer
    (by the rule's margin, above its threshold) to another speaker's person than to its own is returned and,
    with ``flag``, flagged ``ambiguous_voice`` so that review visits it. Reviewed turns are the user's word.
    (:func:`turns_to_rescore` + :func:`turn_voices` + :func:`apply_rescore`, for callers that embed elsewhere.)
    """
    wav, todo = turns_to_rescore(store, meeting_id, embedder.model)
    if not todo:
        return []
    return apply_rescore(store, meeting_id, turn_voices(embedder, wav, todo), rule, flag=flag)


def turns_to_rescore(store: Store, meeting_id: int, model: str) -> tuple[str, list[tuple[int, list[tuple[float, float]]]]]:
    """The meeting's audio and, per turn worth re-scoring, its clean speech spans (nothing when fewer than
    two of its speakers are people with a profile of ``model``)."""
    rows = _q(store, "SELECT id, person_id FROM speakers WHERE meeting_id=? AND person_id IS NOT NULL", (meeting_id,))
    known = profiles(store, model)
    person_of = {r["id"]: r["person_id"] for r in rows if r["person_id"] in known}
    wav = store.get_meeting(meeting_id).audio_path
    if len(set(person_of.values())) < 2:
        return wav, []
    todo = []
    for t in store.turns(meeting_id):
        if not t.reviewed and t.speaker_id in person_of:
            spans = speaker_spans([t], t.speaker_id, enough=0.0)
            if sum(b - a for a, b in spans) >= 1.0:
                todo.append((t.id, spans))
    return wav, todo


def turn_voices(embedder: Embedder, wav: str, todo: Sequence[tuple[int, list[tuple[float, float]]]]) -> dict[int, Voiceprint]:
    """Turn id → voiceprint of its spans (no store access: safe on a worker thread)."""
    from capture.decode import read_mono

    out = {}
    for turn_id, spans in todo:
        vp = voiceprint(embedder.model, embedder.embed_many, lambda a, b: read_mono(wav, a, b), spans, most=6)
        if vp is not None and vp.seconds >= 1.0:
            out[turn_id] = vp
    return out


def apply_rescore(store: Store, meeting_id: int, voices: dict[int, Voiceprint], rule: MatchRule = DEFAULT_RULE, *,
                  flag: bool = True) -> list[TurnCheck]:
    if not voices:
        return []
    model = next(iter(voices.values())).model
    known = profiles(store, model)
    rows = _q(store, "SELECT id, person_id FROM speakers WHERE meeting_id=? AND person_id IS NOT NULL", (meeting_id,))
    person_of = {r["id"]: r["person_id"] for r in rows if r["person_id"] in known}
    checks = []
    for t in store.turns_by_ids(voices):
        if t.reviewed or t.speaker_id not in person_of:
            continue
        c = voices[t.id].centroid
        own = float(c @ known[person_of[t.speaker_id]])
        others = [(float(c @ known[p]), sid) for sid, p in person_of.items() if sid != t.speaker_id and p != person_of[t.speaker_id]]
        if not others:
            continue
        best, sid = max(others)
        if best >= rule.threshold and best - own >= rule.margin_second:
            checks.append(TurnCheck(t.id, t.speaker_id, own, sid, best))
    if flag and checks:
        with store.transaction():
            for ch in checks:
                old = json.loads(store.conn.execute("SELECT flags FROM turns WHERE id=?", (ch.turn_id,)).fetchone()[0])
                if FlagReason.AMBIGUOUS_VOICE.value not in old:
                    store.conn.execute("UPDATE turns SET flags=? WHERE id=?",
                                       (json.dumps([*old, FlagReason.AMBIGUOUS_VOICE.value]), ch.turn_id))
    return checks


# -- export / import of one profile ---------------------------------------------------------

def export_profile(store: Store, ref: str | int, path: str | Path) -> Path:
    """Write one person's voice profile to a file (user-only): name and voiceprints, no meetings."""
    from meetings.files import write_private

    p = _resolve(store, ref)
    rows = _q(store, "SELECT model, vec_sum, n, seconds FROM voice_samples WHERE person_id=? ORDER BY id", (p.id,))
    if not rows:
        raise StoreError(f"{p.name} has no voice profile to export")
    doc = {"format": PROFILE_FORMAT, "version": 1, "name": p.name,
           "samples": [{"model": r["model"], "vec_sum": base64.b64encode(r["vec_sum"]).decode(), "n": r["n"], "seconds": r["seconds"]}
                       for r in rows]}
    path = Path(path)
    write_private(path, json.dumps(doc, indent=1) + "\n")
    return path


def import_profile(store: Store, path: str | Path, name: str | None = None) -> Person:
    """Add a profile file's voiceprints to the person of its name (or ``name``), created if new."""
    try:
        doc = json.loads(Path(path).read_text())
        if doc.get("format") != PROFILE_FORMAT:
            raise ValueError("not a Parley voice profile")
        samples = [Voiceprint(s["model"], np.frombuffer(base64.b64decode(s["vec_sum"]), dtype=np.float32).copy(), int(s["n"]),
                              float(s["seconds"])) for s in doc["samples"]]
        name = name or doc["name"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{path}: cannot read the voice profile ({exc})") from None
    target = find_person(store, name) or create_person(store, name)
    for vp in samples:
        _add_sample(store, target.id, vp, "file")
    return person(store, target.id)


# -- a person's page ------------------------------------------------------------------------

def person_page(store: Store, ref: str | int) -> PersonPage:
    """Their meetings (newest first) with talk time, and the action items they own in those meetings' summaries."""
    from summaries.types import MeetingSummary

    p = _resolve(store, ref)
    rows = _q(store, 'SELECT m.id, m.title, m.created_at, s.id AS sid, COALESCE(SUM(t."end" - t.start), 0) AS talk, COUNT(t.id) AS n'
                     " FROM speakers s JOIN meetings m ON m.id = s.meeting_id LEFT JOIN turns t ON t.speaker_id = s.id"
                     " WHERE s.person_id=? GROUP BY s.id ORDER BY m.created_at DESC, m.id DESC", (p.id,))
    meetings = tuple(PersonMeeting(r["id"], r["title"], r["created_at"], r["sid"], float(r["talk"]), r["n"]) for r in rows)
    items = []
    for pm in meetings:
        for s in store.summaries(pm.meeting_id):
            if s.kind != "meeting":
                continue
            try:
                summary = MeetingSummary.from_json(s.content_json)
            except Exception:  # an unreadable old summary: no items from it
                continue
            items += [ActionItem(pm.meeting_id, pm.title, i.text, i.due, tuple(i.turn_ids))
                      for i in summary.action_items if i.owner_id == pm.speaker_id]
    return PersonPage(p, meetings, tuple(items))


def said(store: Store, ref: str | int, query: str = "", limit: int = 200) -> list[SearchHit]:
    """Everything the person said (newest meeting first), or only turns matching ``query`` (FTS5, best first)."""
    p = _resolve(store, ref)
    phrases = [" ".join(tokens) for chunk in query.split() if (tokens := _TOKEN.findall(chunk))]
    base = ("SELECT t.id, t.meeting_id, t.start, t.text, m.title, s.name{snip} FROM {src} JOIN speakers s ON s.id = t.speaker_id"
            " JOIN meetings m ON m.id = t.meeting_id WHERE s.person_id = ? {where} ORDER BY {order} LIMIT ?")
    if phrases:
        match_ = " ".join(f'"{x}"' for x in phrases) + "*"
        rows = _q(store, base.format(snip=", snippet(turns_fts, 0, '[', ']', '…', 12) AS snip",
                                     src="turns_fts JOIN turns t ON t.id = turns_fts.rowid", where="AND turns_fts MATCH ?",
                                     order="rank, m.created_at DESC, t.seq"), (p.id, match_, limit))
    else:
        rows = _q(store, base.format(snip="", src="turns t", where="", order="m.created_at DESC, m.id DESC, t.seq"), (p.id, limit))
    return [SearchHit(r["meeting_id"], r["title"], r["id"], r["start"], r["name"], r.get("snip") or r["text"]) for r in rows]


def meetings_with(store: Store, ref: str | int) -> set[int]:
    """Ids of the meetings a person speaks in (for the library's person filter)."""
    p = _resolve(store, ref)
    return {r["meeting_id"] for r in _q(store, "SELECT DISTINCT meeting_id FROM speakers WHERE person_id=?", (p.id,))}

