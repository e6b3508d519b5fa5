"""A PCM16 WAV file that is valid on disk at every sync: the header's sizes are rewritten and
the file fsynced at least once a second, so a killed recorder loses at most the last second.
:func:`repair` fixes the header of a file whose writer died between two syncs."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

__all__ = ["CrashSafeWav", "repair", "HEADER_BYTES"]

HEADER_BYTES = 44


def _header(data_bytes: int, samplerate: int, channels: int) -> bytes:
    block = 2 * channels
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, samplerate, samplerate * block, block, 16)
        + b"data" + struct.pack("<I", data_bytes)
    )


class CrashSafeWav:
    """Append-only PCM16 writer. ``write`` takes float32 samples in [-1, 1] shaped (n,) or (n, channels)."""

    def __init__(self, path: str | os.PathLike[str], samplerate: int, channels: int = 1):
        self.path = Path(path)
        self.samplerate = samplerate
        self.channels = channels
        self.frames = 0
        self._synced_frames = 0
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._f = os.fdopen(fd, "wb", buffering=0)
        self._f.write(_header(0, samplerate, channels))
        os.fsync(self._f.fileno())

    def write(self, samples: np.ndarray) -> None:
        pcm = np.clip(np.nan_to_num(np.asarray(samples, dtype=np.float32)), -1.0, 1.0)
        pcm = (pcm * 32767.0).astype("<i2")
        self._f.write(pcm.tobytes())  # OSError (ENOSPC …) propagates: the caller stops the recording
        self.frames += pcm.shape[0]

    def write_silence(self, frames: int) -> None:
        while frames > 0:
            n = min(frames, self.samplerate)
            self.write(np.zeros((n, self.channels) if self.channels > 1 else n, dtype=np.float32))
            frames -= n

    def sync(self) -> None:
        """Make the file valid and durable up to everything written so far."""
        data = self.frames * 2 * self.channels
        self._f.seek(0)
        self._f.write(_header(data, self.samplerate, self.channels))
        self._f.seek(0, os.SEEK_END)
        os.fsync(self._f.fileno())
        self._synced_frames = self.frames

    @property
    def seconds(self) -> float:
        return self.frames / self.samplerate

    def close(self) -> None:
        if self._f.closed:
            return
        try:
            self.sync()
        finally:
            self._f.close()


def repair(path: str | os.PathLike[str]) -> float:
    """Rewrite the header of a WAV left by a killed :class:`CrashSafeWav` so that it covers every
    whole frame on disk; returns the duration in seconds. A file without a valid header raises."""
    path = Path(path)
    with open(path, "r+b") as f:
        head = f.read(HEADER_BYTES)
        if len(head) < HEADER_BYTES or head[:4] != b"RIFF" or head[8:12] != b"WAVE" or head[36:40] != b"data":
            raise ValueError(f"{path.name}: not a recording written by Parley")
        channels, samplerate = struct.unpack("<HI", head[22:28])
        size = path.stat().st_size - HEADER_BYTES
        block = 2 * channels
        size -= size % block
        f.truncate(HEADER_BYTES + size)
        f.seek(0)
        f.write(_header(size, samplerate, channels))
        f.flush()
        os.fsync(f.fileno())
    return size / block / samplerate
