"""Channels as evidence, model-free: which path a two-channel file takes, each channel's own
speech, the bleed reference, and bleed words dropped."""

from __future__ import annotations

import numpy as np
import pytest

from diarization.channels import bleed_reference, channel_levels, decide_route, own_speech

SR = 16_000


def _talk(spans, seconds=20.0, seed=0, f0=180.0):
    """A voice-like signal (harmonics with a syllable envelope) during ``spans``, silence around."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 8))
    x *= 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    mask = np.zeros_like(t)
    for a, b in spans:
        mask[int(a * SR): int(b * SR)] = 1.0
    return (0.1 * x * mask + 1e-4 * rng.standard_normal(len(t))).astype(np.float32)


A_SPANS = [(0.5, 3.0), (6.0, 9.0), (12.0, 14.0)]
B_SPANS = [(3.3, 5.8), (9.4, 11.5), (14.5, 18.0)]


def _call(bleed_db=-30.0):
    a, b = _talk(A_SPANS, seed=1, f0=120), _talk(B_SPANS, seed=2, f0=210)
    g = 10 ** (bleed_db / 20)
    lag = int(0.012 * SR)

    def late(y):
        return np.r_[np.zeros(lag, np.float32), y[:-lag]]

    return np.stack([a + g * late(b), b + g * late(a)])


def test_a_call_with_a_party_per_channel_takes_the_channel_path():
    route = decide_route(channel_levels(_call()))
    assert route.path == "channels" and min(route.own_seconds) > 5


def test_heavy_bleed_is_still_a_call():
    assert decide_route(channel_levels(_call(bleed_db=-10))).path == "channels"


def test_identical_and_near_identical_channels_stay_mono():
    mix = _call().sum(axis=0)
    assert decide_route(channel_levels(np.stack([mix, mix]))).path == "mono"
    lag = int(0.003 * SR)  # a stereo room microphone: the same sound, a little later and quieter
    room = np.stack([mix, 0.6 * np.r_[np.zeros(lag, np.float32), mix[:-lag]]])
    assert decide_route(channel_levels(room)).path == "mono"


def test_one_silent_channel_stays_mono():
    mix = _call().sum(axis=0)
    assert decide_route(channel_levels(np.stack([mix, np.zeros_like(mix)]))).path == "mono"
    assert decide_route(channel_levels(mix[None])).path == "mono"


def _covered(spans, ref):
    hit = sum(max(0.0, min(b, d) - max(a, c)) for a, b in spans for c, d in ref)
    return hit / sum(d - c for c, d in ref), sum(b - a for a, b in spans) - hit


def test_own_speech_finds_each_party_and_not_the_bleed():
    levels = channel_levels(_call(bleed_db=-20))
    for k, ref in ((0, A_SPANS), (1, B_SPANS)):
        found = own_speech(levels, k)
        recall, extra = _covered(found, ref)
        assert recall > 0.9 and extra < 1.0, (k, found)


def test_a_party_who_says_little_quietly_keeps_the_channel_path_and_their_own_speech():
    """One party talks nearly all the call; the other says 0.8 s, 18 dB quieter, so on their own
    channel the other's bleed (-28 dB) is most of the loud frames. Each channel's speech level is
    taken where it leads, so that bleed is still bleed (the file was mixed down before: 21 % of
    its speech counted as one-sided, the bleed as the quiet party's own speech)."""
    talker = [(0.5, 6.0), (8.0, 19.5)]
    brief = [(6.4, 7.2)]
    a, b = _talk(talker, seed=1, f0=120), 10 ** (-18 / 20) * _talk(brief, seed=2, f0=210)
    g, lag = 10 ** (-28 / 20), int(0.012 * SR)

    def late(y):
        return np.r_[np.zeros(lag, np.float32), y[:-lag]]

    levels = channel_levels(np.stack([a + g * late(b), b + g * late(a)]))
    route = decide_route(levels)
    assert route.path == "channels", route
    recall, extra = _covered(own_speech(levels, 1), brief)
    assert recall > 0.9 and extra < 0.5, own_speech(levels, 1)
    recall, extra = _covered(own_speech(levels, 0), talker)
    assert recall > 0.9 and extra < 1.0


def test_the_bleed_reference_is_the_other_party_alone():
    x = _call(bleed_db=-20)
    levels = channel_levels(x)
    ref = bleed_reference(x[1], levels, 0, 1)
    assert ref.shape == x[1].shape
    for a, b in A_SPANS:  # where channel 0's own talker speaks, nothing to learn from
        assert np.abs(ref[int((a + 0.1) * SR): int((b - 0.1) * SR)]).max() == 0.0
    kept = sum(np.sum(ref[int(a * SR): int(b * SR)] ** 2) for a, b in B_SPANS)
    assert kept > 0.8 * np.sum(x[1] ** 2)


def test_the_canceller_learns_bleed_from_the_gated_reference_and_keeps_the_own_voice():
    from diarization.echo import cancel_echo

    x = _call(bleed_db=-15)
    levels = channel_levels(x)
    cleaned, _ = cancel_echo(x[0], bleed_reference(x[1], levels, 0, 1))
    own = np.concatenate([x[0][int(a * SR): int(b * SR)] for a, b in A_SPANS])
    own_after = np.concatenate([cleaned[int(a * SR): int(b * SR)] for a, b in A_SPANS])
    bleed = np.concatenate([x[0][int(a * SR): int(b * SR)] for a, b in B_SPANS])
    bleed_after = np.concatenate([cleaned[int(a * SR): int(b * SR)] for a, b in B_SPANS])
    assert np.sum(own_after**2) > 0.8 * np.sum(own**2)  # the own voice stays
    assert np.sum(bleed_after**2) < 0.1 * np.sum(bleed**2)  # the bleed goes (> 10 dB)


def test_the_canceller_subtracts_the_bleed_also_where_both_parties_talk():
    """The bleed path is learnt where the other party talks alone and subtracted wherever they
    talk: in double-talk too, where learning it would cancel this channel's own voice."""
    from diarization.echo import cancel_echo

    a_spans, b_spans = [(0.5, 3.0), (6.0, 12.0), (14.0, 16.0)], [(3.3, 5.8), (9.0, 11.5), (16.5, 19.0)]  # both talk 9-11.5 s
    a, b = _talk(a_spans, seed=1, f0=120), _talk(b_spans, seed=2, f0=210)
    g, lag = 10 ** (-12 / 20), int(0.012 * SR)
    bleed = g * np.r_[np.zeros(lag, np.float32), b[:-lag]]
    x = np.stack([a + bleed, b])
    cleaned, _ = cancel_echo(x[0], x[1], learn=bleed_reference(x[1], channel_levels(x), 0, 1))
    both = slice(int(9.2 * SR), int(11.3 * SR))
    left = cleaned[both] - a[both]  # what is left of the bleed where both talk
    assert np.sum(left**2) < 0.1 * np.sum(bleed[both] ** 2)  # > 10 dB of it gone
    alone = slice(int(0.6 * SR), int(2.9 * SR))
    assert np.sum(cleaned[alone] ** 2) == pytest.approx(np.sum(a[alone] ** 2), rel=0.1)  # the own voice stays


def test_words_outside_the_own_speech_but_inside_the_others_are_bleed():
    from meetings.recording import _outside_own
    from meetings.types import Word

    own = [[(0.0, 2.0)], [(3.0, 5.0)]]
    words = [Word(0.5, 0.8, "mine", 0.9), Word(3.5, 3.8, "theirs", 0.9), Word(7.0, 7.2, "nobody's", 0.9)]
    kept, dropped = _outside_own(words, own, 0)
    assert [w.text for w in kept] == ["mine", "nobody's"] and dropped == 1
    # at a turn edge: the other party's last word 0.2 s after this channel's speech ends is theirs
    # (0.25 s of slack kept it: bench.bleed_pad); a word 0.05 s past its own speech stays
    edge = [Word(2.1, 2.3, "theirs", 0.9), Word(1.9, 2.1, "mine", 0.9)]
    own = [[(0.0, 2.0)], [(2.0, 5.0)]]
    assert [w.text for w in _outside_own(edge, own, 0)[0]] == ["mine"]
    assert [w.text for w in _outside_own(edge, own, 0, pad=0.25)[0]] == ["theirs", "mine"]


def test_a_party_who_says_little_still_gets_their_channel():
    a, b = _talk(A_SPANS, seed=1, f0=120), _talk([(15.0, 16.0)], seed=2, f0=210)  # one second: "yes, fine"
    assert decide_route(channel_levels(np.stack([a, b]))).path == "channels"


def _turn(speaker, spans):
    from meetings.types import AttributedWord, Turn, Word

    words = tuple(AttributedWord(Word(a, b, "w", 0.9), speaker) for a, b in spans)
    return Turn(speaker, spans[0][0], spans[-1][1], words, 0.97)


def test_crosstalk_is_the_share_of_word_time_inside_the_other_channels_speech():
    from diarization.channels import crosstalk

    t = _turn("CH1", [(1.0, 2.0), (2.0, 3.0)])
    assert crosstalk(t, []) == 0.0
    assert crosstalk(t, [(2.5, 4.0)]) == 0.25
    assert crosstalk(t, [(0.0, 0.9), (1.5, 2.2), (10.0, 12.0)]) == pytest.approx(0.35)
    # two other channels speaking at once over the same word count its time once
    assert crosstalk(t, sorted([(1.0, 2.0), (1.0, 2.0)])) == 0.5


def test_double_talk_turns_are_flagged_and_clean_ones_keep_their_confidence():
    from diarization.channels import CROSSTALK_CONFIDENCE, flag_crosstalk
    from meetings.types import FlagReason

    clean, double = _turn("CH2", [(0.0, 1.0), (1.0, 2.0)]), _turn("CH2", [(5.0, 6.0), (6.0, 7.0)])
    out = flag_crosstalk([clean, double], [(6.5, 9.0), (2.5, 4.0)], level=0.2)
    assert out[0] == clean and out[0].flags == ()
    assert out[1].flags == (FlagReason.OVERLAP,) and out[1].confidence == CROSSTALK_CONFIDENCE
    assert out[1].words == double.words and out[1].speaker == "CH2"
    assert flag_crosstalk([double], [(6.5, 9.0)], level=0.3)[0] == double  # 25 % is below that level


def test_the_crosstalk_level_is_chosen_on_the_other_calls_within_the_flag_budget():
    from bench.crosstalk import choose, leave_one_out, tally

    # per call, (crosstalk, wrong words) per party turn
    calls = {
        "a": [(0.6, 3), (0.15, 1), (0.0, 0), (0.0, 0), (0.0, 0), (0.0, 0), (0.0, 0), (0.0, 0)],
        "b": [(0.4, 2), (0.12, 0), (0.0, 1), (0.0, 0), (0.0, 0), (0.0, 0), (0.0, 0), (0.0, 0)],
        "c": [(0.7, 1), (0.3, 0), (0.11, 0), (0.0, 0)],
    }
    assert tally(calls["a"], 0.1) == (4, 4, 2, 8)
    assert tally(calls["c"], 0.5) == (1, 1, 1, 4)
    # on a and b alone 0.1 catches 6 of 7 at 4 of 16 turns flagged (25 %): within budget
    assert choose(calls, ["a", "b"], levels=(0.1, 0.3, 0.5)) == 0.1
    # with c the budget (25 % of 20 turns = 5) allows 0.3 (4 flagged) but not 0.1 (7)
    assert choose(calls, ["a", "b", "c"], levels=(0.1, 0.3, 0.5)) == 0.3
    assert choose(calls, ["a", "b", "c"], levels=(0.1, 0.3, 0.5), budget=0.05) == 0.5  # none within: fewest flags
    assert leave_one_out(calls, levels=(0.1, 0.3, 0.5)) == {"a": 0.3, "b": 0.5, "c": 0.1}  # b: 0.3 and 0.5 catch as many


def test_a_gated_channel_is_heard_only_around_its_own_speech():
    from diarization.channels import gate

    x = np.ones(4 * SR, np.float32)
    y = gate(x, [(1.0, 2.0)], pad=0.2, fade=0.02)
    assert y.dtype == np.float32 and len(y) == len(x)
    assert y[int(1.5 * SR)] == 1.0 and y[int(0.85 * SR)] == 1.0 and y[int(2.15 * SR)] == 1.0  # own speech, and the pad
    assert not y[: int(0.7 * SR)].any() and not y[int(2.3 * SR):].any()  # the rest (the other party's bleed) is silent
    ramp = y[int(0.8 * SR) - 200: int(0.8 * SR) + 200]
    assert 0.0 < ramp.min() < 1.0 or ramp.min() == 0.0 and (np.diff(ramp) >= 0).all()  # a ramp, not a click
    assert (np.diff(y[int(0.7 * SR): int(0.9 * SR)]) >= -1e-6).all()
    assert not gate(x, []).any()
