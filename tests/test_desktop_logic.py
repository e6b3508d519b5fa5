"""The desktop app's Qt-free parts: navigation, formatting, throttling, import progress,
"fix similar turns" suggestions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from desktop.logic import (
    ImportProgressState, Throttle, WordClock, flag_text, fmt_clock, next_flagged, speaker_colour, step_speed,
)
from desktop.suggest import suggest_fixes
from meetings.types import FlagReason


@dataclass
class T:
    id: int
    speaker_id: int
    confidence: float = 0.9
    flags: tuple = ()
    reviewed: bool = False
    words: tuple = ()


@dataclass
class W:
    start: float
    end: float


def test_next_flagged_wraps_skips_reviewed_and_goes_back():
    f = (FlagReason.OVERLAP,)
    turns = [T(0, 1), T(1, 1, flags=f), T(2, 1), T(3, 1, flags=f, reviewed=True), T(4, 1, flags=f)]
    assert next_flagged(turns, 0) == 1
    assert next_flagged(turns, 1) == 4  # 3 is reviewed
    assert next_flagged(turns, 4) == 1  # wraps
    assert next_flagged(turns, 1, backwards=True) == 4
    assert next_flagged(turns, -1) == 1
    assert next_flagged([T(0, 1, flags=f, reviewed=True)], 0) == 0  # all reviewed: still reachable
    assert next_flagged([T(0, 1)], 0) is None
    assert next_flagged([], 0) is None


def test_formatting_and_colours():
    assert fmt_clock(73.4) == "01:13"
    assert fmt_clock(3723) == "1:02:03"
    assert flag_text((FlagReason.SHORT_TURN, FlagReason.OVERLAP)) == "very short turn, overlapping speech"
    ids = [30, 10, 20]
    colours = {speaker_colour(ids, i) for i in ids}
    assert len(colours) == 3
    assert speaker_colour(ids, 10) == speaker_colour([10, 20], 10)  # by order, stable


def test_speed_ladder_clamps():
    assert step_speed(1.0, 1) == 1.25
    assert step_speed(2.0, 1) == 2.0
    assert step_speed(0.75, -1) == 0.75
    assert step_speed(1.5, -1) == 1.25


def test_word_clock_handles_overlapping_turns():
    turns = [T(0, 1, words=(W(0.0, 1.0), W(1.0, 2.0), W(2.0, 3.0))), T(1, 2, words=(W(1.5, 2.5),))]
    clock = WordClock(turns)
    assert clock.at(-1) is None
    assert clock.at(0.5) == (0, 0)
    assert clock.at(1.7) == (1, 0)  # latest started word being spoken
    assert clock.at(1.7, prefer_turn=0) == (0, 1)  # unless the current turn speaks too
    assert clock.at(9.0) == (0, 2)  # after the end: the last word


def test_throttle_lets_through_at_most_every_interval():
    now = [0.0]
    th = Throttle(0.1, clock=lambda: now[0])
    assert th.ready("a")
    now[0] = 0.05
    assert not th.ready("a")
    assert th.ready("b")  # per key
    assert th.ready("a", force=True)
    now[0] = 0.2
    assert th.ready("a")


def test_import_progress_state_walks_the_stages():
    s = ImportProgressState("call.m4a")
    assert "loading models" in s.headline
    s.progress("decode", 5, 10)
    assert s.stage_state("decode") == "active" and s.overall == pytest.approx(0.1)
    s.stage_done("decode", 1.5)
    assert s.stage_state("decode") == "done" and s.current == "diarize"
    s.progress("diarize", 0, None, "segmentation")
    assert s.fraction == -1 and "segmentation" in s.headline and "(2/5)" in s.headline
    for stage in ("diarize", "transcribe", "align", "save"):
        s.stage_done(stage, 1.0)
    assert s.overall == 1.0


# ---------------------------------------------------------------------- suggestions
def _voice(rng, centre, noise=0.3):
    return centre + noise * rng.standard_normal(centre.shape)


def test_suggestions_follow_the_corrected_voice():
    rng = np.random.default_rng(0)
    alice, bob = rng.standard_normal(192), rng.standard_normal(192)
    f = (FlagReason.AMBIGUOUS_VOICE,)
    turns = [
        T(1, 1), T(2, 1), T(3, 2), T(4, 2),  # confident, right
        T(5, 1, confidence=0.4, flags=f),  # Bob's voice, labelled Alice: the user fixes this one
        T(6, 1, confidence=0.4, flags=f),  # Bob's voice, labelled Alice: should be suggested
        T(7, 1, confidence=0.5, flags=f),  # Alice's voice, doubtful but right: must not be suggested
        T(8, 1, confidence=0.95),  # Bob's voice but confident: not re-scored
    ]
    emb = {1: _voice(rng, alice), 2: _voice(rng, alice), 3: _voice(rng, bob), 4: _voice(rng, bob),
           5: _voice(rng, bob), 6: _voice(rng, bob), 7: _voice(rng, alice), 8: _voice(rng, bob)}
    assert suggest_fixes(turns, emb, trusted=set()) == []
    turns[4] = T(5, 2, confidence=0.4, flags=f)  # the user gave turn 5 to Bob
    out = suggest_fixes(turns, emb, trusted={5})
    assert [(s.turn_id, s.from_speaker, s.to_speaker) for s in out] == [(6, 1, 2)]
    assert out[0].similarity > 0.5 and out[0].margin > 0.3


def test_reviewed_turns_are_never_suggested():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    turns = [
        T(1, 2, reviewed=True), T(2, 1, reviewed=True),
        T(3, 1, confidence=0.3),  # sounds like speaker 2: suggested
        T(4, 1, confidence=0.3, reviewed=True),  # sounds like speaker 2 too, but the user confirmed it
    ]
    emb = {1: b, 2: a, 3: b + 0.02, 4: b - 0.02}
    out = suggest_fixes(turns, emb, trusted={1, 2, 4})
    assert [(s.turn_id, s.to_speaker) for s in out] == [(3, 2)]


def test_dates_show_in_local_time():
    from datetime import datetime, timezone

    from desktop.logic import fmt_date

    utc = datetime(2026, 11, 24, 14, 5, tzinfo=timezone.utc)
    assert fmt_date(utc.isoformat()) == utc.astimezone().strftime("%Y-%m-%d %H:%M")
    assert fmt_date("garbage") == "garbage"
