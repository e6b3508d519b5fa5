"""Real models on a telephone call built from two evaluation speakers: the diarizer tells the
telephone band from the sound, and the no-speech handicap brings back speech the segmentation
dropped on it, without mixing up the two people. The same call at 16 kHz is left alone."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import EVAL

pytestmark = pytest.mark.models


def _call():
    from bench import calls

    names = [n.strip() for n in (EVAL / "all.lst").read_text().split() if n.strip() and n.strip() != "phone_call_40"]
    pool = {c.speaker: c for c in calls.clean_speakers(EVAL, [n for n in names if not n.startswith("paa_")])}
    return calls.build_call(EVAL, pool["FEE078"], pool["MEO069"], seed=5)


def test_telephone_band_speech_comes_back_and_the_parties_stay_apart(engine):
    from scipy.signal import resample_poly

    from bench import calls, scoring

    call = _call()
    ref = calls.reference(call)
    audio = resample_poly(call.mono, 2, 1).astype(np.float32)  # the 8 kHz call as the import decodes it
    diarizer = engine.diarizer
    before = diarizer.speech_bias
    try:
        diarizer.speech_bias = 0.0
        plain = diarizer(audio)
        assert diarizer.narrowband
        diarizer.speech_bias = None  # the shipped handicap
        fixed = diarizer(audio)
        assert diarizer.narrowband
    finally:
        diarizer.speech_bias = before
    p0, _ = scoring.der(ref, plain.segments, 0.25)
    p1, _ = scoring.der(ref, fixed.segments, 0.25)
    assert len(fixed.speakers) == 2
    assert p1.missed <= 0.75 * p0.missed, (p0, p1)
    assert p1.confusion <= p0.confusion + 0.02 * p1.total, (p0, p1)
    assert p1.der < p0.der

    diarizer(call.wideband)
    assert not diarizer.narrowband
