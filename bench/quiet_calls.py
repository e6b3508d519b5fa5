"""``python -m bench.quiet_calls``: how quiet the far end of a mono call can be (issue 14).

A call recorded on one side's phone hears the far party through the line, often much quieter
than the near one. Each built call of :mod:`bench.calls` (the tuning draw and the held-out draw)
is mixed down from its two telephone-band lines with one party (A, then B) turned down by each
level of :data:`LEVELS` (:func:`bench.calls.write_quiet`) and imported as a mono file: speakers
found (with words), DER of the exported speaker activity (collar 0.25 s), and whether a call
whose parties were merged carries a whole-meeting warning. Nothing is fitted here.

Writes ``bench/extra/quiet_calls.md`` and ``.json``.
"""

from __future__ import annotations

import time
from pathlib import Path

#: dB the quieter party is turned down by
LEVELS = (-10.0, -15.0, -20.0, -25.0)


def summarise(rows: list[dict]) -> dict[str, dict]:
    """Per level (its string), over the calls: right speaker count, DER ≤ 12 %, pooled DER, and
    how many of the calls merged into fewer speakers were warned. ``rows``: one per imported file,
    with ``level``, ``speakers``, ``ref_speakers``, ``der`` (total, missed, false_alarm,
    confusion: seconds) and ``warnings``."""
    out: dict[str, dict] = {}
    for r in rows:
        s = out.setdefault(str(r["level"]), {"calls": 0, "right_count": 0, "der_ok": 0, "error": 0.0, "total": 0.0,
                                             "merged": 0, "merged_warned": 0})
        d = {k: float(v) for k, v in r["der"].items()}
        error = d["missed"] + d["false_alarm"] + d["confusion"]
        s["calls"] += 1
        s["right_count"] += int(r["speakers"] == r["ref_speakers"])
        s["der_ok"] += int(error <= 0.12 * d["total"])
        s["error"] += error
        s["total"] += d["total"]
        if r["speakers"] < r["ref_speakers"]:
            s["merged"] += 1
            s["merged_warned"] += int(bool(r["warnings"]))
    for s in out.values():
        s["pooled_der"] = s["error"] / s["total"] if s["total"] else 0.0
    return out


def measure(eval_dir: Path, levels=LEVELS) -> dict:
    from bench import calls

    def write(call, variant, folder):
        level, party = variant
        return calls.write_quiet(call, folder, party=party, db=level)

    rows = calls.import_variants(eval_dir, [(level, party) for level in levels for party in (0, 1)], write,
                                 lambda v: {"level": v[0], "quiet": "AB"[v[1]]})
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "levels": list(levels), "rows": rows,
            "summary": {draw: summarise([r for r in rows if r["draw"] == draw]) for draw in ("tune", "held-out")}}


def render(r: dict) -> str:
    L = ["## A quiet far end: mono calls with one party turned down\n",
         f"`python -m bench.quiet_calls` ({r['date']}): each built call (`bench/calls.py`, both draws) mixed down from its two "
         "telephone-band lines with one party, then the other, turned down, imported as a mono file. DER of the exported speaker "
         "activity at collar 0.25 s; *merged*: fewer speakers with words than the call has, and how many of those carry a "
         "whole-meeting warning. Nothing is fitted here.\n",
         "| draw | quieter party by | files | right speaker count | DER ≤ 12 % | pooled DER | merged (warned) |",
         "|---|---|---|---|---|---|---|"]
    for draw in ("tune", "held-out"):
        for level, s in r["summary"].get(draw, {}).items():
            L.append(f"| {draw} | {float(level):g} dB | {s['calls']} | {s['right_count']} | {s['der_ok']} | "
                     f"{100 * s['pooled_der']:.1f} % | {s['merged']} ({s['merged_warned']}) |")
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    from bench.calls import section_main

    return section_main(argv, "python -m bench.quiet_calls", "quiet_calls", measure, render)


if __name__ == "__main__":
    raise SystemExit(main())
