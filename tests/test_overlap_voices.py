"""Overlap recovery and the voice check, with hand-built timelines and a stand-in voice space."""

from __future__ import annotations

import numpy as np

from diarization.align import align
from diarization.overlap import dedupe_against_host, hidden_speech, recover_overlaps
from diarization.voices import VoiceOptions, voice_check
from meetings.types import Diarization, FlagReason, SpeakerSegment, Word


def W(s, e, t, p=0.9):
    return Word(s, e, " " + t, p)


def dia(*segs, centroids=None):
    segments = tuple(SpeakerSegment(s, e, k) for s, e, k in segs)
    return Diarization(segments, segments, tuple(sorted({k for *_, k in segs})), centroids=centroids)


def test_hidden_speech_is_the_other_voice_inside_a_turn():
    d = dia((0.0, 6.0, "A"), (2.0, 3.5, "B"))
    turns = align([W(0.2, 0.8, "so"), W(1.0, 1.8, "the"), W(2.0, 2.8, "plan"), W(3.0, 4.0, "works"), W(4.2, 5.5, "fine")], d)
    hidden = hidden_speech(turns, d)
    assert [(h.speaker, round(h.start, 2), round(h.end, 2)) for h in hidden] == [("B", 2.0, 3.5)]


def test_a_speaker_with_own_words_has_nothing_hidden():
    d = dia((0.0, 2.0, "A"), (2.0, 4.0, "B"))
    turns = align([W(0.2, 1.5, "question"), W(2.2, 3.5, "answer")], d)
    assert hidden_speech(turns, d) == []


def test_recovered_words_that_repeat_the_host_are_dropped():
    d = dia((0.0, 6.0, "A"), (2.0, 3.5, "B"))
    turns = align([W(0.2, 0.8, "so"), W(2.0, 2.8, "plan"), W(3.0, 4.0, "works")], d)
    kept = dedupe_against_host([W(2.1, 2.7, "plan"), W(2.6, 3.0, "yeah"), W(3.0, 3.2, "uh", 0.1)], turns)
    assert [w.text.strip() for w in kept] == ["yeah"]


def test_recover_overlaps_keeps_both_speakers():
    d = dia((0.0, 6.0, "A"), (2.0, 3.5, "B"))
    turns = align([W(0.2, 0.8, "so"), W(1.0, 1.8, "the"), W(2.0, 2.8, "plan"), W(3.0, 4.0, "works"), W(4.2, 5.5, "fine")], d)
    calls = []

    def transcribe(h):
        calls.append(h)
        return [W(2.1, 2.6, "plan"), W(2.7, 3.2, "exactly")]

    out = recover_overlaps(turns, d, transcribe)
    assert len(calls) == 1
    second = [t for t in out if t.overlapped]
    assert len(second) == 1 and second[0].speaker == "B" and second[0].text == "exactly"
    assert FlagReason.OVERLAP in second[0].flags
    assert second[0].words[0].overlapping == ("A",)
    # the host turn is untouched and the result is time-ordered
    assert [t.text for t in out if not t.overlapped] == ["so the plan works fine"]
    assert [t.start for t in out] == sorted(t.start for t in out)


def test_recover_overlaps_with_nothing_recovered_changes_nothing():
    d = dia((0.0, 6.0, "A"), (2.0, 3.5, "B"))
    turns = align([W(0.2, 0.8, "so"), W(2.0, 2.8, "plan"), W(3.0, 4.0, "works")], d)
    assert recover_overlaps(turns, d, lambda h: []) == turns


def test_voice_check_relabels_a_window_that_sounds_like_the_other_speaker():
    # diarization put everything on A, but 4–6 s is B's voice
    centroids = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    d = dia((0.0, 8.0, "A"), (8.0, 9.0, "B"), centroids=centroids)
    words = [W(i * 0.5, i * 0.5 + 0.45, f"w{i}") for i in range(16)]
    turns = align(words, d)

    def embed(a, b):
        return np.array([0.1, 1.0]) if a >= 3.9 and b <= 6.1 else np.array([1.0, 0.1])

    out, margins = voice_check(turns, d.speakers, centroids, embed, VoiceOptions(window=2.0))
    spk = [(w.word.text.strip(), w.speaker) for t in out for w in t.words]
    assert {s for t, s in spk if t in ("w8", "w9", "w10", "w11")} == {"B"}
    assert {s for t, s in spk if t in ("w0", "w3", "w13")} == {"A"}
    assert len(margins) == len(out) and all(m is None or m > 0 for m in margins)
    assert sum(len(t.words) for t in out) == 16


def test_voice_check_without_centroids_is_a_no_op():
    d = dia((0.0, 2.0, "A"))
    turns = align([W(0.0, 1.0, "hello")], d)
    out, margins = voice_check(turns, d.speakers, None, lambda a, b: np.zeros(2))
    assert out == turns and margins == [None]
