"""Orchestration: a recorded file → decoded audio → diarization → ASR → alignment →
confidence → one transaction in the store. Emits typed events; knows nothing of Qt.

Models load once per :class:`Engine` and are reused across imports.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from capture.decode import decode_to_wav, file_sha256, read_mono
from meetings.errors import Cancelled, ParleyError, SaveFailed, StoreError
from meetings.files import private_dir, write_private
from meetings.memory import release_free_memory
from meetings.events import EventSink, Failed, Finished, Progress, StageDone
from diarization.channels import Route
from meetings.types import Diarization, PipelineOptions, Transcript, Turn

if TYPE_CHECKING:
    from meetings.store import Store

__all__ = ["Engine", "ImportResult", "StageTiming", "channel_route", "process_audio", "speech_pauses"]


@dataclass(frozen=True, slots=True)
class StageTiming:
    stage: str
    seconds: float


@dataclass(frozen=True, slots=True)
class ImportResult:
    meeting_id: int
    duplicate: bool
    duration: float
    timings: tuple[StageTiming, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Processed:
    """What the speech pipeline made of one recording (before storage)."""

    diarization: Diarization
    transcript: Transcript
    turns: tuple[Turn, ...]  # final: aligned, overlaps recovered, scored
    timings: tuple[StageTiming, ...]
    primary_turns: tuple[Turn, ...] = ()  # aligned single-stream words only (before overlap recovery)
    attribution: str = "mono"  # "mono" (one mix) or "channels" (a person or group per channel)
    voice_margins: tuple[float | None, ...] | None = None  # per final turn (what confidence scored)
    edge_margins: tuple[float | None, ...] | None = None
    warnings: tuple[str, ...] = ()  # whole-meeting checks (diarization/checks.py), for the meeting record
    #: who spoke when, as stored for the RTTM export: the diarization's segments (the channel
    #: path: each channel's own speech and diarization)
    activity: tuple = ()


MONO = Route("mono", "one channel", 0.0, ())


def _noop(_event) -> None:
    pass


def speech_pauses(dia: Diarization, duration: float, min_pause: float = 0.3) -> list[tuple[float, float]]:
    """Stretches with nobody speaking (from the diarization), for cutting ASR windows."""
    pauses, t = [], 0.0
    for seg in sorted(dia.segments, key=lambda s: s.start):
        if seg.start - t >= min_pause:
            pauses.append((t, seg.start))
        t = max(t, seg.end)
    if duration - t >= min_pause:
        pauses.append((t, duration))
    return pauses


class Engine:
    """Holds the loaded models for one set of options; safe to reuse, not to share across threads."""

    def __init__(self, options: PipelineOptions = PipelineOptions(), *, voice_check: bool = True):
        from diarization.loader import SpeechModels
        from diarization.models import resolve_device

        self.options = options
        self.recover_overlap = options.recover_overlap
        self.voice_check = voice_check
        self.device = resolve_device(options.device)
        # Whisper loads now; the embedded diarizer loads on a background thread (diarization/loader.py)
        self.models = SpeechModels(options, self.device)
        self._cancel = threading.Event()

    @property
    def diarizer(self):
        return self.models.diarizer  # waits for the background load

    @property
    def transcriber(self):
        return self.models.transcriber

    def cancel(self) -> None:
        self._cancel.set()
        self.models.cancel()

    def process(self, wav: Path, duration: float, emit: EventSink = _noop, route=None) -> Processed:
        """A canonical WAV → speakers and words. A file whose channels carry different people
        (``route``, else decided from the audio: :func:`channel_route`) is attributed by channel."""
        route = route or channel_route(wav)
        if route.path != "channels":
            return process_audio(self, wav, duration, emit)
        from meetings.recording import process_channels

        from diarization.checks import meeting_warnings

        p = process_channels(self, wav, route.roles or ("party",) * 2, duration, emit)
        emit(StageDone("align", 0.0))
        return Processed(p.diarization, p.transcript, p.turns, p.timings, p.turns, attribution="channels",
                         warnings=meeting_warnings(p.turns), activity=p.diarization.segments)

    def reset_cancel(self) -> None:
        """Forget an earlier cancel (a cancel during a job sticks until the job has stopped)."""
        self._cancel.clear()
        self.models.reset_cancel()

    def check_cancel(self) -> None:
        release_free_memory()  # called between batches of every long stage (meetings/memory.py)
        if self._cancel.is_set():
            raise Cancelled("import cancelled")

    def import_file(self, path: str | Path, store: "Store", *, title: str | None = None, emit: EventSink = _noop) -> ImportResult:
        """Import a recording; a file already imported (same content) is not imported twice.

        While it runs, the import holds the recording's lock in the store: a second import of
        the same recording (any process) is refused instead of deleting this one's meeting.
        """
        from contextlib import nullcontext

        path = Path(path)
        try:
            sha = file_sha256(path) if path.is_file() else ""
        except ParleyError as exc:
            emit(Failed(str(exc)))
            raise
        with store.importing(sha) if sha else nullcontext():
            return self._import_file(path, store, title=title, emit=emit, sha=sha)

    def _import_file(self, path: Path, store: "Store", *, title: str | None, emit: EventSink, sha: str) -> ImportResult:
        self.reset_cancel()
        try:
            existing = store.find_by_sha256(sha) if sha else None
            if existing is not None and existing.status == "done":
                emit(Finished(existing.id, duplicate=True))
                return ImportResult(existing.id, True, existing.duration)
            if existing is not None:  # left failed/interrupted by an earlier run: start again
                store.delete_meeting(existing.id)
            audio_dir = private_dir(store.data_dir / "audio")
            wav = audio_dir / f"{sha[:16] or 'unknown'}.wav"
            t0 = time.perf_counter()
            info = decode_to_wav(path, wav, sha256=sha or None, progress=lambda d, t: emit(Progress("decode", d, t)))
            decode_s = time.perf_counter() - t0
            emit(StageDone("decode", decode_s))
        except ParleyError as exc:
            emit(Failed(str(exc)))
            raise
        route = channel_route(wav) if info.channels > 1 and info.distinct_channels else None
        live = _live_route(path, info.channels)
        route = live or route
        from dataclasses import replace

        options = replace(self.options, extra={**self.options.extra, "attribution": route.path if route else "mono",
                                               **({"attribution_reason": route.reason} if route else {})})
        meeting_id = store.begin_meeting(
            title or path.stem, info, str(wav), options, self.options.asr_model, self.options.diarization_model
        )
        result = None
        try:
            self.check_cancel()
            result = self.process(wav, info.duration, emit, route=route or MONO)
            t0 = time.perf_counter()
            store.save_result(
                meeting_id,
                speakers=result.diarization.speakers,
                centroids=result.diarization.centroids,
                turns=result.turns,
                language=result.transcript.language,
                activity=result.activity or result.diarization.segments,
                warnings=result.warnings,
                names=_live_names(route),
            )
            save_s = time.perf_counter() - t0
            emit(StageDone("save", save_s))
        except BaseException as exc:  # keep the decoded audio; the meeting row says what happened
            try:
                store.fail_meeting(meeting_id, "cancelled" if isinstance(exc, (Cancelled, KeyboardInterrupt)) else str(exc))
            except StoreError:  # the disk is full, say: the row stays 'processing' and reads as interrupted later
                pass
            if isinstance(exc, StoreError) and result is not None:  # finished, but not stored: keep the transcript
                exc = _save_failed(exc, store, sha, result.turns)
                emit(Failed(str(exc)))
                raise exc from None
            if isinstance(exc, ParleyError):
                emit(Failed(str(exc)))
            raise
        finally:
            self.reset_cancel()
        from meetings.people import name_after_import

        name_after_import(store, meeting_id, lambda: self.diarizer)  # speakers named from voice profiles, if any
        emit(Finished(meeting_id))
        timings = (StageTiming("decode", decode_s), *result.timings, StageTiming("save", save_s))
        return ImportResult(meeting_id, False, info.duration, timings, (*info.warnings, *result.warnings))


def _live_route(path: Path, channels: int):
    """A file Parley's recorder finalized (``capture.finalize``: its comment names each channel's
    role) takes the path its live refinement took: the mic is the local user, the system channel
    the remote people — so importing it gives the transcript the refinement gave."""
    from capture.finalize import live_roles

    roles = live_roles(path) if path.is_file() else None
    if not roles or len(roles) != channels or len(roles) < 2:
        return None
    return Route("channels", "a Parley live recording (mic + system audio)", 1.0, (), roles)


def _live_names(route) -> dict[str, str] | None:
    if route is None or "mic" not in route.roles:
        return None
    from diarization.channels import LOCAL
    from meetings.recording import LOCAL_NAME

    return {LOCAL: LOCAL_NAME}


def channel_route(wav: Path):
    """Which path a canonical WAV takes: :class:`diarization.channels.Route` (``"mono"`` for a
    one-channel file, or channels that carry the same sound)."""
    import soundfile as sf

    from diarization.channels import channel_levels, decide_route

    with sf.SoundFile(wav) as f:
        if f.channels < 2:
            return MONO
        data = f.read(min(f.frames, 600 * f.samplerate), dtype="float32", always_2d=True)  # the first 10 minutes decide
    return decide_route(channel_levels(data.T))


def _save_failed(exc: StoreError, store: "Store", sha: str, turns) -> SaveFailed:
    """The finished transcript as text, with a copy written beside the database when the disk allows."""
    lines = []
    for t in turns:
        s = int(t.start)
        lines.append(f"[{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}] {t.speaker}: {t.text}")
    text = "\n".join(lines) + "\n"
    where = "no copy could be written either (the command line prints it)"
    saved = None
    try:
        folder = private_dir(store.data_dir / "recovered")
        saved = folder / f"{sha[:16] or 'meeting'}-transcript.txt"
        write_private(saved, text)
        where = f"a copy is in {saved}"
    except OSError:
        if saved is not None:
            saved.unlink(missing_ok=True)
        saved = None
    return SaveFailed(f"the finished transcript could not be saved ({exc}); {where}; free some space and import the file again", text, str(saved) if saved else None)


def process_audio(engine: Engine, wav: Path, duration: float, emit: EventSink = _noop) -> Processed:
    """Run diarization, ASR, alignment and scoring on a canonical 16 kHz WAV."""
    from diarization.align import align, reshare
    from diarization.confidence import score_turns
    from diarization.overlap import recover_overlaps
    from diarization.voices import recluster_voices

    o = engine.options
    timings = []

    def diarize():
        diarizer = engine.diarizer  # may still be loading (diarization/loader.py): not timed
        t0 = time.perf_counter()
        audio = read_mono(wav)
        dia = diarizer(
            audio,
            num_speakers=o.num_speakers,
            min_speakers=o.min_speakers,
            max_speakers=o.max_speakers,
            progress=lambda step, done, total: (release_free_memory(), emit(Progress("diarize", done or 0, total, step))),
        )
        del audio
        release_free_memory(0.0)
        timings.append(StageTiming("diarize", time.perf_counter() - t0))
        emit(StageDone("diarize", timings[-1].seconds))
        engine.check_cancel()
        return dia

    def transcribe(dia):
        t0 = time.perf_counter()
        transcript = engine.transcriber(
            lambda a, b: read_mono(wav, a, b),
            duration,
            pauses=speech_pauses(dia, duration) if dia is not None else (),
            progress=lambda d, t: emit(Progress("transcribe", d, t)),
        )
        timings.append(StageTiming("transcribe", time.perf_counter() - t0))
        emit(StageDone("transcribe", timings[-1].seconds))
        engine.check_cancel()
        return transcript

    if duration <= engine.transcriber.options.window:
        # One ASR window needs no pauses from the diarization: transcribe first, while the
        # diarizer may still be loading in the background.
        transcript = transcribe(None)
        dia = diarize()
    else:
        dia = diarize()
        transcript = transcribe(dia)

    heard_one = False  # the diarizer's one speaker was checked and holds one voice
    if len(dia.speakers) == 1 and duration >= 20.0:  # one speaker: does it sound like one?
        dia = _split_second_voice(engine, wav, dia, duration)
        heard_one = len(dia.speakers) == 1
    t0 = time.perf_counter()
    primary = align(transcript.words, dia)
    timings.append(StageTiming("align", time.perf_counter() - t0))
    turns, margins, edges = primary, None, None
    if engine.voice_check:
        t0 = time.perf_counter()
        voices = recluster_voices(
            turns,
            dia.speakers,
            lambda a, b: engine.diarizer.embed(read_mono(wav, a, b)),
            embed_many=_span_embedder(engine, wav),
            cancel=engine.check_cancel,
        )
        dia = _with_new_voices(dia, voices.speakers, voices.new_centroids)
        turns = reshare(list(voices.turns), dia)
        margins, edges = voices.margins, voices.edge_margins
        timings.append(StageTiming("voice", time.perf_counter() - t0))
    if engine.recover_overlap and len(dia.speakers) > 1:
        t0 = time.perf_counter()
        margin_of = {id(t): m for t, m in zip(turns, margins or ())}
        edge_of = {id(t): m for t, m in zip(turns, edges or ())}
        turns = recover_overlaps(turns, dia, lambda h: _transcribe_hidden(engine, wav, dia, h), cancel=engine.check_cancel)
        margins = [margin_of.get(id(t)) for t in turns] if margins is not None else None  # recovered turns: none
        edges = [edge_of.get(id(t)) for t in turns] if edges is not None else None
        timings.append(StageTiming("overlap", time.perf_counter() - t0))
    turns, dia = _fold_backchannels(turns, dia)
    turns = score_turns(turns, voice_margins=margins, edge_margins=edges)
    sounds_like_more = False if heard_one else None
    if not heard_one and len({t.speaker for t in turns if t.words}) <= 1 and duration >= 20.0:  # one speaker: more voices?
        from diarization.checks import flag_second_voice, second_voice, within

        heard = second_voice(
            _span_embedder(engine, wav),
            within([(s.start, s.end) for s in dia.exclusive], duration) or [(t.start, t.end) for t in turns],
        )
        sounds_like_more = bool(heard)
        turns = flag_second_voice(turns, heard)  # where the other voice was heard: the turns to review
    from diarization.checks import meeting_warnings

    emit(StageDone("align", sum(t.seconds for t in timings[2:])))
    return Processed(dia, transcript, tuple(turns), tuple(timings), tuple(primary),
                     voice_margins=tuple(margins) if margins is not None else None,
                     edge_margins=tuple(edges) if edges is not None else None,
                     warnings=meeting_warnings(turns, sounds_like_more, telephone=engine.diarizer.narrowband),
                     activity=dia.segments)


def _span_embedder(engine: Engine, wav: Path):
    """``spans -> embeddings`` of the WAV's audio at those (start, end) seconds, one row each."""
    return lambda spans: engine.diarizer.embed_many([read_mono(wav, a, b) for a, b in spans])


def _split_second_voice(engine: Engine, wav: Path, dia: Diarization, duration: float) -> Diarization:
    """The diarizer found one speaker where the voices under the speech form two
    (:func:`diarization.checks.split_voices`): its speech cut between the two. On a telephone line
    the segmentation can put a party who says little into the other's speaker slot, and no
    clustering threshold then tells them apart (issue 14); 1-s pieces of the speech do."""
    from dataclasses import replace

    from diarization.checks import split_voices, within
    from meetings.types import SpeakerSegment

    split = split_voices(_span_embedder(engine, wav),
                         within([(s.start, s.end) for s in dia.exclusive], duration), cancel=engine.check_cancel)
    if split is None:
        return dia
    names = (dia.speakers[0], "SPEAKER_01" if dia.speakers[0] != "SPEAKER_01" else "SPEAKER_00")
    segments = tuple(SpeakerSegment(a, b, names[v]) for a, b, v in split.parts)
    return replace(dia, segments=segments, exclusive=segments, speakers=names, activations=None, centroids=split.centroids)


def _fold_backchannels(turns, dia: Diarization):
    """A speaker who only said a few words over someone else is not a new person: their words
    and activity go to the closest other voice (:func:`diarization.checks.fold_backchannel_speakers`).
    The turns stay one for one (their voice margins still line up)."""
    from diarization.checks import fold_backchannel_speakers

    cents = None
    if dia.centroids is not None and len(dia.centroids) == len(dia.speakers):
        cents = {s: dia.centroids[i] for i, s in enumerate(dia.speakers)}
    folded, into = fold_backchannel_speakers(turns, cents)
    if not into:
        return turns, dia
    return folded, merge_speakers(dia, into)


def merge_speakers(dia: Diarization, into: dict[str, str]) -> Diarization:
    """The diarization with each speaker of ``into`` merged into the one it maps to (activity
    relabelled, its row of centroids dropped)."""
    from dataclasses import replace

    keep = [i for i, s in enumerate(dia.speakers) if s not in into]
    return replace(dia, segments=tuple(replace(x, speaker=into.get(x.speaker, x.speaker)) for x in dia.segments),
                   exclusive=tuple(replace(x, speaker=into.get(x.speaker, x.speaker)) for x in dia.exclusive),
                   speakers=tuple(dia.speakers[i] for i in keep),
                   centroids=None if dia.centroids is None else dia.centroids[keep])


def _with_new_voices(dia: Diarization, speakers: tuple[str, ...], new_centroids: dict) -> Diarization:
    """The diarization plus the voices it missed (found by the voice stage), centroids in order."""
    from dataclasses import replace

    import numpy as np

    if tuple(speakers) == tuple(dia.speakers):
        return dia
    centroids = dia.centroids
    if centroids is not None:
        rows = [centroids[dia.speakers.index(s)] if s in dia.speakers else new_centroids.get(s) for s in speakers]
        centroids = None if any(r is None for r in rows) else np.stack([np.asarray(r, dtype=np.float32) for r in rows])
    return replace(dia, speakers=tuple(speakers), centroids=centroids)


def _transcribe_hidden(engine: Engine, wav: Path, dia: Diarization, hidden, pad: float = 0.3):
    """Re-transcribe one stretch of hidden speech, fading out audio where that speaker is silent."""
    import numpy as np

    start = max(0.0, hidden.start - pad)
    clip = read_mono(wav, start, hidden.end + pad)
    a = dia.activations
    if a is not None and hidden.speaker in a.speakers and clip.size:
        k = a.speakers.index(hidden.speaker)
        t = start + np.arange(clip.size) / 16000.0
        idx = np.clip(np.round((t - a.start) / a.step).astype(int), 0, len(a.values) - 1)
        clip = clip * np.clip(0.15 + a.values[idx, k], 0.0, 1.0)
    return engine.transcriber.transcribe_clip(clip.astype("float32"), offset=start)
