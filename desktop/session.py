"""The review session behind the transcript view, Qt-free: which meeting, which turn and word
are current, and every correction as one store call followed by a patch of just the rows the
store says it touched (:attr:`Store.last_change`), so a correction costs the same on a 3-hour
meeting as on a 3-minute one. Methods return a one-line message for the status bar; a
:class:`ParleyError` means "say this to the user, nothing changed". After each correction
:attr:`ReviewSession.last_patch` says what moved, for the view to redraw only that."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from desktop.logic import flag_text, fmt_clock, next_flagged
from meetings.errors import ParleyError

__all__ = ["ReviewSession", "SessionPatch", "NeedsConfirmation", "plural"]


class NeedsConfirmation(ParleyError):
    """The correction would do something the user may not expect: ask (the message is the
    question), then call again with ``confirmed=True``."""


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class SessionPatch:
    """What one correction changed in the session: the turn order before it, and the turns
    (by id) that are new, gone or different. ``full``: everything may have changed."""

    full: bool
    old_ids: tuple[int, ...] = ()
    dirty: frozenset[int] = frozenset()
    speakers_changed: bool = False


def _turn_key(t) -> tuple[float, float, int]:
    return (t.start, t.end, t.id)


class ReviewSession:
    def __init__(self, store, meeting_id: int):
        self.store = store
        self.meeting_id = meeting_id
        self.meeting = None
        self.speakers: list = []
        self.turns: list = []
        self.current = 0
        self.selected_word: int | None = None
        #: turn id → speaker id the user gave it in this session (trusted while it still holds)
        self.assigned: dict[int, int] = {}
        self._index: dict[int, int] = {}  # turn id → position in self.turns
        self._word_turn: dict[int, int] = {}  # word id → turn id
        self.last_patch = SessionPatch(True)
        self.reload()

    # ------------------------------------------------------------------ state
    def reload(self, focus_turn_id: int | None = None) -> None:
        """Re-read the meeting from the store; keep (or move to) the focused turn."""
        keep = focus_turn_id if focus_turn_id is not None else (self.turn.id if self.turns else None)
        old_index = self.current
        self.meeting = self.store.get_meeting(self.meeting_id)
        self.speakers = list(self.store.speakers(self.meeting_id))
        self.turns = list(self.store.turns(self.meeting_id))
        self._word_turn = {w.id: t.id for t in self.turns for w in t.words}
        self._reindex()
        self.last_patch = SessionPatch(True)
        self._refocus(keep, old_index, focus_turn_id is not None)

    def _reindex(self) -> None:
        self._index = {t.id: i for i, t in enumerate(self.turns)}

    def _refocus(self, keep: int | None, old_index: int, moved: bool) -> None:
        index = self.index_of(keep) if keep is not None else None
        self.current = index if index is not None else min(old_index, max(len(self.turns) - 1, 0))
        if moved or index is None:
            self.selected_word = None
        if self.selected_word is not None and (not self.turns or self.selected_word >= len(self.turn.words)):
            self.selected_word = None

    def apply(self, change, focus_turn_id: int | None = None) -> SessionPatch:
        """Bring the session up to date after a correction from ``change`` (a store
        :class:`~meetings.records.ChangeSet`, or several), re-reading only the rows it names."""
        changes = [c for c in (change if isinstance(change, (list, tuple)) else [change]) if c is not None]
        if not changes or any(c.meeting_id != self.meeting_id for c in changes):
            self.reload(focus_turn_id)
            return self.last_patch
        keep = focus_turn_id if focus_turn_id is not None else (self.turn.id if self.turns else None)
        old_index, old_ids = self.current, tuple(t.id for t in self.turns)
        touched = {i for c in changes for i in c.turns}
        touched |= {self._word_turn[w] for c in changes for w in c.words if w in self._word_turn}
        speakers_changed = any(c.speakers for c in changes)
        self.meeting = self.store.get_meeting(self.meeting_id)
        by_id = {t.id: t for t in self.turns}
        fresh = {t.id: t for t in self.store.turns_by_ids(touched)}
        for tid in touched - set(fresh):  # gone: forget it and its words
            for w in getattr(by_id.pop(tid, None), "words", ()):
                self._word_turn.pop(w.id, None)
        for tid, t in fresh.items():
            by_id[tid] = t
            self._word_turn.update((w.id, tid) for w in t.words)
        dirty = set(touched)
        if speakers_changed:
            self.speakers = list(self.store.speakers(self.meeting_id))
            names = {s.id: s.name for s in self.speakers}
            for tid, t in by_id.items():  # a rename: the new name on every turn of that speaker
                name = names.get(t.speaker_id, t.speaker_name)
                if name != t.speaker_name:
                    by_id[tid] = dataclasses.replace(t, speaker_name=name)
                    dirty.add(tid)
        self.turns = sorted(by_id.values(), key=_turn_key)
        self._reindex()
        self.last_patch = SessionPatch(False, old_ids, frozenset(dirty), speakers_changed)
        self._refocus(keep, old_index, focus_turn_id is not None)
        return self.last_patch

    def _applied(self, focus_turn_id: int | None = None) -> SessionPatch:
        """After one store correction: patch from what it touched."""
        return self.apply(getattr(self.store, "last_change", None), focus_turn_id)

    @property
    def turn(self):
        return self.turns[self.current] if self.turns else None

    @property
    def speaker_ids(self) -> list[int]:
        return [s.id for s in self.speakers]

    def speaker(self, speaker_id: int):
        return next((s for s in self.speakers if s.id == speaker_id), None)

    def index_of(self, turn_id: int) -> int | None:
        return self._index.get(turn_id)

    def select(self, index: int, word: int | None = None) -> None:
        if self.turns:
            self.current = min(max(index, 0), len(self.turns) - 1)
            self.selected_word = word

    def step(self, delta: int) -> None:
        self.select(self.current + delta)

    def next_flag(self, backwards: bool = False) -> str:
        i = next_flagged(self.turns, self.current, backwards=backwards)
        if i is None:
            return "No flagged turns in this meeting."
        self.select(i)
        left = sum(1 for t in self.turns if t.flags and not t.reviewed)
        return f"Flagged turn ({left} left to review): {_reasons(self.turn)}"

    def trusted(self) -> set[int]:
        """Turns whose speaker the user set or confirmed."""
        out = {t.id for t in self.turns if t.reviewed}
        out |= {t.id for t in self.turns if self.assigned.get(t.id) == t.speaker_id}
        return out

    def turn_counts(self) -> dict[int, int]:
        """Speaker id → number of turns (0 for a speaker with none)."""
        counts = {sid: 0 for sid in self.speaker_ids}
        for t in self.turns:
            counts[t.speaker_id] = counts.get(t.speaker_id, 0) + 1
        return counts

    @property
    def stats(self) -> str:
        """Speakers are those who speak (as the library counts them), not every name on the list."""
        flagged = sum(1 for t in self.turns if t.flags and not t.reviewed)
        reviewed = sum(1 for t in self.turns if t.reviewed)
        talking = sum(1 for n in self.turn_counts().values() if n)
        return (f"{plural(talking, 'speaker')} · {plural(len(self.turns), 'turn')} · "
                f"{flagged} flagged to review · {reviewed} reviewed")

    def _need_turn(self):
        if self.turn is None:
            raise ParleyError("This meeting has no turns.")
        return self.turn

    # ------------------------------------------------------------ corrections
    def assign(self, number: int) -> str:
        """Give the current turn to speaker ``number`` (1-based, as listed)."""
        turn = self._need_turn()
        if not 1 <= number <= len(self.speakers):
            raise ParleyError(f"There is no speaker {number} (this meeting has {len(self.speakers)}).")
        spk = self.speakers[number - 1]
        if spk.id == turn.speaker_id:
            self.assigned[turn.id] = spk.id
            return f"Turn already belongs to {spk.name}."
        self.store.reassign_turn(turn.id, spk.id)
        self.assigned[turn.id] = spk.id
        self._applied(turn.id)
        return f"Turn at {_t(turn.start)} → {spk.name}"

    def accept(self) -> str:
        turn = self._need_turn()
        self.store.mark_reviewed(turn.id)
        self._applied(turn.id)
        msg = f"Accepted turn at {_t(turn.start)} ({turn.speaker_name})."
        i = next_flagged(self.turns, self.current)
        if i is not None and self.turns[i].flags and not self.turns[i].reviewed:
            self.select(i)
        return msg

    def split(self) -> str:
        turn = self._need_turn()
        w = self.selected_word
        if w is None:
            raise ParleyError("Click the word where the new turn should start, then press S.")
        if w == 0:
            raise ParleyError("That is already the first word of the turn: pick a later word.")
        at = turn.words[w].idx
        new_id = self.store.split_turn(turn.id, at)
        self._applied(new_id)
        return f"Split the turn at “{turn.words[w].text.strip()}”."

    def merge_previous(self, confirmed: bool = False) -> str:
        """Merge the current turn into the previous one. Two speakers' turns: the words would
        all become the previous speaker's, so that is asked first (:class:`NeedsConfirmation`)."""
        turn = self._need_turn()
        if self.current == 0:
            raise ParleyError("The first turn has no previous turn to merge with.")
        prev = self.turns[self.current - 1]
        if prev.speaker_id != turn.speaker_id and not confirmed:
            raise NeedsConfirmation(
                f"The turn at {_t(turn.start)} is {turn.speaker_name}'s, the one before is {prev.speaker_name}'s. "
                f"Merging gives all {plural(len(turn.words), 'word')} of this turn to {prev.speaker_name}, "
                "ordered by time with theirs. Merge anyway?"
            )
        kept = self.store.merge_turn_with_previous(turn.id)  # the previous turn's id
        self._applied(kept if kept is not None else prev.id)
        to = f" (now {prev.speaker_name}'s)" if prev.speaker_id != turn.speaker_id else ""
        return f"Merged the turn at {_t(turn.start)} into the one before{to}."

    def rename(self, speaker_id: int, name: str) -> str:
        name = name.strip()
        if not name:
            raise ParleyError("A speaker needs a name.")
        old = self.speaker(speaker_id)
        self.store.rename_speaker(speaker_id, name)
        self._applied()
        return f"Renamed {old.name if old else 'speaker'} to {name} throughout the meeting."

    def reassign_all(self, from_id: int, to_id: int) -> str:
        if from_id == to_id:
            raise ParleyError("Pick a different speaker.")
        a, b = self.speaker(from_id), self.speaker(to_id)
        n = sum(1 for t in self.turns if t.speaker_id == from_id)
        self.store.reassign_speaker_turns(from_id, to_id)
        self._applied()
        return f"Gave all {n} turns of {a.name} to {b.name}."

    def merge_speakers(self, keep_id: int, drop_id: int) -> str:
        if keep_id == drop_id:
            raise ParleyError("Pick two different speakers to merge.")
        keep, drop = self.speaker(keep_id), self.speaker(drop_id)
        self.store.merge_speakers(keep_id, drop_id)
        self._applied()
        return f"Merged {drop.name} into {keep.name}."

    def apply_fixes(self, fixes: Iterable) -> str:
        """Reassign each suggested turn (one undoable step per turn)."""
        n, changes = 0, []
        for s in fixes:
            self.store.reassign_turn(s.turn_id, s.to_speaker)
            self.assigned[s.turn_id] = s.to_speaker
            changes.append(getattr(self.store, "last_change", None))
            n += 1
        if n:
            self.apply(changes)
        return f"Fixed {n} similar turn{'s' if n != 1 else ''}."

    def edit_word(self, word_index: int, text: str) -> str:
        """Re-spell a word of the current turn (a misheard word or name)."""
        turn = self._need_turn()
        if not 0 <= word_index < len(turn.words):
            raise ParleyError("Click the word to edit first.")
        old = turn.words[word_index].text.strip()
        text = " ".join(text.split())
        if not text:
            raise ParleyError("A word cannot be empty.")
        if text == old:
            return "Word unchanged."
        self.store.edit_word(turn.words[word_index].id, text)
        self._applied(turn.id)
        if self.turn is not None and word_index < len(self.turn.words):
            self.selected_word = word_index
        return f"“{old}” → “{text}”"

    def add_speaker(self, name: str, give_current: bool = False) -> str:
        """A new speaker (a voice the diarizer missed), given the current turn if asked (two undo steps)."""
        name = name.strip()
        if not name:
            raise ParleyError("A speaker needs a name.")
        if any(s.name == name for s in self.speakers):
            raise ParleyError(f"There is already a speaker called {name}.")
        turn = self.turn if give_current else None
        sid = self.store.add_speaker(self.meeting_id, name)
        changes = [getattr(self.store, "last_change", None)]
        if turn is not None:
            self.store.reassign_turn(turn.id, sid)
            self.assigned[turn.id] = sid
            changes.append(getattr(self.store, "last_change", None))
        self.apply(changes, turn.id if turn is not None else None)
        number = self.speaker_ids.index(sid) + 1
        given = f" The turn at {_t(turn.start)} is theirs." if turn is not None else ""
        return f"Added speaker {number}: {name}.{given}"

    def undo(self) -> str:
        done = self.store.undo(self.meeting_id)
        if done:
            self._applied()
        return "Undone." if done else "Nothing to undo."

    def redo(self) -> str:
        done = self.store.redo(self.meeting_id)
        if done:
            self._applied()
        return "Redone." if done else "Nothing to redo."


def _t(seconds: float) -> str:
    return fmt_clock(seconds)


def _reasons(turn) -> str:
    return flag_text(turn.flags) or "no reason recorded"
