"""Decode any audio/video container to 16 kHz float32, streaming, channels kept.

PyAV (FFmpeg bundled in its wheel) reads wav, flac, mp3, m4a/aac, ogg/opus, webm,
mp4 and more. Decoding is a generator of fixed-size blocks, so a 3-hour file never
sits in memory whole; :func:`decode_to_wav` writes the canonical 16 kHz PCM WAV that
every later stage (and playback) reads.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import struct
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
    """The file's SHA-256; a file that cannot be read is a :class:`DecodeError` (one line, the reason)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise DecodeError(f"{Path(path).name}: cannot read the file ({exc.strerror or exc})") from exc
    return h.hexdigest()


def _open(path: Path):
    import av

    try:
        st = path.stat()
    except FileNotFoundError:
        raise DecodeError(f"{path}: no such file") from None
    except OSError as exc:
        raise DecodeError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if path.is_dir():
        raise DecodeError(f"{path}: is a folder, not an audio file")
    if not path.is_file():
        raise DecodeError(f"{path.name}: not a regular file")
    if st.st_size == 0:
        raise DecodeError(f"{path.name}: the file is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise DecodeError(f"{path.name}: cannot read the file (permission denied)")
    try:
        container = av.open(str(path), mode="r")
    except PermissionError as exc:
        raise DecodeError(f"{path.name}: cannot read the file (permission denied)") from exc
    except av.error.InvalidDataError as exc:
        raise DecodeError(f"{path.name}: not a readable audio or video file (damaged, truncated or not media)") from exc
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise DecodeError(f"{path.name}: cannot open ({_reason(exc)})") from exc
    audio = list(container.streams.audio)
    if not audio:
        container.close()
        raise DecodeError(f"{path.name}: the file has no audio track")
    ctx = audio[0].codec_context
    if ctx is None or not ctx.sample_rate or ctx.sample_rate < 1:
        container.close()
        what = "no decoder for its audio encoding" if ctx is None else "its audio has no sample rate"
        raise DecodeError(f"{path.name}: unsupported or damaged audio header ({what})")
    return container


def _reason(exc: Exception) -> str:
    """FFmpeg's reason (never the file name it also carries)."""
    text = getattr(exc, "strerror", None) or str(exc).split(":")[-1].strip() or type(exc).__name__
    return str(text).rstrip(".")


def _wav_declared_seconds(path: Path) -> float | None:
    """The length a RIFF/WAVE header announces (data chunk size), or None when it says nothing usable."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, block_align, rate = 12, 0, 0
    while pos + 8 <= len(head):
        cid, size = head[pos : pos + 4], struct.unpack("<I", head[pos + 4 : pos + 8])[0]
        if cid == b"fmt " and pos + 24 <= len(head):
            _, _, rate, _, block_align = struct.unpack("<HHIIH", head[pos + 8 : pos + 22])
        elif cid == b"data":
            if size in (0, 0xFFFFFFFF) or not block_align or not rate:  # streaming writers leave it open
                return None
            return size / block_align / rate
        pos += 8 + size + (size & 1)
    return None


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
        if container.format.name == "wav":  # FFmpeg guesses a WAV's length from the file size
            duration = _wav_declared_seconds(path) or duration
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
    """Yield ``(channels, samples)`` float32 blocks at 16 kHz (channels ≤ 2), finite values only.

    A packet FFmpeg cannot decode is skipped and its time filled with silence, so one damaged
    spot costs only its own few milliseconds; NaN/Inf samples become silence. Both are reported
    in ``warnings``. A demuxing error after some audio was read (a truncated download, say) ends
    the stream with a warning; an error before any audio raises :class:`DecodeError`.
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
        damaged = {"packets": 0, "seconds": 0.0, "nonfinite": 0, "first_error": "", "frames": 0}

        def clean(frame) -> np.ndarray:
            data = frame.to_ndarray().astype(np.float32, copy=False)
            if data.ndim == 1:
                data = data[None, :]
            finite = np.isfinite(data)
            if not finite.all():
                damaged["nonfinite"] += int(data.size - finite.sum())
                data = np.where(finite, data, np.float32(0.0))
            return data

        def sanitized(frame):
            """A float frame with NaN/Inf in it, rebuilt with those samples silent (before resampling spreads them)."""
            if frame.format.name not in ("flt", "fltp", "dbl", "dblp"):
                return frame
            raw = frame.to_ndarray()
            finite = np.isfinite(raw)
            if finite.all():
                return frame
            damaged["nonfinite"] += int(raw.size - finite.sum())
            fixed = av.AudioFrame.from_ndarray(np.where(finite, raw, 0).astype(raw.dtype), format=frame.format.name, layout=frame.layout.name)
            fixed.sample_rate, fixed.pts, fixed.time_base = frame.sample_rate, frame.pts, frame.time_base
            return fixed

        def arrays():
            try:
                for packet in container.demux(stream):
                    try:
                        decoded = packet.decode()
                    except av.error.FFmpegError as exc:  # one damaged packet: skip it, keep its time as silence
                        damaged["packets"] += 1
                        damaged["first_error"] = damaged["first_error"] or _reason(exc)
                        if damaged["packets"] > 1000 and produced == 0 and pending_len == 0:
                            raise
                        if packet.duration and packet.time_base is not None:
                            gap = float(packet.duration * packet.time_base)
                            damaged["seconds"] += gap
                            yield np.zeros((channels, int(round(gap * SAMPLE_RATE))), dtype=np.float32)
                        continue
                    for frame in decoded:
                        damaged["frames"] += 1
                        for out in resampler.resample(sanitized(frame)):
                            yield clean(out)
            except av.error.FFmpegError as exc:
                if produced == 0 and pending_len == 0:
                    raise DecodeError(f"{path.name}: corrupt or unsupported audio ({_reason(exc)})") from exc
                if warnings is not None:
                    done = (produced + pending_len) / SAMPLE_RATE
                    warnings.append(f"decoding stopped early at {done:.1f} s, at a damaged part of the file ({_reason(exc)})")
            for out in resampler.resample(None):
                yield clean(out)

        for data in arrays():
            if not data.shape[1]:
                continue
            pending.append(data)
            pending_len += data.shape[1]
            while pending_len >= block:
                joined = np.concatenate(pending, axis=1)
                yield joined[:, :block]
                produced += block
                rest = joined[:, block:]
                pending, pending_len = ([rest], rest.shape[1]) if rest.shape[1] else ([], 0)
        if damaged["packets"] and not damaged["frames"]:
            raise DecodeError(f"{path.name}: corrupt or unsupported audio (no part of it could be decoded: {damaged['first_error']})")
        if pending_len:
            yield np.concatenate(pending, axis=1)
        if warnings is not None:
            if damaged["packets"]:
                warnings.append(
                    f"{damaged['packets']} damaged part(s) of the file skipped ({damaged['seconds']:.2f} s replaced by silence;"
                    f" {damaged['first_error']})"
                )
            if damaged["nonfinite"]:
                warnings.append(f"{damaged['nonfinite']} invalid samples (NaN/Inf) replaced by silence")
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
        # the recording is private: user-only from the first byte (soundfile keeps an existing file's mode)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        os.chmod(tmp, 0o600)
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
    except (OSError, sf.SoundFileRuntimeError) as exc:  # libsndfile's write errors are not OSErrors
        tmp.unlink(missing_ok=True)
        reason = getattr(exc, "strerror", None) or str(exc)
        if getattr(exc, "errno", None) == errno.ENOSPC or _disk_full(out_wav.parent):
            reason = "the disk is full"
        raise DecodeError(f"cannot write the decoded audio to {out_wav.parent}: {reason}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    duration = total / SAMPLE_RATE
    if duration < MIN_DURATION:
        tmp.unlink(missing_ok=True)
        raise DecodeError(f"{path.name}: no audio to process ({duration:.2f} s decoded)")
    if peak == 0.0:
        warnings.append("the recording is digital silence")
    if info.duration and duration < info.duration - max(1.0, 0.02 * info.duration):
        warnings.append(f"the file looks truncated: {duration:.1f} s decoded of the {info.duration:.1f} s its header announces")
    try:
        os.replace(tmp, out_wav)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DecodeError(f"cannot write the decoded audio to {out_wav.parent}: {exc.strerror or exc}") from exc
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


def _disk_full(folder: Path, margin: int = 1 << 20) -> bool:
    try:
        return shutil.disk_usage(folder).free < margin
    except OSError:
        return False


def read_mono(wav: str | os.PathLike[str], start: float = 0.0, end: float | None = None) -> np.ndarray:
    """Read [start, end) seconds of a canonical WAV as 16 kHz mono float32 (channels averaged)."""
    import soundfile as sf

    with sf.SoundFile(wav) as f:
        if f.samplerate != SAMPLE_RATE:
            raise DecodeError(f"{wav}: expected {SAMPLE_RATE} Hz, found {f.samplerate} Hz")
        i0 = max(0, int(round(start * SAMPLE_RATE)))
        i1 = f.frames if end is None else min(f.frames, int(round(end * SAMPLE_RATE)))
        f.seek(min(i0, f.frames))
        data = f.read(max(0, i1 - i0), dtype="float32")  # 1-D for mono: no second full-length copy
    return data.mean(axis=1, dtype=np.float32) if data.ndim > 1 else data
