"""From a recording folder to channels on one time base.

Each channel's writer noted (frame, arrival time) anchors on the shared monotonic clock. Two
sound cards differ by up to ~1 part in 1,000, so after an hour one channel would be 3.6 s off
the other; :func:`fit_clock` fits each channel's frames to the clock and :func:`finalize`
resamples each channel onto the nominal rate of the shared clock, block by block (a 2-hour
recording never sits in memory whole), then writes one 16 kHz PCM16 file with a channel per
source (mic left, system right) for playback and analysis.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capture.recorder import read_manifest

__all__ = ["ClockFit", "fit_clock", "read_anchors", "finalize", "Finalized", "ROLES", "live_roles"]

ROLES = ("mic", "system")  # channel order in the finalized file
LIVE_COMMENT = "Parley live recording; channels: "  # the finalized file's comment: what each channel is
BLOCK = 16_000 * 60  # output frames per block
SETTLE = 3.0  # seconds after a stream's first block before its clock readings are steady


@dataclass(frozen=True, slots=True)
class ClockFit:
    """Frame ``n`` of a channel was captured at ``offset + n * period`` seconds on the shared clock."""

    offset: float
    period: float

    def drift_ppm(self, samplerate: int) -> float:
        return (self.period * samplerate - 1.0) * 1e6


def read_anchors(path: str | os.PathLike[str]) -> np.ndarray:
    """(frames, seconds) rows; a half-written last line (a kill) is ignored."""
    rows = []
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return np.zeros((0, 2))
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                rows.append((float(parts[0]), float(parts[1])))
            except ValueError:
                continue
    kept = []  # frames and times only grow; anything else is a torn or stray line
    for n, t in rows:
        if not kept or (n > kept[-1][0] and t >= kept[-1][1]):
            kept.append((n, t))
    return np.asarray(kept, dtype=np.float64).reshape(-1, 2)


def fit_clock(anchors: np.ndarray, samplerate: int, *, min_span: float = 60.0) -> ClockFit:
    """Fit frames to the clock. Arrival times carry positive jitter (scheduling, buffering), so
    the slope comes from least squares and the offset from the early edge of the residuals.
    Over less than ``min_span`` seconds a slope cannot be told from jitter: nominal rate."""
    nominal = 1.0 / samplerate
    if len(anchors) == 0:
        return ClockFit(0.0, nominal)
    settled = anchors[anchors[:, 1] >= anchors[0, 1] + SETTLE]
    if len(settled) >= 3:  # a stream's first seconds carry its start-up buffering: fit the steady state
        anchors = settled
    n, t = anchors[:, 0], anchors[:, 1]
    period = nominal
    if len(anchors) >= 3 and t[-1] - t[0] >= min_span:
        period = float(np.polyfit(n, t, 1)[0])
        if abs(period * samplerate - 1.0) > 0.01:  # more than 1 %: not drift, a broken clock reading
            period = nominal
    # arrivals are only ever late (a busy machine wakes the callback late), never early: the
    # early edge of the residuals, not their middle (the median moved 30 ms at load 8 on 2 cores)
    offset = float(np.percentile(t - period * n, 10))
    return ClockFit(offset, period)


@dataclass(frozen=True, slots=True)
class Finalized:
    path: Path  # 16 kHz PCM16, one channel per role in ``roles`` order
    roles: tuple[str, ...]
    duration: float
    sha256: str
    drift_ppm: dict
    offsets: dict


def source_positions(k: np.ndarray, samplerate: int, period: float, segments) -> np.ndarray:
    """Fractional source frame for output frames ``k`` (times ``k / samplerate`` on the shared
    clock). The recorder placed each segment's first frame on the clock itself (at the start,
    and again after a device came back); within a segment frames follow at the device's own
    ``period``."""
    starts = np.asarray(sorted(set(segments) | {0}), dtype=np.float64)
    tau = k / samplerate
    seg = starts[np.clip(np.searchsorted(starts / samplerate, tau, side="right") - 1, 0, len(starts) - 1)]
    return seg + (tau - seg / samplerate) / period


def _aligned_blocks(src: Path, fit: ClockFit, samplerate: int, segments, total: int):
    """Yield blocks of the channel resampled onto the shared clock's nominal rate."""
    import soundfile as sf

    with sf.SoundFile(src) as f:
        n_src = f.frames
        for k0 in range(0, total, BLOCK):
            k = np.arange(k0, min(total, k0 + BLOCK), dtype=np.float64)
            pos = source_positions(k, samplerate, fit.period, segments)
            lo = int(max(0, np.floor(pos[0]) - 1))
            hi = int(min(n_src, np.ceil(pos[-1]) + 2))
            if hi <= lo:
                yield np.zeros(len(k), dtype=np.float32)
                continue
            f.seek(lo)
            data = f.read(hi - lo, dtype="float32", always_2d=True)[:, 0]
            out = np.interp(pos, np.arange(lo, lo + len(data)), data, left=0.0, right=0.0)
            yield out.astype(np.float32)


def finalize(folder: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> Finalized:
    """Write the recording in ``folder`` as one aligned file at ``out_path`` (via a temp name)."""
    import soundfile as sf

    folder, out_path = Path(folder), Path(out_path)
    manifest = read_manifest(folder)
    rate = int(manifest["samplerate"])
    present = {c["role"]: folder / c["file"] for c in manifest["channels"] if (folder / c["file"]).exists()}
    roles = tuple(r for r in ROLES if r in present)
    if not roles:
        raise FileNotFoundError(f"{folder}: the recording has no audio files")
    fits = {r: fit_clock(read_anchors(folder / f"{r}.anchors"), rate) for r in roles}
    lengths, segments = {}, {}
    for r in roles:
        info = sf.info(str(present[r]))
        if info.samplerate != rate:
            raise ValueError(f"{present[r].name}: {info.samplerate} Hz, the manifest says {rate} Hz")
        segs = segments[r] = (manifest.get("stats", {}).get(r, {}).get("segments") or [0])
        last = max(segs)
        lengths[r] = last / rate + (info.frames - last) * fits[r].period
    total = int(round(max(lengths.values()) * rate))  # frame 0 of every channel is the recorder's start
    tmp = out_path.with_name(out_path.name + ".part")
    h = hashlib.sha256()
    gens = [_aligned_blocks(present[r], fits[r], rate, segments[r], total) for r in roles]
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    with sf.SoundFile(tmp, "w", samplerate=rate, channels=len(roles), subtype="PCM_16", format="WAV") as out:
        out.comment = LIVE_COMMENT + ",".join(roles)  # so that importing the file later takes the same path
        for blocks in zip(*gens):
            frame = np.stack(blocks, axis=1)
            out.write(frame)
            h.update(frame.tobytes())
    os.replace(tmp, out_path)
    return Finalized(out_path, roles, total / rate, h.hexdigest(), {r: fits[r].drift_ppm(rate) for r in roles},
                     {r: fits[r].offset for r in roles})


def live_roles(path: str | os.PathLike[str]) -> tuple[str, ...] | None:
    """The channel roles of a file :func:`finalize` wrote (its comment says them), else None."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            comment, channels = f.comment or "", f.channels
    except Exception:  # not a file libsndfile reads: not one of ours
        return None
    if not comment.startswith(LIVE_COMMENT):
        return None
    roles = tuple(comment[len(LIVE_COMMENT):].split(","))
    return roles if len(roles) == channels and set(roles) <= set(ROLES) else None
