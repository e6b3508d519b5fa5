"""Loading the speech models for one set of options, off the critical path.

Importing pyannote.audio (it pulls in Lightning and torch's compiler stack) takes seconds of
single-threaded Python; the Whisper model loads in well under one. :class:`SpeechModels` starts
the diarization pipeline loading on a background thread as soon as it is created, and loads
Whisper on first use in the caller's thread, so Whisper can already be transcribing (C++, no
GIL) while pyannote is still importing. Either attribute blocks until its model is ready and
re-raises a loading failure (:class:`~meetings.errors.ModelUnavailable`) where it is used.

Libraries both threads import (torch, faster-whisper, onnxruntime for Silero VAD, PyAV and
soundfile for decoding) are imported before the thread starts, so the two threads never
initialise the same module at once.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

import diarization  # noqa: F401  (privacy and CPU env defaults before any model library)

from .models import EMBEDDED_DIARIZATION, Device, embedded_campplus_path, embedded_segmentation_path

__all__ = ["SpeechModels"]


class SpeechModels:
    """A diarizer and a transcriber for one set of pipeline options, loading in parallel.

    Errors a user can fix surface here, at once: a missing embedded weight file, an ASR model
    that cannot be loaded, a hub diarization pipeline that cannot be loaded (those load in the
    caller's thread). Only the embedded diarizer, whose files were just checked, loads behind."""

    def __init__(self, options, device: Device, *, background: bool = True):
        import av  # noqa: F401  (shared imports first: see the module docstring; decoding uses av and soundfile)
        import faster_whisper  # noqa: F401
        import soundfile  # noqa: F401
        import torch  # noqa: F401

        try:
            import onnxruntime  # noqa: F401  (Silero VAD, first used while the diarizer may still load)
        except ImportError:
            pass
        self.options = options
        self.device = device
        self._diarizer: Future = Future()
        self._transcriber = None
        self._lock = threading.Lock()
        if options.diarization_model == EMBEDDED_DIARIZATION:
            embedded_segmentation_path(), embedded_campplus_path()  # ModelUnavailable now, not later
        else:
            background = False  # hub pipelines fail for reasons the user must see before any work
        if background:
            threading.Thread(target=self._load_diarizer, name="parley-load-diarizer", daemon=True).start()
        else:
            self._load_diarizer()
            self.diarizer  # raise now
        self.transcriber  # Whisper loads in this thread, while the diarizer loads in the other

    def _load_diarizer(self) -> None:
        try:
            from .diarize import Diarizer

            self._diarizer.set_result(Diarizer(self.options.diarization_model, self.device))
        except BaseException as exc:  # handed to whoever asks for the diarizer
            self._diarizer.set_exception(exc)

    @property
    def diarizer(self):
        return self._diarizer.result()

    @property
    def diarizer_ready(self) -> bool:
        return self._diarizer.done()

    @property
    def transcriber(self):
        with self._lock:
            if self._transcriber is None:
                from .asr import AsrOptions, Transcriber

                o = self.options
                self._transcriber = Transcriber(
                    AsrOptions(model=o.asr_model, language=o.language, beam_size=o.beam_size, batch_size=o.batch_size, vad_filter=o.vad_filter),
                    self.device,
                )
            return self._transcriber

    @property
    def transcriber_loaded(self) -> bool:
        return self._transcriber is not None

    def wait(self) -> None:
        """Block until both models are loaded (raising a loading failure)."""
        self.transcriber
        self.diarizer

    def cancel(self) -> None:
        """Cancel what is running (a model still loading has nothing to cancel)."""
        for m in self._loaded():
            m.cancel()

    def reset_cancel(self) -> None:
        for m in self._loaded():
            m.reset_cancel()

    def _loaded(self):
        out = [self._transcriber] if self._transcriber is not None else []
        if self._diarizer.done() and self._diarizer.exception() is None:
            out.append(self._diarizer.result())
        return out
