"""Who spoke when, as exported: the diarization's speaker activity, relabelled by the words.

The diarization's segments hold all the speech, words or not (breaths, laughs, "mm", speech
the ASR missed); the turns hold who each stretch of words belongs to after the voice stage
and the user's corrections. :func:`relabel_activity` keeps the first's timing and the second's
names: a piece of a speaker's activity that lies inside another speaker's (single-voice) turn,
where that speaker's own activity is absent, is theirs — the voice stage or the user moved
those words, so the voice under them moves too. Where both are active it is overlap and both
stay. A diarization label that no longer holds any turn (merged away, absorbed into a voice)
goes to whoever took most of its pieces. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from meetings.types import SpeakerSegment, Turn

__all__ = ["relabel_activity"]


def _covered(spans: list[tuple[float, float]], a: float, b: float) -> float:
    return sum(max(0.0, min(b, e) - max(a, s)) for s, e in spans)


def _merge(segs: list[SpeakerSegment], gap: float = 1e-3) -> list[SpeakerSegment]:
    out: dict[str, list[SpeakerSegment]] = {}
    for s in sorted(segs, key=lambda s: (s.speaker, s.start)):
        mine = out.setdefault(s.speaker, [])
        if mine and s.start <= mine[-1].end + gap:
            mine[-1] = SpeakerSegment(mine[-1].start, max(mine[-1].end, s.end), s.speaker)
        else:
            mine.append(s)
    return sorted((s for v in out.values() for s in v if s.end > s.start), key=lambda s: (s.start, s.end, s.speaker))


def relabel_activity(segments: Sequence[SpeakerSegment], turns: Sequence[Turn], min_piece: float = 0.0) -> list[SpeakerSegment]:
    """The activity in ``segments`` with each piece named as the turns say (see the module
    docstring). ``segments`` and ``turns`` use one set of speaker names."""
    import bisect

    plain = sorted((t for t in turns if not t.overlapped and t.words), key=lambda t: t.start)
    starts = [t.start for t in plain]
    longest = max((t.end - t.start for t in plain), default=0.0)
    by_speaker: dict[str, list[tuple[float, float]]] = {}
    for s in segments:
        by_speaker.setdefault(s.speaker, []).append((s.start, s.end))
    holders = {t.speaker for t in turns if t.words}
    pieces: list[SpeakerSegment] = []
    moved: dict[str, dict[str, float]] = {}
    for s in segments:
        near = plain[bisect.bisect_left(starts, s.start - longest): bisect.bisect_right(starts, s.end)]
        near = [t for t in near if t.end > s.start and t.start < s.end]
        cuts = sorted({s.start, s.end, *(x for t in near for x in (t.start, t.end) if s.start < x < s.end)})
        for a, b in zip(cuts, cuts[1:]):
            who = s.speaker
            mid = (a + b) / 2
            turn = next((t for t in near if t.start <= mid <= t.end), None)
            if turn is not None and turn.speaker != s.speaker and b - a >= min_piece:
                theirs = _covered(by_speaker.get(turn.speaker, []), a, b)
                if theirs < 0.5 * (b - a):  # the turn's speaker is not heard here: this voice is theirs
                    who = turn.speaker
                    moved.setdefault(s.speaker, {}).setdefault(who, 0.0)
                    moved[s.speaker][who] += b - a
            pieces.append(SpeakerSegment(a, b, who))
    # a label that holds no words any more: its remaining pieces go where most of it went
    gone = {old: max(to, key=to.get) for old, to in moved.items() if old not in holders and to}
    pieces = [SpeakerSegment(p.start, p.end, gone.get(p.speaker, p.speaker)) for p in pieces]
    return _merge(pieces)
