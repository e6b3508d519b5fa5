"""Telephone-band audio: how to tell it from the sound, and what it changes in the diarizer.

pyannote's segmentation-3.0 was trained on wideband speech. On a telephone channel (300–3400 Hz,
an 8 kHz recording upsampled to 16 kHz) its speech / no-speech decision shifts: measured on the
built calls of ``bench/calls.py``, both band edges each cost about 5 points of missed speech and
together 17 (the same mixes at 16 kHz: 2.6 %); µ-law alone costs nothing, and the speech it drops
is real (the real 8 kHz call ``phone_call_40`` misses 7 % against its own reference). The
speaker embeddings are not the problem: 2-s CAM++ windows of two people on a telephone line are
still far apart (cosine ~0.25 across people, ~0.6 within).

So on telephone-band audio the segmentation's "nobody speaks" class gets a log-odds handicap of
:data:`NARROWBAND_SPEECH_BIAS` (a prior correction for the channel mismatch; the speaker decision
among the other classes is left as it is). The value was chosen leave-one-call-out on the calls
(``bench/run.py --only-calls`` reports the out-of-sample figure); wideband audio is untouched.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NARROWBAND_SPEECH_BIAS", "high_band_share", "is_narrowband", "BiasedPowerset"]

#: log-odds taken off the segmentation's no-speech class on telephone-band audio (0: pyannote's argmax)
NARROWBAND_SPEECH_BIAS = 2.0
#: above this frequency a telephone channel carries nothing (8 kHz sampling: 4 kHz Nyquist)
CUTOFF_HZ = 3900.0
#: a file is telephone-band when its energy above :data:`CUTOFF_HZ` is below this share of the
#: energy just below the telephone band's edge (:func:`high_band_share`)
NARROWBAND_SHARE = 0.05


def high_band_share(audio: np.ndarray, sr: int = 16_000, frame: float = 0.032, most_seconds: float = 120.0) -> float:
    """Long-term energy above :data:`CUTOFF_HZ` (to 7.5 kHz) relative to the band just below it
    (3–3.8 kHz), over the file's louder frames (within 30 dB of its loudest). A telephone channel
    upsampled to 16 kHz has a cliff there (the 8 kHz anti-alias filter: below 1e-3); wideband
    speech, even a far microphone's, falls off gently. Reads at most ``most_seconds`` of frames,
    spread evenly. 1.0 when the file is too short or silent to tell."""
    x = np.asarray(audio).reshape(-1)  # no copy of a long meeting: only the frames read are converted
    n = int(frame * sr)
    if sr <= 8000:
        return 0.0  # the sampling rate itself leaves nothing above the cutoff
    frames = len(x) // n
    if frames < 4:
        return 1.0
    idx = np.arange(frames)
    most = int(most_seconds / frame)
    if frames > most:
        idx = idx[np.linspace(0, frames - 1, most).astype(int)]
    f = x[(idx[:, None] * n + np.arange(n)[None, :])].astype(np.float64) * np.hanning(n)
    power = np.abs(np.fft.rfft(f, axis=1)) ** 2
    total = power.sum(axis=1)
    if not np.any(total > 0):
        return 1.0
    loud = total >= total.max() * 1e-3
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    below = power[loud][:, (freqs >= 3000.0) & (freqs < 3800.0)].sum()
    above = power[loud][:, (freqs >= CUTOFF_HZ) & (freqs < 7500.0)].sum()
    return float(above / below) if below > 0 else 1.0


def is_narrowband(audio: np.ndarray, sr: int = 16_000) -> bool:
    """Does this audio sound like a telephone channel (nothing above ~4 kHz)?"""
    return high_band_share(audio, sr) < NARROWBAND_SHARE


def BiasedPowerset(base, bias: float):
    """pyannote's powerset → multi-label conversion with ``bias`` nats taken off the no-speech
    class (class 0) before the argmax. ``base`` is the pipeline's own ``Powerset`` module."""
    from pyannote.audio.utils.powerset import Powerset

    class _Biased(Powerset):
        def to_multilabel(self, powerset, soft: bool = False):
            if self.bias:
                import torch

                powerset = powerset.clone()
                powerset[..., 0] -= self.bias
                powerset = torch.log_softmax(powerset, dim=-1)  # still log-probabilities (soft use)
            return super().to_multilabel(powerset, soft=soft)

    out = _Biased(base.num_classes, base.max_set_size)
    out.bias = float(bias)
    return out.to(base.mapping.device)
