"""The live transcript: a recorder tap → per-channel voice activity → utterances → one model
worker shared by both channels → typed events (partial text, committed words, speakers, backlog).

One worker thread owns the models (the same :class:`~meetings.pipeline.Engine` the import
uses). It never decodes silence (Silero VAD gates every utterance), re-decodes an open
utterance about once a second while the machine keeps up (interim text, LocalAgreement-2
commits), and decodes every closed utterance once more to commit the rest. Final decodes come
first; when compute falls behind the audio, interim decodes are skipped — never the finals,
and never the recording, which the recorder writes on its own threads.

The mic channel is "You". On the system channel an utterance still running shows the speaker its
voice so far would be given — a known one, or a new label reserved for it (a new voice is labelled
while it still speaks); at its final decode the whole utterance's voice embedding is matched
against running speaker centroids (:mod:`diarization.online_speakers`) and its speaker
re-announced if that changed it. Labels are provisional until the batch pipeline refines the
meeting at stop (:func:`map_live_speakers`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from diarization.online_speakers import OnlineSpeakers
from diarization.streaming import Governor, Utterance, norm, plausible
from meetings.events import EventSink, LiveBacklog, LiveCommitted, LivePartial, LiveSpeaker, LiveSpeakerDropped
from meetings.types import Word

__all__ = ["LiveOptions", "LiveTranscriber", "EventLog", "map_live_speakers", "YOU"]

SR = 16_000
VAD_FRAME = 512  # Silero's frame: 32 ms
YOU = "You"


@dataclass(frozen=True, slots=True)
class LiveOptions:
    vad_threshold: float = 0.5
    pad: float = 0.4  # seconds kept before and after detected speech (bench.live_speakers: less speech missed)
    end_silence: float = 0.6  # silence that ends an utterance
    max_utterance: float = 6.0  # longer speech is cut here (12 → 8 s: label p95 5.9 → 4.3 s simulated; 8 → 6 s: the slowest labels were words committed at an 8-s utterance's final decode)
    interim_every: float = 1.0  # seconds of new audio between interim decodes
    beam_size: int = 1  # greedy for interims; finals use the engine's beam
    echo_margin_db: float = 6.0  # a mic utterance this much quieter than the system audio is echo


@dataclass
class _Channel:
    role: str
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    base: float = 0.0  # audio time of audio[0]
    vad_pos: int = 0  # samples of audio already through the VAD
    speech_start: float | None = None
    last_speech: float = 0.0
    open: Utterance | None = None
    recent: deque = field(default_factory=lambda: deque(maxlen=3))
    committed_end: float = float("-inf")  # where the channel's committed words end (they stay in time order)
    last_end: float = float("-inf")  # where the channel's last utterance ended (the next starts no earlier)
    vad_state: tuple | None = None  # Silero's (h, c, last 64 samples), carried from call to call


class LiveTranscriber:
    def __init__(self, engine_factory: Callable[[], object], emit: EventSink, roles=("mic", "system"),
                 options: LiveOptions = LiveOptions(), clock: Callable[[], float] = time.monotonic):
        self._engine_factory = engine_factory
        self.engine = None
        self.emit = emit
        self.options = options
        self.clock = clock
        self.channels = {r: _Channel(r) for r in roles}
        self._incoming: dict[str, deque] = {r: deque() for r in roles}
        self._finals: deque[tuple[_Channel, Utterance]] = deque()
        self._stop = threading.Event()
        self._flush = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-transcriber", daemon=True)
        self.speakers = OnlineSpeakers()
        self._peeked: dict[int, float] = {}  # utterance → seconds of audio its provisional speaker came from
        self.names: dict[str, str] = {"LOCAL": YOU}
        self.governor = Governor()
        self.utterances: list[Utterance] = []
        self._next_id = 0
        self._vad = None
        self.ready = threading.Event()
        self.error: str | None = None

    # ------------------------------------------------------------------ wiring
    def tap(self, role: str, block: np.ndarray, start: float) -> None:
        """The recorder's tap (its writer thread): only queue the block."""
        q = self._incoming.get(role)
        if q is not None:
            q.append((start, np.asarray(block, np.float32).copy()))

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 120.0) -> None:
        """Finish: close open utterances, decode everything pending (the tail of the last sentence
        is kept), then stop the worker."""
        self._flush.set()
        self._thread.join(timeout)

    def rename(self, label: str, name: str) -> None:
        self.names[label] = name
        self.emit(LiveSpeaker(label, name, provisional=False))

    # ------------------------------------------------------------------ worker
    def load(self) -> bool:
        """Load the models (the worker does this first); False when they are missing."""
        try:
            self.engine = self._engine_factory()
            from faster_whisper.vad import get_vad_model

            self._vad = get_vad_model()
        except Exception as exc:  # models missing: the recording goes on without a live transcript
            self.error = f"live transcript unavailable: {exc}"
            return False
        return True

    def _run(self) -> None:
        ok = self.load()
        self.ready.set()
        if not ok:
            return
        while True:
            did = self.step(self._flush.is_set())
            if did == "done":
                break
            if did == "idle":
                time.sleep(0.05)

    def step(self, flushing: bool = False) -> str:
        """One turn of the worker: take in the audio that arrived, then one final decode, or the
        interim decodes that are due. Returns "final", "interim", "ingest" (flushing, more audio
        came), "idle", or "done" (flushing and nothing left). The worker thread calls it in a
        loop; an offline replay (``bench.live_speakers``) calls it directly."""
        self._ingest(final=flushing)
        if self._finals:
            ch, u = self._finals.popleft()
            self._final(ch, u)
            return "final"
        if flushing:
            return "done" if not any(self._incoming[r] for r in self._incoming) else "ingest"
        did = False
        pending = sum(u.end - u.start for _, u in self._finals)
        for ch in self.channels.values():
            u = ch.open
            if u is not None and u.end - u.decoded_to >= self.options.interim_every:
                if self.governor.allow_interim(pending):
                    self._interim(ch, u)
                    did = True
                else:
                    u.decoded_to = u.end  # skipped (counted once): the next chance is a second later
        self.emit(LiveBacklog(round(self.backlog(), 2), self.governor.skipped))
        return "interim" if did else "idle"

    def backlog(self) -> float:
        """Audio waiting for its final decode, plus audio not yet through the VAD (seconds)."""
        waiting = sum(u.end - u.start for _, u in self._finals)
        unread = sum(sum(len(b) for _, b in q) for q in self._incoming.values()) / SR
        return waiting + unread

    def _ingest(self, final: bool = False) -> None:
        o = self.options
        for role, q in self._incoming.items():
            ch = self.channels[role]
            blocks = []
            while q:
                blocks.append(q.popleft())
            if blocks:
                if ch.audio.size == 0:
                    ch.base = blocks[0][0]
                ch.audio = np.concatenate([ch.audio, *[b for _, b in blocks]])
            n = (ch.audio.size - ch.vad_pos) // VAD_FRAME * VAD_FRAME
            if n > 0:
                probs = self._vad_probs(ch, ch.audio[ch.vad_pos: ch.vad_pos + n])
                for i, p in enumerate(probs):
                    t = ch.base + (ch.vad_pos + (i + 1) * VAD_FRAME) / SR
                    self._vad_step(ch, t, float(p) >= o.vad_threshold)
                ch.vad_pos += n
            if final and ch.speech_start is not None:
                self._close(ch, ch.last_speech + o.pad)
            self._trim(ch)

    def _vad_probs(self, ch: _Channel, audio: np.ndarray) -> np.ndarray:
        """Speech probability per 32-ms frame. The stream goes through Silero as one sequence: its
        recurrent state and context carry over from the previous call (faster-whisper's wrapper
        starts afresh on each call, which with the few frames a live call brings misses speech)."""
        h, c, ctx = ch.vad_state or (np.zeros((1, 1, 128), np.float32), np.zeros((1, 1, 128), np.float32),
                                     np.zeros(64, np.float32))
        frames = np.ascontiguousarray(audio, np.float32).reshape(-1, VAD_FRAME)
        context = np.concatenate([ctx[None], frames[:-1, -64:]])
        out, h, c = self._vad.session.run(None, {"input": np.concatenate([context, frames], 1), "h": h, "c": c})
        ch.vad_state = (h, c, frames[-1, -64:].copy())
        return np.asarray(out).reshape(-1)

    def _vad_step(self, ch: _Channel, t: float, speech: bool) -> None:
        o = self.options
        if speech:
            if ch.speech_start is None:
                ch.speech_start = max(ch.base, ch.last_end, t - VAD_FRAME / SR - o.pad)
                self._next_id += 1
                ch.open = Utterance(ch.role, self._next_id, ch.speech_start, t)
                ch.open.decoded_to = ch.speech_start
            ch.last_speech = t
            ch.open.end = t
            if t - ch.speech_start >= o.max_utterance:
                self._close(ch, t)
        elif ch.speech_start is not None:
            ch.open.end = min(t, ch.last_speech + o.pad)
            if t - ch.last_speech >= o.end_silence:
                self._close(ch, ch.last_speech + o.pad)

    def _close(self, ch: _Channel, end: float) -> None:
        u = ch.open
        if u is None:
            return
        u.end = end
        ch.last_end = end
        ch.open, ch.speech_start = None, None
        self._finals.append((ch, u))
        self.utterances.append(u)

    def _trim(self, ch: _Channel) -> None:
        """Drop audio no utterance needs any more (long meetings: memory stays flat)."""
        keep_from = min([u.start for c, u in self._finals if c is ch] + ([ch.open.start] if ch.open else [])
                        + [ch.base + ch.vad_pos / SR - 1.0])
        cut = int((keep_from - ch.base) * SR)
        if cut > SR * 5:
            ch.audio = ch.audio[cut:]
            ch.base += cut / SR
            ch.vad_pos -= cut

    def _clip(self, ch: _Channel, start: float, end: float) -> np.ndarray:
        i0 = max(0, int((start - ch.base) * SR))
        i1 = max(i0, int((end - ch.base) * SR))
        return ch.audio[i0:i1]

    def _decode(self, audio: np.ndarray, offset: float, beam: int) -> list[Word]:
        model = self.engine.transcriber.model
        t0 = time.perf_counter()
        segs, _ = model.transcribe(audio, language=self.engine.options.language or "en", beam_size=beam, temperature=0.0,
                                   word_timestamps=True, vad_filter=False, condition_on_previous_text=False,
                                   without_timestamps=False)
        words = [Word(offset + float(w.start), offset + float(w.end), w.word, float(w.probability))
                 for s in segs if s.no_speech_prob < 0.6 and s.avg_logprob > -1.2 and s.compression_ratio < 2.4
                 for w in (s.words or ())]
        self.governor.decoded(len(audio) / SR, time.perf_counter() - t0)
        return words

    def _is_echo(self, ch: _Channel, start: float, end: float) -> bool:
        """A mic utterance much quieter than the system audio at the same time: the far end's echo."""
        if ch.role != "mic" or "system" not in self.channels:
            return False
        mic = self._clip(ch, start, end)
        sys_ = self._clip(self.channels["system"], start, end)
        if sys_.size < SR // 4 or mic.size == 0:
            return False
        em, es = float(np.mean(mic.astype(np.float64) ** 2)), float(np.mean(sys_.astype(np.float64) ** 2))
        return es > 1e-7 and 10 * np.log10(max(em, 1e-12) / es) < -self.options.echo_margin_db

    def _speaker(self, ch: _Channel, u: Utterance) -> str | None:
        if ch.role == "mic":
            return "LOCAL"
        return u.speaker

    def _embed(self, audio: np.ndarray) -> np.ndarray | None:
        try:
            return np.asarray(self.engine.diarizer.embed(audio), np.float32) if audio.size >= SR // 2 else None
        except Exception:
            return None

    def _announce(self, u: Utterance, label: str | None) -> None:
        """The utterance's speaker is (now) ``label``: a ``LiveSpeaker`` with the utterance, so words
        shown before under another label (or none) move to it."""
        if label is None or label == u.speaker:
            return
        u.speaker = label
        self.names.setdefault(label, default_name(label))
        self.emit(LiveSpeaker(label, self.names[label], u.id))

    def _provisional(self, u: Utterance, audio: np.ndarray) -> None:
        """While the utterance runs: the speaker its voice so far would be given — a known one, or
        a new label reserved for it (no centroid moves, nobody becomes a speaker: that is decided
        on the whole utterance at its final decode). Looked at again only once the utterance has
        half as much audio again (CPU: a handful of embeddings per utterance)."""
        seconds = audio.size / SR
        if seconds < self._peeked.get(u.id, 0.0) * 1.5:
            return
        self._peeked[u.id] = seconds
        self._announce(u, self.speakers.provisional(u.id, self._embed(audio), seconds).label)

    def _decide(self, u: Utterance, audio: np.ndarray) -> None:
        """At the final decode: the speaker from the whole utterance's voice — it may join a known
        speaker (moving its centroid), start a new one, or replace the provisional label."""
        self._peeked.pop(u.id, None)
        held = self.speakers.release(u.id)
        m = self.speakers.observe(self._embed(audio), len(audio) / SR, reserved=held)
        self._announce(u, m.label)
        self._drop_unused(held)

    def _drop_unused(self, label: str | None) -> None:
        if label is not None and label not in self.speakers.labels:
            self.names.pop(label, None)
            self.emit(LiveSpeakerDropped(label))

    def _interim(self, ch: _Channel, u: Utterance) -> None:
        audio = self._clip(ch, u.start, u.end)
        u.decoded_to = u.end
        if audio.size < SR // 2 or self._is_echo(ch, u.start, u.end):
            return
        if ch.role == "system" and audio.size >= int(1.5 * SR):
            self._provisional(u, audio)
        hyp = self._decode(audio, u.start, self.options.beam_size)
        new, rest = u.interim(hyp, ch.committed_end)
        if new:
            ch.committed_end = new[-1].end
        spk = self._speaker(ch, u)
        if new:
            self.emit(LiveCommitted(ch.role, u.id, spk, tuple(new)))
        if rest:
            self.emit(LivePartial(ch.role, u.id, spk, tuple(rest)))

    def _final(self, ch: _Channel, u: Utterance) -> None:
        audio = self._clip(ch, u.start, u.end)
        if audio.size < SR // 5 or self._is_echo(ch, u.start, u.end):
            self._peeked.pop(u.id, None)
            self._drop_unused(self.speakers.release(u.id))
            self.emit(LivePartial(ch.role, u.id, self._speaker(ch, u), ()))  # what was shown goes away
            return
        if ch.role == "system":  # the speaker first (an embedding is quicker than the decode)
            self._decide(u, audio)
        hyp = self._decode(audio, u.start, max(self.options.beam_size, self.engine.options.beam_size))
        if not u.committed and not plausible(hyp, u.end - u.start, tuple(ch.recent)):
            self.emit(LivePartial(ch.role, u.id, self._speaker(ch, u), ()))
            return
        rest = u.final(hyp, ch.committed_end)
        if u.committed:
            ch.committed_end = max(ch.committed_end, u.committed[-1].end)
        text = norm(" ".join(w.text for w in u.committed))
        if text:
            ch.recent.append(text)
        self.emit(LiveCommitted(ch.role, u.id, self._speaker(ch, u), tuple(rest)))
        self.emit(LivePartial(ch.role, u.id, self._speaker(ch, u), ()))


def default_name(label: str) -> str:
    """"S3" → "Speaker 3" (a label's number never changes, so neither does its default name)."""
    return f"Speaker {label[1:]}" if label[:1] == "S" and label[1:].isdigit() else label


class EventLog:
    """``parley record --events FILE``: one JSON line per displayed word (interim and
    committed), speaker update and backlog reading; all times in seconds since the recording
    started (``t0`` on the monotonic clock)."""

    def __init__(self, path, t0: Callable[[], float], clock: Callable[[], float] = time.monotonic):
        self._f = open(path, "w", encoding="utf-8")
        self._t0, self._clock = t0, clock
        self._lock = threading.Lock()
        self._last_backlog = -1.0

    def __call__(self, event) -> None:
        now = round(self._clock() - self._t0(), 3)
        lines = []
        if isinstance(event, (LivePartial, LiveCommitted)):
            state = "committed" if isinstance(event, LiveCommitted) else "interim"
            for w in event.words:
                lines.append({"type": "word", "state": state, "text": w.text.strip(), "speaker": event.speaker,
                              "channel": event.channel, "utterance": event.utterance,
                              "start": round(w.start, 3), "end": round(w.end, 3), "emitted": now})
            if not event.words and state == "interim":
                lines.append({"type": "clear", "channel": event.channel, "utterance": event.utterance, "emitted": now})
        elif isinstance(event, LiveSpeaker):
            lines.append({"type": "speaker", "label": event.label, "name": event.name, "utterance": event.utterance,
                          "provisional": event.provisional, "emitted": now})
        elif isinstance(event, LiveSpeakerDropped):
            lines.append({"type": "speaker_dropped", "label": event.label, "emitted": now})
        elif isinstance(event, LiveBacklog):
            if abs(event.seconds - self._last_backlog) >= 0.25 or int(now) != int(now - 0.05):
                self._last_backlog = event.seconds
                lines.append({"type": "backlog", "seconds": event.seconds, "skipped": event.skipped, "emitted": now})
        if lines:
            with self._lock:
                for line in lines:
                    self._f.write(json.dumps(line) + "\n")
                self._f.flush()

    def close(self) -> None:
        with self._lock:
            self._f.close()


def map_live_speakers(live: list[tuple[float, float, str]], batch: list[tuple[float, float, str]]) -> dict[str, str]:
    """Batch speaker label → live label, by optimal matching on time overlap (Hungarian)."""
    from scipy.optimize import linear_sum_assignment

    live_labels = sorted({s for _, _, s in live if s})
    batch_labels = sorted({s for _, _, s in batch})
    if not live_labels or not batch_labels:
        return {}
    m = np.zeros((len(batch_labels), len(live_labels)))
    for a0, a1, b in batch:
        for l0, l1, s in live:
            if s:
                m[batch_labels.index(b), live_labels.index(s)] += max(0.0, min(a1, l1) - max(a0, l0))
    rows, cols = linear_sum_assignment(-m)
    return {batch_labels[r]: live_labels[c] for r, c in zip(rows, cols) if m[r, c] > 0}


def apply_live_names(store, meeting_id: int, live: "LiveTranscriber") -> dict[str, str]:
    """After the batch pipeline refined a live meeting: the names the user gave during the
    meeting go to the batch speakers that match the live ones (optimal matching on time
    overlap). Stored as the user's own renames (with undo and audit); returns label → name."""
    defaults = {label: default_name(label) for label in live.speakers.labels} | {"LOCAL": YOU}
    given = {label: name for label, name in live.names.items() if defaults.get(label) != name}
    if not given:
        return {}
    spoken = [(u.start, u.end, "LOCAL" if u.channel == "mic" else u.speaker) for u in live.utterances if u.committed]
    turns = [(t.start, t.end, t.speaker_label) for t in store.turns(meeting_id)]
    mapping = map_live_speakers([s for s in spoken if s[2] != "LOCAL"], [t for t in turns if t[2] != "LOCAL"])
    mapping["LOCAL"] = "LOCAL"
    applied = {}
    for sp in store.speakers(meeting_id):
        label = mapping.get(sp.label)
        if label in given and sp.name != given[label]:
            store.rename_speaker(sp.id, given[label])
            applied[sp.label] = given[label]
    return applied
