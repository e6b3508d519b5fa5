"""The reliability section of the benchmark report, from what the tests really measure.

``python -m bench.reliability`` runs the reliability and privacy tests (the hostile-input corpus
through ``parley import``, kill -9 in every import stage, during correction writes and during
summaries, the strace'd import, full disks, concurrency, migrations) with ``PARLEY_FIGURES`` set,
so each test records what it measured (tests/figures.py), and pairs every figure with its test's
outcome (JUnit XML). Recording crashes come from ``bench.live``'s kill -9 trials
(bench/extra/live.json) and long meetings from ``bench.long`` (bench/extra/long.json), each with
the date of its run. Writes bench/extra/reliability.md and reliability.json.
``--render-only`` rewrites the report from the last reliability.json (no tests run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "extra"
TESTS = ["tests/test_reliability_corpus.py", "tests/test_reliability_crash.py", "tests/test_privacy.py",
         "tests/test_reliability.py", "tests/test_reliability_migrations.py"]
#: the test that measures each figure (its outcome decides whether the figure stands)
SOURCE = {"hostile_corpus": "test_hostile_corpus_through_parley_import", "kill_import": "test_kill_9_during_each_import_stage",
          "kill_corrections": "test_kill_9_during_correction_writes_loses_no_confirmed_correction",
          "kill_summaries": "test_kill_9_during_summaries_leaves_all_of_a_summary_or_none", "sockets": "test_an_import_opens_no_non_local_socket"}


def run_tests(tests: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="parley-reliability-") as tmp:
        figures, junit = Path(tmp) / "figures.jsonl", Path(tmp) / "junit.xml"
        env = dict(os.environ, PARLEY_FIGURES=str(figures))
        t0 = time.perf_counter()
        proc = subprocess.run(["bash", "scripts/test.sh", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *tests],
                              cwd=REPO, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        outcomes = {}
        if junit.exists():
            for case in ET.parse(junit).getroot().iter("testcase"):
                failed = case.find("failure") is not None or case.find("error") is not None
                skipped = case.find("skipped") is not None
                outcomes[f"{case.get('classname')}.{case.get('name')}"] = "failed" if failed else "skipped" if skipped else "passed"
        recorded = [json.loads(line) for line in figures.read_text().splitlines()] if figures.exists() else []
    return {"exit": proc.returncode, "wall_s": round(wall, 1), "outcomes": outcomes, "figures": recorded,
            "summary": proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []}


def outcome(run: dict, test: str) -> str:
    hits = [v for k, v in run["outcomes"].items() if k.endswith("." + test)]
    return hits[0] if hits else "not run"


def figure(run: dict, name: str) -> dict | None:
    got = [f for f in run["figures"] if f["figure"] == name]
    return got[-1] if got else None


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def render(report: dict) -> str:
    run = report["tests"]
    L = ["## Reliability\n",
         f"`python -m bench.reliability` ({report['date']}, load {report['load'][0]}): the reliability and privacy tests run for real "
         f"({len(run['outcomes'])} tests, {sum(v == 'passed' for v in run['outcomes'].values())} passed, {run['wall_s'] / 60:.0f} min); each "
         "figure below is what its test measured and recorded (tests/figures.py), shown with that test's outcome.\n",
         "| what | target | measured | test |", "|---|---|---|---|"]

    def row(what, target, text, test):
        L.append(f"| {what} | {target} | {text} | {test} |")

    f, t = figure(run, "hostile_corpus"), outcome(run, SOURCE["hostile_corpus"])
    row("hostile-input corpus through `parley import`: cases tried / handled (exit 2 and one line, or a correct result)", "≥ 40 / all",
        f"**{f['tried']} / {f['handled']}** ({f['refused']} refused, {f['handled'] - f['refused']} imported)" if f else "—", t)
    row("… tracebacks / hangs / inconsistent databases", "0 / 0 / 0",
        f"**{f['tracebacks']} / {f['hangs']} / {0 if f['database_ok'] else 1}**" if f else "—", t)
    f, t = figure(run, "kill_import"), outcome(run, SOURCE["kill_import"])
    row("kill -9 during import (model loading and every stage): trials / killed mid-stage / corrupt databases", "— / — / 0",
        f"**{f['trials']} / {f['killed']} / {f['corrupt_databases']}**; landed: {', '.join(f'{k} ×{v}' for k, v in f['landed'].items())}; re-import gives the same transcript" if f else "—", t)
    f, t = figure(run, "kill_corrections"), outcome(run, SOURCE["kill_corrections"])
    row("kill -9 during correction writes: trials / confirmed corrections / lost", "0 lost",
        f"**{f['trials']} / {f['confirmed_corrections']} / {f['lost']}**" if f else "—", t)
    f, t = figure(run, "kill_summaries"), outcome(run, SOURCE["kill_summaries"])
    row("kill -9 during summaries: trials / killed / half-written summaries", "0",
        f"**{f['trials']} / {f['killed']} / {f['partial_summaries']}**" if f else "—", t)
    live = report.get("live")
    k = (live or {}).get("kill")
    kills = [figure(run, n) for n in ("kill_import", "kill_corrections", "kill_summaries")]
    if all(kills):
        total = sum(f["trials"] for f in kills) + (k["trials"] if k else 0)
        row("kill -9 trials in all (import, corrections, summaries" + (", recorder" if k else "") + "): corrupt databases / lost confirmed corrections",
            "≥ 20 trials: 0 / 0", f"**{total} trials: {sum(f['corrupt_databases'] for f in kills) + (k['corrupt_databases'] if k else 0)} / "
            f"{kills[1]['lost']}**", "all passed" if all(outcome(run, SOURCE[n]) == "passed" for n in ("kill_import", "kill_corrections", "kill_summaries")) else "see above")
    row("kill -9 of the recorder: trials / audio lost per channel / recovery offered / corrupt databases", "≤ 1 s lost",
        f"**{k['trials']} / max {k['max_lost_s']:.2f} s, mean {k['mean_lost_s']:.2f} s / {k['offered_on_first_restart']} of {k['trials']} / {k['corrupt_databases']}**"
        if k else "—", f"`python -m bench.live` ({live.get('date', '?')})" if live else "no bench/extra/live.json")
    f, t = figure(run, "sockets"), outcome(run, SOURCE["sockets"])
    row("non-local sockets or host-name lookups during a real import (strace, telemetry variables unset)", "0",
        f"**{f['non_local']}** ({f['connect_calls']} connect calls, all local)" if f else "—", t)
    long = report.get("long")
    if long and long.get("runs"):
        big = max(long["runs"], key=lambda r: r["minutes"])
        row(f"longest meeting imported ({big['minutes']:.0f} min): peak RSS / wall time", "≤ 4 GB / ≤ 0.5× real time",
            f"**{big['peak_rss_mb'] / 1024:.2f} GB / {big['rtf']:.3f}×** (CPU time {big['cpu_s'] / big['audio_s']:.3f}× audio; 1-min load {big['load_before'][0]} → {big['load_after'][0]})",
            f"`python -m bench.long` ({long['meta']['date']})")
        row("time and peak RSS against length", "memory grows no faster than the audio",
            "; ".join(f"{r['minutes']:.0f} min: {r['wall_s']:.0f} s, {r['peak_rss_mb']:.0f} MB" for r in long["runs"]), "bench/extra/long.md")
    else:
        row("long meetings", "≤ 4 GB / ≤ 0.5× real time", "—", "no bench/extra/long.json")
    others = {k.rsplit(".", 1)[-1]: v for k, v in run["outcomes"].items() if k.rsplit(".", 1)[-1] not in SOURCE.values()}
    L += ["", "The other tests of the run (full disks, concurrent imports, locks, damaged media, deletion, permissions, migrations): "
          + ", ".join(f"`{name}` {v}" for name, v in sorted(others.items())) + "."]
    failed = [k for k, v in run["outcomes"].items() if v != "passed"]
    if failed:
        L.append(f"\n**Not passed in this run:** {', '.join(failed)}.")
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.reliability")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--render-only", action="store_true", help="re-render from the last reliability.json (its test run)")
    ap.add_argument("tests", nargs="*", default=TESTS)
    args = ap.parse_args(argv)
    if args.render_only:
        report = json.loads((args.out / "reliability.json").read_text())
    else:
        report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": [round(x, 2) for x in os.getloadavg()],
                  "tests": run_tests(args.tests)}
    report["live"], report["long"] = _read(OUT / "live.json"), _read(OUT / "long.json")  # the runs the report shows
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "reliability.json").write_text(json.dumps(report, indent=1))
    (args.out / "reliability.md").write_text(render(report))
    return 0 if report["tests"]["exit"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
