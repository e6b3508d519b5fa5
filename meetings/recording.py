"""A live recording (mic + system audio) → a meeting, through the same pipeline as an import.

Per channel: the system channel holds the remote people and goes through the whole import
pipeline (diarization, ASR, alignment, voices, overlap, confidence); the mic channel is the
local user ("You"): its analysis copy is echo-cancelled against the system channel, then
transcribed, and words that are only the far end's echo are dropped. Both channels' turns are
merged on one timeline; speech on both at once is kept as overlap.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from capture.finalize import finalize
from capture.recorder import read_manifest
from capture.recovery import mark_processed
from meetings.errors import ParleyError
from meetings.events import EventSink, Failed, Finished, Progress, StageDone
from meetings.pipeline import Engine, ImportResult, StageTiming, process_audio
from meetings.types import AudioInfo, Diarization, Transcript, Turn

__all__ = ["process_recording", "process_channels", "ChannelsProcessed", "recording_warnings", "LOCAL_NAME"]

LOCAL_NAME = "You"
SR = 16_000


@dataclass(frozen=True, slots=True)
class ChannelsProcessed:
    turns: tuple[Turn, ...]
    speakers: tuple[str, ...]
    centroids: np.ndarray | None
    language: str
    timings: tuple[StageTiming, ...]
    echo_dropped: int = 0
    echo_erle_db: float | None = None
    remote: Diarization | None = None
    remote_transcript: Transcript | None = None


def _noop(_e) -> None:
    pass


def _energy_pauses(x: np.ndarray, duration: float, frame: float = 0.1, min_pause: float = 0.3) -> list[tuple[float, float]]:
    """Quiet stretches of a channel (for cutting ASR windows where nobody on it speaks)."""
    n = int(frame * SR)
    if len(x) < n:
        return []
    rms = np.sqrt(np.mean(x[: len(x) // n * n].reshape(-1, n).astype(np.float64) ** 2, axis=1))
    loud = np.percentile(rms, 95)
    quiet = rms < max(1e-4, 0.05 * loud)
    pauses, start = [], None
    for i, q in enumerate(np.r_[quiet, False]):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if (i - start) * frame >= min_pause:
                pauses.append((start * frame, min(duration, i * frame)))
            start = None
    return pauses


def _read(wav: Path, channel: int) -> np.ndarray:
    import soundfile as sf

    data, sr = sf.read(wav, dtype="float32", always_2d=True)
    if sr != SR:
        raise ParleyError(f"{wav.name}: expected {SR} Hz, found {sr} Hz")
    return data[:, channel].copy()


def process_channels(engine: Engine, wav: Path, roles: tuple[str, ...], duration: float, emit: EventSink = _noop) -> ChannelsProcessed:
    """Attribute a recording whose channels are ``roles`` (``"mic"``: the local user;
    ``"system"``: the remote people) — see the module docstring."""
    import soundfile as sf

    from diarization.channels import LOCAL, MicWord, local_turns, local_words, merge_channels
    from diarization.echo import cancel_echo, echo_share

    timings: list[StageTiming] = []
    remote_turns: tuple[Turn, ...] = ()
    speakers: list[str] = []
    centroids = None
    language = ""
    dia = transcript = None
    tmp = Path(tempfile.mkdtemp(prefix="parley-channels-"))
    try:
        system = _read(wav, roles.index("system")) if "system" in roles else None
        if system is not None:
            sys_wav = tmp / "system.wav"
            sf.write(sys_wav, system, SR, subtype="PCM_16")
            p = process_audio(engine, sys_wav, duration, emit)
            remote_turns, dia, transcript = p.turns, p.diarization, p.transcript
            speakers, centroids, language = list(dia.speakers), dia.centroids, p.transcript.language
            # a diarization that found nobody leaves its aligner label on the turns
            for t in remote_turns:
                if t.speaker not in speakers:
                    speakers.append(t.speaker)
                    centroids = None
            timings += list(p.timings)
        local: list[Turn] = []
        dropped, erle = 0, None
        if "mic" in roles:
            engine.check_cancel()
            t0 = time.perf_counter()
            raw = _read(wav, roles.index("mic"))
            cleaned, report = cancel_echo(raw, system) if system is not None else (raw, None)
            erle = report.erle_db if report else None
            timings.append(StageTiming("echo", time.perf_counter() - t0))
            t0 = time.perf_counter()
            mic_transcript = engine.transcriber(
                lambda a, b: cleaned[int(a * SR): int(b * SR)],
                duration,
                pauses=_energy_pauses(cleaned, duration),
                progress=lambda d, t: emit(Progress("transcribe", d, t, "your microphone")),
            )
            timings.append(StageTiming("transcribe_mic", time.perf_counter() - t0))
            language = language or mic_transcript.language
            mic = [MicWord(w, echo_share(raw, cleaned, w.start, w.end)) for w in mic_transcript.words]
            words, dropped = local_words(mic, transcript.words if transcript else ())
            local = local_turns(words, LOCAL)
            if local:
                speakers.insert(0, LOCAL)
                if centroids is not None:
                    vec = _local_voice(engine, cleaned, local)
                    centroids = None if vec is None else np.vstack([vec[None, :], centroids])
        turns = merge_channels(local, remote_turns)
        return ChannelsProcessed(tuple(turns), tuple(speakers), centroids, language or "en", tuple(timings),
                                 dropped, erle, dia, transcript)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _local_voice(engine: Engine, cleaned: np.ndarray, turns: list[Turn], most: float = 30.0) -> np.ndarray | None:
    """The local user's voice embedding, from up to ``most`` seconds of their turns."""
    pieces, total = [], 0.0
    for t in sorted(turns, key=lambda t: t.start - t.end):  # longest first
        pieces.append(cleaned[int(t.start * SR): int(t.end * SR)])
        total += t.end - t.start
        if total >= most:
            break
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    if audio.size < SR:
        return None
    try:
        return np.asarray(engine.diarizer.embed(audio), dtype=np.float32).reshape(-1)
    except Exception:
        return None


def recording_warnings(manifest: dict) -> tuple[str, ...]:
    """What went wrong while recording, for the meeting record (never silent)."""
    out = []
    if manifest.get("recovered"):
        out.append("the recorder stopped unexpectedly; the recording was recovered up to its last second on disk")
    if manifest.get("error"):
        out.append(manifest["error"])
    for role, st in (manifest.get("stats") or {}).items():
        who = "microphone" if role == "mic" else "system audio"
        if st.get("overflows"):
            out.append(f"{who}: {st['overflows']} audio buffers overflowed (dropped by the driver)")
        if st.get("dropped_blocks"):
            out.append(f"{who}: {st['dropped_blocks']} audio blocks dropped (the writer fell behind); filled with silence")
        for start, dur in st.get("gaps") or ():
            m, s = divmod(int(start), 60)
            out.append(f"{who}: device lost at {m}:{s:02d} for {dur:.1f} s (silence on the recording)")
    return tuple(out)


def process_recording(engine: Engine, folder: str | Path, store, *, title: str | None = None,
                      emit: EventSink = _noop) -> ImportResult:
    """Turn the recording in ``folder`` into a meeting in ``store`` (once: a second call
    returns the same meeting)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("state") == "recording":
        raise ParleyError(f"{folder.name} is still being recorded")
    engine.reset_cancel()
    audio_dir = store.data_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    emit(Progress("decode", 0.0, None, "aligning the channels"))
    try:
        fin = finalize(folder, audio_dir / f"live-{folder.name}.wav")
    except (OSError, ValueError) as exc:
        emit(Failed(str(exc)))
        raise ParleyError(f"cannot read the recording {folder.name}: {exc}") from exc
    decode_s = time.perf_counter() - t0
    emit(StageDone("decode", decode_s))
    existing = store.find_by_sha256(fin.sha256)
    if existing is not None and existing.status == "done":
        mark_processed(folder, existing.id)
        emit(Finished(existing.id, duplicate=True))
        return ImportResult(existing.id, True, existing.duration)
    if existing is not None:
        store.delete_meeting(existing.id, keep_audio=True)  # left failed/interrupted: start again
    if fin.duration < 0.1:
        raise ParleyError(f"{folder.name}: the recording is empty")
    warnings = recording_warnings(manifest)
    info = AudioInfo(str(folder), fin.sha256, fin.duration, int(manifest["samplerate"]), len(fin.roles), "pcm_s16le", "wav",
                     distinct_channels=len(fin.roles) > 1, warnings=warnings)
    extra = {**engine.options.extra, "source": "live", "attribution": "channels", "channels": "+".join(fin.roles),
             "drift_ppm": ",".join(f"{r}={v:.0f}" for r, v in fin.drift_ppm.items())}
    options = replace(engine.options, extra=extra)
    when = (manifest.get("started_at") or "")[:16].replace("T", " ")
    sources = [(c["role"], str(folder / c["file"])) for c in manifest["channels"] if c["role"] in fin.roles]
    meeting_id = store.begin_meeting(title or f"Live meeting {when}".strip(), info, str(fin.path), options,
                                     options.asr_model, options.diarization_model, sources=sources)
    try:
        p = process_channels(engine, fin.path, fin.roles, fin.duration, emit)
        t1 = time.perf_counter()
        from diarization.channels import LOCAL

        store.save_result(meeting_id, speakers=p.speakers, centroids=p.centroids, turns=p.turns, language=p.language,
                          names={LOCAL: LOCAL_NAME})
        save_s = time.perf_counter() - t1
        emit(StageDone("save", save_s))
    except BaseException as exc:
        from meetings.errors import Cancelled

        store.fail_meeting(meeting_id, "cancelled" if isinstance(exc, (Cancelled, KeyboardInterrupt)) else str(exc))
        if isinstance(exc, ParleyError):
            emit(Failed(str(exc)))
        raise
    finally:
        engine.reset_cancel()
    mark_processed(folder, meeting_id)
    emit(Finished(meeting_id))
    return ImportResult(meeting_id, False, fin.duration, (StageTiming("decode", decode_s), *p.timings, StageTiming("save", save_s)),
                        warnings)
