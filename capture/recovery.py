"""Recordings that did not become meetings: found on the next start, repaired, offered.

A recording folder's manifest says ``recording`` while its recorder runs. When the owning
process is gone (killed, crashed, power cut) the folder is repaired — each WAV header is
rewritten to cover the audio on disk, at most the last second is lost — and marked
``stopped``/``recovered``; so is a recording stopped but not yet processed. Both are
:func:`pending` until processed or discarded.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from capture.recorder import MANIFEST, read_manifest, write_manifest
from capture.wavfile import repair

__all__ = ["PendingRecording", "pending", "discard", "mark_processed", "owner_alive", "process_start_time"]


@dataclass(frozen=True, slots=True)
class PendingRecording:
    folder: Path
    started_at: str
    seconds: float
    recovered: bool  # True when its recorder died and the files were repaired
    roles: tuple[str, ...]
    error: str | None = None

    def describe(self) -> str:
        m, s = divmod(int(round(self.seconds)), 60)
        how = "recovered after a crash" if self.recovered else ("stopped: " + self.error if self.error else "not processed yet")
        return f"{self.folder.name}: {self.started_at[:16].replace('T', ' ')}, {m}:{s:02d}, {'+'.join(self.roles)} ({how})"


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (guards against a reused pid), where /proc exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if len(fields) > 19 else None


def owner_alive(manifest: dict) -> bool:
    pid = int(manifest.get("pid") or 0)
    if pid <= 0:
        return False
    if sys.platform.startswith("linux"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):  # a zombie is dead (PID 1 may not reap it)
            return False
        started = manifest.get("pid_start")
        return started is None or started == process_start_time(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _repair(folder: Path, manifest: dict) -> dict:
    stats = manifest.setdefault("stats", {})
    for c in manifest.get("channels", []):
        wav = folder / c["file"]
        if wav.exists():
            try:
                seconds = repair(wav)
            except ValueError:
                continue
            stats.setdefault(c["role"], {})["seconds"] = round(seconds, 3)
    manifest["state"] = "stopped"
    manifest["recovered"] = True
    write_manifest(folder, manifest)
    return manifest


def pending(recordings_dir: str | os.PathLike[str]) -> list[PendingRecording]:
    """Recordings waiting to become meetings (repairing the ones whose recorder died)."""
    root = Path(recordings_dir)
    out = []
    if not root.is_dir():
        return out
    for folder in sorted(p for p in root.iterdir() if (p / MANIFEST).is_file()):
        try:
            manifest = read_manifest(folder)
        except (OSError, ValueError):
            continue
        state = manifest.get("state")
        if state == "recording":
            if owner_alive(manifest):
                continue  # being recorded right now, by another process
            try:
                manifest = _repair(folder, manifest)
            except OSError:
                continue
        elif state not in ("stopped", "failed"):
            continue
        stats = manifest.get("stats", {})
        roles = tuple(c["role"] for c in manifest.get("channels", []) if (folder / c["file"]).exists())
        seconds = max((float(stats.get(r, {}).get("seconds", 0.0)) for r in roles), default=0.0)
        out.append(PendingRecording(folder, manifest.get("started_at", ""), seconds, bool(manifest.get("recovered")),
                                    roles, manifest.get("error")))
    return out


def mark_processed(folder: Path, meeting_id: int) -> None:
    manifest = read_manifest(folder)
    manifest["state"] = "processed"
    manifest["meeting_id"] = meeting_id
    write_manifest(folder, manifest)


def discard(folder: Path) -> None:
    """Delete a pending recording's audio for good."""
    manifest = read_manifest(folder)
    if manifest.get("state") == "recording" and owner_alive(manifest):
        raise RuntimeError(f"{folder.name} is being recorded right now")
    shutil.rmtree(folder)
