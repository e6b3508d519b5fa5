"""Live capture without an audio server: the crash-safe WAV, clock fitting and drift
correction, the channel merge and echo decisions, and the backends that cannot run here."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf

from capture.devices import (MAC_HELP, CaptureUnavailable, MacLoopbackBackend, PortAudioBackend,
                             WasapiLoopbackBackend, backend_for)
from capture.finalize import finalize, fit_clock, live_roles, read_anchors
from capture.recorder import write_manifest
from capture.recovery import owner_alive, pending
from capture.wavfile import CrashSafeWav, repair
from diarization.channels import LOCAL, MicWord, local_turns, local_words, merge_channels
from diarization.echo import cancel_echo, echo_share
from meetings.types import AttributedWord, Turn, Word

SR = 16_000


def test_crash_safe_wav_is_valid_at_each_sync_and_repairs_after_a_kill(tmp_path):
    path = tmp_path / "mic.wav"
    w = CrashSafeWav(path, SR)
    w.write(np.full(SR, 0.25, dtype=np.float32))
    w.sync()
    data, sr = sf.read(path)
    assert sr == SR and len(data) == SR and abs(data[0] - 0.25) < 1e-3
    w.write(np.full(SR // 2 + 1, -0.5, dtype=np.float32))  # written, not synced: then "killed"
    w._f.write(b"\x01")  # half a frame on disk
    os.close(os.dup(w._f.fileno()))
    assert sf.info(str(path)).frames == SR  # the header still says the synced length
    assert repair(path) == pytest.approx(1.5 + 1 / SR)
    data, _ = sf.read(path)
    assert len(data) == SR + SR // 2 + 1 and abs(data[-1] + 0.5) < 1e-3
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_repair_refuses_a_file_that_is_not_a_recording(tmp_path):
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"not a wav at all" * 10)
    with pytest.raises(ValueError, match="not a recording"):
        repair(bad)


def test_fit_clock_finds_a_thousand_ppm_drift_through_jitter():
    rng = np.random.default_rng(0)
    n = np.arange(0, 3600 * SR, SR // 2, dtype=np.float64)  # an anchor every 0.5 s for an hour
    true_period = 1.001 / SR
    t = 0.012 + n * true_period + rng.exponential(0.004, len(n))  # arrival jitter is positive
    fit = fit_clock(np.c_[n, t], SR)
    assert fit.drift_ppm(SR) == pytest.approx(1000, abs=5)
    assert abs(fit.offset - 0.012) < 0.005  # the early edge of the arrival latency
    # a busy machine: most wake-ups 20-60 ms late (a median would sit in that tail)
    late = rng.random(len(n)) < 0.6
    busy = t + late * rng.uniform(0.02, 0.06, len(n))
    assert abs(fit_clock(np.c_[n, busy], SR).offset - 0.012) < 0.005
    # short recordings: a slope cannot be told from jitter, the nominal rate is kept
    assert fit_clock(np.c_[n[:20], t[:20]], SR).period == 1.0 / SR


def _chirps(seconds: float, rate: float, every: float = 10.0) -> np.ndarray:
    """Clicks every ``every`` s of true time, sampled by a clock running at ``rate`` Hz."""
    x = np.zeros(int(seconds * rate), dtype=np.float32)
    for c in np.arange(1.0, seconds - 1, every):
        i = int(round(c * rate))
        x[i: i + 40] = np.hanning(40)
    return x


def _write_recording(folder, channels: dict, anchors: dict):
    folder.mkdir()
    for role, x in channels.items():
        sf.write(folder / f"{role}.wav", x, SR, subtype="PCM_16")
        (folder / f"{role}.anchors").write_text("".join(f"{int(a)} {b:.6f}\n" for a, b in anchors[role]) + "123 4")
    write_manifest(folder, {"version": 1, "state": "stopped", "pid": 0, "samplerate": SR, "started_at": "2026-12-01T10:00:00",
                            "channels": [{"role": r, "file": f"{r}.wav", "device": r} for r in channels], "stats": {}})


def test_finalize_aligns_a_drifting_channel_within_20_ms(tmp_path):
    seconds = 600.0
    fast = SR * 1.001  # the mic's sound card runs 1000 ppm fast: 0.6 s off after 10 minutes
    mic, system = _chirps(seconds, fast), _chirps(seconds, SR)
    anchors = {
        "mic": [(k, k / fast) for k in range(0, len(mic), SR // 2)],
        "system": [(k, k / SR) for k in range(0, len(system), SR // 2)],
    }
    folder = tmp_path / "rec"
    _write_recording(folder, {"mic": mic, "system": system}, anchors)
    fin = finalize(folder, tmp_path / "out.wav")
    out, sr = sf.read(fin.path)
    assert fin.roles == ("mic", "system") and out.shape[1] == 2 and sr == SR
    assert fin.drift_ppm["mic"] == pytest.approx(-999, abs=20)  # a fast clock: shorter period per frame
    for c in np.arange(1.0, seconds - 1, 10.0)[-5:]:  # the last clicks: where drift is largest
        i = int(c * SR)
        win = slice(i - SR // 2, i + SR // 2)
        lag = (np.argmax(out[win, 0]) - np.argmax(out[win, 1])) / SR
        assert abs(lag) < 0.020
    assert read_anchors(folder / "mic.anchors").shape[1] == 2  # a torn last line is ignored
    assert live_roles(fin.path) == ("mic", "system")  # the file says what its channels are (an import reads it)
    sf.write(tmp_path / "plain.wav", out, SR)
    assert live_roles(tmp_path / "plain.wav") is None and live_roles(tmp_path / "missing.wav") is None


def test_pending_repairs_a_recording_whose_recorder_died_and_keeps_a_live_one(tmp_path):
    root = tmp_path / "recordings"
    root.mkdir()
    dead = root / "dead"
    dead.mkdir()
    w = CrashSafeWav(dead / "mic.wav", SR)
    w.write(np.zeros(3 * SR, dtype=np.float32))  # never synced after the header: a kill right away
    write_manifest(dead, {"version": 1, "state": "recording", "pid": 2**22 + 12345, "samplerate": SR, "started_at": "2026-12-01T10:00:00",
                          "channels": [{"role": "mic", "file": "mic.wav", "device": "m"}], "stats": {}})
    alive = root / "alive"
    alive.mkdir()
    from capture.recovery import process_start_time

    write_manifest(alive, {"version": 1, "state": "recording", "pid": os.getpid(), "pid_start": process_start_time(os.getpid()),
                           "samplerate": SR, "channels": [], "stats": {}})
    found = pending(root)
    assert [p.folder.name for p in found] == ["dead"]
    assert found[0].recovered and found[0].seconds == pytest.approx(3.0)
    assert json.loads((dead / "recording.json").read_text())["state"] == "stopped"
    assert sf.info(str(dead / "mic.wav")).frames == 3 * SR
    assert owner_alive({"pid": os.getpid()}) and not owner_alive({"pid": 0})


def _w(t: float, text: str, dur: float = 0.3) -> Word:
    return Word(t, t + dur, text, 0.9)


def test_local_words_drop_echo_and_duplicates_of_the_system_channel():
    system = [_w(1.0, " hello"), _w(1.4, " there")]
    mic = [MicWord(_w(1.02, " Hello"), 0.4), MicWord(_w(1.4, " there"), 0.9),  # echo of the far end
           MicWord(_w(3.0, " yes"), 0.05), MicWord(_w(3.4, " hello"), 0.35)]  # the user's own ("hello" later: kept)
    kept, dropped = local_words(mic, system)
    assert [w.text for w in kept] == [" yes", " hello"] and dropped == 2


def test_local_turns_split_at_pauses_and_merge_marks_cross_channel_overlap():
    words = [_w(0.0, " so"), _w(0.4, " I"), _w(3.0, " right")]
    local = local_turns(words)
    assert [len(t.words) for t in local] == [2, 1] and all(t.speaker == LOCAL for t in local)
    remote = [Turn("SPEAKER_00", 2.5, 6.0, tuple(AttributedWord(_w(2.5 + i * 0.5, " x"), "SPEAKER_00") for i in range(7)))]
    merged = merge_channels(local, remote)
    assert [t.start for t in merged] == sorted(t.start for t in merged)
    right = next(t for t in merged if t.speaker == LOCAL and t.start == 3.0)
    assert right.overlapped and right.words[0].overlapping == ("SPEAKER_00",)
    assert not next(t for t in merged if t.speaker == "SPEAKER_00").overlapped  # the floor holder


def test_echo_canceller_removes_the_far_end_and_keeps_the_local_voice():
    rng = np.random.default_rng(1)
    n = 12 * SR
    t = np.arange(n) / SR
    local = np.zeros(n, np.float32)
    remote = np.zeros(n, np.float32)
    local[: n // 2] = (0.2 * np.sin(2 * np.pi * 180 * t[: n // 2]) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t[: n // 2]))).astype(np.float32)
    remote[n // 3:] = (0.2 * rng.standard_normal(n - n // 3) * np.abs(np.sin(2 * np.pi * 2 * t[n // 3:]))).astype(np.float32)
    lag = int(0.03 * SR)
    mic = local + 0.7 * np.r_[np.zeros(lag, np.float32), remote[:-lag]]  # a laptop speaker, -3 dB, 30 ms
    cleaned, report = cancel_echo(mic, remote)
    assert report.echo_blocks > 0 and report.median_lag_ms == pytest.approx(30, abs=1)
    assert echo_share(mic, cleaned, 9.0, 11.0) > 0.9  # only the far end: echo
    assert echo_share(mic, cleaned, 1.0, 3.0) < 0.05  # only the local user
    assert echo_share(mic, cleaned, 4.5, 5.5) < 0.6  # both at once: the local voice stays


@pytest.mark.parametrize("ppm", [50, 100, 200])
def test_echo_canceller_follows_two_sound_devices_whose_clocks_drift_apart(ppm):
    """The mic and the speakers on two devices: the echo's delay moves by ``ppm`` (a 100 ppm
    drift is 0.1 ms a second). A fixed echo path per 8-s block removed 14 / 8 / 3 dB here."""
    from bench.signals import to_16k
    from tests.conftest import eval_item

    remote, sr = sf.read(eval_item("phone_call_40", "caller"), dtype="float32")
    local, _ = sf.read(eval_item("phone_call_40", "agent"), dtype="float32")
    remote, local = to_16k(remote, sr)[: 60 * SR], to_16k(local, sr)[: 60 * SR]
    heard = np.arange(len(remote)) * (1 + ppm * 1e-6) - 0.03 * SR  # 30 ms of speaker and air, then the drift
    echo = 0.708 * np.interp(heard, np.arange(len(remote)), remote, left=0, right=0).astype(np.float32)
    cleaned, report = cancel_echo(local + echo, remote)
    residual = cleaned - local
    assert 10 * np.log10(np.sum(echo.astype(np.float64) ** 2) / np.sum(residual.astype(np.float64) ** 2)) >= 20
    assert report.echo_blocks >= report.blocks // 2


def test_echo_canceller_follows_a_delay_that_jumps():
    """An audio stack that drops or adds a buffer (PulseAudio's loopback does, to keep its
    latency): the echo's delay jumps by ~7 ms at once, twice in a minute."""
    from bench.signals import to_16k
    from tests.conftest import eval_item

    remote, sr = sf.read(eval_item("phone_call_40", "caller"), dtype="float32")
    local, _ = sf.read(eval_item("phone_call_40", "agent"), dtype="float32")
    remote, local = to_16k(remote, sr)[: 60 * SR], to_16k(local, sr)[: 60 * SR]
    n = np.arange(len(remote))
    delay = 0.045 * SR - 120 * (n > 21.3 * SR) + 100 * (n > 43.7 * SR)  # 45 ms, then 37.5, then 43.75
    echo = 0.708 * np.interp(n - delay, n, remote, left=0, right=0).astype(np.float32)
    cleaned, _ = cancel_echo(local + echo, remote)
    residual = (cleaned - local).astype(np.float64)
    for a, b in ((15, 27), (38, 50)):  # around each jump
        e = echo[a * SR: b * SR].astype(np.float64)
        assert 10 * np.log10(np.sum(e**2) / np.sum(residual[a * SR: b * SR] ** 2)) >= 20, (a, b)


def test_backends_that_cannot_run_here_say_why():
    with pytest.raises(CaptureUnavailable, match="only on Windows"):
        WasapiLoopbackBackend(platform="linux").devices()
    with pytest.raises(CaptureUnavailable, match="only on macOS"):
        MacLoopbackBackend(platform="linux").devices()
    with pytest.raises(CaptureUnavailable, match="pip install soundcard"):
        WasapiLoopbackBackend(platform="win32").devices()  # soundcard is not installed here
    with pytest.raises(CaptureUnavailable, match="BlackHole"):
        MacLoopbackBackend(platform="darwin", portaudio=PortAudioBackend()).devices()  # no loopback device here
    assert "Privacy" in MAC_HELP
    assert isinstance(backend_for("system", "win32"), WasapiLoopbackBackend)
    assert isinstance(backend_for("system", "darwin"), MacLoopbackBackend)
    with pytest.raises(CaptureUnavailable, match="no system-audio capture"):
        backend_for("system", "sunos5")


class _QuietLoopback:
    """A loopback source as WASAPI behaves: a burst of audio, then nothing while nothing plays.
    It runs the recorder's real threads and files; only the sound card is replaced."""

    name = "test-loopback"
    silent_when_idle = True

    def __init__(self, seconds: float):
        self.seconds = seconds

    def devices(self):
        from capture.devices import Device

        return [Device("loop", "loop", "system", self.name, True)]

    def open(self, device, samplerate, blocksize, callback):
        import threading
        import time as _t

        from capture.devices import InputStream

        seconds, stop = self.seconds, threading.Event()

        class Stream(InputStream):
            def start(self):
                def run():
                    t0 = _t.monotonic()
                    n = 0
                    while not stop.is_set() and n < seconds * samplerate:
                        _t.sleep(blocksize / samplerate)
                        callback(np.full((blocksize, 1), 0.1, np.float32), False, 0.0)
                        n += blocksize
                    while not stop.is_set():  # then silence: no callbacks at all
                        _t.sleep(0.05)
                threading.Thread(target=run, daemon=True).start()

            def close(self):
                stop.set()
        return Stream()


def test_a_loopback_source_that_goes_quiet_keeps_the_clock_without_calling_it_lost(tmp_path):
    import time as _t

    from capture.recorder import ChannelSpec, Recorder
    from meetings.events import DeviceLost

    backend = _QuietLoopback(1.0)
    events: list = []
    rec = Recorder(tmp_path / "rec", [ChannelSpec("system", backend.devices()[0])], emit=events.append,
                   open_backend=lambda role: backend)
    rec.start()
    _t.sleep(4.0)
    manifest = rec.stop()
    x, _ = sf.read(tmp_path / "rec" / "system.wav", dtype="float32")
    assert len(x) / SR == pytest.approx(4.0, abs=0.5)  # time went on while nothing played
    assert np.abs(x[-SR:]).max() == 0.0 and np.abs(x[: 2 * SR]).max() > 0.05
    assert not any(isinstance(e, DeviceLost) for e in events) and manifest["stats"]["system"]["gaps"] == []


# ------------------------------------------------------------------ resampling from the source's rate
def test_stream_resampler_keeps_the_band_and_places_every_sample():
    from capture.resample import StreamResampler

    rate = 48_000
    t = np.arange(3 * rate) / rate
    x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 7200 * t)).astype(np.float32)
    x[rate] = 1.0  # an impulse at 1 s
    rs = StreamResampler(rate, SR)
    rng = np.random.default_rng(0)
    outs, ends, i = [], [], 0
    while i < len(x):
        n = int(rng.integers(1, 2000))
        out, held = rs(x[i: i + n])
        i += len(x[i: i + n])
        outs.append(out)
        ends.append(i / rate - held)  # where the output so far ends, in input time
    y = np.concatenate(outs + [rs.flush()])
    assert len(y) == pytest.approx(len(x) * SR / rate, abs=2)
    total = 0
    for out, end in zip(outs, ends):  # the held-back time says exactly where each output block ends
        total += len(out)
        assert total / SR == pytest.approx(end, abs=1.5 / SR)
    tt = np.arange(len(y)) / SR
    want = 0.3 * np.sin(2 * np.pi * 440 * tt) + 0.3 * np.sin(2 * np.pi * 7200 * tt)
    far = (np.abs(tt - 1.0) > 0.01) & (tt > 0.05) & (tt < 2.95)  # away from the impulse and the ends
    assert np.max(np.abs(y[far] - want[far])) < 0.01  # 7.2 kHz kept at full level
    assert abs(int(np.argmax(y - want)) - SR) <= 1  # the impulse where it was


def test_stream_resampler_is_the_identity_at_the_recording_rate():
    from capture.resample import StreamResampler

    x = np.random.default_rng(1).standard_normal(1000).astype(np.float32)
    out, held = StreamResampler(SR, SR)(x)
    assert held == 0.0 and np.array_equal(out, x)


def test_pulse_sample_specification_gives_the_source_rate():
    from capture.devices import _spec_rate

    assert _spec_rate("s16le 2ch 48000Hz") == 48000
    assert _spec_rate("float32le 1ch 44100Hz") == 44100
    assert _spec_rate("") == 0 and _spec_rate("n/a") == 0


class _ToneSource:
    """A 48-kHz source playing a 7 kHz tone in real time (the recorder's threads and files are real)."""

    name = "test-tone"

    def __init__(self):
        self.opened_at: list[int] = []

    def devices(self):
        from capture.devices import Device

        return [Device("tone", "tone", "mic", self.name, True, rate=48_000)]

    def open(self, device, samplerate, blocksize, callback):
        import threading
        import time as _t

        from capture.devices import InputStream

        self.opened_at.append(samplerate)
        stop = threading.Event()

        class Stream(InputStream):
            def start(self):
                def run():
                    n, t0 = 0, _t.monotonic()
                    while not stop.is_set():
                        k = np.arange(n, n + blocksize)
                        callback((0.5 * np.sin(2 * np.pi * 7000 * k / samplerate)).astype(np.float32)[:, None], False, 0.0)
                        n += blocksize
                        _t.sleep(max(0.0, t0 + n / samplerate - _t.monotonic()))
                threading.Thread(target=run, daemon=True).start()

            def close(self):
                stop.set()
        return Stream()


def test_the_recorder_opens_a_source_at_its_own_rate_and_writes_16_khz(tmp_path):
    import time as _t

    from capture.recorder import ChannelSpec, Recorder

    source = _ToneSource()
    rec = Recorder(tmp_path / "rec", [ChannelSpec("mic", source.devices()[0])], open_backend=lambda role: source)
    rec.start()
    _t.sleep(2.0)
    manifest = rec.stop()
    x, sr = sf.read(tmp_path / "rec" / "mic.wav", dtype="float32")
    assert source.opened_at == [48_000] and sr == SR and manifest["stats"]["mic"]["device_rate"] == 48_000
    assert len(x) / SR == pytest.approx(2.0, abs=0.3)
    tone = x[-SR:]
    assert np.sqrt(np.mean(tone**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.03)  # 7 kHz at full level
