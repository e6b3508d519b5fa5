"""The review session behind the transcript view, Qt-free: which meeting, which turn and word
are current, and every correction as one store call followed by a reload from the store.
Methods return a one-line message for the status bar; a :class:`ParleyError` means "say this
to the user, nothing changed"."""

from __future__ import annotations

from collections.abc import Iterable

from desktop.logic import flag_text, fmt_clock, next_flagged
from meetings.errors import ParleyError

__all__ = ["ReviewSession"]


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
        self.reload()

    # ------------------------------------------------------------------ state
    def reload(self, focus_turn_id: int | None = None) -> None:
        """Re-read the meeting from the store; keep (or move to) the focused turn."""
        keep = focus_turn_id if focus_turn_id is not None else (self.turn.id if self.turns else None)
        old_index = self.current
        self.meeting = self.store.get_meeting(self.meeting_id)
        self.speakers = list(self.store.speakers(self.meeting_id))
        self.turns = list(self.store.turns(self.meeting_id))
        index = self.index_of(keep) if keep is not None else None
        self.current = index if index is not None else min(old_index, max(len(self.turns) - 1, 0))
        if focus_turn_id is not None or index is None:
            self.selected_word = None
        if self.selected_word is not None and (not self.turns or self.selected_word >= len(self.turn.words)):
            self.selected_word = None

    @property
    def turn(self):
        return self.turns[self.current] if self.turns else None

    @property
    def speaker_ids(self) -> list[int]:
        return [s.id for s in self.speakers]

    def speaker(self, speaker_id: int):
        return next((s for s in self.speakers if s.id == speaker_id), None)

    def index_of(self, turn_id: int) -> int | None:
        return next((i for i, t in enumerate(self.turns) if t.id == turn_id), None)

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

    @property
    def stats(self) -> str:
        flagged = sum(1 for t in self.turns if t.flags and not t.reviewed)
        reviewed = sum(1 for t in self.turns if t.reviewed)
        return (f"{len(self.speakers)} speakers · {len(self.turns)} turns · "
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
        self.reload(turn.id)
        return f"Turn at {_t(turn.start)} → {spk.name}"

    def accept(self) -> str:
        turn = self._need_turn()
        self.store.mark_reviewed(turn.id)
        self.reload(turn.id)
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
        self.reload(new_id)
        return f"Split the turn at “{turn.words[w].text.strip()}”."

    def merge_previous(self) -> str:
        turn = self._need_turn()
        if self.current == 0:
            raise ParleyError("The first turn has no previous turn to merge with.")
        kept = self.store.merge_turn_with_previous(turn.id)  # the previous turn's id
        self.reload(kept if kept is not None else self.turns[self.current - 1].id)
        return f"Merged the turn at {_t(turn.start)} into the one before."

    def rename(self, speaker_id: int, name: str) -> str:
        name = name.strip()
        if not name:
            raise ParleyError("A speaker needs a name.")
        old = self.speaker(speaker_id)
        self.store.rename_speaker(speaker_id, name)
        self.reload()
        return f"Renamed {old.name if old else 'speaker'} to {name} throughout the meeting."

    def reassign_all(self, from_id: int, to_id: int) -> str:
        if from_id == to_id:
            raise ParleyError("Pick a different speaker.")
        a, b = self.speaker(from_id), self.speaker(to_id)
        n = sum(1 for t in self.turns if t.speaker_id == from_id)
        self.store.reassign_speaker_turns(from_id, to_id)
        self.reload()
        return f"Gave all {n} turns of {a.name} to {b.name}."

    def merge_speakers(self, keep_id: int, drop_id: int) -> str:
        if keep_id == drop_id:
            raise ParleyError("Pick two different speakers to merge.")
        keep, drop = self.speaker(keep_id), self.speaker(drop_id)
        self.store.merge_speakers(keep_id, drop_id)
        self.reload()
        return f"Merged {drop.name} into {keep.name}."

    def apply_fixes(self, fixes: Iterable) -> str:
        """Reassign each suggested turn (one undoable step per turn)."""
        n = 0
        for s in fixes:
            self.store.reassign_turn(s.turn_id, s.to_speaker)
            self.assigned[s.turn_id] = s.to_speaker
            n += 1
        self.reload()
        return f"Fixed {n} similar turn{'s' if n != 1 else ''}."

    def undo(self) -> str:
        done = self.store.undo(self.meeting_id)
        self.reload()
        return "Undone." if done else "Nothing to undo."

    def redo(self) -> str:
        done = self.store.redo(self.meeting_id)
        self.reload()
        return "Redone." if done else "Nothing to redo."


def _t(seconds: float) -> str:
    return fmt_clock(seconds)


def _reasons(turn) -> str:
    return flag_text(turn.flags) or "no reason recorded"
