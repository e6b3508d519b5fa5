"""``python -m bench.call_bleed``: stereo calls whose channels hear each other louder (issue 14).

The stereo calls of :mod:`bench.calls` carry the other party's bleed at -28 dB (12 ms late). A
call recorded from a phone line or a speakerphone hears far more of the other end (a hybrid's
echo is often only 10–20 dB down). Each built call (both draws) is rebuilt with the bleed at each
level of :data:`LEVELS` (:func:`with_bleed`) and imported: which path it took, speakers found
(with words), DER and confusion of the exported speaker activity (collar 0.25 s). Nothing is
fitted here.

Writes ``bench/extra/call_bleed.md`` and ``.json``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

#: dB of the other party's level each channel hears (the built calls: bench.calls.BLEED_DB, -28)
LEVELS = (-28.0, -20.0, -15.0, -10.0)


def with_bleed(stereo: np.ndarray, db: float) -> np.ndarray:
    """A built call's (samples, 2) stereo with its bleed moved from :data:`bench.calls.BLEED_DB`
    to ``db``: each line is first freed of the built bleed (the other line, late, times its gain;
    what is left is that gain squared, -56 dB), then given the new one; peak at most 0.9."""
    from bench.calls import BLEED_DB, cross_bleed, late

    g0 = 10 ** (BLEED_DB / 20)
    left, right = stereo[:, 0].astype(np.float64), stereo[:, 1].astype(np.float64)
    out = cross_bleed(left - g0 * late(right), right - g0 * late(left), db)
    return (out / max(1.0, float(np.abs(out).max()) / 0.9)).astype(np.float32)


def measure(eval_dir: Path, levels=LEVELS) -> dict:
    import soundfile as sf

    from bench import calls
    from bench.quiet_calls import summarise

    def write(call, level, folder):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{call.name}.bleed{-level:g}.wav"
        sf.write(path, with_bleed(call.stereo, level), 8000, subtype="PCM_16")
        return path

    rows = calls.import_variants(eval_dir, list(levels), write, lambda level: {"level": level})
    summary = {}
    for draw in ("tune", "held-out"):
        mine = [r for r in rows if r["draw"] == draw]
        summary[draw] = summarise(mine)
        for level, s in summary[draw].items():
            at = [r for r in mine if str(r["level"]) == level]
            s["channels"] = int(sum(r["route"] == "channels" for r in at))
            s["confusion"] = float(sum(r["der"]["confusion"] for r in at) / max(sum(r["der"]["total"] for r in at), 1e-9))
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "levels": list(levels), "rows": rows, "summary": summary}


def render(r: dict) -> str:
    L = ["## Stereo calls with louder bleed\n",
         f"`python -m bench.call_bleed` ({r['date']}): each built stereo call (`bench/calls.py`, both draws; a party per channel) "
         "rebuilt with the other party's bleed at each level (the built calls: -28 dB) and imported. *Channel path*: files that took "
         "it; DER and confusion of the exported speaker activity at collar 0.25 s. Nothing is fitted here.\n",
         "| draw | bleed | files | channel path | right speaker count | DER ≤ 12 % | pooled DER | confusion |",
         "|---|---|---|---|---|---|---|---|"]
    for draw in ("tune", "held-out"):
        for level, s in r["summary"].get(draw, {}).items():
            L.append(f"| {draw} | {float(level):g} dB | {s['calls']} | {s['channels']} | {s['right_count']} | {s['der_ok']} | "
                     f"{100 * s['pooled_der']:.1f} % | {100 * s['confusion']:.1f} % |")
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    from bench.calls import section_main

    return section_main(argv, "python -m bench.call_bleed", "call_bleed", measure, render)


if __name__ == "__main__":
    raise SystemExit(main())
