"""Audio sources behind one interface: microphones and "system audio" (what the computer plays),
with a backend per OS chosen at run time.

* Linux: PulseAudio / PipeWire (pipewire-pulse). Sources are listed with the server's own
  ``pactl``; a source is opened through PortAudio's ALSA ``pulse`` device with ``PULSE_SOURCE``
  naming it, so any source name the server knows works (``sys_out.monitor``, a headset, a
  remapped source). Monitor sources are system audio, the others microphones.
* Windows: microphones through PortAudio; system audio through WASAPI loopback, which PortAudio
  lacks, from the ``soundcard`` package (``include_loopback=True``).
* macOS: microphones through PortAudio; system audio through a virtual loopback device
  (BlackHole, Loopback, Soundflower) — without one, a message says what to install.

A backend gives :class:`Device` records and opens an :class:`InputStream`, whose callback gets
float32 blocks ``(frames, 1)`` and a status flag for overflows. Streams are small and are
re-opened by the recorder when a device comes back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from meetings.errors import ParleyError

__all__ = [
    "CaptureUnavailable", "Device", "InputStream", "BlockCallback", "list_devices", "find_device",
    "backend_for", "PulseBackend", "PortAudioBackend", "WasapiLoopbackBackend", "MacLoopbackBackend",
]

#: ``callback(block (frames, 1) float32, overflowed, delay)``, called on the audio thread: copy, never
#: block. ``delay``: seconds since the block's last sample was captured (0 when the host cannot tell)
BlockCallback = Callable[[np.ndarray, bool, float], None]


class CaptureUnavailable(ParleyError):
    """A source cannot be used here: wrong OS, missing package or driver, permission missing, gone."""


@dataclass(frozen=True, slots=True)
class Device:
    """One capturable source. ``id`` is what ``--mic``/``--system`` accept and what the recorder
    re-opens; ``kind`` is ``"mic"`` or ``"system"``."""

    id: str
    name: str
    kind: str
    backend: str
    default: bool = False
    #: the source's own sample rate (0: unknown): the recorder opens it at this rate and resamples
    #: itself, so the server's resampler (which may cut the top of the speech band) is not used
    rate: int = 0


def _spec_rate(spec: str) -> int:
    """The rate in a PulseAudio sample specification ("s16le 2ch 48000Hz" → 48000; 0 if none)."""
    m = re.search(r"(\d+)\s*Hz", spec or "")
    return int(m.group(1)) if m else 0


class InputStream:
    """What a backend opens: ``start()``, ``close()``; blocks arrive on ``callback``."""

    def start(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def healthy(self) -> bool:
        """False when the stream no longer records its device (the server moved or dropped it)."""
        return True


# --------------------------------------------------------------------------------- PortAudio
class _PortAudioStream(InputStream):
    def __init__(self, device, samplerate: int, blocksize: int, callback: BlockCallback, env: dict | None = None):
        import sounddevice as sd

        self.muted = False
        self._unmute_at = 0.0

        def cb(indata, frames, time_info, status):
            if self.muted:
                if not self._unmute_at or time.monotonic() < self._unmute_at:
                    return
                self.muted = False
            # how long ago the block's last sample was captured (the stream's own latency), so the
            # recorder places it by capture time, not arrival: streams with different buffering
            # (a remapped source, a USB headset) line up
            delay = 0.0
            if time_info.inputBufferAdcTime > 0 and time_info.currentTime > 0:
                delay = max(0.0, time_info.currentTime - time_info.inputBufferAdcTime - frames / samplerate)
                if delay > 0.1:  # at start-up ALSA's pulse plugin reports buffers (~0.6 s) that are not there
                    delay = 0.0
            callback(indata[:, :1].copy() if indata.shape[1] > 1 else indata.copy(), bool(status.input_overflow), delay)

        with _ENV_LOCK:  # PULSE_SOURCE is read when the ALSA pulse plugin opens the stream
            saved = {k: os.environ.get(k) for k in (env or {})}
            os.environ.update(env or {})
            def open_stream():
                return sd.InputStream(device=device, samplerate=samplerate, channels=1, dtype="float32",
                                      blocksize=blocksize, latency="low", callback=cb)

            try:
                try:
                    self._stream = open_stream()
                except ValueError:  # not in PortAudio's device list, which is read once, at start-up
                    if _OPEN[0] or not _refresh_portaudio(sd):  # an audio server started later: read it again
                        raise
                    self._stream = open_stream()
            except (sd.PortAudioError, ValueError) as exc:
                raise CaptureUnavailable(f"cannot open {device!r}: {exc}") from exc
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            _OPEN[0] += 1
            self._closed = False

    def start(self) -> None:
        """Start the stream (once: a backend may start it early, e.g. to find its server-side stream)."""
        if not self._stream.active:
            self._stream.start()

    def flush_then_unmute(self, after: float = 0.05) -> None:
        """Keep dropping blocks for ``after`` s (what the server had buffered from elsewhere)."""
        self._unmute_at = time.monotonic() + after

    def close(self) -> None:
        # abort, not stop: a vanished device may never drain; closing can block in the driver, so
        # it runs on a helper thread and is abandoned after a moment
        stream = self._stream

        def shut():
            try:
                stream.abort(ignore_errors=True)
                stream.close(ignore_errors=True)
            except Exception:
                pass

        t = threading.Thread(target=shut, daemon=True)
        t.start()
        t.join(1.0)
        if not self._closed:
            self._closed = True
            _OPEN[0] -= 1


_ENV_LOCK = threading.Lock()
_OPEN = [0]  # PortAudio streams open in this process


def _refresh_portaudio(sd) -> bool:
    """Re-read PortAudio's device list (only while no stream is open)."""
    try:
        sd._terminate()
        sd._initialize()
    except Exception:
        return False
    return True
_OPEN_LOCK = threading.Lock()


def _portaudio():
    try:
        import sounddevice as sd
    except OSError as exc:  # the Linux wheel ships no PortAudio
        raise CaptureUnavailable(f"PortAudio is not installed ({exc}); on Debian/Ubuntu: apt-get install libportaudio2") from exc
    return sd


class PortAudioBackend:
    """Microphones through PortAudio (every OS). Device ids are PortAudio device names."""

    name = "portaudio"

    def devices(self) -> list[Device]:
        sd = _portaudio()
        try:
            default_in = sd.default.device[0]
        except Exception:
            default_in = -1
        out = []
        for i, d in enumerate(sd.query_devices()):
            if d["max_input_channels"] > 0:
                out.append(Device(d["name"], d["name"], "mic", self.name, i == default_in,
                                  int(d.get("default_samplerate") or 0)))
        return out

    def open(self, device: Device, samplerate: int, blocksize: int, callback: BlockCallback) -> InputStream:
        return _PortAudioStream(device.id, samplerate, blocksize, callback)


# --------------------------------------------------------------------------------- PulseAudio
class PulseBackend:
    """PulseAudio or PipeWire's pulse server: microphones and monitor sources (system audio)."""

    name = "pulse"

    def __init__(self, pactl: str | None = None):
        self.pactl = pactl or shutil.which("pactl")
        self._sub = None
        self._changed, self._checked, self._where, self._where_lock = threading.Event(), 0.0, {}, threading.Lock()

    def available(self) -> bool:
        if not self.pactl:
            return False
        try:
            return subprocess.run([self.pactl, "info"], capture_output=True, timeout=3).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def _json(self, *args: str):
        if not self.pactl:
            raise CaptureUnavailable("pactl not found: install pulseaudio-utils (PulseAudio / PipeWire tools)")
        try:
            proc = subprocess.run([self.pactl, "-f", "json", *args], capture_output=True, text=True, timeout=5)
        except subprocess.TimeoutExpired as exc:
            raise CaptureUnavailable("the audio server does not answer (pactl timed out)") from exc
        if proc.returncode != 0:
            raise CaptureUnavailable(f"no audio server: {proc.stderr.strip() or 'pactl failed'}")
        return json.loads(proc.stdout or "null")

    def devices(self) -> list[Device]:
        info = self._json("info") or {}
        default_source = info.get("default_source_name", "")
        default_monitor = f"{info.get('default_sink_name', '')}.monitor"
        out = []
        for s in self._json("list", "sources") or []:
            is_monitor = s.get("monitor_source") not in (None, "", "n/a") or s["name"].endswith(".monitor")
            kind = "system" if is_monitor else "mic"
            default = s["name"] == (default_monitor if is_monitor else default_source)
            out.append(Device(s["name"], s.get("description") or s["name"], kind, self.name, default,
                              _spec_rate(s.get("sample_specification", ""))))
        return out

    def open(self, device: Device, samplerate: int, blocksize: int, callback: BlockCallback) -> InputStream:
        _portaudio()
        self._watch()
        with _OPEN_LOCK:  # our new source-output is the one that was not there before
            before = {o["index"] for o in self._outputs()}
            stream = _PortAudioStream("pulse", samplerate, blocksize, callback, env={"PULSE_SOURCE": device.id})
            stream.start()
            mine = [o for o in self._outputs() if o["index"] not in before
                    and str(o.get("properties", {}).get("application.process.id")) == str(os.getpid())]
        sources = {s["name"]: s["index"] for s in self._json("list", "sources") or []}
        source = sources.get(device.id)
        if mine:
            # opened through "the default source" (PULSE_SOURCE), the stream follows the default:
            # the server moves it whenever the default changes (a mic coming back would take the
            # system channel). A move makes the source the stream's own choice; a move onto the
            # source it is already on does nothing, so it goes via another one, muted meanwhile.
            other = next((n for n in sources if n != device.id), None)
            stream.muted = True
            for target in ([other] if other else []) + [device.id]:
                subprocess.run([self.pactl, "move-source-output", str(mine[0]["index"]), target], capture_output=True, timeout=5)
            stream.flush_then_unmute(0.3)
        stream.healthy = lambda: self._healthy(mine[0]["index"] if mine else None, source)
        return stream

    def _outputs(self) -> list[dict]:
        return self._json("list", "source-outputs") or []

    def _healthy(self, output: int | None, source: int | None) -> bool:
        """False once the server moved our stream off its source (PulseAudio moves the streams of
        a vanished source to the default one — a lost mic would silently record the system audio)
        or dropped it."""
        if output is None or source is None:
            return True  # cannot tell (an older server): trust the callbacks
        with self._where_lock:
            if self._changed.is_set() or time.monotonic() - self._checked > 2.0:
                self._changed.clear()
                try:
                    self._where = {o["index"]: o.get("source") for o in self._outputs()}
                except (CaptureUnavailable, ValueError):  # a busy server: ask again at the next event
                    self._changed.set()
                    return True
                self._checked = time.monotonic()
            return self._where.get(output) == source

    def _watch(self) -> None:
        """``pactl subscribe`` in the background: a source or source-output event marks the
        streams for a check at once (tens of ms), instead of polling the server."""
        if self._sub is not None or not self.pactl:
            return
        try:
            self._sub = subprocess.Popen([self.pactl, "subscribe"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except OSError:
            self._sub = None
            return

        def read(sub=self._sub, changed=self._changed):
            for line in sub.stdout:
                if "source" in line:
                    changed.set()

        threading.Thread(target=read, daemon=True, name="pactl-subscribe").start()

    def close(self) -> None:
        sub = self._sub
        if sub is not None:
            sub.kill()
            sub.wait()
            self._sub = None


# --------------------------------------------------------------------------------- Windows
class WasapiLoopbackBackend:
    """System audio on Windows: WASAPI loopback of each output device, through ``soundcard``.
    Loopback delivers nothing while nothing plays; the recorder advances on its clock and fills
    silence, so the time base holds."""

    name = "wasapi-loopback"
    silent_when_idle = True  # no data while nothing plays: the recorder writes silence on its clock

    def __init__(self, platform: str | None = None):
        self.platform = platform or sys.platform

    def _soundcard(self):
        if not self.platform.startswith("win"):
            raise CaptureUnavailable("WASAPI loopback (system audio) exists only on Windows")
        try:
            import soundcard
        except ImportError as exc:
            raise CaptureUnavailable("system audio on Windows needs the 'soundcard' package: pip install soundcard") from exc
        return soundcard

    def devices(self) -> list[Device]:
        sc = self._soundcard()
        default = sc.default_speaker().name
        return [Device(m.name, f"{m.name} (loopback)", "system", self.name, m.name == default)
                for m in sc.all_microphones(include_loopback=True) if m.isloopback]

    def open(self, device: Device, samplerate: int, blocksize: int, callback: BlockCallback) -> InputStream:
        sc = self._soundcard()
        mic = sc.get_microphone(device.id, include_loopback=True)
        return _ThreadStream(lambda: mic.recorder(samplerate=samplerate, channels=1, blocksize=blocksize), blocksize, callback)


class _ThreadStream(InputStream):
    """A blocking reader (``soundcard``) on its own thread, delivering like a PortAudio callback."""

    def __init__(self, make_recorder, blocksize: int, callback: BlockCallback):
        self._make, self._n, self._cb = make_recorder, blocksize, callback
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="loopback-reader")

    def _run(self) -> None:
        with self._make() as rec:
            while not self._stop.is_set():
                data = np.asarray(rec.record(numframes=self._n), dtype=np.float32)
                self._cb(data[:, :1] if data.ndim == 2 else data[:, None], False, 0.0)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)


# --------------------------------------------------------------------------------- macOS
LOOPBACK_NAMES = ("blackhole", "loopback", "soundflower", "background music")

MAC_HELP = ("no system-audio device found: install BlackHole (brew install blackhole-2ch), then in Audio MIDI "
            "Setup create a Multi-Output Device with your speakers and BlackHole and select it as output; "
            "also allow Parley to use the microphone (System Settings > Privacy & Security > Microphone)")


class MacLoopbackBackend:
    """System audio on macOS through a virtual loopback device (BlackHole and the like)."""

    name = "mac-loopback"

    def __init__(self, platform: str | None = None, portaudio: PortAudioBackend | None = None):
        self.platform = platform or sys.platform
        self.portaudio = portaudio or PortAudioBackend()

    def devices(self) -> list[Device]:
        if self.platform != "darwin":
            raise CaptureUnavailable("the macOS system-audio backend runs only on macOS")
        found = [Device(d.id, d.name, "system", self.name, False, d.rate) for d in self.portaudio.devices()
                 if any(k in d.name.lower() for k in LOOPBACK_NAMES)]
        if not found:
            raise CaptureUnavailable(MAC_HELP)
        return [Device(d.id, d.name, d.kind, d.backend, i == 0, d.rate) for i, d in enumerate(found)]

    def open(self, device: Device, samplerate: int, blocksize: int, callback: BlockCallback) -> InputStream:
        try:
            return self.portaudio.open(device, samplerate, blocksize, callback)
        except CaptureUnavailable as exc:
            raise CaptureUnavailable(f"{exc} — is microphone access allowed for this app? (System Settings > Privacy & Security)") from exc


# --------------------------------------------------------------------------------- choice
_PULSE: list = []  # one PulseBackend per process (it keeps a `pactl subscribe` running)


def backend_for(kind: str, platform: str | None = None):
    """The backend that captures ``kind`` ("mic" or "system") on this machine, asked anew each
    time (an audio server started later is found)."""
    platform = platform or sys.platform
    if platform.startswith("linux"):
        if not _PULSE:
            _PULSE.append(PulseBackend())
        if _PULSE[0].available():
            return _PULSE[0]
        if kind == "mic":
            return PortAudioBackend()
        raise CaptureUnavailable("system audio on Linux needs PulseAudio or PipeWire (pipewire-pulse) running, and pactl")
    if kind == "mic":
        return PortAudioBackend()
    if platform.startswith("win"):
        return WasapiLoopbackBackend(platform)
    if platform == "darwin":
        return MacLoopbackBackend(platform)
    raise CaptureUnavailable(f"no system-audio capture for {platform}")


def list_devices(kind: str, platform: str | None = None) -> list[Device]:
    return [d for d in backend_for(kind, platform).devices() if d.kind == kind]


def find_device(kind: str, spec: str | None, platform: str | None = None) -> Device:
    """The device ``spec`` names — an id, a number as ``parley devices`` lists it, or a part of
    its name — or the default one when ``spec`` is None."""
    devices = list_devices(kind, platform)
    what = "microphone" if kind == "mic" else "system-audio source"
    if not devices:
        raise CaptureUnavailable(f"no {what} found")
    if spec is None:
        return next((d for d in devices if d.default), devices[0])
    if spec.isdigit() and int(spec) < len(devices):
        return devices[int(spec)]
    for match in (lambda d: d.id == spec, lambda d: d.name == spec, lambda d: spec.lower() in (d.id + " " + d.name).lower()):
        hits = [d for d in devices if match(d)]
        if hits:
            return hits[0]
    raise CaptureUnavailable(f"no {what} called {spec!r}; `parley devices` lists them")
