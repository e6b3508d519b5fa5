"""Live capture through a real PulseAudio server (null sinks stand in for the hardware):
what is played is what is recorded, on one time base; a vanished device, a kill -9 of the
recorder and a full disk lose nothing that was written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.signals import to_16k, xcorr_peak
from capture.devices import find_device
from capture.finalize import finalize
from capture.recorder import ChannelSpec, Recorder, read_manifest
from meetings.events import CaptureFailed, DeviceBack, DeviceLost

from .conftest import REPO, eval_item

pytestmark = pytest.mark.audio

SR = 16_000


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """12 s of each party of the real phone call (agent: the local user; caller: the remote side),
    from where each one talks."""
    d = tmp_path_factory.mktemp("clips")
    out = {}
    for who, start in (("agent", 0.0), ("caller", 6.8)):
        x, sr = sf.read(eval_item("phone_call_40", who), dtype="float32")
        x = to_16k(x, sr)[int(start * SR): int((start + 12) * SR)]
        sf.write(d / f"{who}.wav", x, SR, subtype="PCM_16")
        out[who] = d / f"{who}.wav"
    rng = np.random.default_rng(3)
    bursts = np.zeros(8 * SR, dtype=np.float32)
    for s in (1.0, 3.2, 5.5):  # noise bursts: sharp for measuring the lag between channels
        i = int(s * SR)
        bursts[i: i + SR // 5] = 0.3 * rng.standard_normal(SR // 5).astype(np.float32)
    sf.write(d / "bursts.wav", bursts, SR, subtype="PCM_16")
    out["bursts"] = d / "bursts.wav"
    return out


def _recorder(folder: Path, events: list | None = None, **kw) -> Recorder:
    specs = [ChannelSpec("mic", find_device("mic", "virtual_mic")), ChannelSpec("system", find_device("system", "sys_out.monitor"))]
    return Recorder(folder, specs, emit=(events.append if events is not None else None), **kw)


def _wait_for_audio(rec: Recorder, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(c.seconds > 0 for c in rec.status().channels):
            return
        time.sleep(0.05)
    raise AssertionError(f"no audio from the server: {rec.status()}")


def _wait(proc: subprocess.Popen) -> None:
    assert proc.wait(timeout=60) == 0


def test_parley_devices_lists_sources_and_marks_defaults(pulse, capsys):
    from meetings.cli import main

    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    mics, system = out.split("System audio")
    assert "*  0  virtual_mic" in mics
    assert "* " in system and "sys_out.monitor" in system and "virtual_mic" not in system
    assert find_device("system", "1").id in {"mic_feed.monitor", "sys_out.monitor", "both.monitor"}


def test_both_channels_hold_what_was_played_with_nothing_dropped(pulse, clips, tmp_path):
    rec = _recorder(tmp_path / "rec")
    rec.start()
    _wait_for_audio(rec)
    plays = [pulse.play("mic_feed", clips["agent"]), pulse.play("sys_out", clips["caller"])]
    for p in plays:
        _wait(p)
    time.sleep(0.5)
    manifest = rec.stop()
    assert manifest["state"] == "stopped"
    fin = finalize(tmp_path / "rec", tmp_path / "out.wav")
    out, _ = sf.read(fin.path, dtype="float32")
    for ch, who in ((0, "agent"), (1, "caller")):
        ref, _ = sf.read(clips[who], dtype="float32")
        peak, lag = xcorr_peak(out[:, ch], ref)
        assert peak >= 0.95, (who, peak, lag)
    for role in ("mic", "system"):
        st = manifest["stats"][role]
        assert st["overflows"] == 0 and st["dropped_blocks"] == 0 and st["gaps"] == []
    assert oct((tmp_path / "rec" / "mic.wav").stat().st_mode & 0o777) == "0o600"


def test_the_top_of_the_speech_band_is_recorded(pulse, tmp_path):
    """The source is opened at its own rate (48 kHz here) and resampled by Parley: the server's
    own resampler, used for a 16-kHz stream, cuts 7 kHz by 7.9 dB against 1 kHz (measured)."""
    t = np.arange(3 * 48_000) / 48_000  # played at the sink's rate (a 16-kHz file is cut by the server on playback too)
    tones = (0.2 * np.sin(2 * np.pi * 1000 * t) + 0.2 * np.sin(2 * np.pi * 7000 * t)).astype(np.float32)
    sf.write(tmp_path / "tones.wav", tones, 48_000, subtype="PCM_16")
    rec = Recorder(tmp_path / "rec", [ChannelSpec("system", find_device("system", "sys_out.monitor"))])
    rec.start()
    _wait_for_audio(rec)
    _wait(pulse.play("sys_out", tmp_path / "tones.wav"))
    time.sleep(0.3)
    manifest = rec.stop()
    x, sr = sf.read(tmp_path / "rec" / "system.wav", dtype="float32")
    assert sr == SR and manifest["stats"]["system"]["device_rate"] == 48000
    start = int(np.argmax(np.convolve(x**2, np.ones(SR // 10) / (SR // 10), "same") > 0.01)) + SR // 10
    spectrum = np.abs(np.fft.rfft(x[start: start + 2 * SR] * np.hanning(2 * SR))) ** 2  # 2 s of the tones
    f = np.fft.rfftfreq(2 * SR, 1 / SR)
    power = {hz: spectrum[(f > hz - 20) & (f < hz + 20)].sum() for hz in (1000, 7000)}
    assert abs(10 * np.log10(power[7000] / power[1000])) <= 1.5, power


def test_the_two_channels_share_one_time_base_within_20_ms(pulse, clips, tmp_path):
    # both channels record one source: each hears the same sound at the same moment, so any lag
    # between them is the recorder's own (a remapped source in this rig adds ~20 ms of its own)
    same = find_device("system", "mic_feed.monitor")
    specs = [ChannelSpec("mic", same), ChannelSpec("system", same)]
    rec = Recorder(tmp_path / "rec", specs)
    rec.start()
    _wait_for_audio(rec)
    _wait(pulse.play("mic_feed", clips["bursts"]))
    time.sleep(0.3)
    rec.stop()
    fin = finalize(tmp_path / "rec", tmp_path / "out.wav")
    out, _ = sf.read(fin.path, dtype="float32")
    peak, lag = xcorr_peak(out[:, 0], out[:, 1], max_lag=1.0)
    print(f"channel alignment: lag {lag * 1000:.1f} ms, correlation {peak:.3f}")
    assert peak > 0.95 and abs(lag) <= 0.020, (peak, lag)


def test_a_vanished_microphone_becomes_marked_silence_and_is_taken_back(pulse, clips, tmp_path):
    events: list = []
    rec = _recorder(tmp_path / "rec", events)
    rec.start()
    _wait_for_audio(rec)
    long = tmp_path / "long.wav"
    sf.write(long, np.tile(sf.read(clips["caller"], dtype="float32")[0], 2), SR, subtype="PCM_16")
    plays = [pulse.play("sys_out", long), pulse.play("mic_feed", long)]
    time.sleep(2.0)
    module = pulse.module_of("virtual_mic")
    pulse.pactl("unload-module", str(module))  # the headset is unplugged
    time.sleep(3.0)
    assert any(isinstance(e, DeviceLost) and e.channel == "mic" for e in events)
    mid = rec.status()
    assert mid.running and next(c for c in mid.channels if c.role == "mic").lost
    back_at = time.monotonic()
    pulse.pactl("load-module", "module-remap-source", "master=mic_feed.monitor", "source_name=virtual_mic")
    while not any(isinstance(e, DeviceBack) for e in events) and time.monotonic() - back_at < 5:
        time.sleep(0.05)
    reacquired = time.monotonic() - back_at
    time.sleep(1.5)
    manifest = rec.stop()
    for p in plays:
        p.kill()
        p.wait()
    assert reacquired <= 3.0
    assert not any(isinstance(e, DeviceLost) and e.channel == "system" for e in events)
    mic_gaps, sys_gaps = manifest["stats"]["mic"]["gaps"], manifest["stats"]["system"]["gaps"]
    assert sys_gaps == [] and len(mic_gaps) == 1 and 2.5 <= mic_gaps[0][1] <= 3.0 + reacquired + 0.5
    mic, _ = sf.read(tmp_path / "rec" / "mic.wav", dtype="float32")
    system, _ = sf.read(tmp_path / "rec" / "system.wav", dtype="float32")
    assert abs(len(mic) - len(system)) / SR < 0.3  # the same time base across the gap
    start, dur = mic_gaps[0]
    gap = mic[int((start + 0.05) * SR): int((start + dur - 0.05) * SR)]
    assert np.abs(gap).max() == 0.0  # silence — not the system audio the server moved the stream to
    assert np.abs(mic[int((start + dur + 0.3) * SR):]).max() > 0.01  # and the voice again after


def _parley(env: dict, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "meetings.cli", *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_kill_9_of_the_recorder_loses_at_most_a_second_and_is_offered_on_the_first_restart(pulse, clips, tmp_path):
    env = {**os.environ, "PARLEY_DATA_DIR": str(tmp_path / "data")}
    proc = _parley(env, "record", "--no-process", "--quiet")
    recordings = tmp_path / "data" / "recordings"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(recordings.glob("*/recording.json")):
        time.sleep(0.02)
    folder = next(recordings.glob("*"))
    while time.monotonic() < deadline and not all((folder / f).exists() and (folder / f).stat().st_size > 44 + SR
                                                  for f in ("mic.wav", "system.wav")):
        time.sleep(0.02)  # both streams deliver (the first sync after their first block)
    started = time.monotonic() - ((folder / "mic.wav").stat().st_size - 44) / 2 / SR  # the recorder's t0
    plays = [pulse.play("mic_feed", clips["agent"]), pulse.play("sys_out", clips["caller"])]
    time.sleep(7.0)
    proc.send_signal(signal.SIGKILL)
    killed = time.monotonic() - started
    proc.wait()
    for p in plays:
        p.kill()
        p.wait()
    assert read_manifest(folder)["state"] == "recording"  # as the kill left it

    listed = subprocess.run([sys.executable, "-m", "meetings.cli", "list"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "unfinished recording" in listed.stderr and "recovered after a crash" in listed.stderr
    manifest = read_manifest(folder)
    assert manifest["state"] == "stopped" and manifest["recovered"]
    for role, who in (("mic", "agent"), ("system", "caller")):
        x, sr = sf.read(folder / f"{role}.wav", dtype="float32")
        assert len(x) / sr >= killed - 1.0, (role, len(x) / sr, killed)
        ref, _ = sf.read(clips[who], dtype="float32")
        assert xcorr_peak(x, ref[: int((killed - 3.0) * SR)])[0] > 0.9  # the audio up to the kill is there
    check = subprocess.run([sys.executable, "-c",
                            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])",
                            str(tmp_path / "data" / "parley.db")], capture_output=True, text=True)
    assert check.stdout.strip() == "ok"
    again = subprocess.run([sys.executable, "-m", "meetings.cli", "recover"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert folder.name in again.stdout and "recovered after a crash" in again.stdout


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k,mode=0700", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_stops_the_recording_with_a_clear_message_and_keeps_what_was_written(pulse, clips, small_disk):
    events: list = []
    rec = _recorder(small_disk / "rec", events)
    rec.start()
    plays = [pulse.play("mic_feed", clips["agent"]), pulse.play("sys_out", clips["caller"])]
    assert rec.wait(20.0), "the recording did not stop on a full disk"
    manifest = rec.stop()
    for p in plays:
        p.kill()
        p.wait()
    failed = [e for e in events if isinstance(e, CaptureFailed)]
    assert failed and "disk is full" in failed[0].message and str(small_disk / "rec") in failed[0].message
    assert manifest["state"] == "failed" and "disk is full" in manifest["error"]
    for role in ("mic", "system"):
        info = sf.info(str(small_disk / "rec" / f"{role}.wav"))  # valid as it is: no repair needed
        assert info.frames / SR >= 0.5


@pytest.mark.models
def test_a_call_recorded_as_mic_and_system_gets_both_parties_and_no_echo_as_you(pulse, tmp_path, engine, store):
    """The agent talks into the mic; the caller comes out of laptop speakers, so the mic also
    hears the caller at -3 dB (a loopback in the audio server: the echo always follows the
    sound, however late the two players start). The stored meeting: the agent is "You", the
    caller is not."""
    from meetings.recording import process_recording

    agent, sr = sf.read(eval_item("phone_call_40", "agent"), dtype="float32")
    caller, _ = sf.read(eval_item("phone_call_40", "caller"), dtype="float32")
    agent, caller = to_16k(agent, sr)[: 30 * SR], to_16k(caller, sr)[: 30 * SR]
    sf.write(tmp_path / "agent.wav", agent, SR, subtype="PCM_16")
    sf.write(tmp_path / "caller.wav", caller, SR, subtype="PCM_16")
    rec = _recorder(store.data_dir / "recordings" / "call")
    with pulse.speaker_echo(gain=0.708, latency_ms=20):
        rec.start()
        _wait_for_audio(rec)
        plays = [pulse.play("mic_feed", tmp_path / "agent.wav"), pulse.play("sys_out", tmp_path / "caller.wav")]
        for p in plays:
            _wait(p)
        time.sleep(0.5)
        rec.stop()
    result = process_recording(engine, store.data_dir / "recordings" / "call", store, title="Car repair call")
    assert store.source_kind(result.meeting_id) == "live"
    speakers = {s.label: s.name for s in store.speakers(result.meeting_id)}
    assert speakers["LOCAL"] == "You" and len(speakers) >= 2
    turns = store.turns(result.meeting_id)
    out, _ = sf.read(store.get_meeting(result.meeting_id).audio_path, dtype="float32")
    # where each party's audio starts in the recording (the two players start a little apart)
    offset = {"caller": xcorr_peak(out[:, 1], caller)[1], "agent": xcorr_peak(out[:, 0], agent)[1]}
    ref = [line.split() for line in (eval_item("phone_call_40").parent / "phone_call_40.rttm").read_text().splitlines()]
    spans = {"agent": [], "caller": []}
    for p in ref:
        s, d = float(p[3]), float(p[4])
        if s < 30:
            spans[p[7]].append((s + offset[p[7]], s + d + offset[p[7]]))

    def inside(t, who):
        return any(a - 0.2 <= t <= b + 0.2 for a, b in spans[who])

    you_words = [w for t in turns if t.speaker_name == "You" for w in t.words]
    remote_words = [w for t in turns if t.speaker_name != "You" for w in t.words]
    leaked = [w.text for w in you_words if inside((w.start + w.end) / 2, "caller") and not inside((w.start + w.end) / 2, "agent")]
    assert len(you_words) >= 15 and len(remote_words) >= 15
    assert len(leaked) <= 0.02 * len(remote_words), leaked  # remote words that became "You"
    mine = sum(inside((w.start + w.end) / 2, "agent") for w in you_words) / len(you_words)
    assert mine >= 0.9
    text = " ".join(t.text for t in turns if t.speaker_name == "You").lower()
    assert "platinum" in text or "michelle" in text
