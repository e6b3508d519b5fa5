"""The live-transcript benchmark's own bookkeeping (pure: hand-built event logs)."""

from __future__ import annotations

import pytest

from bench.live_transcript import label_breakdown, match_words


def _word(text, end, emitted, utterance, speaker):
    return {"type": "word", "state": "committed", "text": text, "start": end - 0.3, "end": end,
            "emitted": emitted, "utterance": utterance, "speaker": speaker}


def _speaker(utterance, label, emitted):
    return {"type": "speaker", "label": label, "utterance": utterance, "emitted": emitted}


REF = [(0.7, 1.0, "A", "one"), (1.7, 2.0, "A", "two"), (2.7, 3.0, "B", "three")]  # (start, end, speaker, word)


@pytest.mark.parametrize("slow, why", [
    ("late commit", "none"),  # shown labelled, but shown late
    ("unlabelled", "first label"),  # shown before its utterance had a label
    ("relabelled", "label changed"),  # shown under S1, the utterance became S2 later
])
def test_the_slowest_labels_are_told_apart_by_why_they_waited(slow, why):
    words = [_word("one", 1.0, 1.5, 1, "S1"), _word("two", 2.0, 2.5, 2, "S1"), _word("three", 3.0, 3.5, 3, "S2")]
    lines = [_speaker(1, "S1", 1.2), _speaker(2, "S1", 2.2), _speaker(3, "S2", 3.2)]
    if slow == "late commit":
        words[2]["emitted"] = 9.0
    elif slow == "unlabelled":
        words[2]["speaker"] = None
        lines[2]["emitted"] = 9.0  # its only label came long after it was shown
    else:
        lines.append(_speaker(3, "S3", 9.0))
    matches = match_words(words, REF, 0.0)
    assert all(matches)
    out = label_breakdown(words, matches, lines, 0.0)
    assert out["words"] == 1 and out[why] == 1
    assert out["p95_s"] == pytest.approx(5.45)  # latencies 0.5, 0.5, 6.0 s: numpy's 95th percentile


def test_words_nobody_said_are_not_counted():
    words = [_word("one", 1.0, 1.5, 1, "S1"), _word("hello", 5.0, 5.2, 2, "S1")]
    matches = match_words(words, REF, 0.0)
    assert matches[1] is None
    out = label_breakdown(words, matches, [_speaker(1, "S1", 1.2)], 0.0)
    assert out["words"] == 1 and out["none"] == 1
