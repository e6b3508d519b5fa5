"""Audio playback for the transcript: QMediaPlayer + QAudioOutput when they work, and a
plain clock otherwise (no sound device, missing file, codec error), so the view always gets
a moving position and never crashes. Also handles speed and looping one stretch."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QObject, QTimer, QUrl, Signal

__all__ = ["Player"]


class Player(QObject):
    positionChanged = Signal(float)  # seconds, ~30 times a second while playing, and on seek
    playingChanged = Signal(bool)
    notice = Signal(str)  # "audio output unavailable: …" and such, for the status bar

    TICK_MS = 33

    def __init__(self, parent: QObject | None = None, *, use_audio: bool = True, outputs=None):
        """``outputs``: the sound outputs there are (default: Qt's list of the system's)."""
        super().__init__(parent)
        self._use_audio = use_audio
        self._outputs = outputs
        self._media = None
        self._output = None
        self._duration = 0.0
        self._rate = 1.0
        self._loop: tuple[float, float] | None = None
        self._playing = False
        # the fallback clock: position = base + elapsed * rate
        self._base = 0.0
        self._elapsed = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(self.TICK_MS)
        self._timer.timeout.connect(self._tick)

    # ---------------------------------------------------------------- source
    def load(self, path: str | None, duration: float) -> None:
        self.stop()
        self._duration = max(duration, 0.0)
        self._base = 0.0
        self._loop = None
        self._drop_media()
        if self._use_audio and path and Path(path).is_file() and not self._has_output():
            self.notice.emit("no audio output device: playback follows a clock (the words still light up in time)")
        elif self._use_audio and path and Path(path).is_file():
            try:
                from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

                self._media = QMediaPlayer(self)
                self._output = QAudioOutput(self)
                self._media.setAudioOutput(self._output)
                self._media.errorOccurred.connect(self._on_error)
                self._media.playbackStateChanged.connect(self._on_media_state)
                self._media.setPlaybackRate(self._rate)
                self._media.setSource(QUrl.fromLocalFile(str(path)))
            except Exception as exc:  # no multimedia backend at all
                self._drop_media()
                self.notice.emit(f"audio playback unavailable: {exc}")
        elif path:
            self.notice.emit(f"audio file not found: {path} — playback follows a clock only")
        self.positionChanged.emit(0.0)

    def _has_output(self) -> bool:
        try:
            if self._outputs is not None:
                return bool(self._outputs())
            from PySide6.QtMultimedia import QMediaDevices

            return bool(QMediaDevices.audioOutputs())
        except Exception:  # no multimedia backend: try it, and say what fails
            return True

    @property
    def has_audio(self) -> bool:
        return self._media is not None

    def _drop_media(self) -> None:
        if self._media is not None:
            self._media.stop()
            self._media.setSource(QUrl())
            self._media.deleteLater()
            self._output.deleteLater()
        self._media = self._output = None

    def _on_media_state(self, state) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        if state == QMediaPlayer.PlaybackState.StoppedState and self._playing and self._loop is None:
            self.pause()  # reached the end of the file

    def _on_error(self, _error, message: str) -> None:
        pos = self.position()
        self._drop_media()
        self._base = pos
        self._elapsed.restart()
        self.notice.emit(f"audio playback failed ({message or 'unknown error'}) — following a clock instead")

    # ---------------------------------------------------------------- state
    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def loop(self) -> tuple[float, float] | None:
        return self._loop

    def position(self) -> float:
        """Seconds. Our own clock (exact right after a seek, when the media still reports the old
        position); :meth:`_tick` pulls it towards the audio device's clock when they drift apart."""
        if not self._playing or not self._elapsed.isValid():
            return self._base
        return min(self._base + self._elapsed.elapsed() / 1000.0 * self._rate, self._duration or 1e12)

    # ---------------------------------------------------------------- control
    def play(self) -> None:
        if self._playing:
            return
        if self._duration and self.position() >= self._duration - 0.05 and not self._loop:
            self.seek(0.0)
        self._playing = True
        if self._media is not None:
            self._media.setPosition(int(self._base * 1000))
            self._media.play()
        self._elapsed.restart()
        self._timer.start()
        self.playingChanged.emit(True)

    def pause(self) -> None:
        if not self._playing:
            return
        self._base = self.position()
        self._playing = False
        if self._media is not None:
            self._media.pause()
        self._timer.stop()
        self.playingChanged.emit(False)
        self.positionChanged.emit(self._base)

    def stop(self) -> None:
        self.pause()

    def toggle(self) -> None:
        self.pause() if self._playing else self.play()

    def seek(self, seconds: float) -> None:
        seconds = max(0.0, min(seconds, self._duration) if self._duration else seconds)
        self._base = seconds
        self._elapsed.restart()
        if self._media is not None:
            self._media.setPosition(int(seconds * 1000))
        self.positionChanged.emit(seconds)

    def set_rate(self, rate: float) -> None:
        self._base = self.position()
        self._elapsed.restart()
        self._rate = rate
        if self._media is not None:
            self._media.setPlaybackRate(rate)

    def set_loop(self, span: tuple[float, float] | None) -> None:
        """Play ``(start, end)`` over and over (None: stop looping)."""
        self._loop = span
        if span is not None and not span[0] <= self.position() < span[1]:
            self.seek(span[0])

    def _tick(self) -> None:
        pos = self.position()
        if self._media is not None:
            audio = self._media.position() / 1000.0
            if 0.15 < abs(audio - pos) < 1.0:  # settled but drifted: follow the audio
                self._base, pos = audio, audio
                self._elapsed.restart()
        if self._loop is not None and pos >= self._loop[1]:
            self.seek(self._loop[0])
            return
        if self._duration and pos >= self._duration:
            self.pause()
            return
        self.positionChanged.emit(pos)
