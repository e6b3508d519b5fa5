"""Telephone-band detection, the no-speech handicap on pyannote's powerset output, and the
leave-one-call-out choice of that handicap (no models)."""

from __future__ import annotations

import numpy as np
import pytest

from diarization.band import NARROWBAND_SHARE, BiasedPowerset, high_band_share, is_narrowband


def _speechlike(seconds: float = 6.0, sr: int = 16_000, seed: int = 0) -> np.ndarray:
    """Bursts of broadband noise shaped like speech (syllables on and off), as wideband audio."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    envelope = (np.sin(2 * np.pi * 3.0 * t) > 0).astype(float) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.4 * t) ** 2)
    return (0.1 * rng.standard_normal(len(t)) * envelope).astype(np.float32)


def _telephone(x: np.ndarray) -> np.ndarray:
    from scipy.signal import butter, resample_poly, sosfilt

    y = resample_poly(x, 1, 2)
    y = sosfilt(butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos"), y)
    return resample_poly(y, 2, 1).astype(np.float32)  # what decoding an 8 kHz call to 16 kHz gives


def test_wideband_speech_is_not_narrowband():
    x = _speechlike()
    assert high_band_share(x) > 0.5
    assert not is_narrowband(x)


def test_an_8_khz_channel_upsampled_to_16_khz_is_narrowband():
    y = _telephone(_speechlike())
    assert high_band_share(y) < NARROWBAND_SHARE
    assert is_narrowband(y)


def test_a_muffled_wideband_microphone_is_still_wideband():
    from scipy.signal import butter, sosfilt

    # a far microphone: a gentle 2nd-order roll-off from 2 kHz, no cliff at 4 kHz
    x = sosfilt(butter(2, 2000, btype="lowpass", fs=16_000, output="sos"), _speechlike()).astype(np.float32)
    assert not is_narrowband(x)


def test_8_khz_sampling_itself_is_narrowband_and_silence_is_not():
    assert is_narrowband(_speechlike(sr=8000), sr=8000)
    assert not is_narrowband(np.zeros(16_000 * 3, np.float32))
    assert not is_narrowband(np.zeros(100, np.float32))  # too short to tell: wideband


def test_only_the_frames_read_are_converted():
    x = _speechlike(seconds=20.0)
    # a small frame budget still decides, from frames spread over the file
    assert high_band_share(x, most_seconds=2.0) > 0.5
    assert high_band_share(_telephone(x), most_seconds=2.0) < NARROWBAND_SHARE


def test_the_handicap_turns_a_doubtful_frame_into_speech_and_leaves_clear_ones():
    torch = pytest.importorskip("torch")
    from pyannote.audio.utils.powerset import Powerset

    base = Powerset(3, 2)  # segmentation-3.0: 3 local speakers, at most 2 at once (7 classes)
    probs = torch.tensor([[[0.6, 0.3, 0.05, 0.05, 0.0, 0.0, 0.0],  # doubtful silence
                           [0.99, 0.005, 0.005, 0.0, 0.0, 0.0, 0.0],  # clear silence
                           [0.1, 0.1, 0.8, 0.0, 0.0, 0.0, 0.0]]])  # clear speaker 2
    logp = torch.log(probs + 1e-9)
    plain = base(logp)
    biased = BiasedPowerset(base, 2.0)(logp)
    assert plain[0, 0].tolist() == [0.0, 0.0, 0.0]
    assert biased[0, 0].tolist() == [1.0, 0.0, 0.0]  # the likeliest speaker class, not a new one
    assert biased[0, 1].tolist() == [0.0, 0.0, 0.0]
    assert biased[0, 2].tolist() == plain[0, 2].tolist() == [0.0, 1.0, 0.0]
    soft = BiasedPowerset(base, 2.0)(logp, soft=True)
    assert torch.all(soft <= 1.0 + 1e-6)  # still probabilities
    assert BiasedPowerset(base, 0.0)(logp).tolist() == plain.tolist()


def _row(total, missed, speakers=2):
    return {"total": total, "missed": missed, "false_alarm": 0.0, "confusion": 0.0, "speakers": speakers, "ref_speakers": 2}


def test_leave_one_call_out_chooses_on_the_others_only():
    from bench.calls import leave_one_call_out, render_bias

    # "odd" alone prefers bias 0; the other two prefer 2 and decide for everyone but themselves
    sweep = {
        "0.0": {"a": _row(10, 3), "b": _row(10, 3), "odd": _row(10, 0)},
        "2.0": {"a": _row(10, 1), "b": _row(10, 1), "odd": _row(10, 5, speakers=1)},
    }
    loo = leave_one_call_out(sweep)
    assert loo["odd"]["bias"] == 2.0 and loo["odd"]["der"] == pytest.approx(0.5) and loo["odd"]["speakers"] == 1
    # leaving "a" out: b (−2) and odd (+5) make bias 0 better on the rest
    assert loo["a"]["bias"] == 0.0 and loo["a"]["der"] == pytest.approx(0.3)
    text = "\n".join(render_bias(sweep, 2.0))
    assert "out of sample" in text and "right speaker count on 2 of 3" in text
    assert leave_one_call_out({}) == {} and render_bias({}, 2.0) == []


def test_ties_go_to_the_smaller_bias():
    from bench.calls import leave_one_call_out

    sweep = {"1.0": {"a": _row(10, 1), "b": _row(10, 1)}, "0.0": {"a": _row(10, 1), "b": _row(10, 1)}}
    assert {v["bias"] for v in leave_one_call_out(sweep).values()} == {0.0}
