"""Scoring helpers: reference loading, text normalisation, DER, (cp/tcp)WER, flag quality."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from meetings.types import Diarization, SpeakerSegment, Turn

_PUNCT = re.compile(r"[^\w\s']")


def normalize(text: str) -> str:
    text = text.lower().replace("-", " ")
    text = _PUNCT.sub(" ", text)
    return " ".join(w.strip("'") for w in text.split() if w.strip("'"))


@dataclass(frozen=True, slots=True)
class Reference:
    name: str
    duration: float
    segments: tuple[SpeakerSegment, ...]  # RTTM
    seglst: tuple[tuple[str, float, float, str], ...]  # (speaker, start, end, words)

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(sorted({s.speaker for s in self.segments}))


def audio_path(eval_dir: Path, name: str, stem: str | None = None) -> Path:
    """The audio of eval item ``name`` (``stem`` picks another file of it, e.g. ``agent``): the
    repository keeps FLAC (``bench/data``), ``../shared/eval`` keeps WAV; either is found."""
    for ext in (".flac", ".wav"):
        path = eval_dir / name / f"{stem or name}{ext}"
        if path.exists():
            return path
    raise FileNotFoundError(f"evaluation audio missing: {eval_dir / name / (stem or name)}.flac (or .wav)")


def load_reference(eval_dir: Path, name: str, duration: float) -> Reference:
    d = eval_dir / name
    segs = []
    for line in (d / f"{name}.rttm").read_text().splitlines():
        p = line.split()
        if p and p[0] == "SPEAKER":
            segs.append(SpeakerSegment(float(p[3]), float(p[3]) + float(p[4]), p[7]))
    seglst = []
    sl = d / f"{name}.seglst.json"
    if sl.exists():
        for e in json.loads(sl.read_text()):
            seglst.append((e["speaker"], float(e["start_time"]), float(e["end_time"]), e["words"]))
    return Reference(name, duration, tuple(sorted(segs, key=lambda s: s.start)), tuple(seglst))


def _annotation(segments, uri):
    from pyannote.core import Annotation, Segment

    ann = Annotation(uri=uri)
    for i, s in enumerate(segments):
        if s.end > s.start:
            ann[Segment(s.start, s.end), i] = s.speaker
    return ann


@dataclass(frozen=True, slots=True)
class DerParts:
    total: float  # reference speech seconds
    missed: float
    false_alarm: float
    confusion: float

    @property
    def der(self) -> float:
        return (self.missed + self.false_alarm + self.confusion) / self.total if self.total else 0.0


def der(ref: Reference, hyp_segments, collar: float) -> tuple[DerParts, dict[str, str]]:
    """DER components (pyannote.metrics, overlap scored) and the optimal hyp→ref speaker mapping."""
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    r, h = _annotation(ref.segments, ref.name), _annotation(hyp_segments, ref.name)
    uem = Timeline([Segment(0.0, ref.duration)])
    c = metric(r, h, uem=uem, detailed=True)
    mapping = {str(k): str(v) for k, v in metric.optimal_mapping(r, h).items()}
    return DerParts(c["total"], c["missed detection"], c["false alarm"], c["confusion"]), mapping


def turns_to_seglst(name: str, turns) -> list[dict]:
    return [
        {"session_id": name, "speaker": t.speaker, "start_time": t.start, "end_time": t.end, "words": normalize(t.text)}
        for t in turns
        if normalize(t.text)
    ]


@dataclass(frozen=True, slots=True)
class WerParts:
    errors: int
    length: int

    @property
    def rate(self) -> float:
        return self.errors / self.length if self.length else 0.0


def _seglst(entries):
    from meeteval.io import SegLST

    return SegLST(entries)


def wer_scores(ref: Reference, hyp_entries: list[dict]) -> dict[str, WerParts]:
    """WER (speakers ignored), cpWER and tcpWER (collar 5 s) with meeteval."""
    from meeteval.wer import api

    ref_entries = [
        {"session_id": ref.name, "speaker": s, "start_time": a, "end_time": b, "words": normalize(w)} for s, a, b, w in ref.seglst
    ]
    out = {}
    for kind in ("wer", "cpwer", "tcpwer"):
        r, h = ref_entries, hyp_entries
        if kind == "wer":
            r = [dict(e, speaker="all") for e in r]
            h = [dict(e, speaker="all") for e in h]
        if not h:
            h = [{"session_id": ref.name, "speaker": "none", "start_time": 0.0, "end_time": 0.0, "words": ""}]
        if kind == "tcpwer":
            res = api.tcpwer(_seglst(r), _seglst(h), collar=5)
        else:
            res = api.cpwer(_seglst(r), _seglst(h))
        e = res[ref.name]
        out[kind] = WerParts(int(e.errors), int(e.length))
    return out


@dataclass(frozen=True, slots=True)
class FlagCounts:
    turns: int
    flagged_turns: int
    judged_words: int
    wrong_words: int
    wrong_in_flagged: int
    flagged_with_wrong: int
    turns_with_wrong: int = 0
    #: reliability: per confidence bin (CONFIDENCE_BINS), [turns, turns with a wrongly attributed word]
    bins: tuple[tuple[int, int], ...] = ()


CONFIDENCE_BINS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0001)


def word_mapping(ref: Reference, turns: list[Turn]) -> dict[str, str]:
    """Hyp → ref speaker mapping, one to one, that makes the most words right (Hungarian).

    Computed on the *final* words, so speakers that appear only after alignment (a voice
    the diarizer missed) are judged like any other; cpWER picks its permutation the same way.
    """
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    hyps = sorted({aw.speaker for t in turns for aw in t.words})
    refs = list(ref.speakers)
    if not hyps or not refs:
        return {}
    counts = np.zeros((len(hyps), len(refs)))
    for t in turns:
        for aw in t.words:
            for r in _active(ref, aw.word.mid):
                counts[hyps.index(aw.speaker), refs.index(r)] += 1
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return {hyps[r]: refs[c] for r, c in zip(rows, cols)}


def _active(ref: Reference, t: float) -> set[str]:
    return {s.speaker for s in ref.segments if s.start - 0.1 <= t <= s.end + 0.1}


def flag_quality(ref: Reference, turns: list[Turn], mapping: dict[str, str] | None = None) -> FlagCounts:
    """A word is wrongly attributed when its (mapped) speaker is not among the reference
    speakers active at its midpoint; words where no reference speaker talks are not judged.
    Without ``mapping``, the best one-to-one mapping of the final words is used."""
    if mapping is None:
        mapping = word_mapping(ref, turns)
    judged = wrong = wrong_flagged = flagged_with_wrong = with_wrong = 0
    bins = [[0, 0] for _ in CONFIDENCE_BINS[:-1]]
    for t in turns:
        turn_wrong = 0
        for aw in t.words:
            active = _active(ref, aw.word.mid)
            if not active:
                continue
            judged += 1
            if mapping.get(aw.speaker) not in active:
                wrong += 1
                turn_wrong += 1
                if t.flagged:
                    wrong_flagged += 1
        if turn_wrong:
            with_wrong += 1
            flagged_with_wrong += bool(t.flagged)
        b = next(i for i in range(len(bins)) if t.confidence < CONFIDENCE_BINS[i + 1])
        bins[b][0] += 1
        bins[b][1] += bool(turn_wrong)
    return FlagCounts(
        len(turns), sum(1 for t in turns if t.flagged), judged, wrong, wrong_flagged, flagged_with_wrong, with_wrong,
        tuple(tuple(b) for b in bins),
    )


def max_overlap_turns(words, dia: Diarization) -> list[Turn]:
    """WhisperX-style baseline: each word gets the single speaker whose segments overlap it most
    (nearest segment when none does); consecutive words of one speaker form a turn."""
    from diarization.align import build_turns, fill_missing_times
    from meetings.types import AttributedWord

    out = []
    segs = sorted(dia.segments, key=lambda s: s.start)
    for w in fill_missing_times(words):
        best, best_ov = None, 0.0
        for s in segs:  # the baseline as WhisperX implements it: a scan over all segments
            ov = min(s.end, w.end) - max(s.start, w.start)
            if ov > best_ov:
                best, best_ov = s.speaker, ov
        if best is None and segs:
            best = min(segs, key=lambda s: min(abs(s.start - w.mid), abs(s.end - w.mid))).speaker
        out.append(AttributedWord(w, best or "SPEAKER_00"))
    return build_turns(out)


def sentence_splits(turns) -> tuple[int, int]:
    """(speaker changes inside a sentence, all speaker changes) between consecutive single-voice
    turns: a change after a word that does not end a sentence splits one person's sentence
    between two people, the top complaint about aligners."""
    plain = sorted((t for t in turns if not t.overlapped and t.words), key=lambda t: t.start)
    mid = changes = 0
    for a, b in zip(plain, plain[1:]):
        if a.speaker == b.speaker:
            continue
        changes += 1
        mid += not a.words[-1].word.text.strip().endswith((".", "?", "!"))
    return mid, changes


def turn_errors(ref: Reference, turns: list[Turn], mapping: dict[str, str] | None = None) -> list[tuple[int, int]]:
    """Per turn, (wrongly attributed words, judged words), judged as :func:`flag_quality` does."""
    if mapping is None:
        mapping = word_mapping(ref, turns)
    out = []
    for t in turns:
        wrong = judged = 0
        for aw in t.words:
            active = _active(ref, aw.word.mid)
            if active:
                judged += 1
                wrong += mapping.get(aw.speaker) not in active
        out.append((wrong, judged))
    return out
