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

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: dB of the other party's level each channel hears (the built calls: -28)
LEVELS = (-28.0, -20.0, -15.0, -10.0)
BUILT_DB = -28.0
LAG = 0.012  # seconds: how late the bleed arrives (as bench.calls builds it)


def with_bleed(stereo: np.ndarray, db: float, sr: int = 8000, built_db: float = BUILT_DB, lag: float = LAG) -> np.ndarray:
    """A built call's (samples, 2) stereo with its bleed moved from ``built_db`` to ``db``: each
    line is first freed of the built bleed (the other line, ``lag`` s late, times its gain; what
    is left is that gain squared, -56 dB), then given the new one; peak at most 0.9."""
    n = int(round(lag * sr))

    def late(y):
        return np.r_[np.zeros(n, y.dtype), y[:-n]]

    g0, g = 10 ** (built_db / 20), 10 ** (db / 20)
    left, right = stereo[:, 0].astype(np.float64), stereo[:, 1].astype(np.float64)
    a, b = left - g0 * late(right), right - g0 * late(left)
    out = np.stack([a + g * late(b), b + g * late(a)], axis=1)
    return (out / max(1.0, float(np.abs(out).max()) / 0.9)).astype(np.float32)


def measure(eval_dir: Path, levels=LEVELS) -> dict:
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    import soundfile as sf

    from bench import calls, scoring
    from bench.quiet_calls import summarise
    from capture.decode import decode_to_wav
    from diarization.activity import relabel_activity
    from meetings.pipeline import Engine, channel_route
    from meetings.types import PipelineOptions

    engine = Engine(PipelineOptions(device="cpu"))
    engine.models.wait()
    pool = [n.strip() for n in (eval_dir / "all.lst").read_text().split() if n.strip() and n.strip() != "phone_call_40"]
    rows = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        for draw, built in (("tune", calls.default_calls(eval_dir, pool)), ("held-out", calls.held_out_calls(eval_dir, pool))):
            for c in built:
                ref = calls.reference(c)
                for level in levels:
                    src = tmp / f"{c.name}.{-level:g}.stereo.wav"
                    sf.write(src, with_bleed(c.stereo, level), 8000, subtype="PCM_16")
                    wav = tmp / f"{c.name}.{-level:g}.wav"
                    info = decode_to_wav(src, wav)
                    route = channel_route(wav)
                    p = engine.process(wav, info.duration, route=route)
                    turns = list(p.turns)
                    activity = relabel_activity(p.activity or p.diarization.segments, turns, keep=set(p.diarization.speakers))
                    parts, _ = scoring.der(ref, activity, 0.25)
                    rows.append({"call": c.name, "draw": draw, "level": level, "route": route.path,
                                 "ref_speakers": len(ref.speakers), "speakers": len({t.speaker for t in turns}),
                                 "der": {"total": float(parts.total), "missed": float(parts.missed),
                                         "false_alarm": float(parts.false_alarm), "confusion": float(parts.confusion)},
                                 "warnings": list(p.warnings)})
                    print(f"{c.name} [{draw}] bleed {level:g} dB: {route.path}, {rows[-1]['speakers']} speakers, "
                          f"DER {100 * parts.der:.1f} %", file=sys.stderr)
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
