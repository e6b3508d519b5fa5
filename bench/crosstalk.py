"""``python -m bench.crosstalk``: which channel-path turns to flag for review, chosen leave one
call out (issue 14; :data:`diarization.channels.CROSSTALK`).

On the channel path a party channel's words are its talker's; the one way for them to be wrong
is double-talk, where the other party's residual bleed is transcribed as this one's. The stereo
calls (:mod:`bench.calls` with the other party's bleed at -28 dB, and ``phone_call_40``) go
through the import's channel path once; each party turn's crosstalk (the share of its word time
inside another channel's speech, :func:`diarization.channels.crosstalk`, recorded as the path
flags) and its wrongly attributed words (:func:`bench.scoring.turn_errors`) are kept, and every
level is scored from them. A call is scored at the level chosen on the other calls: the most
wrongly attributed words inside flagged turns with at most 25 % of turns flagged (ties: the
higher level, fewer flags).

Writes ``bench/extra/crosstalk.md`` and ``.json``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

LEVELS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8)
BUDGET = 0.25  # most share of turns flagged


def tally(rows, level: float) -> tuple[int, int, int, int]:
    """(wrong words inside flagged turns, wrong words, flagged turns, turns) of ``rows``
    ((crosstalk, wrong words) per party turn) at ``level``."""
    flagged = [r for r in rows if r[0] >= level]
    return sum(w for _, w in flagged), sum(w for _, w in rows), len(flagged), len(rows)


def choose(per_call: dict[str, list], files, levels=LEVELS, budget: float = BUDGET) -> float:
    """The level with the most wrong words inside flagged turns on ``files``, at most ``budget``
    of their turns flagged (ties, or none within budget: the higher level)."""
    def score(level):
        t = [tally(per_call[f], level) for f in files]
        caught, flagged, turns = sum(x[0] for x in t), sum(x[2] for x in t), sum(x[3] for x in t)
        return (flagged <= budget * max(turns, 1), caught if flagged <= budget * max(turns, 1) else -flagged, level)

    return max(levels, key=score)


def leave_one_out(per_call: dict[str, list], levels=LEVELS, budget: float = BUDGET) -> dict[str, float]:
    return {f: choose(per_call, [g for g in per_call if g != f], levels, budget) for f in per_call}


def measure(eval_dir: Path) -> dict:
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    import diarization.channels as ch
    from bench import calls, scoring
    from capture.decode import decode_to_wav
    from meetings.pipeline import Engine, channel_route
    from meetings.types import PipelineOptions

    engine = Engine(PipelineOptions(device="cpu"))
    engine.models.wait()
    seen: list = []
    real = ch.flag_crosstalk

    def record(turns, others, level=ch.CROSSTALK):  # the party turns the channel path judges, as it runs
        from diarization.spans import SpanIndex

        spans = SpanIndex(others)
        seen.extend(((t.speaker, t.start, t.end), ch.crosstalk(t, spans)) for t in turns)
        return real(turns, others, level)

    per_call: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        items = calls.stereo_calls(eval_dir, tmp)
        ch.flag_crosstalk = record
        try:
            for name, ref, src in items:
                seen.clear()
                wav = tmp / f"{name}.wav"
                info = decode_to_wav(src, wav)
                p = engine.process(wav, info.duration, route=channel_route(wav))
                shares = dict(seen)
                turns = list(p.turns)
                per_call[name] = [[round(shares[(t.speaker, t.start, t.end)], 4), w]
                                  for t, (w, _) in zip(turns, scoring.turn_errors(ref, turns)) if (t.speaker, t.start, t.end) in shares]
                print(f"{name}: {len(per_call[name])} party turns, {sum(w for _, w in per_call[name])} wrong words", file=sys.stderr)
        finally:
            ch.flag_crosstalk = real
    choice = leave_one_out(per_call)
    held = [tally(per_call[f], lv) for f, lv in choice.items()]
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "shipped": ch.CROSSTALK, "budget": BUDGET, "per_call": per_call,
            "in_sample": {str(lv): list(map(sum, zip(*(tally(r, lv) for r in per_call.values())))) for lv in LEVELS},
            "leave_one_out": list(map(sum, zip(*held))), "picks": dict(Counter(str(v) for v in choice.values()))}


def render(r: dict) -> str:
    L = ["## Channel path: which turns to flag (stereo calls)\n",
         f"`python -m bench.crosstalk` ({r['date']}): the party turns of {len(r['per_call'])} stereo calls (a party per channel: "
         "built calls with the other party's bleed at -28 dB, and phone_call_40), flagged when at least *level* of their word "
         "time lies inside the other channel's speech (double-talk: where the other party's residual bleed can be transcribed "
         f"as this one's). Chosen per call on the other calls: most wrongly attributed words inside flagged turns with at most "
         f"{r['budget']:.0%} of turns flagged.\n",
         "| level | wrong words inside flagged turns | flagged turns |", "|---|---|---|"]

    def row(label, c):
        caught, wrong, flagged, turns = c
        return f"| {label} | {caught} of {wrong} ({caught / max(wrong, 1):.0%}) | {flagged} of {turns} ({flagged / max(turns, 1):.0%}) |"

    for lv, c in r["in_sample"].items():
        L.append(row(lv + (" (shipped)" if float(lv) == r["shipped"] else ""), c))
    L.append(row("**chosen on the other calls (leave one call out)**", r["leave_one_out"]))
    picks = ", ".join(f"{v} ×{k}" for v, k in sorted(r["picks"].items(), key=lambda x: -x[1]))
    L.append(f"\nChosen in the folds: {picks}. Before this flag no channel-path turn was flagged for its speaker.")
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    from bench.calls import section_main

    return section_main(argv, "python -m bench.crosstalk", "crosstalk", measure, render)


if __name__ == "__main__":
    raise SystemExit(main())
