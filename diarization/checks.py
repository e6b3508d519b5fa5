"""Whole-meeting checks a user cannot see in the turns (pure):

  * **one speaker, more voices**: diarization found one speaker, but the voices heard under the
    speech form more than one group (:func:`second_voice`); the turns where the other voice was
    heard are flagged for review (:func:`flag_second_voice`);
  * **a phone call with one end**: telephone-band audio in which one speaker was found and no
    second voice heard (a call has two ends: the other may be too quiet to detect, or merged);
  * **one side holds the call**: of two speakers, one holds almost all the talk — the usual look
    of two people merged into one, with a stray cluster left as the "other";
  * **back-channel speakers**: a speaker who only ever says a few words over someone else is not
    a new person; their words go to the closest other voice (:func:`fold_backchannel_speakers`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from meetings.types import FlagReason, Turn

__all__ = ["within", "pieces_over", "second_voice", "split_voices", "VoiceSplit", "several_voices", "flag_second_voice", "meeting_warnings", "fold_backchannel_speakers", "talk_shares", "relabel_turns", "one_end_speakers"]

DOMINANT_SHARE = 0.9  # one of two speakers holding this share of the talk is suspicious
BACKCHANNEL_SECONDS = 2.0  # a speaker with less talk than this, nearly all over others ...
BACKCHANNEL_OVERLAPPED = 0.8  # ... (this share of their words spoken while someone else talks)


def talk_shares(turns: Sequence[Turn]) -> dict[str, float]:
    """Seconds of words per speaker."""
    out: dict[str, float] = {}
    for t in turns:
        for w in t.words:
            out[w.speaker] = out.get(w.speaker, 0.0) + max(0.0, w.word.end - w.word.start)
    return out


#: the "one speaker, more voices" test: 1-s pieces, clustered at this mean similarity; a second voice
#: must hold this share of the judged speech and at least this many seconds (two pieces). Chosen
#: leave one file out (`python -m bench.voices_check`) on built telephone calls where one party says
#: little (the usual merge) and single voices; the 2-s pieces before found 4 of 14 such calls (a
#: short party has few 2-s runs of speech). 0.3 was chosen in 25 of 26 folds. A "yes" on a file the
#: diarizer heard as one speaker now splits it (:func:`split_voices`), so the check matters twice
VOICE_PIECE = 1.0
VOICE_SAME = 0.3
SECOND_VOICE_SHARE = 0.05
SECOND_VOICE_SECONDS = 2.0


#: the stricter test a stereo file's channel must pass before it is diarized on its own (a false
#: "yes" there splits a party, not just warns): 2-s pieces, the voice stage's similarity, a tenth
#: of the speech and 4 s (the settings the stereo calls were measured with: 7 of 7, confusion 0.2 %)
CHANNEL_TEST = {"window": 2.0, "same": 0.3, "share": 0.1, "min_seconds": 4.0}


def within(spans: Sequence[tuple[float, float]], end: float) -> list[tuple[float, float]]:
    """``spans`` cut at ``end`` (the audio's length; a diarizer's last frame can reach past it), empty ones dropped."""
    return [(a, min(b, end)) for a, b in spans if min(b, end) > a]


@dataclass(frozen=True, slots=True)
class VoiceSplit:
    """:func:`split_voices`' answer: ``parts`` ``(start, end, voice)`` cover the speech, voice 0
    the main one and 1 the second; ``centroids`` their mean piece embeddings (unit rows)."""

    parts: tuple[tuple[float, float, int], ...]
    centroids: np.ndarray


def pieces_over(spans: Sequence[tuple[float, float]], window: float, min_part: float = 0.6) -> list[tuple[float, float]]:
    """``window``-s pieces covering each span of at least ``min_part`` windows: as many as the span
    needs, spread evenly from its start to its end (so they may overlap a little); a span shorter
    than a window gets one, centred on it. A short turn between two others is judged too — cutting
    pieces from each span's start, as before, dropped most of a party who says little."""
    out = []
    for a, b in spans:
        if b - a < min_part * window:
            continue
        n = int(np.ceil((b - a) / window - 1e-9))
        if n <= 1:
            s = max(0.0, (a + b - window) / 2)
            out.append((s, s + window))
        else:
            out += [(float(s), float(s) + window) for s in np.linspace(a, b - window, n)]
    return out


def _voice_groups(embed_many, spans, window, most, same, share, min_seconds):
    """The voices under ``spans`` (see :func:`second_voice`): (pieces, their group, embeddings,
    the main group, the second) — second ``None`` when it does not pass the test."""
    from .voices import VoiceOptions, cluster_windows

    pieces = pieces_over(spans, window)
    if len(pieces) < 4:
        return pieces, None, None, 0, None
    if len(pieces) > most:
        pieces = [pieces[int(i)] for i in np.linspace(0, len(pieces) - 1, most)]
    emb = np.asarray(embed_many(pieces), dtype=np.float64)
    opts = VoiceOptions()
    cluster = cluster_windows(emb, same, seconds=[window] * len(pieces), cohesion_ratio=opts.cohesion_ratio,
                              substantial=opts.min_new_speaker)
    counts = np.bincount(cluster)
    order = np.argsort(-counts, kind="stable")
    secs = counts[order] * window
    ok = len(secs) > 1 and secs[1] >= max(min_seconds, share * secs.sum()) and secs[1] >= 2 * window
    return pieces, cluster, emb, int(order[0]), int(order[1]) if ok else None


def second_voice(embed_many: Callable[[Sequence[tuple[float, float]]], np.ndarray], spans: Sequence[tuple[float, float]],
                 window: float = VOICE_PIECE, most: int = 120, same: float = VOICE_SAME,
                 share: float = SECOND_VOICE_SHARE, min_seconds: float = SECOND_VOICE_SECONDS) -> tuple[tuple[float, float], ...]:
    """Where this speech holds a voice other than its main one: ``window``-s pieces covering
    ``spans`` (:func:`pieces_over`; up to ``most``, spread evenly), each embedded and clustered as
    the voice stage does (groups merge at mean similarity ``same``); when a second voice holds
    ``min_seconds``, two pieces and ``share`` of the judged speech, the pieces of every voice but
    the largest — else none."""
    pieces, cluster, _, main, second = _voice_groups(embed_many, spans, window, most, same, share, min_seconds)
    if second is None:
        return ()
    return tuple(p for p, c in zip(pieces, cluster) if c != main)


def split_voices(embed_many: Callable[[Sequence[tuple[float, float]]], np.ndarray], spans: Sequence[tuple[float, float]],
                 window: float = VOICE_PIECE, most: int = 120, label_most: int = 2000, same: float = VOICE_SAME,
                 share: float = SECOND_VOICE_SHARE, min_seconds: float = SECOND_VOICE_SECONDS,
                 cancel: Callable[[], None] | None = None, batch: int = 256) -> VoiceSplit | None:
    """One speaker's speech cut where the voice changes, when it holds two voices
    (:func:`second_voice`'s test): :class:`VoiceSplit`, or ``None`` when it holds one. Every piece covering the speech (up to
    ``label_most``; else the longest pieces that fit) goes to the nearer of the two voices'
    mean embeddings; each moment of a span takes the voice of the piece whose centre is nearest.
    The pieces are embedded ``batch`` at a time (bounded memory on long recordings), ``cancel``
    called before each batch."""
    pieces, cluster, emb, main, second = _voice_groups(embed_many, spans, window, most, same, share, min_seconds)
    if second is None:
        return None
    unit = emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9)
    cents = np.stack([unit[cluster == main].mean(axis=0), unit[cluster == second].mean(axis=0)])
    cents /= np.linalg.norm(cents, axis=1, keepdims=True) + 1e-9
    every = pieces_over(spans, window)
    step = window
    while len(every) > label_most:  # a long recording: longer pieces, as many as allowed
        step *= 1.5
        every = pieces_over(spans, step)
    if every != pieces:
        parts = []
        for i in range(0, len(every), batch):
            if cancel is not None:
                cancel()
            parts.append(np.asarray(embed_many(every[i: i + batch]), dtype=np.float64))
        e = np.concatenate(parts)
        unit = e / (np.linalg.norm(e, axis=1, keepdims=True) + 1e-9)
    voice = np.argmax(unit @ cents.T, axis=1)
    centres = np.array([(a + b) / 2 for a, b in every])
    out: list[tuple[float, float, int]] = []
    for a, b in spans:
        inside = [i for i, c in enumerate(centres) if a <= c <= b]
        if not inside:  # too short for a piece: the voice of the nearest one
            out.append((a, b, int(voice[int(np.argmin(np.abs(centres - (a + b) / 2)))])))
            continue
        cuts = [a, *((centres[i] + centres[j]) / 2 for i, j in zip(inside, inside[1:])), b]
        for k, i in enumerate(inside):
            out.append((float(cuts[k]), float(cuts[k + 1]), int(voice[i])))
    merged: list[tuple[float, float, int]] = []
    for a, b, v in out:
        if merged and merged[-1][2] == v and a - merged[-1][1] < 1e-6:
            merged[-1] = (merged[-1][0], b, v)
        else:
            merged.append((a, b, v))
    return VoiceSplit(tuple(merged), cents.astype(np.float32)) if any(v == 1 for _, _, v in merged) else None


def several_voices(embed_many: Callable[[Sequence[tuple[float, float]]], np.ndarray], spans: Sequence[tuple[float, float]],
                   **test) -> bool:
    """Does this speech hold more than one voice (:func:`second_voice`; ``test``: its settings)?"""
    return bool(second_voice(embed_many, spans, **test))


def flag_second_voice(turns: Sequence[Turn], pieces: Sequence[tuple[float, float]], min_overlap: float = 0.5) -> list[Turn]:
    """Turns holding at least ``min_overlap`` s of the pieces :func:`second_voice` heard, flagged
    for review (``second_voice`` first among their reasons): where to look for the other person."""
    out = []
    for t in turns:
        heard = sum(max(0.0, min(b, t.end) - max(a, t.start)) for a, b in pieces)
        if heard >= min_overlap and FlagReason.SECOND_VOICE not in t.flags:
            t = replace(t, flags=(FlagReason.SECOND_VOICE, *t.flags))
        out.append(t)
    return out


def meeting_warnings(turns: Sequence[Turn], sounds_like_more: bool | None = None, telephone: bool = False) -> tuple[str, ...]:
    """The whole-meeting warnings (see the module docstring) for the meeting record;
    ``telephone``: the audio is telephone-band (:func:`diarization.band.is_narrowband`)."""
    talk = talk_shares(turns)
    total = sum(talk.values())
    out = []
    if len(talk) <= 1 and sounds_like_more:
        out.append("only one speaker was found, but the recording sounds like more than one voice: check the turns "
                   "(or import again with --min-speakers 2)")
    elif len(talk) == 1 and total > 0 and telephone:
        out.append("only one speaker was found in a telephone-band recording: a call has two ends, and the other may be "
                   "too quiet to tell apart or merged into this one (check the turns, or import again with --min-speakers 2)")
    if len(talk) == 2 and total > 0:
        top = max(talk.values()) / total
        if top >= DOMINANT_SHARE:
            out.append(f"one of the two speakers holds {100 * top:.0f} % of the talk: two people may have been merged into one "
                       "(check the turns, or import again with --num-speakers 2)")
    return tuple(out)


def fold_backchannel_speakers(turns: Sequence[Turn], centroids: dict[str, np.ndarray] | None = None) -> tuple[list[Turn], dict[str, str]]:
    """Turns with every back-channel-only speaker's words given to another speaker (the closest
    voice by centroid among those they did not talk over; else the one with most talk), when
    at least two speakers with real talk remain. Returns the turns and {folded: into}."""
    talk = talk_shares(turns)
    over: dict[str, list[int]] = {}
    spoke_over: dict[str, set[str]] = {}
    for t in turns:
        for w in t.words:
            o = over.setdefault(w.speaker, [0, 0])
            o[1] += 1
            if t.overlapped or w.overlapping:
                o[0] += 1
                spoke_over.setdefault(w.speaker, set()).update(w.overlapping)
    small = {s for s, secs in talk.items() if secs < BACKCHANNEL_SECONDS and over[s][1] and over[s][0] >= BACKCHANNEL_OVERLAPPED * over[s][1]}
    real = [s for s in talk if s not in small]
    if len(real) < 2 or not small:
        return list(turns), {}
    into = {}
    for s in small:
        pool = [r for r in real if r not in spoke_over.get(s, set())] or real
        if centroids and s in centroids and all(r in centroids for r in pool):
            c = centroids[s] / (np.linalg.norm(centroids[s]) + 1e-9)
            into[s] = max(pool, key=lambda r: float(c @ centroids[r]) / (np.linalg.norm(centroids[r]) + 1e-9))
        else:
            into[s] = max(pool, key=lambda r: talk[r])
    return relabel_turns(turns, into), into


def relabel_turns(turns: Sequence[Turn], into: dict[str, str]) -> list[Turn]:
    """``turns`` with every speaker of ``into`` renamed (words, and the others heard beside them)."""
    out = []
    for t in turns:
        words = tuple(replace(w, speaker=into.get(w.speaker, w.speaker), overlapping=tuple(dict.fromkeys(into.get(o, o) for o in w.overlapping if into.get(o, o) != into.get(w.speaker, w.speaker))))
                      for w in t.words)
        out.append(replace(t, speaker=into.get(t.speaker, t.speaker), words=words))
    return out


def one_end_speakers(turns: Sequence[Turn], speakers: Sequence[str], min_talk: float = SECOND_VOICE_SECONDS) -> dict[str, str]:
    """On one end of a call (a party's channel, heard as more than one voice and diarized), the
    speakers who say less than ``min_talk`` s: {speaker: the channel's most talkative speaker}.
    The voices test behind the diarization asks a second voice for that much, so a smaller
    speaker is the clustering splitting a few seconds of one voice (a quiet party's 6 s became two
    "people" of 0.7 and 0.8 s), not a second person at the phone."""
    talk = talk_shares(turns)
    names = list(dict.fromkeys([*speakers, *talk]))
    if len(names) < 2:
        return {}
    main = max(names, key=lambda s: talk.get(s, 0.0))  # ties: the first listed
    return {s: main for s in names if s != main and talk.get(s, 0.0) < min_talk}
