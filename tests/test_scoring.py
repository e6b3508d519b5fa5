"""Benchmark scoring helpers that decide the published figures (no models)."""

from __future__ import annotations

from bench.scoring import Reference, flag_quality, max_overlap_turns, word_mapping
from meetings.types import AttributedWord, Diarization, FlagReason, SpeakerSegment, Turn, Word


def ref():
    segs = (SpeakerSegment(0.0, 4.0, "ann"), SpeakerSegment(4.0, 8.0, "bob"), SpeakerSegment(8.0, 10.0, "cat"))
    return Reference("m", 10.0, segs, ())


def turn(speaker, start, end, n, flagged=False):
    step = (end - start) / n
    words = tuple(AttributedWord(Word(start + i * step, start + (i + 1) * step, f" w{i}", 0.9), speaker) for i in range(n))
    return Turn(speaker, start, end, words, flags=(FlagReason.AMBIGUOUS_VOICE,) if flagged else ())


def test_mapping_is_made_on_the_final_words_so_new_voices_are_judged_fairly():
    # SPEAKER_02 exists only after the voice stage; it is cat, not "wrong by definition"
    turns = [turn("SPEAKER_00", 0.0, 4.0, 4), turn("SPEAKER_01", 4.0, 8.0, 4), turn("SPEAKER_02", 8.0, 10.0, 2)]
    assert word_mapping(ref(), turns) == {"SPEAKER_00": "ann", "SPEAKER_01": "bob", "SPEAKER_02": "cat"}
    fq = flag_quality(ref(), turns)
    assert (fq.judged_words, fq.wrong_words, fq.turns_with_wrong) == (10, 0, 0)


def test_flag_quality_counts_wrong_words_inside_flagged_turns():
    # SPEAKER_00 talks over bob's time too: its last 4 words are wrong, and its turn is flagged
    turns = [turn("SPEAKER_00", 0.0, 8.0, 8, flagged=True), turn("SPEAKER_01", 8.0, 10.0, 2)]
    fq = flag_quality(ref(), turns)
    assert (fq.turns, fq.flagged_turns, fq.wrong_words, fq.wrong_in_flagged, fq.flagged_with_wrong) == (2, 1, 4, 4, 1)


def test_max_overlap_baseline_gives_each_word_the_speaker_overlapping_it_most():
    segs = (SpeakerSegment(0.0, 2.05, "A"), SpeakerSegment(1.9, 4.0, "B"))
    d = Diarization(segs, segs, ("A", "B"))
    words = [Word(0.5, 1.0, " a", 0.9), Word(1.9, 2.3, " b", 0.9), Word(3.0, 3.5, " c", 0.9)]
    turns = max_overlap_turns(words, d)
    assert [(t.speaker, t.text) for t in turns] == [("A", "a"), ("B", "b c")]


def test_sentence_splits_count_changes_after_a_word_that_ends_no_sentence():
    def t(speaker, start, text):
        words = tuple(AttributedWord(Word(start + i * 0.3, start + i * 0.3 + 0.25, " " + w, 0.9), speaker) for i, w in enumerate(text.split()))
        return Turn(speaker, words[0].word.start, words[-1].word.end, words)

    from bench.scoring import sentence_splits

    turns = [t("A", 0.0, "all I see is the"), t("B", 2.0, "desktop. No way."), t("A", 4.0, "Right."), t("A", 5.0, "ok")]
    assert sentence_splits(turns) == (1, 2)
