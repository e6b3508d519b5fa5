"""``parley devices``, ``parley record`` and ``parley recover``: live meetings on the command line.

    parley devices
    parley record [--mic DEV] [--system DEV] [--no-mic | --no-system] [--duration S] [--title T] [--no-process]
    parley recover [--process [NAME]] [--discard NAME]
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from meetings.errors import ParleyError

__all__ = ["add_parsers", "cmd_devices", "cmd_record", "cmd_recover", "pending_notice", "recordings_dir"]


def add_parsers(sub) -> None:
    sub.add_parser("devices", help="list microphones and system-audio sources (defaults marked *)")
    rec = sub.add_parser("record", help="record a live meeting (your microphone + the system audio), then process it")
    rec.add_argument("--mic", metavar="DEV", help="microphone: a number or name as `parley devices` lists it, or an audio-server source name")
    rec.add_argument("--system", metavar="DEV", help="system-audio source (e.g. sys_out.monitor on PulseAudio/PipeWire)")
    rec.add_argument("--no-mic", action="store_true", help="record the system audio only")
    rec.add_argument("--no-system", action="store_true", help="record the microphone only")
    rec.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: Ctrl-C or SIGTERM)")
    rec.add_argument("--title")
    rec.add_argument("--no-process", action="store_true", help="only record; `parley recover --process` makes the meeting later")
    rec.add_argument("--quiet", action="store_true", help="no level meter")
    rec.add_argument("--no-live", action="store_true", help="no live transcript (record only; the meeting is made at stop)")
    rec.add_argument("--events", type=Path, metavar="FILE", help="write the live transcript's events as JSON lines")
    recv = sub.add_parser("recover", help="recordings that did not become meetings (after a crash, or --no-process)")
    recv.add_argument("--process", nargs="?", const="all", metavar="NAME", help="turn them (or one) into meetings")
    recv.add_argument("--discard", metavar="NAME", help="delete one for good")


def recordings_dir(store) -> Path:
    return store.data_dir / "recordings"


def pending_notice(store) -> None:
    """One line on stderr per recording waiting to become a meeting (found on the first start
    after a crash)."""
    from capture.recovery import pending

    for rec in pending(recordings_dir(store)):
        print(f"parley: unfinished recording {rec.describe()} — `parley recover --process` turns it into a meeting",
              file=sys.stderr)


def cmd_devices(args, store=None) -> int:
    from capture.devices import CaptureUnavailable, list_devices

    for kind, title in (("mic", "Microphones"), ("system", "System audio (what the computer plays)")):
        print(f"{title}:")
        try:
            devices = list_devices(kind)
        except CaptureUnavailable as exc:
            print(f"  not available: {exc}")
            continue
        if not devices:
            print("  none found")
        for i, d in enumerate(devices):
            print(f"  {'*' if d.default else ' '} {i:>2}  {d.id}" + (f"  ({d.name})" if d.name != d.id else ""))
    return 0


def _meter(db: float, width: int = 12) -> str:
    filled = int(round(max(0.0, min(1.0, (db + 60.0) / 60.0)) * width))
    return "▮" * filled + "▯" * (width - filled)


def _status_line(status) -> str:
    m, s = divmod(int(status.elapsed), 60)
    parts = [f"● {m:02d}:{s:02d}"]
    for c in status.channels:
        label = "mic" if c.role == "mic" else "system"
        parts.append(f"{label} {'LOST' if c.lost else _meter(c.level_db)} {c.level_db:5.0f} dB")
    dropped = sum(c.dropped + c.overflows for c in status.channels)
    parts.append(f"dropped {dropped}")
    return "  ".join(parts)


def _print_event(event) -> None:
    from meetings.events import CaptureFailed, DeviceBack, DeviceLost

    if isinstance(event, DeviceLost):
        print(f"\nparley: {event.channel} source lost ({event.device}) at {event.at:.1f} s — recording goes on, "
              "waiting for it to come back", file=sys.stderr)
    elif isinstance(event, DeviceBack):
        print(f"\nparley: {event.channel} source back ({event.device}) at {event.at:.1f} s", file=sys.stderr)
    elif isinstance(event, CaptureFailed):
        print(f"\nparley: {event.message}", file=sys.stderr)


def cmd_record(args, store) -> int:
    from capture.devices import find_device
    from capture.recorder import ChannelSpec, Recorder

    if args.no_mic and args.no_system:
        raise ParleyError("--no-mic and --no-system together leave nothing to record")
    specs = []
    if not args.no_mic:
        specs.append(ChannelSpec("mic", find_device("mic", args.mic)))
    if not args.no_system:
        specs.append(ChannelSpec("system", find_device("system", args.system)))
    folder = recordings_dir(store) / datetime.now().strftime("%Y%m%d-%H%M%S")
    n = 1
    while folder.exists():
        n += 1
        folder = folder.with_name(folder.name.split("_")[0] + f"_{n}")
    recordings_dir(store).mkdir(parents=True, exist_ok=True, mode=0o700)
    rec = Recorder(folder, specs, emit=_print_event)
    live = None if (args.no_live or args.no_process) else _live(rec, folder, specs, args)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    rec.start()
    if live is not None:
        live.start()  # loads the models on its own thread; the recording does not wait
    for s in specs:
        print(f"recording {s.role}: {s.device.id}", file=sys.stderr)
    print(f"recording to {folder} — Ctrl-C stops", file=sys.stderr)
    tty = sys.stderr.isatty() and not args.quiet
    try:
        while not stop.is_set() and not rec.wait(0.2):
            if args.duration is not None and rec.elapsed() >= args.duration:
                break
            if tty and live is None:
                print("\r" + _status_line(rec.status()), end="", file=sys.stderr, flush=True)
    finally:
        manifest = rec.stop()
        if live is not None:
            live.stop()  # the tail of the last sentence is decoded too
            live.printer.close()
        for s, h in old.items():
            signal.signal(s, h)
    if tty:
        print(file=sys.stderr)
    stats = manifest.get("stats", {})
    summary = ", ".join(f"{r} {st['seconds']:.1f} s ({st['dropped_blocks'] + st['overflows']} dropped)" for r, st in stats.items())
    print(f"recorded {summary}", file=sys.stderr)
    if manifest.get("state") == "failed":
        print(f"parley: error: {manifest.get('error')}", file=sys.stderr)
        print(f"parley: the recording is kept: `parley recover --process {folder.name}` once there is room", file=sys.stderr)
        return 2
    if args.no_process:
        print(f"not processed: `parley recover --process {folder.name}` makes it a meeting", file=sys.stderr)
        return 0
    return _process(store, folder, args.title, args, live)


def _live(rec, folder: Path, specs, args):
    """The live transcript: models load on its worker thread while the recording starts."""
    from meetings.live import EventLog, LiveTranscriber
    from meetings.pipeline import Engine
    from meetings.types import PipelineOptions

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    logs = [EventLog(folder / "live.jsonl", lambda: rec.t0)]  # kept with the recording (the provisional transcript)
    if args.events:
        logs.append(EventLog(args.events, lambda: rec.t0))
    printer = _LivePrinter(sys.stdout, logs)
    live = LiveTranscriber(lambda: Engine(PipelineOptions()), printer, roles=tuple(s.role for s in specs))
    printer.names = live.names
    live.printer = printer
    rec.add_tap(live.tap)
    return live


class _LivePrinter:
    """Prints each utterance once it is final ("[mm:ss] Name: text"); on a terminal the words
    still being spoken show on one line that is rewritten."""

    def __init__(self, out, logs):
        self.out, self.logs, self.names = out, logs, {}
        self.text: dict[int, list] = {}
        self.tty = out.isatty()
        self.lock = threading.Lock()

    def __call__(self, event) -> None:
        from meetings.events import LiveCommitted, LivePartial

        for log in self.logs:
            log(event)
        with self.lock:
            if isinstance(event, LiveCommitted):
                self.text.setdefault(event.utterance, []).extend(event.words)
            elif isinstance(event, LivePartial):
                if event.words and self.tty:
                    shown = " ".join(w.text.strip() for w in [*self.text.get(event.utterance, []), *event.words])
                    self.out.write(f"\r\x1b[2K… {self._name(event.speaker)}: {shown[-100:]}")
                    self.out.flush()
                elif not event.words:
                    words = self.text.pop(event.utterance, [])
                    if words:
                        m, s = divmod(int(words[0].start), 60)
                        line = " ".join(w.text.strip() for w in words)
                        self.out.write(("\r\x1b[2K" if self.tty else "") + f"[{m:02d}:{s:02d}] {self._name(event.speaker)}: {line}\n")
                        self.out.flush()

    def _name(self, label) -> str:
        return self.names.get(label, label or "?")

    def close(self) -> None:
        for log in self.logs:
            log.close()


def _process(store, folder: Path, title, args, live=None) -> int:
    from meetings.cli import _Bars, _print_transcript
    from meetings.pipeline import Engine
    from meetings.recording import process_recording
    from meetings.types import PipelineOptions

    bars = _Bars(not getattr(args, "quiet", False))
    engine = live.engine if live is not None and live.engine is not None else Engine(PipelineOptions())
    try:
        result = process_recording(engine, folder, store, title=title, emit=bars)
        if live is not None:
            from meetings.live import apply_live_names

            for label, name in apply_live_names(store, result.meeting_id, live).items():
                print(f"kept the live name {name!r} for {label}", file=sys.stderr)
    finally:
        bars.close()
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"meeting {result.meeting_id}", file=sys.stderr)
    _print_transcript(store, result.meeting_id)
    return 0


def cmd_recover(args, store) -> int:
    from capture.recovery import discard, pending

    waiting = pending(recordings_dir(store))
    by_name = {r.folder.name: r for r in waiting}
    if args.discard:
        if args.discard not in by_name:
            raise ParleyError(f"no pending recording called {args.discard!r}")
        discard(by_name[args.discard].folder)
        print(f"deleted recording {args.discard}")
        return 0
    if args.process:
        chosen = waiting if args.process == "all" else [by_name[args.process]] if args.process in by_name else None
        if chosen is None:
            raise ParleyError(f"no pending recording called {args.process!r}")
        for r in chosen:
            _process(store, r.folder, None, args)
        return 0
    if not waiting:
        print("no unfinished recordings")
        return 0
    for r in waiting:
        print(r.describe())
    print("`parley recover --process [NAME]` turns them into meetings; `--discard NAME` deletes one")
    return 0
