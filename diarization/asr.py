"""Whisper transcription with faster-whisper, returning :class:`meetings.types.Transcript`.

CPU: int8, sequential decoding with beam search. CUDA: float16 with faster-whisper's
``BatchedInferencePipeline``. Long recordings are transcribed in windows of at most
``window`` seconds, cut inside pauses, so memory stays flat for a 3-hour file. Segments
whose words came back without timestamps keep their words, with times interpolated
(``Word.timed = False``): nothing the model heard is dropped.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from meetings.errors import Cancelled
from meetings.memory import release_free_memory
from meetings.types import AsrSegment, Transcript, Word

from .models import EMBEDDED_ASR, Device, load_whisper

SAMPLE_RATE = 16_000
ProgressFn = Callable[[float, float], None]  # (seconds done, seconds total)
AudioReader = Callable[[float, float], np.ndarray]  # (start, end) seconds -> mono float32

__all__ = ["AsrOptions", "Transcriber", "plan_windows", "interpolate_words"]


@dataclass(frozen=True, slots=True)
class AsrOptions:
    model: str = EMBEDDED_ASR
    language: str | None = None
    beam_size: int = 5
    batch_size: int = 8  # CUDA only
    vad_filter: bool = True
    condition_on_previous_text: bool = False  # avoids repetition loops across a long meeting
    window: float = 600.0  # seconds per transcription window
    # Main pass: Whisper's fallback (a decode that loops or is unlikely is retried at higher
    # temperatures, by sampling) guards against repetition loops in long meetings. CTranslate2
    # seeds each worker thread's generator once, when the model starts: ``seed`` is set before
    # loading, so the same file in a fresh process gives the same words.
    temperature: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    seed: int = 0
    # Overlap clips: no sampling (a sampled guess depends on every clip decoded before it in the
    # process); a decode that fails Whisper's own checks is dropped instead.
    clip_compression_ratio: float = 2.4
    clip_log_prob: float = -1.0


def plan_windows(duration: float, pauses: Sequence[tuple[float, float]], window: float) -> list[tuple[float, float]]:
    """Split [0, duration] into spans of at most ``window`` s, cutting in the middle of the
    longest pause found in the last third of each span (a hard cut when there is none)."""
    if duration <= window:
        return [(0.0, duration)]
    spans: list[tuple[float, float]] = []
    start = 0.0
    pauses = sorted(pauses)
    reach = np.maximum.accumulate([p1 for _, p1 in pauses]) if pauses else []  # latest end so far
    first = 0  # pauses before this one all end before the current span's last third
    while duration - start > window:
        lo, hi = start + window * 2 / 3, start + window
        best = None
        while first < len(pauses) and reach[first] <= lo:
            first += 1
        for k in range(first, len(pauses)):  # only the pauses near this span: linear over the file, not windows × pauses
            p0, p1 = pauses[k]
            if p0 >= hi:
                break
            a, b = max(p0, lo), min(p1, hi)
            if b > a and (best is None or b - a > best[1] - best[0]):
                best = (a, b)
        cut = 0.5 * (best[0] + best[1]) if best else hi
        spans.append((start, cut))
        start = cut
    spans.append((start, duration))
    return spans


_TOKEN = re.compile(r"\S+")


def interpolate_words(start: float, end: float, text: str) -> tuple[Word, ...]:
    """Words for a segment that has text but no word timestamps: times spread by character count."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return ()
    total = sum(len(t) for t in tokens)
    words, t = [], start
    for tok in tokens:
        dt = (end - start) * len(tok) / total
        words.append(Word(start=t, end=t + dt, text=" " + tok, probability=0.0, timed=False))
        t += dt
    return tuple(words)


class Transcriber:
    def __init__(self, options: AsrOptions = AsrOptions(), device: Device = Device("cpu", "int8")):
        import ctranslate2

        self.options = options
        self.device = device
        ctranslate2.set_random_seed(options.seed)  # before the model's threads exist: see AsrOptions
        self.model = load_whisper(options.model, device)
        self._batched = None
        if device.kind == "cuda":
            from faster_whisper import BatchedInferencePipeline

            self._batched = BatchedInferencePipeline(model=self.model)
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def reset_cancel(self) -> None:
        self._cancel.clear()

    def __call__(
        self,
        read: AudioReader,
        duration: float,
        *,
        pauses: Sequence[tuple[float, float]] = (),
        progress: ProgressFn | None = None,
    ) -> Transcript:
        segments: list[AsrSegment] = []
        language = self.options.language or ""
        for w0, w1 in plan_windows(duration, pauses, self.options.window):
            audio = read(w0, w1)
            if audio.size < SAMPLE_RATE // 10:
                continue
            for seg, lang in self._transcribe(audio, offset=w0):
                if self._cancel.is_set():
                    raise Cancelled("transcription cancelled")
                language = language or lang
                segments.append(seg)
                if progress is not None:
                    progress(min(seg.end, duration), duration)
            if progress is not None:
                progress(w1, duration)
            release_free_memory(0.0)  # between windows (meetings/memory.py)
        return Transcript(segments=tuple(segments), language=language or "en", model=self.options.model)

    def transcribe_clip(self, audio: np.ndarray, offset: float) -> tuple[Word, ...]:
        """Words of a short clip (no VAD: the clip is already speech), times offset to the meeting.
        Deterministic: one beam-search decode; segments that loop or are unlikely are dropped."""
        o = self.options
        raw, _ = self.model.transcribe(
            audio,
            language=o.language,
            beam_size=o.beam_size,
            temperature=0.0,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        return tuple(
            Word(start=offset + float(w.start), end=offset + float(w.end), text=w.word, probability=float(w.probability))
            for s in raw
            if s.no_speech_prob < 0.6 and s.compression_ratio <= o.clip_compression_ratio and s.avg_logprob >= o.clip_log_prob
            for w in (s.words or ())
        )

    def _transcribe(self, audio: np.ndarray, offset: float) -> Iterator[tuple[AsrSegment, str]]:
        o = self.options
        kwargs = dict(
            language=o.language,
            beam_size=o.beam_size,
            temperature=list(o.temperature),
            word_timestamps=True,
            vad_filter=o.vad_filter,
            condition_on_previous_text=o.condition_on_previous_text,
        )
        if self._batched is not None:
            raw, info = self._batched.transcribe(audio, batch_size=o.batch_size, **kwargs)
        else:
            raw, info = self.model.transcribe(audio, **kwargs)
        for s in raw:  # lazy: decoding happens as we iterate
            start, end = offset + float(s.start), offset + float(s.end)
            if s.words:
                words = tuple(
                    Word(start=offset + float(w.start), end=offset + float(w.end), text=w.word, probability=float(w.probability))
                    for w in s.words
                )
            else:
                words = interpolate_words(start, end, s.text)
            yield (
                AsrSegment(start=start, end=end, text=s.text.strip(), words=words, avg_logprob=float(s.avg_logprob), no_speech_prob=float(s.no_speech_prob)),
                info.language,
            )
