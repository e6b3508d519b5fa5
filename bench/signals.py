"""Signal comparisons for the capture tests and the live-replay benchmark."""

from __future__ import annotations

import numpy as np

__all__ = ["xcorr_peak", "to_16k"]


def to_16k(x: np.ndarray, sr: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    if sr == 16_000:
        return np.asarray(x, dtype=np.float32)
    g = gcd(16_000, sr)
    return resample_poly(x, 16_000 // g, sr // g).astype(np.float32)


def xcorr_peak(captured: np.ndarray, reference: np.ndarray, sr: int = 16_000, max_lag: float = 6.0) -> tuple[float, float]:
    """Normalised cross-correlation peak (1.0 = the same waveform, any gain) of ``reference``
    inside ``captured``, and the lag in seconds at which it sits (positive: later)."""
    a = np.asarray(captured, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    xc = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)
    m = int(max_lag * sr)
    lags = np.r_[np.arange(0, m + 1), np.arange(-m, 0)]
    vals = xc[lags % n]
    k = int(np.argmax(np.abs(vals)))
    lag = int(lags[k])
    # normalise over the stretch where the two overlap at that lag
    if lag >= 0:
        seg_a, seg_b = a[lag: lag + len(b)], b[: max(0, len(a) - lag)]
    else:
        seg_a, seg_b = a[: len(b) + lag], b[-lag: -lag + len(a)]
    k2 = min(len(seg_a), len(seg_b))
    denom = float(np.sqrt(np.sum(seg_a[:k2] ** 2) * np.sum(seg_b[:k2] ** 2))) or 1.0
    return float(abs(vals[k]) / denom), lag / sr
