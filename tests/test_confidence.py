"""Turn confidence and flag reasons (no models)."""

from __future__ import annotations

from diarization.confidence import ConfidenceModel, score_turns, turn_features, voice_margin
from meetings.types import AttributedWord, FlagReason, Turn, Word

import numpy as np
from dataclasses import replace


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


def test_a_long_turn_is_not_rescued_by_its_length():
    # 30 s of words whose weakest voice window sounds as much like someone else: flag it
    [t] = score_turns([turn(n_words=70, dur=30.0)], voice_margins=[0.0])
    assert t.flagged and t.flags[0] == FlagReason.AMBIGUOUS_VOICE
    [ok] = score_turns([turn(n_words=70, dur=30.0)], voice_margins=[0.5])
    assert not ok.flagged and ok.confidence > 0.9


def test_a_turn_whose_edge_words_sound_like_someone_else_is_flagged_for_its_edges():
    [t] = score_turns([turn()], voice_margins=[0.5], edge_margins=[-0.2])
    assert t.flagged and t.flags[0] == FlagReason.EDGE_VOICE
    [ok] = score_turns([turn()], voice_margins=[0.5], edge_margins=[0.3])
    assert not ok.flagged and ok.confidence > 0.9


def test_words_moved_against_the_diarizer_are_flagged_only_with_a_second_warning():
    # the voice stage moved these words: alone that is a small risk (1 of 14 such turns were
    # wrong once their edges were clean); with a weak voice match or bad edges it is flagged
    [clean] = score_turns([turn(share=0.0)], voice_margins=[0.5], edge_margins=[0.3])
    [plain] = score_turns([turn()], voice_margins=[0.5], edge_margins=[0.3])
    assert not clean.flagged and clean.confidence < plain.confidence
    [weak] = score_turns([turn(share=0.0)], voice_margins=[0.05], edge_margins=[0.3])
    assert weak.flagged and FlagReason.AMBIGUOUS_VOICE in weak.flags
    [edge] = score_turns([turn(share=0.0)], voice_margins=[0.5], edge_margins=[-0.1])
    assert edge.flagged and set(edge.flags) >= {FlagReason.EDGE_VOICE, FlagReason.AMBIGUOUS_VOICE}


def test_a_recovered_second_voice_is_not_flagged_for_being_short():
    short = replace(turn(n_words=2, dur=0.5, share=0.5, overlap=True), overlapped=True)
    [t] = score_turns([short])
    f = turn_features(short)
    assert f.recovered and ConfidenceModel().risks(f)[FlagReason.SHORT_TURN] == 0.0
    assert not t.flagged and t.confidence < 1.0
    [weak] = score_turns([replace(short, words=tuple(replace(w, word=replace(w.word, probability=0.2)) for w in short.words))])
    assert weak.confidence < t.confidence


def test_confidence_falls_as_each_risk_grows():
    m = ConfidenceModel()
    margins = [m.confidence(turn_features(turn(), v)) for v in (0.6, 0.2, 0.1, 0.0, -0.2)]
    shares = [m.confidence(turn_features(turn(share=s), 0.5)) for s in (1.0, 0.7, 0.5, 0.2, 0.0)]
    edges = [m.confidence(turn_features(turn(), 0.5, e)) for e in (0.4, 0.0, -0.05, -0.1, -0.3)]
    assert margins == sorted(margins, reverse=True) and shares == sorted(shares, reverse=True)
    assert edges == sorted(edges, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in margins + shares + edges)
