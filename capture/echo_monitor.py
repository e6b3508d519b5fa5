"""While recording: does the microphone hear the system audio (laptop speakers)? Fed with the
recorder's blocks, it keeps the last few seconds of both channels and, every couple of
seconds, correlates them over the delays an echo can have. Cheap (one FFT pair per check);
the answer drives a warning ("use headphones"); the echo itself is cancelled afterwards."""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["EchoMonitor"]

SR = 16_000


class EchoMonitor:
    def __init__(self, window: float = 3.0, every: float = 2.0, threshold: float = 0.3, max_lag: float = 0.3):
        self.window, self.every, self.threshold, self.max_lag = int(window * SR), int(every * SR), threshold, int(max_lag * SR)
        self._buf = {"mic": np.zeros(0, np.float32), "system": np.zeros(0, np.float32)}
        self._since = 0
        self._lock = threading.Lock()
        self.correlation = 0.0
        self.hearing = False  # the mic picks up the system audio

    def feed(self, role: str, block: np.ndarray, start: float = 0.0) -> None:
        """The recorder's ``on_block`` hook (any thread)."""
        if role not in self._buf:
            return
        with self._lock:
            self._buf[role] = np.r_[self._buf[role], np.asarray(block, np.float32)][-self.window:]
            if role == "system":
                self._since += len(block)
            if self._since < self.every or min(len(b) for b in self._buf.values()) < self.window:
                return
            self._since = 0
            mic, ref = self._buf["mic"].astype(np.float64), self._buf["system"].astype(np.float64)
        if np.sum(ref**2) < 1e-4 * len(ref) or np.sum(mic**2) < 1e-6 * len(mic):
            return  # nothing playing, or a silent mic: no evidence either way
        n = 1 << int(np.ceil(np.log2(2 * len(mic))))
        xc = np.fft.irfft(np.fft.rfft(mic, n) * np.conj(np.fft.rfft(ref, n)), n)[: self.max_lag + 1]
        corr = float(np.max(np.abs(xc)) / np.sqrt(np.sum(mic**2) * np.sum(ref**2)))
        self.correlation = 0.7 * self.correlation + 0.3 * corr if self.correlation else corr
        self.hearing = self.correlation >= self.threshold
