"""Word → speaker alignment and turn building on hand-built timelines (no models)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from diarization.align import AlignOptions, align, fill_missing_times
from meetings.types import Activations, Diarization, SpeakerSegment, Word


def words(*spec):
    """spec: (start, end, text) triples."""
    return [Word(s, e, " " + t, 0.9) for s, e, t in spec]


def dia(*segs, activations=None):
    segments = tuple(SpeakerSegment(s, e, k) for s, e, k in segs)
    speakers = tuple(sorted({k for *_, k in segs}))
    return Diarization(segments=segments, exclusive=segments, speakers=speakers, activations=activations)


def frames(duration, step, **speaker_spans):
    """Soft activations: 1.0 inside each speaker's spans."""
    speakers = tuple(sorted(speaker_spans))
    n = int(duration / step) + 1
    values = np.zeros((n, len(speakers)), dtype=np.float32)
    for k, spk in enumerate(speakers):
        for s, e in speaker_spans[spk]:
            values[int(s / step) : int(e / step) + 1, k] = 1.0
    return Activations(start=0.0, step=step, speakers=speakers, values=values)


def test_single_speaker_one_turn():
    ws = words((0.0, 0.4, "hello"), (0.5, 0.9, "there"), (1.0, 1.3, "team"))
    turns = align(ws, dia((0.0, 2.0, "A")))
    assert [t.speaker for t in turns] == ["A"]
    assert turns[0].text == "hello there team"


def test_speaker_change_mid_segment_splits_the_turn():
    ws = words((0.0, 0.5, "are"), (0.6, 1.0, "you"), (1.1, 1.5, "ready"), (2.1, 2.5, "yes"), (2.6, 3.0, "I"), (3.1, 3.5, "am"))
    turns = align(ws, dia((0.0, 1.8, "A"), (1.9, 4.0, "B")))
    assert [(t.speaker, t.text) for t in turns] == [("A", "are you ready"), ("B", "yes I am")]


def test_word_timestamps_slightly_off_at_a_turn_change_stay_with_their_sentence():
    # Whisper puts "ready" 0.25 s into B's segment; max-overlap would give it to B.
    ws = words((0.0, 0.5, "are"), (0.55, 1.0, "you"), (1.05, 2.05, "ready"), (2.4, 2.8, "yes"), (2.85, 3.3, "sure"), (3.35, 3.8, "thing"))
    turns = align(ws, dia((0.0, 1.8, "A"), (1.8, 4.0, "B")))
    assert [t.speaker for t in turns] == ["A", "B"]
    assert turns[0].text == "are you ready"


def test_fully_overlapped_words_keep_both_speakers():
    act = frames(4.0, 0.02, A=[(0.0, 4.0)], B=[(1.0, 2.0)])
    ws = words((0.0, 0.5, "so"), (1.1, 1.5, "the"), (1.5, 1.9, "plan"), (2.5, 3.0, "works"))
    turns = align(ws, dia((0.0, 4.0, "A"), (1.0, 2.0, "B"), activations=act))
    overlapped = [w for t in turns for w in t.words if w.overlapping]
    assert {w.word.text.strip() for w in overlapped} == {"the", "plan"}
    assert all(set(w.overlapping) | {w.speaker} == {"A", "B"} for w in overlapped)


def test_backchannel_inside_another_turn_gets_its_own_speaker():
    act = frames(6.0, 0.02, A=[(0.0, 2.9), (3.6, 6.0)], B=[(3.0, 3.5)])
    ws = words((0.0, 0.8, "we"), (0.9, 1.6, "should"), (1.7, 2.8, "ship"), (3.0, 3.4, "yeah"), (3.7, 4.5, "on"), (4.6, 5.5, "friday"))
    turns = align(ws, dia((0.0, 2.9, "A"), (3.0, 3.5, "B"), (3.6, 6.0, "A"), activations=act))
    assert [(t.speaker, t.text) for t in turns] == [("A", "we should ship"), ("B", "yeah"), ("A", "on friday")]


def test_silence_gap_ends_a_turn_of_the_same_speaker():
    ws = words((0.0, 0.5, "first"), (10.0, 10.5, "second"))
    turns = align(ws, dia((0.0, 1.0, "A"), (9.5, 11.0, "A")), AlignOptions(max_turn_gap=3.0))
    assert len(turns) == 2 and all(t.speaker == "A" for t in turns)


def test_word_in_a_diarization_gap_goes_to_the_nearest_speaker():
    ws = words((0.0, 0.5, "one"), (5.0, 5.4, "two"), (9.6, 9.9, "three"))
    turns = align(ws, dia((0.0, 1.0, "A"), (4.0, 4.5, "B"), (9.0, 10.0, "A")))
    spk = {w.word.text.strip(): w.speaker for t in turns for w in t.words}
    assert spk == {"one": "A", "two": "B", "three": "A"}


def test_words_without_timestamps_are_kept_and_interpolated():
    ws = [Word(0.0, 0.5, " one", 0.9), Word(math.nan, math.nan, " two", 0.5), Word(-1, -2, " three", 0.5), Word(1.5, 2.0, " four", 0.9)]
    filled = fill_missing_times(ws)
    assert [w.text for w in filled] == [w.text for w in ws]
    assert [w.timed for w in filled] == [True, False, False, True]
    assert 0.5 <= filled[1].start <= filled[2].start <= 1.5
    turns = align(ws, dia((0.0, 2.0, "A")))
    assert sum(len(t.words) for t in turns) == 4


def test_no_speakers_found_still_keeps_every_word():
    ws = words((0.0, 0.5, "hello"))
    turns = align(ws, Diarization(segments=(), exclusive=(), speakers=()))
    assert len(turns) == 1 and turns[0].words[0].word.text == " hello"


def test_no_words_no_turns():
    assert align([], dia((0.0, 1.0, "A"))) == []


# -- properties ------------------------------------------------------------------------

word_st = st.builds(
    lambda s, d, p, bad: Word(math.nan if bad else s, math.nan if bad else s + d, " w", p),
    st.floats(0, 60), st.floats(0, 2), st.floats(0, 1), st.booleans(),
)
seg_st = st.tuples(st.floats(0, 60), st.floats(0.05, 10), st.sampled_from(["A", "B", "C"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(word_st, max_size=40), st.lists(seg_st, max_size=12), st.booleans())
def test_every_word_gets_exactly_one_turn_and_turns_agree_with_their_words(ws, segs, soft):
    ws = sorted(ws, key=lambda w: w.start if not math.isnan(w.start) else 0.0)
    segments = [(s, s + d, k) for s, d, k in segs]
    act = None
    if soft and segments:
        spans = {}
        for s, e, k in segments:
            spans.setdefault(k, []).append((s, e))
        act = frames(75.0, 0.05, **spans)
    d = dia(*segments, activations=act) if segments else Diarization((), (), ())
    turns = align(ws, d)
    assert sum(len(t.words) for t in turns) == len(ws)
    for t in turns:
        assert t.words and all(w.speaker == t.speaker for w in t.words)
        assert t.start <= t.end
        assert t.speaker not in {o for w in t.words for o in w.overlapping}
        if d.speakers:
            assert t.speaker in d.speakers
    for a, b in zip(turns, turns[1:]):
        assert a.start <= b.start + 1e-9


def test_reshare_scores_words_against_their_speaker_now():
    from dataclasses import replace as _r

    from diarization.align import reshare

    segs = (SpeakerSegment(0.0, 4.0, "A"), SpeakerSegment(2.0, 4.0, "B"))
    d = Diarization(segs, segs, ("A", "B"))
    turns = align([Word(0.5, 1.0, " one", 0.9), Word(2.5, 3.0, " two", 0.9)], d)
    moved = [_r(t, speaker="C", words=tuple(_r(w, speaker="C") for w in t.words)) for t in turns]
    assert [w.speaker_share for t in reshare(moved, d) for w in t.words] == [0.0, 0.0]
    shares = [w.speaker_share for t in reshare(turns, d) for w in t.words]
    assert shares[0] > 0.9 and 0.4 < shares[1] < 0.6
