"""Echo of the far end in the microphone: cancel it on the analysis copy, and tell echo from
the local user's own words.

With laptop speakers the microphone hears the remote side too, only ~3 dB below the system
track. The raw mic stays as recorded; the copy that is transcribed goes through a block
frequency-domain echo canceller. The delay of the system track in the mic is tracked through
the recording (cross-correlation per 2-s stretch, to a fraction of a sample, smoothed): two
sound devices' clocks drift apart (~100 ppm is usual), and a delay that moves by a tenth of a
millisecond already ruins a fixed echo path above 1 kHz. The system track is resampled onto
that delay; then, per 8-s block, a per-frequency least-squares (Wiener) echo path ``H(f)``
maps its spectrum onto the mic's and the estimate is subtracted. What remains
is the local voice (and whatever echo the linear model could not explain); :func:`echo_share`
then says, per word, how much of the raw mic's energy the canceller took away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EchoReport", "cancel_echo", "echo_share"]

SR = 16_000


@dataclass(frozen=True, slots=True)
class EchoReport:
    blocks: int
    echo_blocks: int  # blocks where the system track was heard in the mic
    median_lag_ms: float | None
    erle_db: float | None  # echo return loss enhancement over the echo blocks (energy removed)


def _xcorr_peak(mic: np.ndarray, ref: np.ndarray, max_lag: int, min_lag: int) -> tuple[np.ndarray, int, float]:
    """The cross-correlation of ``ref`` inside ``mic`` (circular, length a power of two), the
    delay in [-min_lag, max_lag] samples where its magnitude peaks, and the normalised peak."""
    n = 1 << int(np.ceil(np.log2(len(mic) + len(ref))))
    xc = np.fft.irfft(np.fft.rfft(mic, n) * np.conj(np.fft.rfft(ref, n)), n)
    lags = np.r_[np.arange(0, max_lag + 1), np.arange(-min_lag, 0)]
    vals = np.abs(xc[lags % n])
    k = int(np.argmax(vals))
    denom = float(np.sqrt(np.sum(mic**2) * np.sum(ref**2))) or 1.0
    return xc, int(lags[k]), float(vals[k] / denom)


def _lag(mic: np.ndarray, ref: np.ndarray, max_lag: int, min_lag: int) -> tuple[int, float]:
    """Delay of ``ref`` inside ``mic`` (samples) and the normalised correlation at that delay."""
    _, lag, corr = _xcorr_peak(mic, ref, max_lag, min_lag)
    return lag, corr


def _fine_lag(mic: np.ndarray, ref: np.ndarray, max_lag: int, min_lag: int) -> tuple[float, float]:
    """``_lag`` to a fraction of a sample (a parabola through the peak and its neighbours)."""
    xc, lag, corr = _xcorr_peak(mic, ref, max_lag, min_lag)
    n = len(xc)
    a, b, c = (float(abs(xc[(lag + d) % n])) for d in (-1, 0, 1))
    frac = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) < 0 else 0.0
    return lag + float(np.clip(frac, -0.5, 0.5)), corr


JUMP = 4.0  # samples off the drift's trend between two estimates a second apart: a jump


def track_delay(mic: np.ndarray, ref: np.ndarray, *, step_s: float = 1.0, span_s: float = 2.0, max_lag_s: float = 0.4,
                min_corr: float = 0.3) -> np.ndarray | None:
    """The delay (samples, fractional) of ``ref`` inside ``mic`` at every sample, from
    cross-correlations over ``span_s`` every ``step_s`` where the echo is clear; None when it
    is never clear. Outliers are removed by a running median, gaps are bridged linearly."""
    span, step = int(span_s * SR), int(step_s * SR)
    at, lags = [], []
    for s in range(0, max(1, len(mic) - span + 1), step):
        m, r = mic[s:s + span], ref[s:s + span]
        if np.sum(r.astype(np.float64) ** 2) < 1e-5 * len(r):
            continue
        lag, corr = _fine_lag(m, r, int(max_lag_s * SR), int(0.05 * SR))
        if corr >= min_corr:
            at.append(s + span / 2)
            lags.append(lag)
    if not lags:
        return None
    at, lags = np.asarray(at), np.asarray(lags)
    keep = np.abs(lags - np.array([np.median(lags[max(0, i - 3): i + 4]) for i in range(len(lags))])) <= 4.0
    at, lags = at[keep], lags[keep]
    if len(at) < 3:
        return np.full(len(mic), float(np.median(lags))) if len(at) else None
    # the delay moves in two ways: a slow drift (clocks, ~1.6 samples a second at 100 ppm) and
    # jumps (a buffer the audio stack dropped or added: tens of samples at once). Pieces between
    # jumps get a straight line per ±6 s of their own; nothing is smoothed across a jump.
    steps = np.diff(lags)
    trend = np.array([np.median(steps[max(0, i - 3): i + 4]) for i in range(len(steps))]) if len(steps) else steps
    piece = np.r_[0, np.cumsum(np.abs(steps - trend) > JUMP)]
    w = 6.0 * SR
    fit = np.empty(len(at))
    for i, c in enumerate(at):
        near = (np.abs(at - c) <= w) & (piece == piece[i])
        if near.sum() >= 3 and np.ptp(at[near]) > 0:
            fit[i] = np.polyfit(at[near] - c, lags[near], 1)[1]
        else:
            fit[i] = float(np.median(lags[near]))
    x = np.arange(len(mic), dtype=np.float64)
    out = np.interp(x, at, fit)
    for side, (a, b) in (("head", (0, 1)), ("tail", (-2, -1))):  # beyond the first/last estimate: carry the slope on
        slope = (fit[b] - fit[a]) / max(at[b] - at[a], 1.0)
        sel = x < at[0] if side == "head" else x > at[-1]
        ref_at, ref_fit = (at[0], fit[0]) if side == "head" else (at[-1], fit[-1])
        out[sel] = ref_fit + slope * (x[sel] - ref_at)
    for i in np.flatnonzero(np.diff(piece)):  # a jump between two estimates: find where, to 0.2 s
        a, b = int(at[i]), int(at[i + 1])
        t = _jump_at(mic, ref, a, b, out[a], out[b])
        out[a:t], out[t:b] = out[a], out[b]
    return out


def _jump_at(mic: np.ndarray, ref: np.ndarray, a: int, b: int, before: float, after: float, step: int = SR // 5) -> int:
    """Where between samples ``a`` and ``b`` the delay jumps from ``before`` to ``after``: the
    split that best explains each 0.2-s stretch by one delay or the other."""
    edges = list(range(a, b, step)) + [b]
    if len(edges) < 3:
        return (a + b) // 2
    gain = []
    for s, e in zip(edges[:-1], edges[1:]):
        m = mic[s:e].astype(np.float64)
        fit = []
        for d in (before, after):
            i0 = s - int(round(d))
            r = ref[max(0, i0): max(0, i0 + (e - s))].astype(np.float64)
            r = np.r_[np.zeros(max(0, -i0)), r][: e - s]
            r = np.r_[r, np.zeros(e - s - len(r))]
            fit.append(abs(float(np.dot(m, r))) / (np.sqrt(float(np.dot(r, r)) * float(np.dot(m, m))) + 1e-12))
        gain.append(fit[0] - fit[1])  # > 0: the delay before the jump explains it better
    score = np.r_[0.0, np.cumsum(gain)]  # split after k stretches: sum of the first k gains
    return edges[int(np.argmax(score))]


def _shift(x: np.ndarray, lag: int) -> np.ndarray:
    if lag > 0:
        return np.r_[np.zeros(lag, dtype=x.dtype), x[:-lag]]
    if lag < 0:
        return np.r_[x[-lag:], np.zeros(-lag, dtype=x.dtype)]
    return x


def _cancel_block(mic: np.ndarray, ref: np.ndarray, nfft: int = 512, residual: np.ndarray | None = None,
                  learn: np.ndarray | None = None, path: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One block: ``ref`` already shifted by a whole number of samples; ``residual`` (samples,
    per sample of the block) is the rest of the delay, applied per frame as a phase ramp (exact
    for a fraction of a sample, and it moves with the drift). ``learn``: the same reference kept
    only where the echo path may be learnt (None: all of ``ref``); the path is subtracted wherever
    ``ref`` sounds; ``path``: an echo path learnt before, used instead of learning one. Returns the
    cleaned block and its echo path."""
    from scipy.signal import istft, stft

    def spectrum(x):
        f, _, z = stft(x, SR, nperseg=nfft, noverlap=nfft * 3 // 4, boundary="even")
        if residual is not None and len(residual):
            hop = nfft - nfft * 3 // 4
            d = residual[np.minimum(np.arange(z.shape[1]) * hop, len(residual) - 1)]
            z = z * np.exp(-2j * np.pi * f[:, None] * d[None, :] / SR)
        return z

    _, _, m = stft(mic, SR, nperseg=nfft, noverlap=nfft * 3 // 4, boundary="even")
    r = spectrum(ref)
    if path is None:
        rl = r if learn is None else spectrum(learn)
        path = np.sum(m * np.conj(rl), axis=1, keepdims=True) / (np.sum(np.abs(rl) ** 2, axis=1, keepdims=True) + 1e-9)
    e = m - path * r
    _, out = istft(e, SR, nperseg=nfft, noverlap=nfft * 3 // 4, boundary=True)
    return out[: len(mic)].astype(np.float32), path


def cancel_echo(mic: np.ndarray, ref: np.ndarray, *, block_s: float = 8.0, max_lag_s: float = 0.4,
                min_corr: float = 0.08, learn: np.ndarray | None = None) -> tuple[np.ndarray, EchoReport]:
    """``mic`` with the echo of ``ref`` (the system track, same time base) removed. ``learn``:
    ``ref`` kept only where its echo path may be learnt (zero elsewhere; None: everywhere): the
    delay and the path are found there, and the echo is then subtracted wherever ``ref`` sounds —
    also where the mic's own talker speaks at the same time, which is where it must not be learnt."""
    mic = np.asarray(mic, dtype=np.float32)

    def fit(x):
        x = np.asarray(x, dtype=np.float32)
        return np.r_[x, np.zeros(max(0, len(mic) - len(x)), dtype=np.float32)][: len(mic)]

    ref = fit(ref)
    learn = None if learn is None else fit(learn)
    probe = ref if learn is None else learn
    delay = track_delay(mic, probe, max_lag_s=max_lag_s)  # None: never clearly heard (then per block, as found)
    if delay is not None:  # the system track moved onto the mic's time, sample by sample (jumps included)
        whole = np.rint(delay)
        src = np.arange(len(mic)) - whole.astype(np.int64)
        inside = (src >= 0) & (src < len(ref))
        ref = np.where(inside, ref[np.clip(src, 0, len(ref) - 1)], 0.0).astype(np.float32)
        if learn is not None:
            learn = np.where(inside, learn[np.clip(src, 0, len(learn) - 1)], 0.0).astype(np.float32)
        delay = delay - whole  # what is left: a fraction of a sample, applied per frame as a phase ramp
    block, hop = int(block_s * SR), int(block_s * SR) // 2
    out = np.zeros(len(mic), dtype=np.float64)
    weight = np.zeros(len(mic), dtype=np.float64)
    lags, removed, before, blocks, echo_blocks = [], 0.0, 0.0, 0, 0
    known = None  # (lag, echo path) of the last block that learnt one
    starts = list(range(0, max(1, len(mic) - hop), hop)) or [0]
    for s in starts:
        e = min(len(mic), s + block)
        m, r = mic[s:e], ref[s:e]
        rl = r if learn is None else learn[s:e]
        win = np.hanning(len(m)) if len(m) > 16 else np.ones(len(m))
        if s == 0:
            win[: len(m) // 2] = 1.0
        if e == len(mic):
            win[len(m) // 2:] = 1.0
        blocks += 1
        cleaned = m
        c = None
        residual = None if delay is None else delay[s:e]
        if np.sum(rl**2) > 1e-6 * len(rl) and len(m) > 1024:
            lag, corr = _lag(m, rl, int(max_lag_s * SR), int(0.05 * SR))
            if delay is not None:
                lag = 0
            if corr >= min_corr:
                c, path = _cancel_block(m, _shift(r, lag), residual=residual, learn=None if learn is None else _shift(rl, lag))
                known = (lag, path)
        elif learn is not None and known is not None and np.sum(r**2) > 1e-6 * len(r) and len(m) > 1024:
            # nothing to learn from here (the other party only talks over this one): the path learnt before
            lag = 0 if delay is not None else known[0]
            c, _ = _cancel_block(m, _shift(r, lag), residual=residual, path=known[1])
        if c is not None:
            em, ec = float(np.sum(m.astype(np.float64) ** 2)), float(np.sum(c.astype(np.float64) ** 2))
            if ec < em:  # only ever take energy away
                cleaned = c
                echo_blocks += 1
                lags.append(lag if delay is None else float(np.median(whole[s:e])))
                before += em
                removed += em - ec
        out[s:e] += cleaned * win
        weight[s:e] += win
    cleaned = (out / np.maximum(weight, 1e-9)).astype(np.float32)
    erle = 10 * np.log10(before / max(before - removed, 1e-12)) if before > 0 else None
    return cleaned, EchoReport(blocks, echo_blocks, float(np.median(lags)) * 1000 / SR if lags else None, erle)


def echo_share(raw: np.ndarray, cleaned: np.ndarray, start: float, end: float, pad: float = 0.05) -> float:
    """Share (0..1) of the raw mic's energy over [start, end] that the canceller removed:
    near 1 for a word that was only the far end's echo, near 0 for the local user's own."""
    i0 = max(0, int((start - pad) * SR))
    i1 = min(len(raw), max(i0 + 1, int((end + pad) * SR)))
    er = float(np.sum(raw[i0:i1].astype(np.float64) ** 2))
    if er <= 1e-12:
        return 0.0
    ec = float(np.sum(cleaned[i0:i1].astype(np.float64) ** 2))
    return float(min(1.0, max(0.0, 1.0 - ec / er)))
