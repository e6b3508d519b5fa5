"""Speaker embeddings of transcript turns from the meeting audio, with the embedded CAM++
model (the same voice model the diarization uses). Qt-free; slow enough to run off the UI
thread (about 20 ms per turn on a laptop CPU)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["load_campplus", "embed_spans", "SAMPLE_RATE"]

SAMPLE_RATE = 16_000


@functools.lru_cache(maxsize=1)
def load_campplus():
    from diarization.campplus import CAMPPlus
    from diarization.models import embedded_campplus_path

    return CAMPPlus(embedded_campplus_path())


def _clip(audio: np.ndarray, start: float, end: float, min_seconds: float, max_seconds: float) -> np.ndarray:
    mid = 0.5 * (start + end)
    if end - start > max_seconds:  # long turns: the middle is enough to know the voice
        start, end = mid - max_seconds / 2, mid + max_seconds / 2
    seg = audio[max(0, int(start * SAMPLE_RATE)) : max(0, int(end * SAMPLE_RATE))]
    need = int(min_seconds * SAMPLE_RATE)
    if seg.size == 0:
        return seg
    if seg.size < need:  # repeat the speaker's own audio rather than pull in a neighbour's
        seg = np.tile(seg, need // seg.size + 1)[:need]
    return seg


def embed_spans(
    wav: str | Path,
    spans: Sequence[tuple[int, float, float]],
    *,
    model=None,
    min_seconds: float = 1.0,
    max_seconds: float = 8.0,
    cancelled: Callable[[], bool] = lambda: False,
) -> dict[int, np.ndarray]:
    """``[(key, start, end), ...]`` → ``{key: 192-d embedding}`` (spans with no audio are left out)."""
    import torch

    from capture.decode import read_mono

    model = model if model is not None else load_campplus()
    audio = read_mono(wav)
    out: dict[int, np.ndarray] = {}
    with torch.inference_mode():
        for key, start, end in spans:
            if cancelled():
                break
            seg = _clip(audio, start, end, min_seconds, max_seconds)
            if seg.size < SAMPLE_RATE // 10:
                continue
            x = torch.from_numpy(np.ascontiguousarray(seg, dtype=np.float32))[None, None, :]
            out[key] = model(x)[0].numpy().astype(np.float32)
    return out
