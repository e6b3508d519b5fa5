"""The live transcript on a real PulseAudio replay with the real models: words appear in
order, committed text never changes, the remote speaker keeps one provisional label, a name
given live ends on the right person after the batch refinement, and stopping mid-sentence
keeps the tail."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

from bench.signals import to_16k
from capture.devices import find_device
from capture.recorder import ChannelSpec, Recorder
from meetings.events import LiveCommitted, LivePartial, LiveSpeaker
from meetings.live import LiveTranscriber, apply_live_names

from .conftest import eval_item

pytestmark = [pytest.mark.audio, pytest.mark.models]

SR = 16_000


def test_live_transcript_of_a_replayed_call(pulse, engine, store, tmp_path):
    from meetings.recording import process_recording

    clips = {}
    for who, start in (("agent", 0.0), ("caller", 6.8)):
        x, sr = sf.read(eval_item("phone_call_40", who), dtype="float32")
        clips[who] = tmp_path / f"{who}.wav"
        sf.write(clips[who], to_16k(x, sr)[int(start * SR): int((start + 20) * SR)], SR, subtype="PCM_16")
    events: list = []
    folder = store.data_dir / "recordings" / "live"
    rec = Recorder(folder, [ChannelSpec("mic", find_device("mic", "virtual_mic")),
                            ChannelSpec("system", find_device("system", "sys_out.monitor"))])
    live = LiveTranscriber(lambda: engine, events.append)
    rec.add_tap(live.tap)
    rec.start()
    live.start()
    assert live.ready.wait(60) and live.error is None
    while not all(c.seconds > 0 for c in rec.status().channels):
        time.sleep(0.05)
    plays = [pulse.play("mic_feed", clips["agent"]), pulse.play("sys_out", clips["caller"])]
    deadline = time.monotonic() + 40
    while not any(isinstance(e, LiveSpeaker) for e in events) and time.monotonic() < deadline:
        time.sleep(0.1)
    first = next(e for e in events if isinstance(e, LiveSpeaker))
    live.rename(first.label, "Jack")  # the user names the caller while the call runs
    time.sleep(max(0.0, 17.0 - rec.elapsed()))
    stopped_at = rec.elapsed()  # the caller is mid-sentence here
    rec.stop()
    live.stop()
    for p in plays:
        p.kill()
        p.wait()

    committed = [e for e in events if isinstance(e, LiveCommitted)]
    partial = [e for e in events if isinstance(e, LivePartial) and e.words]
    # provisional text was shown before it was committed, unless the machine fell behind: then
    # the governor drops interim decodes first (counted), never the committed text
    assert committed and (partial or live.governor.skipped > 0)
    for channel in ("mic", "system"):
        starts = [w.start for e in committed if e.channel == channel for w in e.words]
        assert starts and starts == sorted(starts), channel  # in order
    # committed words were never rewritten: what was committed, in order, is each utterance's final text
    for u in live.utterances:
        shown = [w for e in committed if e.utterance == u.id for w in e.words]
        assert shown == u.committed[: len(shown)] and len(shown) == len(u.committed)
    said = {e.utterance: e.label for e in events if isinstance(e, LiveSpeaker) and e.utterance is not None}
    labels = {e.speaker or said.get(e.utterance) for e in committed if e.channel == "system" and e.words}
    assert labels == {first.label}  # one caller, one provisional label (announced per utterance)
    assert {e.speaker for e in committed if e.channel == "mic"} == {"LOCAL"}
    last = max(w.end for e in committed for w in e.words)
    assert last >= stopped_at - 2.0  # the tail of the sentence cut by the stop is kept

    result = process_recording(engine, folder, store, title="live call")
    applied = apply_live_names(store, result.meeting_id, live)
    names = {s.label: s.name for s in store.speakers(result.meeting_id)}
    assert names["LOCAL"] == "You" and "Jack" in applied.values()
    caller_turns = [t for t in store.turns(result.meeting_id) if t.speaker_label != "LOCAL"]
    talk = {}
    for t in caller_turns:
        talk[t.speaker_name] = talk.get(t.speaker_name, 0.0) + t.end - t.start
    assert max(talk, key=talk.get) == "Jack"

    # the refined transcript is what `parley import` gives for the finalised recording file
    from meetings.store import Store

    from capture.finalize import live_roles

    finalised = store.get_meeting(result.meeting_id).audio_path
    assert live_roles(finalised) == ("mic", "system")  # the file says which channel is whom
    other = Store(tmp_path / "imported.db")
    imported = engine.import_file(finalised, other)
    assert not imported.duplicate

    def transcript(st, mid):
        return [(t.speaker_label, round(t.start, 2), round(t.end, 2), t.text) for t in st.turns(mid)]

    assert transcript(other, imported.meeting_id) == transcript(store, result.meeting_id)
    assert {s.label: s.name for s in other.speakers(imported.meeting_id)}["LOCAL"] == "You"
