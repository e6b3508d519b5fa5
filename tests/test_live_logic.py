"""The live transcript's policies on hand-built streams (no models): LocalAgreement-2 commits
that never rewrite, Whisper's streaming failures filtered, the lag governor, incremental
speaker matching, and live names mapped onto the refined speakers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from diarization.online_speakers import OnlineSpeakers
from diarization.streaming import Governor, Utterance, agreed_prefix, plausible
from meetings.events import LiveBacklog, LiveCommitted, LivePartial, LiveSpeaker
from meetings.live import EventLog, map_live_speakers
from meetings.types import Word


def ws(text: str, start: float = 0.0, step: float = 0.4) -> list[Word]:
    return [Word(start + i * step, start + i * step + 0.3, " " + t, 0.9) for i, t in enumerate(text.split())]


def test_local_agreement_commits_only_what_two_hypotheses_share_and_never_rewrites():
    u = Utterance("system", 1, 0.0, 3.0)
    new, rest = u.interim(ws("so the plan"))
    assert new == [] and [w.text for w in rest] == [" so", " the", " plan"]  # nothing agreed yet
    new, rest = u.interim(ws("so the plan is to"))
    assert [w.text for w in new] == [" so", " the", " plan"] and [w.text for w in rest] == [" is", " to"]
    new, rest = u.interim(ws("so a plan is to ship"))  # disagrees inside the committed part: committed stays
    assert new == [] and [w.text for w in u.committed] == [" so", " the", " plan"]
    tail = u.final(ws("so the plan is to ship it friday"))
    assert [w.text for w in tail] == [" is", " to", " ship", " it", " friday"]
    assert [w.text.strip() for w in u.committed] == "so the plan is to ship it friday".split()


def test_final_decode_does_not_repeat_the_last_committed_word():
    u = Utterance("mic", 2, 0.0, 2.0)
    u.interim(ws("hello there"))
    u.interim(ws("hello there"))
    tail = u.final(ws("there friend", start=0.4))  # starts at the committed "there"
    assert [w.text for w in tail] == [" friend"]


def test_committed_words_stay_in_time_order_when_a_later_hypothesis_times_them_earlier():
    u = Utterance("system", 3, 10.0, 13.0)
    u.interim(ws("we can", start=10.0, step=0.4))
    u.interim(ws("we can ship", start=10.0, step=0.4))  # "we can" committed, "can" at 10.4-10.7
    new, _ = u.interim(ws("we can ship it", start=9.9, step=0.25))  # retimed: "ship" would start at 10.4
    assert [w.text for w in new] == [" ship"] and new[0].start >= u.committed[1].end
    tail = u.final(ws("we can ship it", start=9.8, step=0.25), floor=0.0)
    starts = [w.start for w in u.committed]
    assert [w.text for w in tail] == [" it"] and starts == sorted(starts)
    # a new utterance on the channel starts no earlier than where the last one's committed words end
    v = Utterance("system", 4, 11.0, 12.0)
    assert v.final(ws("next", start=10.6), floor=u.committed[-1].end)[0].start == u.committed[-1].end


def test_agreed_prefix_ignores_case_and_punctuation():
    assert agreed_prefix(ws("Yes, we can"), ws("yes we could")) == 2


def test_whisper_streaming_failures_are_filtered():
    assert not plausible(ws("Thank you."), speech_seconds=0.8)  # a stock phrase over a little noise
    assert plausible(ws("Thank you."), speech_seconds=3.0)  # said for real
    assert not plausible(ws(" ".join(["the"] * 12)), 5.0)  # a loop
    assert not plausible(ws("we will ship on friday"), 2.0, recent=("we will ship on friday",))  # the same line again
    assert not plausible([], 2.0)


def test_governor_drops_interim_decodes_first_when_the_machine_falls_behind():
    g = Governor(max_backlog=1.5, max_rtf=0.6)
    g.decoded(audio_seconds=2.0, compute_seconds=0.4)
    assert g.allow_interim(pending_final_seconds=0.5)
    assert not g.allow_interim(pending_final_seconds=4.0)  # finals waiting: no interims
    for _ in range(10):
        g.decoded(1.0, 1.5)  # slower than real time
    assert not g.allow_interim(0.0) and g.skipped == 2


def _voice(seed: int, n: int = 192) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def _near(v: np.ndarray, seed: int, noise: float = 0.6) -> np.ndarray:
    return v + noise * np.random.default_rng(seed).standard_normal(len(v))


def test_online_speakers_need_enough_speech_for_a_new_person_and_never_renumber():
    s = OnlineSpeakers()
    a, b = _voice(1), _voice(2)
    assert s.observe(_near(a, 10), 0.8).label is None  # too short to found anyone
    first = s.observe(_near(a, 11), 2.5)
    assert first.label == "S1" and first.new
    assert s.observe(_near(a, 12), 1.2).label == "S1"
    short_b = s.observe(_near(b, 13), 0.9)  # a different voice, but too little speech: no new person
    assert not short_b.new and len(s.labels) == 1
    second = s.observe(_near(b, 14), 3.0)
    assert second.label == "S2" and second.new
    assert [s.observe(_near(v, 20 + i), 2.0).label for i, v in enumerate((a, b, a, b))] == ["S1", "S2", "S1", "S2"]
    assert s.labels == ["S1", "S2"]


def test_live_names_map_onto_refined_speakers_by_time_overlap():
    live = [(0, 5, "S1"), (5, 9, "S2"), (9, 12, "S1"), (12, 13, None)]
    batch = [(0.2, 4.8, "SPEAKER_01"), (5.1, 8.7, "SPEAKER_00"), (9.0, 12.5, "SPEAKER_01"), (20, 21, "SPEAKER_02")]
    assert map_live_speakers(live, batch) == {"SPEAKER_01": "S1", "SPEAKER_00": "S2"}
    assert map_live_speakers([], batch) == {}


def test_event_log_writes_one_json_line_per_displayed_word(tmp_path):
    t = [10.0]
    log = EventLog(tmp_path / "ev.jsonl", t0=lambda: 8.0, clock=lambda: t[0])
    log(LivePartial("system", 3, "S1", tuple(ws("hello there", start=1.0))))
    t[0] = 11.5
    log(LiveCommitted("system", 3, "S1", tuple(ws("hello", start=1.0))))
    log(LiveSpeaker("S1", "Priya", provisional=False))
    log(LiveBacklog(0.4, 0))
    log.close()
    lines = [json.loads(x) for x in (tmp_path / "ev.jsonl").read_text().splitlines()]
    words = [x for x in lines if x["type"] == "word"]
    assert [(w["state"], w["text"], w["emitted"]) for w in words] == [("interim", "hello", 2.0), ("interim", "there", 2.0),
                                                                       ("committed", "hello", 3.5)]
    assert words[0]["start"] == pytest.approx(1.0) and words[0]["speaker"] == "S1"
    assert {"speaker", "backlog"} <= {x["type"] for x in lines}


def test_provisional_label_is_what_the_final_decision_would_give_and_moves_nothing():
    s = OnlineSpeakers()
    a, b, c = _voice(1), _voice(2), _voice(3)
    assert s.provisional(1, _near(a, 30), 1.0).label is None  # nobody known yet, too little speech
    s.observe(_near(a, 31), 2.5)
    before = [x.copy() for x in s.centroids], list(s.weights)
    assert s.provisional(2, _near(a, 32), 2.0).label == "S1"
    # a stranger with enough speech gets a label reserved while still talking ...
    assert s.provisional(3, _near(b, 33), 2.0).label == "S2"
    assert s.provisional(3, _near(b, 34), 3.0).label == "S2"  # ... kept as the utterance grows
    assert s.labels == ["S1"] and s.weights == before[1] and all(np.array_equal(x, y) for x, y in zip(s.centroids, before[0]))
    # another running utterance of the same stranger is shown the same label
    assert s.provisional(4, _near(b, 35), 2.0).label == "S2"
    # the final decision founds the new person under the reserved label
    assert s.observe(_near(b, 36), 4.0, reserved=s.release(3)).label == "S2" and s.labels == ["S1", "S2"] and not s.reserved


def test_a_reserved_label_the_final_decision_does_not_keep_is_never_reused():
    s = OnlineSpeakers()
    a, c = _voice(1), _voice(3)
    s.observe(_near(a, 40), 2.5)
    assert s.provisional(7, _near(c, 41), 2.0).label == "S2"  # looked new so far ...
    assert s.observe(_near(a, 42), 6.0, reserved=s.release(7)).label == "S1"  # ... but the whole utterance is S1's
    assert s.labels == ["S1"] and not s.reserved
    assert s.provisional(8, _near(c, 43), 2.0).label == "S3"  # the next new voice: S2 is not handed out again
    s.release(8)
    assert not s.reserved and s.observe(_near(c, 44), 3.0).label == "S4"


def test_decisions_are_the_same_with_or_without_provisional_labels():
    voices = [_voice(v) for v in (1, 2, 3, 1, 4, 2, 3, 1)]
    plain, shown = OnlineSpeakers(), OnlineSpeakers()
    got_plain = [plain.observe(_near(v, 50 + i), 3.0).label for i, v in enumerate(voices)]
    got_shown = []
    for i, v in enumerate(voices):
        shown.provisional(i, _near(v, 80 + i, noise=1.0), 2.0)  # a noisier voice so far
        got_shown.append(shown.observe(_near(v, 50 + i), 3.0, reserved=shown.release(i)).label)
    # the same people in the same order; only the numbers may skip labels released on the way
    assert len(set(got_plain)) == len(set(got_shown))
    assert [got_plain.index(x) for x in got_plain] == [got_shown.index(x) for x in got_shown]
    assert all(np.array_equal(x, y) for x, y in zip(plain.centroids, shown.centroids))


class _Voices:
    """A stand-in for the models on hand-built audio: a clip's "voice" is its median sample value
    (1, 2 …: who speaks most of it), its words one per second."""

    def __init__(self):
        from types import SimpleNamespace

        self.options = SimpleNamespace(language="en", beam_size=1)
        self.diarizer = SimpleNamespace(embed=lambda x: _voice(int(round(float(np.median(x))))))
        self.transcriber = SimpleNamespace(model=SimpleNamespace(transcribe=self._transcribe))

    @staticmethod
    def _transcribe(audio, **_):
        from types import SimpleNamespace

        n = len(audio) // 16_000
        words = [SimpleNamespace(start=i + 0.1, end=i + 0.6, word=f" w{i}", probability=0.9) for i in range(n)]
        return [SimpleNamespace(no_speech_prob=0.0, avg_logprob=-0.2, compression_ratio=1.2, words=words)], None


def _system_transcriber():
    """A system-channel transcriber on :class:`_Voices`, and a helper that appends an utterance
    of (voice, seconds) parts to the channel's audio."""
    from meetings.live import LiveTranscriber

    events: list = []
    live = LiveTranscriber(_Voices, events.append, roles=("system",))
    live.engine = _Voices()
    ch = live.channels["system"]

    def utterance(uid, start, parts):
        ch.audio = np.concatenate([ch.audio, *[np.full(int(sec * 16_000), float(v), np.float32) for v, sec in parts]])
        return Utterance("system", uid, start, start + sum(sec for _, sec in parts))

    return events, live, ch, utterance


def test_an_utterance_gets_its_speaker_from_its_whole_voice_at_the_final_decode():
    events, live, ch, utterance = _system_transcriber()

    u1 = utterance(1, 0.0, [(1, 3.0)])
    live._final(ch, u1)  # the first voice founds S1
    u2 = utterance(2, 3.0, [(2, 3.0)])
    live._final(ch, u2)  # a second voice, S2
    assert (u1.speaker, u2.speaker) == ("S1", "S2")
    events.clear()
    # S1 starts, S2 takes over and says most of it: provisional S1 while it runs, S2 at its end
    u3 = utterance(3, 6.0, [(1, 2.0), (2, 4.0)])
    u3.end = 8.0
    live._interim(ch, u3)
    assert u3.speaker == "S1"
    u3.end = 12.0
    live._final(ch, u3)
    assert u3.speaker == "S2"
    said = [e for e in events if isinstance(e, LiveSpeaker) and e.utterance == 3]
    assert [e.label for e in said] == ["S1", "S2"]  # re-announced: the words already shown follow
    last = [e for e in events if isinstance(e, (LiveCommitted, LivePartial))][-2:]
    assert {e.speaker for e in last} == {"S2"} and live.speakers.labels == ["S1", "S2"]


def test_a_new_voice_is_labelled_while_it_speaks_and_a_label_not_kept_is_dropped():
    from meetings.events import LiveSpeakerDropped

    events, live, ch, utterance = _system_transcriber()

    live._final(ch, utterance(1, 0.0, [(1, 3.0)]))  # S1
    u2 = utterance(2, 3.0, [(2, 4.0)])
    u2.end = 5.0
    live._interim(ch, u2)  # two seconds of a new voice: labelled now, not at the end
    assert u2.speaker == "S2" and live.speakers.labels == ["S1"]
    u2.end = 7.0
    live._final(ch, u2)
    assert u2.speaker == "S2" and live.speakers.labels == ["S1", "S2"]
    assert [e.label for e in events if isinstance(e, LiveSpeaker) and e.utterance == 2] == ["S2"]  # announced once
    # a voice that looks new for its first seconds, then is S1's for most of the utterance
    u3 = utterance(3, 7.0, [(3, 2.0), (1, 6.0)])
    u3.end = 9.0
    live._interim(ch, u3)
    assert u3.speaker == "S3"
    u3.end = 15.0
    live._final(ch, u3)
    assert u3.speaker == "S1" and live.speakers.labels == ["S1", "S2"]
    assert [e.label for e in events if isinstance(e, LiveSpeakerDropped)] == ["S3"] and "S3" not in live.names


def test_speech_between_two_speakers_is_labelled_but_moves_no_centroid():
    s = OnlineSpeakers()
    a, b = _voice(1), _voice(2)
    s.observe(a, 3.0)
    s.observe(b, 3.0)
    before = [c.copy() for c in s.centroids], list(s.weights)
    between = s.observe(a + b, 4.0)  # as near one as the other: labelled, not learned from
    assert between.label in ("S1", "S2") and s.weights == before[1]
    assert all(np.array_equal(x, y) for x, y in zip(s.centroids, before[0]))
    clear = s.observe(_near(a, 60, noise=0.3), 2.0)  # clearly S1's: S1 learns from it
    assert clear.label == "S1" and s.weights == [before[1][0] + 2.0, before[1][1]]
