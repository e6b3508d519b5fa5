"""The whole-meeting "one speaker, more voices" test (pure: embeddings built by hand)."""

from __future__ import annotations

import numpy as np

from diarization.checks import CHANNEL_TEST, several_voices


def _voices(second: set[int], seed: int = 0):
    """An embedder for 1-s pieces: piece k (its start second) sounds like voice B when k is in
    ``second``, else voice A (noisy copies of two random directions)."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(192), rng.standard_normal(192)

    def embed_many(pieces):
        out = []
        for start, _ in pieces:
            v = b if int(start) in second else a
            out.append(v + 0.7 * rng.standard_normal(192))
        return np.stack(out)

    return embed_many


def test_a_party_who_says_little_is_still_heard_as_a_second_voice():
    spans = [(0.0, 60.0)]
    assert several_voices(_voices({10, 11, 30, 31, 50}), spans)  # 5 s of 60: a short party
    assert not several_voices(_voices(set()), spans)  # one voice throughout
    assert not several_voices(_voices({42}), spans)  # one odd second (a cough, a laugh) is no one


def test_a_second_voice_must_hold_a_share_of_long_speech():
    spans = [(0.0, 120.0)]
    assert not several_voices(_voices({7, 8, 9}), spans)  # 3 s of 120 s: under 5 %
    assert several_voices(_voices(set(range(20, 30))), spans)


def test_the_channel_routing_test_is_stricter():
    spans = [(0.0, 60.0)]
    short_party = _voices({10, 11, 30, 31})  # 4 s of 60
    assert several_voices(short_party, spans) and not several_voices(short_party, spans, **CHANNEL_TEST)


def test_the_second_voice_is_placed_and_its_turns_are_flagged():
    from diarization.checks import flag_second_voice, second_voice
    from meetings.types import AttributedWord, FlagReason, Turn, Word

    heard = second_voice(_voices({10, 11, 30, 31, 50}), [(0.0, 60.0)])
    assert sorted(int(a) for a, _ in heard) == [10, 11, 30, 31, 50]
    assert second_voice(_voices(set()), [(0.0, 60.0)]) == ()

    def turn(a, b, flags=()):
        return Turn("S1", a, b, (AttributedWord(Word(a, b, " so", 0.9), "S1"),), flags=flags)

    turns = [turn(0.0, 9.8), turn(9.9, 12.5), turn(12.5, 29.8, (FlagReason.SHORT_TURN,)), turn(29.9, 30.2), turn(49.0, 52.0)]
    flagged = flag_second_voice(turns, heard)
    assert [FlagReason.SECOND_VOICE in t.flags for t in flagged] == [False, True, False, False, True]
    assert flagged[2].flags == (FlagReason.SHORT_TURN,)  # less than half a second of the other voice: left alone


def test_the_checked_speech_stays_inside_the_audio():
    from diarization.checks import within

    assert within([(0.0, 1.0), (2.0, 5.0), (6.0, 7.0)], 4.0) == [(0.0, 1.0), (2.0, 4.0)]
