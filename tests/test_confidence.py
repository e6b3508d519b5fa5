"""Turn confidence and flag reasons (no models)."""

from __future__ import annotations

from diarization.confidence import ConfidenceModel, score_turns, turn_features, voice_margin
from meetings.types import AttributedWord, FlagReason, Turn, Word

import numpy as np


def turn(n_words=8, dur=4.0, share=1.0, overlap=False, prob=0.9, speaker="A"):
    step = dur / n_words
    ws = tuple(
        AttributedWord(Word(i * step, (i + 1) * step, f" w{i}", prob), speaker, ("B",) if overlap else (), share)
        for i in range(n_words)
    )
    return Turn(speaker=speaker, start=0.0, end=dur, words=ws)


def test_clean_long_turn_is_confident_and_unflagged():
    [t] = score_turns([turn()])
    assert t.confidence > 0.8 and not t.flags


def test_each_weakness_lowers_confidence():
    base = ConfidenceModel().confidence(turn_features(turn()))
    for weak in (turn(share=0.5), turn(overlap=True), turn(n_words=1, dur=0.3), turn(prob=0.2)):
        assert ConfidenceModel().confidence(turn_features(weak)) < base


def test_flag_reasons_name_the_cause():
    [t] = score_turns([turn(n_words=3, dur=0.6, share=0.5, overlap=True, prob=0.3)])
    assert t.flagged
    assert {FlagReason.OVERLAP, FlagReason.SHORT_TURN, FlagReason.AMBIGUOUS_VOICE, FlagReason.LOW_ASR_CONFIDENCE} <= set(t.flags)


def test_voice_margin():
    c = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert voice_margin(np.array([0.9, 0.1]), c, 0) > 0.5
    assert voice_margin(np.array([0.9, 0.1]), c, 1) < -0.5
    assert voice_margin(np.array([1.0, 0.0]), c[:1], 0) == 1.0
