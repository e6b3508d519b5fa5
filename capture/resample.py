"""Blocks at a device's own rate in, Parley's 16 kHz out, continuous across blocks.

Audio servers resample a stream opened at 16 kHz with their own default method; PulseAudio's
(``speex-float-1``) cuts the top of the speech band: from a 48-kHz null sink's monitor, 7 kHz
comes out 7.9 dB below 1 kHz (tests/test_capture_live.py), and speaker embeddings of the same
speech move. Recording at the source's own rate and resampling here with libsoxr (HQ) keeps
the band (0.0 dB).

The resampler holds back a few milliseconds of output (its filter); :meth:`__call__` says how
much, so the recorder can place each block by the capture time of its last *output* sample.
"""

from __future__ import annotations

import numpy as np

__all__ = ["StreamResampler"]


class StreamResampler:
    """``rate_in`` → ``rate_out`` for one stream (one channel, float32); identity when equal."""

    def __init__(self, rate_in: int, rate_out: int):
        self.rate_in, self.rate_out = int(rate_in), int(rate_out)
        self._in = 0  # input frames taken
        self._out = 0  # output frames given
        self._rs = None
        if self.rate_in != self.rate_out:
            import soxr

            self._rs = soxr.ResampleStream(self.rate_in, self.rate_out, 1, dtype="float32", quality="HQ")

    def __call__(self, block: np.ndarray, last: bool = False) -> tuple[np.ndarray, float]:
        """The output for ``block`` and how far (seconds) the last output sample lies before the
        last input sample (what the filter still holds)."""
        block = np.ascontiguousarray(block, dtype=np.float32).reshape(-1)
        if self._rs is None:
            return block, 0.0
        out = self._rs.resample_chunk(block, last=last)
        self._in += len(block)
        self._out += len(out)
        held = self._in * self.rate_out / self.rate_in - self._out
        return out, max(0.0, held) / self.rate_out

    def flush(self) -> np.ndarray:
        """What the filter still holds (at the end of the stream)."""
        if self._rs is None:
            return np.zeros(0, np.float32)
        return self(np.zeros(0, np.float32), last=True)[0]
