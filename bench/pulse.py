"""A private PulseAudio server for the capture tests and the live-replay benchmark.

Null sinks stand in for the hardware: ``sys_out`` is what the computer plays (its monitor
``sys_out.monitor`` is the "system audio"), ``mic_feed`` feeds a remapped source
``virtual_mic`` (the "microphone"), and ``both`` is a combined sink that plays one stream into
both at once (for measuring the alignment between the two captured channels).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PulseServer", "CONFIG"]

CONFIG = """
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
load-module module-null-sink sink_name=sys_out rate=48000
load-module module-null-sink sink_name=mic_feed rate=48000
load-module module-remap-source master=mic_feed.monitor source_name=virtual_mic
load-module module-combine-sink sink_name=both slaves=sys_out,mic_feed
set-default-source virtual_mic
set-default-sink sys_out
"""


class PulseServer:
    """``with PulseServer() as pa:`` starts a server, points this process (and its children)
    at it through ``PULSE_SERVER``/``PULSE_RUNTIME_PATH``, and kills it on exit."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="parley-pulse-"))
        self.socket = self.dir / "native"
        self.env = {"PULSE_RUNTIME_PATH": str(self.dir), "PULSE_SERVER": f"unix:{self.socket}",
                    "PULSE_STATE_PATH": str(self.dir), "HOME": os.environ.get("HOME", str(self.dir))}
        self.pid: int | None = None
        self._saved: dict[str, str | None] = {}

    def start(self) -> "PulseServer":
        exe = shutil.which("pulseaudio")
        if exe is None:
            raise RuntimeError("pulseaudio is not installed (scripts/setup.sh installs it)")
        pa = self.dir / "test.pa"
        pa.write_text(CONFIG.format(socket=self.socket))
        env = {**os.environ, **self.env}
        subprocess.run([exe, "--daemonize=yes", "--exit-idle-time=-1", "-n", "-F", str(pa), "--use-pid-file=yes",
                        f"--log-target=file:{self.dir / 'log'}"], check=True, env=env, timeout=20)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"pulseaudio did not start: {(self.dir / 'log').read_text()[-2000:]}")
        pidfile = next(self.dir.rglob("pid"), None)
        self.pid = int(pidfile.read_text().strip()) if pidfile else None
        for k, v in self.env.items():
            self._saved[k] = os.environ.get(k)
            os.environ[k] = v
        return self

    def pactl(self, *args: str) -> str:
        return subprocess.run(["pactl", *args], env={**os.environ, **self.env}, capture_output=True, text=True,
                              check=True, timeout=10).stdout

    def play(self, sink: str, path: str | os.PathLike[str], *, volume: float | None = None) -> subprocess.Popen:
        cmd = ["paplay", "-d", sink, str(path)]
        if volume is not None:
            cmd.insert(1, f"--volume={int(volume * 65536)}")
        return subprocess.Popen(cmd, env={**os.environ, **self.env})

    @contextmanager
    def speaker_echo(self, gain: float = 0.708, latency_ms: int = 20):
        """Laptop speakers: what the computer plays (``sys_out``) is also heard by the microphone
        (``mic_feed``), ``gain`` quieter (0.708 = -3 dB) and ``latency_ms`` later. A loopback
        inside the server, so the echo can only ever follow the sound it echoes, as in a room."""
        module = self.pactl("load-module", "module-loopback", "source=sys_out.monitor", "sink=mic_feed",
                            f"latency_msec={latency_ms}", "source_dont_move=true", "sink_dont_move=true").strip()
        try:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                inputs = [i for i in json.loads(self.pactl("-f", "json", "list", "sink-inputs") or "[]")
                          if str(i.get("owner_module")) == module]
                if inputs:
                    self.pactl("set-sink-input-volume", str(inputs[0]["index"]), f"{gain:.3f}")  # a linear factor
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError("the loopback module made no stream")
            yield
        finally:
            self.pactl("unload-module", module)

    def module_of(self, name: str) -> int | None:
        """The index of the module that made source ``name``."""
        for line in self.pactl("list", "short", "modules").splitlines():
            parts = line.split("\t")
            if len(parts) > 2 and f"source_name={name}" in parts[2]:
                return int(parts[0])
        return None

    def stop(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "PulseServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
