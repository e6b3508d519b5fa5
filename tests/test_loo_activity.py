"""Model-free: the leave-one-meeting-out machinery on a tiny fixture, bootstrap intervals, the
confidence refit, and the exported speaker activity (RTTM) relabelled by the words."""

from __future__ import annotations

from bench import loo
from diarization.activity import relabel_activity
from diarization.confidence import ConfidenceModel, ScoredTurn, TurnFeatures, fit_confidence
from meetings.export import ExportDoc, ExportTurn, export, speaker_activity
from meetings.types import AttributedWord, SpeakerSegment, Turn, Word

# three meetings, three settings of one stage: "tuned" is best on a and b only because of a
COUNTS = {
    "a": {"off": (10, 100), "default": (5, 100), "tuned": (1, 100)},
    "b": {"off": (10, 100), "default": (6, 100), "tuned": (9, 100)},
    "c": {"off": (10, 100), "default": (7, 100), "tuned": (12, 100)},
}


def test_each_file_gets_the_variant_chosen_on_the_others():
    choice = loo.leave_one_out(COUNTS, ["off", "default", "tuned"], "default")
    # without a: default (13) beats tuned (21); without b: tuned 13 vs default 12 → default; without c: tuned 10 vs 11
    assert choice == {"a": "default", "b": "default", "c": "tuned"}
    held = loo.held_out(COUNTS, choice)
    assert held == {"a": (5, 100), "b": (6, 100), "c": (12, 100)}
    assert abs(loo.rate(held) - 23 / 300) < 1e-12
    # in sample default (18) beats tuned (22); the out-of-sample rate is worse than the in-sample one
    assert loo.best_variant(COUNTS, list(COUNTS), ["off", "default", "tuned"], "default") == "default"
    assert loo.rate(held) > loo.pooled(COUNTS, "default", list(COUNTS))


def test_ties_go_to_the_default():
    counts = {"a": {"x": (1, 10), "default": (1, 10)}, "b": {"x": (1, 10), "default": (1, 10)}}
    assert set(loo.leave_one_out(counts, ["x", "default"], "default").values()) == {"default"}


def test_bootstrap_interval_holds_the_pooled_rate_and_is_deterministic():
    per = {"a": (5, 100), "b": (6, 100), "c": (12, 100), "d": (0, 50)}
    lo, hi = loo.bootstrap(per, iters=500, seed=1)
    assert lo <= loo.rate(per) <= hi and lo < hi
    assert (lo, hi) == loo.bootstrap(per, iters=500, seed=1)
    point, lo, hi = loo.relative(per, {"a": (10, 100), "b": (10, 100), "c": (10, 100), "d": (5, 50)}, iters=500)
    assert abs(point - (23 / 350 - 35 / 350) / (35 / 350)) < 1e-12 and lo <= point <= hi


def _f(edge=0.2, voice=0.5, share=1.0, overlap=0.0, duration=3.0, words=6):
    return TurnFeatures(share, overlap, duration, words, 0.9, 0.0, voice, False, edge)


def test_the_confidence_refit_measures_rates_and_shrinks_few_turns_to_the_prior():
    samples = [ScoredTurn(_f(edge=-0.3), True) for _ in range(8)] + [ScoredTurn(_f(edge=-0.3), False) for _ in range(2)]
    samples += [ScoredTurn(_f(), False) for _ in range(40)]
    m = fit_confidence(samples)
    assert abs(m.edge_risk - (8 + 2 * ConfidenceModel().edge_risk) / 12) < 1e-9
    assert m.base_risk < ConfidenceModel().base_risk  # 0 of 40 quiet turns were wrong
    assert m.voice_risk == ConfidenceModel().voice_risk  # no turn showed it: the prior stays


def test_confidence_leave_one_out_scores_each_file_with_risks_fitted_elsewhere():
    wrong_edge = [ScoredTurn(_f(edge=-0.3), True)] * 3
    clean = [ScoredTurn(_f(), False)] * 5
    samples = {"a": wrong_edge + clean, "b": wrong_edge + clean, "c": clean}
    words = {f: [(2, 5) if s.wrong else (0, 5) for s in v] for f, v in samples.items()}
    out = loo.confidence_loo(samples, words)
    caught, wrong, flagged, turns = out["out"]["a"]
    assert (caught, wrong, flagged, turns) == (6, 6, 3, 8)
    assert out["out"]["c"][1] == 0


def _turn(speaker, start, end, overlapped=False, word=0.5):
    """A turn of back-to-back ``word``-s words from ``start`` to ``end``."""
    n = max(1, round((end - start) / word))
    edges = [start + (end - start) * i / n for i in range(n + 1)]
    return Turn(speaker, start, end, tuple(AttributedWord(Word(a, b, "w", 0.9), speaker) for a, b in zip(edges, edges[1:])),
                overlapped=overlapped)


def test_activity_keeps_speech_without_words_and_follows_moved_words():
    segs = [SpeakerSegment(0.0, 10.0, "S0"), SpeakerSegment(12.0, 14.0, "S1")]
    # the voice stage gave 4-6 s of S0's activity to a new voice N; S1 said nothing recognised
    turns = [_turn("S0", 0.5, 4.0), _turn("N", 4.0, 6.0), _turn("S0", 6.0, 9.0)]
    out = relabel_activity(segs, turns, pad=0.0)
    assert [(s.start, s.end, s.speaker) for s in out] == [(0.0, 4.0, "S0"), (4.0, 6.0, "N"), (6.0, 10.0, "S0"), (12.0, 14.0, "S1")]
    # only under the words: in a pause inside someone else's turn, the activity keeps its speaker
    gap = [_turn("S1", 1.0, 2.0), _turn("S1", 3.0, 4.0)]
    gap = [Turn("S1", 1.0, 4.0, gap[0].words + gap[1].words), _turn("S0", 4.5, 5.0)]
    out = relabel_activity([SpeakerSegment(0.0, 5.0, "S0")], gap, pad=0.0)
    assert [(s.start, s.end, s.speaker) for s in out] == [(0.0, 1.0, "S0"), (1.0, 2.0, "S1"), (2.0, 3.0, "S0"), (3.0, 4.0, "S1"), (4.0, 5.0, "S0")]


def test_activity_keeps_real_overlap_for_both_speakers():
    segs = [SpeakerSegment(0.0, 6.0, "A"), SpeakerSegment(2.0, 4.0, "B")]
    out = relabel_activity(segs, [_turn("A", 0.0, 6.0), _turn("B", 2.5, 3.5, overlapped=True)])
    assert sorted((s.start, s.end, s.speaker) for s in out) == [(0.0, 6.0, "A"), (2.0, 4.0, "B")]


def test_a_merged_away_label_goes_where_its_words_went():
    segs = [SpeakerSegment(0.0, 3.0, "A"), SpeakerSegment(3.0, 6.0, "B"), SpeakerSegment(6.5, 7.0, "B")]
    out = relabel_activity(segs, [_turn("A", 0.0, 3.0), _turn("A", 3.2, 5.8)])  # the user merged B into A
    assert [(s.start, s.end, s.speaker) for s in out] == [(0.0, 6.0, "A"), (6.5, 7.0, "A")]


def test_rttm_exports_the_activity_with_display_names_and_corrections():
    turns = (ExportTurn("Ann", 0.5, 4.0, "hello there friend", 0.9, (), False,
                        ((0.5, 1.0, "hello", 0.9), (1.2, 1.9, "there", 0.9), (3.3, 4.0, "friend", 0.9))),
             ExportTurn("Bob", 4.0, 6.0, "hi again", 0.9, (), False, ((4.1, 4.9, "hi", 0.9), (5.0, 5.9, "again", 0.9))))  # the user gave 4-6 s to Bob
    activity = speaker_activity([(0.0, 6.0, "SPEAKER_00"), (8.0, 9.0, "SPEAKER_00")], turns, {"SPEAKER_00": "Ann", "SPEAKER_01": "Bob"})
    doc = ExportDoc("Call", 10.0, ("Ann", "Bob"), turns, activity=activity)
    lines = [line.split() for line in export(doc, "rttm").splitlines()]
    # Bob's words (4.1-5.9 s, 0.15 s around each) take the activity under them where Ann's words do not reach
    assert [(float(p[3]), float(p[4]), p[7]) for p in lines] == [(0.0, 4.15, "Ann"), (4.15, 1.85, "Bob"), (8.0, 1.0, "Ann")]
    # a meeting stored without activity: the turns, as before
    assert len(export(ExportDoc("Call", 10.0, ("Ann", "Bob"), turns), "rttm").splitlines()) == 2


def test_a_stored_meeting_exports_its_activity_renamed_by_a_correction(store):
    from meetings.cli import _export_doc
    from meetings.export import with_activity
    from meetings.types import AudioInfo, PipelineOptions

    info = AudioInfo("/x/call.wav", "abc", 10.0, 16000, 1, "pcm_s16le", "wav")
    mid = store.begin_meeting("Call", info, "/x/call.wav", PipelineOptions(), "tiny.en", "embedded")
    turns = [_turn("S0", 0.5, 3.0), _turn("S0", 4.0, 6.0), _turn("S1", 7.0, 9.0)]
    activity = [SpeakerSegment(0.0, 6.2, "S0"), SpeakerSegment(6.8, 9.5, "S1")]
    store.save_result(mid, speakers=("S0", "S1"), centroids=None, turns=turns, language="en", activity=activity)
    assert store.activity(mid) == [(0.0, 6.2, "S0"), (6.8, 9.5, "S1")]
    second = store.turns(mid)[1]
    s1 = next(s for s in store.speakers(mid) if s.label == "S1")
    store.reassign_turn(second.id, s1.id)  # the user: 4-6 s was the other person
    rttm = export(with_activity(_export_doc(store, mid), store, mid), "rttm")
    got = [(float(p[3]), round(float(p[4]), 3), p[7]) for p in (line.split() for line in rttm.splitlines())]
    assert got == [(0.0, 3.85, "Speaker_1"), (3.85, 2.3, "Speaker_2"), (6.15, 0.05, "Speaker_1"), (6.8, 2.7, "Speaker_2")]
    assert store.delete_meeting(mid) is not None and store.activity(mid) == []


def test_a_speaker_that_still_exists_keeps_its_activity_without_words():
    segs = [SpeakerSegment(0.0, 3.0, "A"), SpeakerSegment(3.0, 6.0, "B")]
    turns = [_turn("A", 0.0, 3.0), _turn("A", 3.2, 5.8)]  # the voice stage gave B's words to A, B is still a speaker
    out = relabel_activity(segs, turns, keep={"A", "B"})
    assert [(s.start, s.end, s.speaker) for s in out] == [(0.0, 3.0, "A"), (3.0, 6.0, "B")]


def test_a_stretched_last_word_does_not_take_the_other_partys_speech():
    """Whisper stretches the last word before a pause over the silence (2 s here, into the other
    party's speech): it claims 1 s, so the other party keeps their activity."""
    segs = [SpeakerSegment(0.0, 2.2, "A"), SpeakerSegment(3.0, 5.0, "B")]
    a = Turn("A", 0.2, 4.0, (AttributedWord(Word(0.2, 1.0, "all", 0.9), "A"), AttributedWord(Word(1.5, 4.0, "right.", 0.9), "A")))
    b = _turn("B", 4.0, 5.0)
    out = relabel_activity(segs, [a, b])
    assert [(s.start, s.end, s.speaker) for s in out] == [(0.0, 2.2, "A"), (3.0, 5.0, "B")]
    # a word without timing (interpolated, or a wordless turn's text) keeps its whole span
    untimed = Turn("A", 2.5, 4.0, (AttributedWord(Word(2.5, 4.0, "right.", 0.9, timed=False), "A"),))
    assert (3.0, 3.85, "A") in [(s.start, round(s.end, 2), s.speaker) for s in relabel_activity(segs, [untimed, b])]
    timed = Turn("A", 2.5, 4.0, (AttributedWord(Word(2.5, 4.0, "right.", 0.9), "A"),))
    assert (3.0, 3.65, "A") in [(s.start, round(s.end, 2), s.speaker) for s in relabel_activity(segs, [timed, b])]


def test_only_a_word_the_diarizer_heard_as_someone_else_moves_activity():
    """A word placed a little early (mostly in its own speaker's silence) does not take the
    other party's activity beside it; a word lying inside the other's activity (moved there by
    the voice stage or the user) does."""
    segs = [SpeakerSegment(0.0, 2.0, "A"), SpeakerSegment(3.0, 5.0, "B")]
    early = Turn("B", 1.7, 3.4, (AttributedWord(Word(1.7, 3.4, "time", 0.9), "B"),))  # B's word, begun 1.3 s early
    a = _turn("A", 0.0, 1.5)
    out = relabel_activity(segs, [a, early, _turn("B", 3.4, 5.0)], heard=0.5)
    assert [(s.start, s.end, s.speaker) for s in out] == [(0.0, 2.0, "A"), (3.0, 5.0, "B")]
    # without the rule the word (its first second, and the pad) took the end of A's speech
    assert (1.65, 2.0, "B") in [(round(s.start, 2), s.end, s.speaker) for s in relabel_activity(segs, [a, early], heard=None)]
    moved = Turn("B", 0.6, 1.4, (AttributedWord(Word(0.6, 1.4, "no", 0.9), "B"),))  # inside A's activity: the voice stage's move
    out = relabel_activity(segs, [_turn("A", 0.0, 0.4), moved, _turn("B", 3.0, 5.0)], heard=0.5, pad=0.0)
    assert [(s.start, s.end, s.speaker) for s in out] == [(0.0, 0.6, "A"), (0.6, 1.4, "B"), (1.4, 2.0, "A"), (3.0, 5.0, "B")]
