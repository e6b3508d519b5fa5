"""Decode any audio/video container to 16 kHz float32, streaming, channels kept.

PyAV (FFmpeg bundled in its wheel) reads wav, flac, mp3, m4a/aac, ogg/opus, webm,
mp4 and more. Decoding is a generator of fixed-size blocks, so a 3-hour file never
sits in memory whole; :func:`decode_to_wav` writes the canonical 16 kHz PCM WAV that
every later stage (and playback) reads.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meetings.errors import DecodeError
from meetings.types import AudioInfo

SAMPLE_RATE = 16_000
MIN_DURATION = 0.1  # seconds: below this there is nothing to process
MAX_CHANNELS = 2  # keep stereo (me-left / them-right); downmix more than that

__all__ = ["SAMPLE_RATE", "probe", "iter_blocks", "decode_to_wav", "read_mono", "file_sha256"]


@dataclass(frozen=True, slots=True)
class _Probe:
    channels: int
    sample_rate: int
    codec: str
    container: str
    duration: float | None


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _open(path: Path):
    import av

    if not path.exists():
        raise DecodeError(f"{path}: no such file")
    if path.is_dir():
        raise DecodeError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise DecodeError(f"{path.name}: the file is empty (0 bytes)")
    try:
        container = av.open(str(path), mode="r")
    except av.error.InvalidDataError as exc:
        raise DecodeError(f"{path.name}: not a readable audio or video file ({_reason(exc)})") from exc
    except (av.error.FFmpegError, ValueError) as exc:
        raise DecodeError(f"{path.name}: cannot open ({_reason(exc)})") from exc
    if not container.streams.audio:
        container.close()
        raise DecodeError(f"{path.name}: the file has no audio track")
    return container


def _reason(exc: Exception) -> str:
    text = str(exc).split(":")[-1].strip() or type(exc).__name__
    return text.rstrip(".")


def probe(path: str | os.PathLike[str]) -> _Probe:
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        return _Probe(
            channels=ctx.channels or 1,
            sample_rate=ctx.sample_rate or 0,
            codec=ctx.name or "?",
            container=container.format.name,
            duration=duration,
        )
    finally:
        container.close()


def iter_blocks(
    path: str | os.PathLike[str], *, block_seconds: float = 30.0, warnings: list[str] | None = None
) -> Iterator[np.ndarray]:
    """Yield ``(channels, samples)`` float32 blocks at 16 kHz (channels ≤ 2).

    A decoding error after some audio was read (a truncated download, say) ends the
    stream and is reported in ``warnings``; an error before any audio raises.
    """
    import av

    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.audio[0]
        channels = min(stream.codec_context.channels or 1, MAX_CHANNELS)
        layout = "stereo" if channels == 2 else "mono"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
        block = int(block_seconds * SAMPLE_RATE)
        pending: list[np.ndarray] = []
        pending_len = 0
        produced = 0

        def frames():
            try:
                for packet in container.demux(stream):
                    for frame in packet.decode():
                        yield from resampler.resample(frame)
            except av.error.FFmpegError as exc:
                if produced == 0 and pending_len == 0:
                    raise DecodeError(f"{path.name}: corrupt or unsupported audio ({_reason(exc)})") from exc
                if warnings is not None:
                    warnings.append(f"decoding stopped early at a damaged part of the file ({_reason(exc)})")
            yield from resampler.resample(None)

        for frame in frames():
            data = frame.to_ndarray().astype(np.float32, copy=False)
            if data.ndim == 1:
                data = data[None, :]
            pending.append(data)
            pending_len += data.shape[1]
            while pending_len >= block:
                joined = np.concatenate(pending, axis=1)
                yield joined[:, :block]
                produced += block
                rest = joined[:, block:]
                pending, pending_len = ([rest], rest.shape[1]) if rest.shape[1] else ([], 0)
        if pending_len:
            yield np.concatenate(pending, axis=1)
    finally:
        container.close()


def decode_to_wav(
    path: str | os.PathLike[str], out_wav: str | os.PathLike[str], *, progress=None, sha256: str | None = None
) -> AudioInfo:
    """Decode ``path`` into a 16 kHz PCM16 WAV at ``out_wav`` (written to a temp name, then renamed).

    ``progress(done_seconds, total_seconds)`` is called per block.
    """
    import soundfile as sf

    path = Path(path)
    out_wav = Path(out_wav)
    info = probe(path)
    channels = min(info.channels, MAX_CHANNELS)
    warnings: list[str] = []
    tmp = out_wav.with_name(out_wav.name + ".part")
    total = 0
    diff_energy = 0.0
    energy = 0.0
    peak = 0.0
    try:
        with sf.SoundFile(tmp, "w", samplerate=SAMPLE_RATE, channels=channels, subtype="PCM_16", format="WAV") as out:
            for block in iter_blocks(path, warnings=warnings):
                out.write(np.clip(block.T, -1.0, 1.0))
                total += block.shape[1]
                peak = max(peak, float(np.abs(block).max(initial=0.0)))
                if channels == 2:
                    diff_energy += float(np.sum((block[0] - block[1]) ** 2))
                    energy += float(np.sum(block**2))
                if progress is not None:
                    progress(total / SAMPLE_RATE, info.duration)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DecodeError(f"cannot write decoded audio to {out_wav.parent}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    duration = total / SAMPLE_RATE
    if duration < MIN_DURATION:
        tmp.unlink(missing_ok=True)
        raise DecodeError(f"{path.name}: no audio to process ({duration:.2f} s decoded)")
    if peak == 0.0:
        warnings.append("the recording is digital silence")
    os.replace(tmp, out_wav)
    return AudioInfo(
        source_path=str(path.resolve()),
        sha256=sha256 or file_sha256(path),
        duration=duration,
        source_sample_rate=info.sample_rate,
        channels=channels,
        codec=info.codec,
        container=info.container,
        distinct_channels=channels == 2 and energy > 0 and diff_energy / energy > 0.05,
        warnings=tuple(warnings),
    )


def read_mono(wav: str | os.PathLike[str], start: float = 0.0, end: float | None = None) -> np.ndarray:
    """Read [start, end) seconds of a canonical WAV as 16 kHz mono float32 (channels averaged)."""
    import soundfile as sf

    with sf.SoundFile(wav) as f:
        if f.samplerate != SAMPLE_RATE:
            raise DecodeError(f"{wav}: expected {SAMPLE_RATE} Hz, found {f.samplerate} Hz")
        i0 = max(0, int(round(start * SAMPLE_RATE)))
        i1 = f.frames if end is None else min(f.frames, int(round(end * SAMPLE_RATE)))
        f.seek(min(i0, f.frames))
        data = f.read(max(0, i1 - i0), dtype="float32", always_2d=True)
    return data.mean(axis=1) if data.shape[1] > 1 else data[:, 0].copy()
