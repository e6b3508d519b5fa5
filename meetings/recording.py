"""A live recording (mic + system audio) → a meeting, through the same pipeline as an import;
and the channel path every multi-channel file takes whose channels carry different people.

Per channel (:func:`process_channels`): the system channel holds the remote people and goes
through the whole import pipeline (diarization, ASR, alignment, voices, overlap, confidence);
the mic channel is the local user ("You"): its analysis copy is echo-cancelled against the
system channel, then transcribed, and words that are only the far end's echo are dropped. An
imported call's channels (``"party"``: me left, them right) have each other's bleed cancelled,
and a channel is diarized only when it holds more than one voice. All channels' turns are
merged on one timeline; speech on two at once is kept as overlap.
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
    diarization: Diarization | None = None  # every channel's speaker activity, on one timeline
    transcript: Transcript | None = None  # every channel's words
    voices: tuple[str, ...] = ()  # per channel: "one" or "several"


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


def _read_channels(wav: Path) -> list[np.ndarray]:
    """Every channel of a 16 kHz file, from one read of it."""
    import soundfile as sf

    data, sr = sf.read(wav, dtype="float32", always_2d=True)
    if sr != SR:
        raise ParleyError(f"{wav.name}: expected {SR} Hz, found {sr} Hz")
    return [np.ascontiguousarray(data[:, k]) for k in range(data.shape[1])]


def _several_voices(engine: Engine, audio: np.ndarray, spans: list[tuple[float, float]]) -> bool:
    """Does one channel hold more than one voice (:func:`diarization.checks.several_voices`)?"""
    from diarization.checks import CHANNEL_TEST, several_voices

    return several_voices(lambda ps: engine.diarizer.embed_many([audio[int(a * SR): int(b * SR)] for a, b in ps]), spans,
                          **CHANNEL_TEST)


def _one_end(p):
    """A party channel's processed result with its speakers who say too little to be a second
    person at that phone merged into its main one (:func:`diarization.checks.one_end_speakers`)."""
    from dataclasses import replace as rp

    from diarization.checks import one_end_speakers, relabel_turns
    from meetings.pipeline import merge_speakers

    into = one_end_speakers(p.turns, p.diarization.speakers)
    if not into:
        return p
    dia = merge_speakers(p.diarization, into)
    return rp(p, turns=tuple(relabel_turns(p.turns, into)), diarization=dia, activity=dia.segments)


def _prefixed(p, prefix: str):
    """A channel's processed result with its speaker labels made unique across channels."""
    from dataclasses import replace as rp

    def lab(s: str) -> str:
        return f"{prefix}{s}"

    turns = tuple(rp(t, speaker=lab(t.speaker), words=tuple(rp(w, speaker=lab(w.speaker), overlapping=tuple(lab(o) for o in w.overlapping))
                                                         for w in t.words)) for t in p.turns)
    d = p.diarization
    dia = rp(d, segments=tuple(rp(x, speaker=lab(x.speaker)) for x in d.segments),
             exclusive=tuple(rp(x, speaker=lab(x.speaker)) for x in d.exclusive), speakers=tuple(lab(x) for x in d.speakers),
             activations=None)
    return turns, dia


def process_channels(engine: Engine, wav: Path, roles: tuple[str, ...], duration: float, emit: EventSink = _noop) -> ChannelsProcessed:
    """Attribute a recording by its channels; ``roles`` says what each channel is:

    * ``"mic"``: the local user (one voice, "You"), echo-cancelled against a ``"system"`` channel;
    * ``"system"``: the remote people, through the whole import pipeline (diarization, voices …);
    * ``"party"``: one side of an imported call: the other channels' bleed is cancelled (learnt
      where only they talk), then the channel is diarized only when it holds more than one voice,
      else all its own words are that one person's.

    Words a channel only heard from another (echo, bleed) are dropped; speech on two channels at
    once is kept as overlap."""
    import soundfile as sf

    from diarization.channels import (LOCAL, MIN_OWN_SECONDS, MicWord, bleed_reference, channel_levels, flag_crosstalk, gate,
                                      local_turns, local_words, merge_channels, own_speech)
    from diarization.echo import cancel_echo, echo_share
    from meetings.types import SpeakerSegment

    timings: list[StageTiming] = []
    tmp = Path(tempfile.mkdtemp(prefix="parley-channels-"))
    try:
        raws = _read_channels(wav)[: len(roles)]
        system = roles.index("system") if "system" in roles else None
        t0 = time.perf_counter()
        levels = channel_levels(np.stack(raws)) if len(raws) > 1 else None
        cleaned, erle = [], None
        for k, role in enumerate(roles):
            others = [j for j in range(len(roles)) if j != k]
            if role == "mic" and system is not None:
                c, report = cancel_echo(raws[k], raws[system])
                erle = report.erle_db
            elif role == "party" and others:
                c = raws[k]
                for o in others:  # learnt only where the other talks alone (never this channel's own voice), cancelled wherever they talk
                    c, _ = cancel_echo(c, raws[o], learn=bleed_reference(raws[o], levels, k, o))
            else:
                c = raws[k]
            cleaned.append(c)
        after = channel_levels(np.stack(cleaned)) if len(cleaned) > 1 else None
        timings.append(StageTiming("echo", time.perf_counter() - t0))
        own = [own_speech(after, k) if after is not None else [(0.0, duration)] for k in range(len(roles))]
        many = []
        for k, role in enumerate(roles):
            engine.check_cancel()
            many.append(role == "system" or (role == "party" and _several_voices(engine, cleaned[k], own[k])))
        labels = {k: LOCAL if role == "mic" else f"CH{k + 1}" for k, role in enumerate(roles)}
        parties = sum(r == "party" for r in roles)
        speakers: list[str] = []
        centroid_of: dict[str, np.ndarray | None] = {}
        turns_of: dict[int, tuple[Turn, ...]] = {}
        segments: list[SpeakerSegment] = []
        words_of: dict[int, tuple] = {}
        language = ""
        dia = transcript = None
        for k in [k for k in range(len(roles)) if many[k]]:  # several voices: the whole pipeline
            path = tmp / f"channel{k}.wav"
            # a party channel: only its own talkers' speech (the other party's bleed is no speaker of it)
            heard_k = gate(cleaned[k], own[k]) if roles[k] == "party" and after is not None else cleaned[k]
            sf.write(path, heard_k, SR, subtype="PCM_16")
            p = process_audio(engine, path, duration, emit)
            if roles[k] == "party":  # one end of a call: a few seconds split off one voice is no second person
                p = _one_end(p)
            turns, d = (p.turns, p.diarization) if roles[k] == "system" and parties == 0 else _prefixed(p, f"{labels[k]}_")
            turns_of[k], words_of[k] = turns, p.transcript.words
            dia, transcript = d, p.transcript
            language = language or p.transcript.language
            for j, s in enumerate(d.speakers):
                speakers.append(s)
                centroid_of[s] = None if d.centroids is None else d.centroids[j]
            for t in turns:  # a diarization that found nobody leaves its aligner label on the turns
                if t.speaker not in speakers:
                    speakers.append(t.speaker)
                    centroid_of[t.speaker] = None
            segments += d.segments
            timings += list(p.timings)
        heard = {}
        for k in [k for k in range(len(roles)) if not many[k]]:  # one voice: transcribe, every own word is theirs
            engine.check_cancel()
            t0 = time.perf_counter()
            ck = cleaned[k]
            heard[k] = engine.transcriber(
                lambda a, b, ck=ck: ck[int(a * SR): int(b * SR)],
                duration,
                pauses=_energy_pauses(ck, duration),
                progress=lambda d, t: emit(Progress("transcribe", d, t, "your microphone" if roles[k] == "mic" else f"channel {k + 1}")),
            )
            timings.append(StageTiming("transcribe_mic" if roles[k] == "mic" else f"transcribe_ch{k + 1}", time.perf_counter() - t0))
            words_of[k] = heard[k].words
            language = language or heard[k].language
        dropped = 0
        for k, tr in heard.items():
            mic = [MicWord(w, echo_share(raws[k], cleaned[k], w.start, w.end)) for w in tr.words]
            other = [w for j, ws in words_of.items() if j != k for w in ws]
            words, n = local_words(mic, other)
            if roles[k] == "party" and after is not None:
                words, m = _outside_own(words, own, k)
                n += m
            dropped += n
            turns_of[k] = tuple(local_turns(words, labels[k]))
            # a party channel's own speech is a person even when Whisper heard no word of it (a
            # quiet party's "mm" or 1 s answer): their activity is kept for "who spoke when"
            # (when it is long enough to embed: a speaker without a voice would cost the meeting its centroids)
            spans = [(t.start, t.end) for t in turns_of[k]]
            if not spans and roles[k] == "party" and after is not None and sum(b - a for a, b in own[k]) >= MIN_OWN_SECONDS:
                spans = own[k]
            voice = _local_voice(engine, cleaned[k], spans) if spans else None
            if turns_of[k] or voice is not None:
                speakers.insert(0, labels[k]) if roles[k] == "mic" else speakers.append(labels[k])
                centroid_of[labels[k]] = voice
                segments += [SpeakerSegment(a, b, labels[k]) for a, b in own[k]] if after is not None else \
                    [SpeakerSegment(t.start, t.end, labels[k]) for t in turns_of[k]]
        for k in [k for k in heard if roles[k] == "party" and after is not None]:  # double-talk: the other party's bleed?
            turns_of[k] = tuple(flag_crosstalk(turns_of[k], [s for j in range(len(roles)) if j != k for s in own[j]]))
        order = sorted(turns_of, key=lambda k: roles[k] != "mic")
        turns = list(turns_of[order[0]]) if order else []
        for k in order[1:]:
            turns = merge_channels(turns, turns_of[k])
        rows = [centroid_of.get(s) for s in speakers]
        centroids = np.stack([np.asarray(r, np.float32).reshape(-1) for r in rows]) if rows and all(r is not None for r in rows) else None
        combined = Diarization(tuple(sorted(segments, key=lambda x: (x.start, x.end))), (), tuple(speakers), None, centroids,
                               engine.options.diarization_model)
        all_segments = sorted((s for tr in [*heard.values(), *([transcript] if transcript else [])] for s in tr.segments),
                              key=lambda s: s.start)
        merged = Transcript(tuple(all_segments), language or "en", engine.options.asr_model)
        return ChannelsProcessed(tuple(turns), tuple(speakers), centroids, language or "en", tuple(timings),
                                 dropped, erle, dia, transcript, combined, merged,
                                 tuple("several" if m else "one" for m in many))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


#: a channel's word counts as its own talker's when its midpoint lies within this many seconds of
#: the channel's own speech (else, inside another channel's, it is bleed). Chosen leave one call
#: out on the stereo calls (`python -m bench.bleed_pad`): 0.25 s before kept the other party's
#: words at turn edges. Since each channel's level is taken where it leads, the folds choose 0.05
#: (6 of 7), one word fewer in 1,320 in-sample and the same 6 out of sample: left at 0.1
BLEED_PAD = 0.1


def _outside_own(words, own, k: int, pad: float = BLEED_PAD):
    """Words of channel ``k`` heard outside its own talker's speech but inside another channel's:
    that channel's bleed, not this person (dropped); also how many."""
    def inside(t, spans):
        return any(a - pad <= t <= b + pad for a, b in spans)

    kept = [w for w in words if inside(w.mid, own[k]) or not any(inside(w.mid, own[j]) for j in range(len(own)) if j != k)]
    return kept, len(words) - len(kept)


def _local_voice(engine: Engine, cleaned: np.ndarray, spans: list[tuple[float, float]], most: float = 30.0) -> np.ndarray | None:
    """A channel's one voice embedding, from up to ``most`` seconds of its ``spans`` (its turns, or
    its own speech when it has no words)."""
    pieces, total = [], 0.0
    for a, b in sorted(spans, key=lambda s: s[0] - s[1]):  # longest first
        pieces.append(cleaned[int(a * SR): int(b * SR)])
        total += b - a
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
    with store.importing(fin.sha256):  # this process owns it: nobody else calls it interrupted or imports it too
        return _into_meeting(engine, folder, store, manifest, fin, title, emit, decode_s)


def _into_meeting(engine: Engine, folder: Path, store, manifest: dict, fin, title, emit: EventSink, decode_s: float) -> ImportResult:
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
                          names={LOCAL: LOCAL_NAME}, activity=p.diarization.segments if p.diarization else ())
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
    from meetings.people import name_after_import

    name_after_import(store, meeting_id, lambda: engine.diarizer)  # LOCAL is the local user ("You"); others from profiles
    mark_processed(folder, meeting_id)
    emit(Finished(meeting_id))
    return ImportResult(meeting_id, False, fin.duration, (StageTiming("decode", decode_s), *p.timings, StageTiming("save", save_s)),
                        warnings)
