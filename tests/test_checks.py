"""The whole-meeting "one speaker, more voices" test (pure: embeddings built by hand)."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_pieces_cover_short_turns_between_others():
    from diarization.checks import pieces_over

    assert pieces_over([(0.0, 3.0)], 1.0) == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]
    assert pieces_over([(5.0, 7.5)], 1.0) == [(5.0, 6.0), (5.75, 6.75), (6.5, 7.5)]  # spread to the end
    assert pieces_over([(10.0, 10.8)], 1.0) == [(9.9, 10.9)]  # shorter than a piece: one, centred
    assert pieces_over([(0.1, 0.9)], 1.0) == [(0.0, 1.0)]  # never before the start of the audio
    assert pieces_over([(20.0, 20.5)], 1.0) == []  # under 0.6 of a piece: not judged


def _timeline(second: list[tuple[float, float]], seed: int = 0):
    """An embedder: a piece sounds like voice B when its centre lies in ``second``, else voice A."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(192), rng.standard_normal(192)

    def embed_many(pieces):
        return np.stack([(b if any(s <= (p + q) / 2 < e for s, e in second) else a) + 0.7 * rng.standard_normal(192)
                         for p, q in pieces])

    return embed_many


def test_one_speakers_speech_is_cut_between_two_voices():
    from diarization.checks import split_voices

    spans = [(0.0, 9.6), (10.1, 13.8), (14.3, 40.0)]  # the second voice: 10.1-13.8, its own turn
    split = split_voices(_timeline([(10.1, 13.8)]), spans)
    assert split is not None and split.centroids.shape == (2, 192)
    second = [(a, b) for a, b, v in split.parts if v == 1]
    assert second == [(10.1, 13.8)]
    assert sum(b - a for a, b, _ in split.parts) == pytest.approx(sum(b - a for a, b in spans))  # all the speech, once
    assert split_voices(_timeline([]), spans) is None  # one voice: nothing to cut
    assert split_voices(_timeline([(20.0, 21.0)]), spans) is None  # one odd second is no one


def test_a_voice_change_inside_a_span_is_placed_to_the_nearest_piece():
    from diarization.checks import split_voices

    split = split_voices(_timeline([(30.0, 36.0)]), [(0.0, 60.0)])
    second = [(a, b) for a, b, v in split.parts if v == 1]
    assert len(second) == 1 and abs(second[0][0] - 30.0) <= 0.5 and abs(second[0][1] - 36.0) <= 0.5


def test_a_long_recording_is_labelled_in_longer_pieces():
    from diarization.checks import split_voices

    calls = []
    inner = _timeline([(600.0, 900.0)])

    def embed_many(pieces):
        calls.append(len(pieces))
        return inner(pieces)

    checks = []
    split = split_voices(embed_many, [(0.0, 3600.0)], label_most=2000, cancel=lambda: checks.append(1))
    # judged on 120 pieces, labelled on at most 2,000, embedded 256 at a time, the cancel token asked before each batch
    assert calls[0] == 120 and sum(calls[1:]) <= 2000 and max(calls[1:]) <= 256 and len(checks) == len(calls) - 1
    second = [(a, b) for a, b, v in split.parts if v == 1]
    assert len(second) == 1 and abs(second[0][0] - 600.0) <= 2.0 and abs(second[0][1] - 900.0) <= 2.0


def test_a_cancel_during_the_split_stops_it():
    from diarization.checks import split_voices
    from meetings.errors import Cancelled

    def cancel():
        raise Cancelled("import cancelled")

    with pytest.raises(Cancelled):
        split_voices(_timeline([(600.0, 900.0)]), [(0.0, 3600.0)], cancel=cancel)


def test_a_telephone_call_with_one_speaker_found_is_warned():
    from diarization.checks import meeting_warnings
    from meetings.types import AttributedWord, Turn, Word

    def turn(spk, a, b):
        return Turn(spk, a, b, (AttributedWord(Word(a, b, " so", 0.9), spk),))

    one = [turn("S1", 0.0, 5.0), turn("S1", 6.0, 12.0)]
    assert meeting_warnings(one) == ()  # a wideband talk by one person: nothing to say
    (warning,) = meeting_warnings(one, telephone=True)
    assert "telephone-band" in warning and "--min-speakers 2" in warning
    # the voices test already said it: one warning, not two
    (warning,) = meeting_warnings(one, sounds_like_more=True, telephone=True)
    assert "sounds like more than one voice" in warning
    assert meeting_warnings([turn("S1", 0.0, 5.0), turn("S2", 5.5, 9.0)], telephone=True) == ()
    assert meeting_warnings([], telephone=True) == ()


def test_on_one_end_of_a_call_a_speaker_of_a_few_seconds_joins_the_main_one():
    from diarization.checks import one_end_speakers, relabel_turns
    from meetings.types import AttributedWord, Turn, Word

    def turn(spk, a, b, over=()):
        return Turn(spk, a, b, (AttributedWord(Word(a, b, " so", 0.9), spk, overlapping=over),))

    # a quiet party's 6 s diarized as two "people" of 0.7 and 0.8 s, and a wordless third
    assert one_end_speakers([turn("S0", 5.4, 6.1), turn("S1", 11.5, 12.3)], ("S0", "S1", "S2")) == {"S0": "S1", "S2": "S1"}
    # two real talkers at one phone (speakerphone) both stay
    assert one_end_speakers([turn("S0", 0.0, 5.0), turn("S1", 6.0, 9.0)], ("S0", "S1")) == {}
    assert one_end_speakers([turn("S0", 0.0, 5.0)], ("S0",)) == {}
    out = relabel_turns([turn("S0", 0.0, 5.0, over=("S1",)), turn("S1", 5.0, 6.0, over=("S0",))], {"S1": "S0"})
    assert [t.speaker for t in out] == ["S0", "S0"]
    assert [w.overlapping for t in out for w in t.words] == [(), ()]  # nobody talks over themselves
