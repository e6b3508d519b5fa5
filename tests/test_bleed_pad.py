"""The bleed-pad benchmark's scoring (bench.bleed_pad.word_errors): pure, no models."""

from __future__ import annotations

import pytest

from bench.bleed_pad import word_errors
from bench.scoring import Reference
from meetings.types import SpeakerSegment, Word


def test_kept_bleed_and_dropped_own_words_are_the_errors():
    ref = Reference("call", 5.0, (SpeakerSegment(0.0, 2.0, "A"), SpeakerSegment(2.0, 5.0, "B")), ())
    own = [[(0.0, 2.0)], [(2.0, 5.0)]]
    words = [Word(1.9, 2.1, "mine", 0.9), Word(2.1, 2.3, "theirs", 0.9), Word(0.5, 0.8, "mine", 0.9)]
    assert word_errors(words, own, 0, "A", ref, 0.25) == (1, 3)  # B's word kept on A's channel
    assert word_errors(words, own, 0, "A", ref, 0.1) == (0, 3)
    # too tight: A's own word past the end of A's detected speech is dropped
    late = [Word(2.0, 2.3, "mine", 0.9)]
    ref_late = Reference("call", 5.0, (SpeakerSegment(0.0, 2.3, "A"), SpeakerSegment(2.5, 5.0, "B")), ())
    assert word_errors(late, own, 0, "A", ref_late, 0.0) == (1, 1)
    assert word_errors(late, own, 0, "A", ref_late, 0.25) == (0, 1)


def test_a_quiet_party_call_is_the_mix_with_one_line_turned_down(tmp_path):
    """bench.calls.write_quiet: the benchmark's "quiet" call, one party 10 dB under the other."""
    import numpy as np
    import soundfile as sf

    from bench.calls import Call, write_quiet

    t = np.arange(8000) / 8000
    a, b = 0.2 * np.sin(2 * np.pi * 200 * t), 0.2 * np.sin(2 * np.pi * 330 * t)
    call = Call("c", ("x:A", "y:B"), a + b, np.stack([a, b], axis=1).astype(np.float32), np.zeros(16000, np.float32), (), ())
    y, sr = sf.read(write_quiet(call, tmp_path, party=1))
    assert sr == 8000 and len(y) == 8000
    ga, gb = (float(np.dot(y, s) / np.dot(s, s)) for s in (a, b))  # each party's gain in the mix
    assert 20 * np.log10(gb / ga) == pytest.approx(-10.0, abs=0.1)
    assert np.abs(y).max() <= 0.9 + 1e-3
