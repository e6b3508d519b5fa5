"""``python -m bench.bleed_pad``: how close to a channel's own speech a word must lie to stay that
channel's talker's (:data:`meetings.recording.BLEED_PAD`), chosen leave one call out (issue 14).

The stereo calls (a party per channel: the calls of :mod:`bench.calls` with the other party's
bleed at -28 dB, and ``phone_call_40``) go through the import's channel path once; the words it
judges (:func:`meetings.recording._outside_own`, recorded as it runs) are then kept or dropped at
each pad. An error is a kept word whose channel's speaker is not a reference speaker at its
midpoint (±0.1 s) while someone else is (the other party's bleed), or a dropped word whose
channel's speaker is. Each call is scored at the pad with the fewest errors on the other calls.

Writes ``bench/extra/bleed_pad.md`` and ``.json``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

PADS = (0.25, 0.15, 0.1, 0.05, 0.0)


def word_errors(words, own, k: int, speaker: str | None, ref, pad: float) -> tuple[int, int]:
    """(errors, words judged) for channel ``k``'s ``words`` kept or dropped at ``pad`` (see the module docstring)."""
    from meetings.recording import _outside_own

    kept = {id(w) for w in _outside_own(words, own, k, pad)[0]}
    errors = 0
    for w in words:
        active = {s.speaker for s in ref.segments if s.start - 0.1 <= w.mid <= s.end + 0.1}
        right = speaker in active
        errors += (id(w) in kept and bool(active) and not right) or (id(w) not in kept and right)
    return errors, len(words)


def measure(eval_dir: Path, pads=PADS) -> dict:
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    import meetings.recording as rec
    from bench import calls, loo, scoring
    from capture.decode import decode_to_wav
    from meetings.pipeline import Engine, channel_route
    from meetings.types import PipelineOptions

    engine = Engine(PipelineOptions(device="cpu"))
    engine.models.wait()
    seen = []
    judge = rec._outside_own

    def record(words, own, k, pad=rec.BLEED_PAD):  # the words the channel path judges, as it runs
        seen.append((k, list(words), own))
        return judge(words, own, k, pad)

    counts: dict[str, dict[str, tuple[int, int]]] = {}
    judged = {}
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        items = calls.stereo_calls(eval_dir, tmp)
        rec._outside_own = record
        try:
            for name, ref, src in items:
                seen.clear()
                wav = tmp / f"{name}.wav"
                info = decode_to_wav(src, wav)
                p = engine.process(wav, info.duration, route=channel_route(wav))
                _, mapping = scoring.der(ref, p.diarization.segments, 0.25)
                judged[name] = (list(seen), ref, mapping)
        finally:
            rec._outside_own = judge
    for name, (calls_seen, ref, mapping) in judged.items():  # scored with the real judge back in place
        row = {}
        for pad in pads:
            e = n = 0
            for k, words, own in calls_seen:
                de, dn = word_errors(words, own, k, mapping.get(f"CH{k + 1}"), ref, pad)
                e, n = e + de, n + dn
            row[str(pad)] = (e, n)
        counts[name] = row
        print(f"{name}: " + ", ".join(f"{q} → {v[0]}" for q, v in row.items()), file=sys.stderr)
    variants = [str(q) for q in pads]
    choice = loo.leave_one_out(counts, variants, str(rec.BLEED_PAD))
    picks = dict(Counter(choice.values()))
    held = loo.held_out(counts, choice)
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "shipped": rec.BLEED_PAD, "counts": counts,
            "in_sample": {v: [sum(counts[f][v][0] for f in counts), sum(counts[f][v][1] for f in counts)] for v in variants},
            "leave_one_out": [sum(x[0] for x in held.values()), sum(x[1] for x in held.values())], "picks": picks}


def render(r: dict) -> str:
    L = ["## Channel bleed: how near its own speech a word must be (stereo calls)\n",
         f"`python -m bench.bleed_pad` ({r['date']}): the words the import's channel path judges on {len(r['counts'])} stereo calls "
         "(a party per channel; built calls with the other party's bleed at -28 dB, and phone_call_40), kept or dropped by how far "
         "their midpoint lies from their channel's own speech. Errors: the other party's words kept, or the channel's own words dropped.\n",
         "| pad (s) | errors, all calls (in-sample) |", "|---|---|"]
    for v, (e, n) in r["in_sample"].items():
        mark = " (shipped)" if float(v) == r["shipped"] else (" (before)" if float(v) == 0.25 else "")
        L.append(f"| {v}{mark} | {e} of {n} words |")
    e, n = r["leave_one_out"]
    picks = ", ".join(f"{v} ×{k}" for v, k in sorted(r["picks"].items(), key=lambda x: -x[1]))
    L.append(f"| **chosen on the other calls (leave one call out)** | **{e} of {n} words** |")
    L.append(f"\nChosen in the folds: {picks}.")
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    from bench.calls import section_main

    return section_main(argv, "python -m bench.bleed_pad", "bleed_pad", measure, render)


if __name__ == "__main__":
    raise SystemExit(main())
