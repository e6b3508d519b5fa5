"""Live recording of several sources (the microphone and the system audio) on one time base,
crash-safe, surviving devices that come and go.

Threads and their jobs:
* the audio callback (PortAudio's thread) only copies a block into a bounded queue, with the
  monotonic time it arrived and the stream's reported latency; a full queue counts a dropped
  block (its length becomes silence);
* one writer thread drains the queues into one :class:`~capture.wavfile.CrashSafeWav` per
  channel, places blocks on the shared clock (a stall of the device becomes silence, marked as
  a gap), records (frame, time) anchors for drift correction, and syncs files and the manifest
  at least once a second;
* one supervisor thread re-opens a lost device (the same one when it returns, else the
  system's default of that kind) without ever blocking the writer.

The folder holds ``<role>.wav``, ``<role>.anchors`` and ``recording.json`` (state, owner pid,
devices, overflows, gaps). :mod:`capture.recovery` repairs a folder left by a killed recorder
and :func:`capture.finalize.finalize` turns a folder into aligned 16 kHz channels.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from capture.devices import CaptureUnavailable, Device, backend_for
from capture.resample import StreamResampler
from capture.wavfile import CrashSafeWav
from meetings.events import CaptureFailed, DeviceBack, DeviceLost, EventSink

__all__ = ["ChannelSpec", "ChannelStatus", "RecorderStatus", "Recorder", "MANIFEST", "write_manifest", "read_manifest"]

MANIFEST = "recording.json"
SYNC_EVERY = 0.5  # seconds between header rewrites + fsync (a kill loses at most this much)
STALL = 2.0  # no block for this long: the device is lost (servers stall ~1 s when their modules change)
ARRIVAL_GAP = 0.5  # a pause in arrivals longer than this may hide missing audio
MIN_GAP = 0.1  # missing audio shorter than this is jitter, not a gap
REOPEN_EVERY = 0.5
SETTLE_PLACE = 0.6  # seconds a stream's first blocks wait, so its start-up burst is over when placed
STARTUP = 4.0
IDLE_FILL = 0.3  # a loopback source silent this long gets silence written on the clock  # a device may take this long to deliver its first block (PulseAudio null sinks: ~2 s)


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One source to record: ``role`` is ``"mic"`` (the local user) or ``"system"`` (the others)."""

    role: str
    device: Device
    #: another device of the same kind may stand in when this one is gone (the default one)
    fallback_to_default: bool = True


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    role: str
    device: str
    seconds: float
    level_db: float  # RMS of the last ~100 ms, dBFS
    peak: float
    overflows: int  # blocks the driver reported as overflowed
    dropped: int  # blocks lost because the writer fell behind
    lost: bool
    gaps: tuple[tuple[float, float], ...]  # (start, duration) of silence filled in for a missing device


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    elapsed: float
    channels: tuple[ChannelStatus, ...]
    error: str | None = None
    running: bool = True


def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def _process_start() -> str | None:
    from capture.recovery import process_start_time

    return process_start_time(os.getpid())


def write_manifest(folder: Path, data: dict) -> None:
    """Atomic: a reader (or a crash) sees the old manifest or the new one, never half of one."""
    tmp = folder / (MANIFEST + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / MANIFEST)


def read_manifest(folder: Path) -> dict:
    return json.loads((Path(folder) / MANIFEST).read_text())


@dataclass
class _Channel:
    spec: ChannelSpec
    wav: CrashSafeWav
    anchors: object  # text file
    queue: queue.Queue
    device: Device
    backend: object = None
    stream: object = None
    last_arrival: float = 0.0
    last_anchor: float = -1.0
    overflows: int = 0
    dropped: int = 0
    dropped_frames: int = 0
    lost: bool = False
    lost_since: float = 0.0
    last_attempt: float = 0.0
    gaps: list = field(default_factory=list)
    level: float = 0.0
    peak: float = 0.0
    got_audio: bool = False
    opened_at: float = 0.0
    segments: list = field(default_factory=list)  # frames where placement on the clock (re)started
    settling: bool = False  # collecting a start-up / after-stall burst before placing it
    settle_since: float = 0.0
    pending: list = field(default_factory=list)
    generation: int = 0  # blocks of an older stream (one the server moved elsewhere) are not this device's
    resampler: StreamResampler | None = None  # the current stream's (its rate → the recording's)


class Recorder:
    """Record ``channels`` into ``folder`` until :meth:`stop`.

    ``emit`` receives :class:`DeviceLost` / :class:`DeviceBack` / :class:`CaptureFailed` events
    (from the recorder's threads). ``on_block(role, block_16k_float32, start_seconds)`` — for the
    live transcript — gets every block as written, silence for gaps included.
    """

    def __init__(self, folder: str | os.PathLike[str], channels: list[ChannelSpec], *, samplerate: int = 16_000,
                 block_seconds: float = 0.02, emit: EventSink | None = None,
                 on_block: Callable[[str, np.ndarray, float], None] | None = None,
                 open_backend: Callable[[str], object] | None = None, queue_blocks: int = 500):
        if not channels:
            raise CaptureUnavailable("nothing to record: choose a microphone, the system audio, or both")
        roles = [c.role for c in channels]
        if len(set(roles)) != len(roles):
            raise ValueError(f"one channel per role: {roles}")
        self.folder = Path(folder)
        self.samplerate = samplerate
        self.blocksize = max(1, int(round(block_seconds * samplerate)))
        self.emit = emit or (lambda e: None)
        self._taps: list = [on_block] if on_block else []
        self._backend_for = open_backend or backend_for
        self._queue_blocks = queue_blocks
        self._specs = list(channels)
        self._channels: list[_Channel] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.t0 = 0.0
        self.error: str | None = None
        self.manifest: dict = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for spec in self._specs:
            wav = CrashSafeWav(self.folder / f"{spec.role}.wav", self.samplerate, 1)
            fd = os.open(self.folder / f"{spec.role}.anchors", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self._channels.append(_Channel(spec, wav, os.fdopen(fd, "w"), queue.Queue(self._queue_blocks), spec.device))
        self.manifest = {
            "version": 1,
            "state": "recording",
            "pid": os.getpid(),
            "pid_start": _process_start(),
            "started_at": _now_iso(),
            "samplerate": self.samplerate,
            "channels": [{"role": c.spec.role, "device": c.device.id, "device_name": c.device.name,
                          "backend": c.device.backend, "file": f"{c.spec.role}.wav"} for c in self._channels],
            "stats": {},
        }
        write_manifest(self.folder, self.manifest)
        self.t0 = time.monotonic()
        for ch in self._channels:
            ch.last_arrival = self.t0
            try:
                self._open(ch, ch.device)
            except CaptureUnavailable as exc:
                self.close_files()
                raise CaptureUnavailable(f"{ch.spec.role}: {exc}") from exc
        for target, name in ((self._writer, "recorder-writer"), (self._supervisor, "recorder-supervisor")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> dict:
        """Stop, flush and close everything; returns the final manifest (state ``stopped``, or
        ``failed`` after a fatal error such as a full disk — what was written is kept)."""
        self._stop.set()
        for t in self._threads:
            t.join(5.0)
        for ch in self._channels:
            if ch.stream is not None:
                ch.stream.close()
                ch.stream = None
        # what the queues still hold is written, so the tail of the last sentence is kept
        if self.error is None:
            try:
                self._drain(time.monotonic(), final=True)
                for ch in self._channels:  # the few ms the resampler's filter still holds
                    if ch.resampler is not None and ch.got_audio and not ch.lost:
                        self._write(ch, ch.resampler.flush())
            except OSError as exc:
                self._fail(exc)
        self.close_files()
        self.manifest["state"] = "failed" if self.error else "stopped"
        self.manifest["stopped_at"] = _now_iso()
        if self.error:
            self.manifest["error"] = self.error
        self._update_manifest()
        return self.manifest

    def close_files(self) -> None:
        for ch in self._channels:
            try:
                ch.wav.close()
            except OSError:
                pass
            try:
                ch.anchors.close()
            except OSError:
                pass

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the recorder stops by itself (fatal error); True when it did."""
        return self._stop.wait(timeout)

    # ------------------------------------------------------------------ status
    def elapsed(self) -> float:
        return time.monotonic() - self.t0 if self.t0 else 0.0

    def status(self) -> RecorderStatus:
        with self._lock:
            chans = tuple(
                ChannelStatus(ch.spec.role, ch.device.name, ch.wav.seconds,
                              20 * np.log10(max(ch.level, 1e-5)), ch.peak, ch.overflows, ch.dropped, ch.lost,
                              tuple((round(s, 3), round(d, 3)) for s, d in ch.gaps))
                for ch in self._channels
            )
        return RecorderStatus(self.elapsed(), chans, self.error, self.running)

    # ------------------------------------------------------------------ devices
    def _open(self, ch: _Channel, device: Device) -> None:
        backend = self._backend_for(ch.spec.role)

        generation = ch.generation
        # the source's own rate where it is known (and above ours): no resampling in the server
        rate = max(device.rate, self.samplerate)
        resampler = StreamResampler(rate, self.samplerate)
        blocksize = max(1, int(round(self.blocksize * rate / self.samplerate)))

        def callback(block: np.ndarray, overflowed: bool, delay: float = 0.0, ch=ch) -> None:
            if overflowed:
                ch.overflows += 1
            try:
                ch.queue.put_nowait((block, time.monotonic(), delay, generation, resampler))
            except queue.Full:
                ch.dropped += 1
                ch.dropped_frames += int(round(len(block) * self.samplerate / rate))

        stream = backend.open(device, rate, blocksize, callback)
        stream.start()
        ch.backend, ch.stream, ch.device, ch.resampler = backend, stream, device, resampler
        ch.opened_at = time.monotonic()

    def _candidates(self, ch: _Channel) -> list[Device]:
        """The lost device if it is back, else (if allowed) the default of its kind, never a
        device another channel records (a lost mic must not become a second copy of the system audio)."""
        try:
            devices = [d for d in self._backend_for(ch.spec.role).devices() if d.kind == ch.spec.device.kind]
        except CaptureUnavailable:
            return []
        taken = {c.device.id for c in self._channels if c is not ch}
        same = [d for d in devices if d.id == ch.spec.device.id]
        if same:
            return same
        if ch.spec.fallback_to_default:
            return [d for d in devices if d.default and d.id not in taken]
        return []

    def _lose(self, ch: _Channel) -> None:
        with self._lock:
            if ch.lost:
                return
            ch.lost, ch.lost_since = True, ch.last_arrival
            ch.generation += 1
            ch.opened_at = 0.0
            ch.level = ch.peak = 0.0
        self.emit(DeviceLost(ch.spec.role, ch.device.name, round(ch.wav.seconds, 3)))

    def _supervisor(self) -> None:
        while not self._stop.wait(0.1):
            for ch in self._channels:
                if not ch.lost and ch.stream is not None and ch.got_audio and not ch.stream.healthy():
                    self._lose(ch)  # moved elsewhere by the server: not this device's audio any more
                    ch.last_attempt = 0.0
                if not ch.lost or time.monotonic() - ch.last_attempt < REOPEN_EVERY:
                    continue
                if ch.stream is not None and time.monotonic() - ch.opened_at < STARTUP:
                    continue  # re-opened, waiting for its first block
                ch.last_attempt = time.monotonic()
                if ch.stream is not None:
                    ch.stream.close()
                    ch.stream = None
                for device in self._candidates(ch):
                    try:
                        self._open(ch, device)
                        break
                    except CaptureUnavailable:
                        continue

    # ------------------------------------------------------------------ writing
    def _writer(self) -> None:
        last_sync = time.monotonic()
        while not self._stop.is_set():
            time.sleep(0.025)  # the queues hold seconds; waking less often keeps the recorder's CPU low
            now = time.monotonic()
            try:
                self._drain(now)
                if now - last_sync >= SYNC_EVERY:
                    for ch in self._channels:
                        ch.wav.sync()
                        ch.anchors.flush()
                        os.fsync(ch.anchors.fileno())
                    self._update_manifest()
                    last_sync = now
            except OSError as exc:
                self._fail(exc)
                return

    def _fail(self, exc: OSError) -> None:
        if exc.errno == errno.ENOSPC:
            self.error = f"the disk is full: recording stopped; {self.folder} keeps what was recorded"
        else:
            self.error = f"cannot write the recording ({exc.strerror or exc}); {self.folder} keeps what was recorded"
        self._stop.set()
        self.emit(CaptureFailed(self.error))

    def _drain(self, now: float, final: bool = False) -> None:
        for ch in self._channels:
            burst = []
            while True:
                try:
                    block, arrived, delay, generation, resampler = ch.queue.get_nowait()
                except queue.Empty:
                    break
                if generation == ch.generation:
                    # at the recording's rate; captured = when its last *output* sample was heard
                    audio, held = resampler(block[:, 0])
                    burst.append((audio, arrived - delay - held, arrived))  # (audio, captured, arrived)
            if burst and not ch.settling and (burst[0][1] - ch.last_arrival > ARRIVAL_GAP or not ch.got_audio):
                ch.settling, ch.settle_since = True, now
            if ch.settling:
                # At the start, and after a stall, a stream first delivers what it buffered, in a
                # burst faster than real time, possibly over several drains. Its blocks wait until
                # the burst is over; then the last one is "just captured" (less the stream's own
                # latency) and the rest are put before it. What they do not cover is missing
                # (silence, marked as a gap). From there on the stream's frames follow each
                # other; finalize corrects their rate.
                ch.pending.extend(burst)
                if not (final or now - ch.settle_since >= SETTLE_PLACE):
                    continue
                burst, ch.pending, ch.settling = ch.pending, [], False
                if burst:
                    frames = sum(len(b) for b, _, _ in burst)
                    self._fill_to(ch, burst[-1][1] - frames / self.samplerate)
                    ch.segments.append(ch.wav.frames)
            for block, captured, arrived in burst:
                self._place(ch, block, captured, arrived)
            if final:
                continue
            stall = STALL if ch.got_audio else STARTUP
            idle = getattr(ch.backend, "silent_when_idle", False) and ch.stream is not None and ch.stream.healthy()
            if idle and ch.got_audio and now - ch.last_arrival > IDLE_FILL:
                # loopback (WASAPI) delivers nothing while nothing plays: that is silence, not a
                # lost device — the clock goes on and the silence is written, unmarked
                self._write(ch, np.zeros(max(0, self._clock_frame(now - 0.1) - ch.wav.frames), dtype=np.float32))
                ch.last_arrival = now - 0.1
                continue
            if not ch.lost and now - ch.last_arrival > stall:
                self._lose(ch)
            if ch.lost:  # the clock goes on: silence up to (nearly) now, so the channels stay aligned
                self._fill_to(ch, now - 0.2)

    def _clock_frame(self, t: float) -> int:
        return int(round((t - self.t0) * self.samplerate))

    def _fill_to(self, ch: _Channel, t: float) -> None:
        missing = self._clock_frame(t) - ch.wav.frames
        if missing > MIN_GAP * self.samplerate or (missing > 0 and not ch.got_audio):
            start = ch.wav.seconds
            self._write(ch, np.zeros(missing, dtype=np.float32))
            if not ch.got_audio and not ch.lost:
                return  # the lead-in before a device's first block is not a gap
            with self._lock:
                if ch.gaps and abs(ch.gaps[-1][0] + ch.gaps[-1][1] - start) < 1e-6:
                    ch.gaps[-1] = (ch.gaps[-1][0], ch.gaps[-1][1] + missing / self.samplerate)
                else:
                    ch.gaps.append((start, missing / self.samplerate))

    def _place(self, ch: _Channel, block: np.ndarray, captured: float, arrived: float) -> None:
        if ch.dropped_frames:  # blocks the queue could not take: their time as silence
            n, ch.dropped_frames = ch.dropped_frames, 0
            self._write(ch, np.zeros(n, dtype=np.float32))
        if ch.lost:
            with self._lock:
                ch.lost = False
            self.emit(DeviceBack(ch.spec.role, ch.device.name, round(ch.wav.seconds, 3)))
        ch.got_audio = True
        ch.last_arrival = captured
        self._write(ch, block)
        with self._lock:
            rms = float(np.sqrt(np.mean(block.astype(np.float64) ** 2))) if block.size else 0.0
            ch.level = 0.8 * ch.level + 0.2 * rms
            ch.peak = max(ch.peak * 0.95, float(np.abs(block).max(initial=0.0)))
        if arrived - ch.last_anchor >= 0.5:  # arrival times: their jitter averages out over minutes
            ch.anchors.write(f"{ch.wav.frames} {arrived - self.t0:.6f}\n")
            ch.last_anchor = arrived

    def add_tap(self, fn: Callable[[str, np.ndarray, float], None]) -> None:
        """Also give every written block to ``fn(role, block, start_seconds)`` (on the writer
        thread: copy or queue, do not compute there)."""
        self._taps.append(fn)

    def _write(self, ch: _Channel, samples: np.ndarray) -> None:
        start = ch.wav.seconds
        ch.wav.write(samples)
        for tap in self._taps:
            tap(ch.spec.role, samples, start)

    def _update_manifest(self) -> None:
        with self._lock:
            self.manifest["stats"] = {
                ch.spec.role: {"seconds": round(ch.wav.seconds, 3), "overflows": ch.overflows, "dropped_blocks": ch.dropped,
                               "gaps": [[round(s, 3), round(d, 3)] for s, d in ch.gaps], "device": ch.device.id,
                               "segments": list(ch.segments),
                               "device_rate": ch.resampler.rate_in if ch.resampler else self.samplerate}
                for ch in self._channels
            }
            self.manifest["updated_at"] = _now_iso()
        try:
            write_manifest(self.folder, self.manifest)
        except OSError as exc:
            if self.error is None:
                self._fail(exc)
