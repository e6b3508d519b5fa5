"""The bleed-pad benchmark's scoring (bench.bleed_pad.word_errors): pure, no models."""

from __future__ import annotations

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
