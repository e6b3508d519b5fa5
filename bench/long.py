"""Long meetings: time and peak memory of a real ``parley import`` against the meeting's length.

``python -m bench.long [--minutes 10 30 120]`` builds each meeting from the speech in bench/data
(every file of ``all.lst``: 13 AMI meeting excerpts, two pyannote examples, a call; 8 minutes in
all), joined in a fresh seeded order each round with 0.3-1.5 s pauses between files and ±3 dB of
gain, until the length is reached (so a 2-hour meeting hears each excerpt about 15 times: the
same people come back, as in a real meeting). Each meeting is imported by a ``parley import``
subprocess with a fresh data folder; its wall time, CPU time and peak RSS come from the kernel
(``wait4``: the child and everything it waited for), and a sampler records the RSS over time.
The import's DER against the joined reference (collar 0.25 s; speakers are AMI's own person ids,
so a person heard again is the same speaker) says what the long path costs in accuracy.
Writes bench/extra/long.md and long.json. Other processes share the CPUs: the load average
is recorded before and after each run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "bench" / "data"
OUT = REPO / "bench" / "extra"


def load_pool(names: list[str]) -> list[tuple[str, np.ndarray, list[tuple[float, float, str]]]]:
    """(name, 16 kHz mono audio, reference turns (start, end, speaker)) for each file."""
    import soundfile as sf

    pool = []
    for name in names:
        audio, sr = sf.read(DATA / name / f"{name}.flac", dtype="float32", always_2d=True)
        if sr != 16000:
            raise SystemExit(f"{name}: {sr} Hz, expected 16 kHz")
        ref = []
        for line in (DATA / name / f"{name}.rttm").read_text().splitlines():
            f = line.split()
            if f and f[0] == "SPEAKER":
                ref.append((float(f[3]), float(f[3]) + float(f[4]), f[7] if name.startswith("ami_") else f"{name}:{f[7]}"))
        pool.append((name, audio.mean(axis=1), ref))
    return pool


def build_meeting(pool, seconds: float, seed: int, path: Path) -> tuple[float, list[tuple[float, float, str]], int]:
    """Write a meeting of at least ``seconds`` to ``path`` (16 kHz mono WAV, streamed); returns
    (duration, reference turns, files joined)."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    ref: list[tuple[float, float, str]] = []
    t, pieces = 0.0, 0
    with sf.SoundFile(path, "w", samplerate=16000, channels=1, subtype="PCM_16") as out:
        while t < seconds:
            for k in rng.permutation(len(pool)):
                name, audio, turns = pool[k]
                gap = np.zeros(int(rng.uniform(0.3, 1.5) * 16000), dtype=np.float32)
                out.write(gap)
                t += len(gap) / 16000
                gain = 10 ** (rng.uniform(-3, 3) / 20)
                out.write(np.clip(audio * gain, -1, 1))
                ref.extend((t + a, t + b, who) for a, b, who in turns)
                t += len(audio) / 16000
                pieces += 1
                if t >= seconds:
                    break
    return t, ref, pieces


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_import(wav: Path, data_dir: Path, log: Path) -> dict:
    """A real `parley import` subprocess: wall, CPU and peak RSS (kernel rusage), RSS timeline."""
    import psutil

    env = dict(os.environ, PARLEY_DATA_DIR=str(data_dir), PYANNOTE_METRICS_ENABLED="false", HF_HUB_OFFLINE="1")
    with open(log, "w") as logf:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "meetings.cli", "import", str(wav), "--quiet"], env=env, cwd=REPO, stdout=logf, stderr=subprocess.STDOUT)
        timeline: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample():
            p = psutil.Process(proc.pid)
            while not stop.wait(2.0):
                try:
                    rss = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
                except psutil.Error:
                    break
                timeline.append((round(time.perf_counter() - t0, 1), round(rss / 2**20, 1)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"parley import failed ({proc.returncode}): {log.read_text()[-2000:]}")
    return {"wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 0), "rss_timeline_mb": timeline}


def der(ref: list[tuple[float, float, str]], hyp: list[tuple[float, float, str]], duration: float) -> dict:
    """DER (collar 0.25 s, overlap scored) of (start, end, speaker) turns against the reference."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    reference, hypothesis = Annotation(), Annotation()
    for k, (a, b, who) in enumerate(ref):
        reference[Segment(a, b), k] = who
    for k, (a, b, who) in enumerate(hyp):
        hypothesis[Segment(a, b), k] = who
    parts = DiarizationErrorRate(collar=0.25)(reference, hypothesis, uem=Timeline([Segment(0, duration)]), detailed=True)
    total = parts["total"] or 1.0
    return {"der": round(parts["diarization error rate"], 4), "missed": round(parts["missed detection"] / total, 4),
            "false_alarm": round(parts["false alarm"] / total, 4), "confusion": round(parts["confusion"] / total, 4),
            "speakers_ref": len(reference.labels()), "speakers_hyp": len(hypothesis.labels())}


def der_of_import(data_dir: Path, ref: list[tuple[float, float, str]], duration: float) -> dict:
    """DER of the imported meeting's RTTM export (``parley export 1 --format rttm``)."""
    env = dict(os.environ, PARLEY_DATA_DIR=str(data_dir))
    proc = subprocess.run([sys.executable, "-m", "meetings.cli", "export", "1", "--format", "rttm"], env=env, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-300:]}
    hyp = [(float(f[3]), float(f[3]) + float(f[4]), f[7]) for f in (line.split() for line in proc.stdout.splitlines()) if f and f[0] == "SPEAKER"]
    return der(ref, hyp, duration)


def meeting_counts(data_dir: Path) -> dict:
    import sqlite3

    con = sqlite3.connect(data_dir / "parley.db")
    try:
        return {"turns": con.execute("SELECT COUNT(*) FROM turns").fetchone()[0],
                "words": con.execute("SELECT COUNT(*) FROM words").fetchone()[0],
                "speakers": con.execute("SELECT COUNT(*) FROM speakers").fetchone()[0]}
    finally:
        con.close()


def render(runs: list[dict], meta: dict, notes: list[str] = ()) -> str:
    L = ["## Long meetings: time and memory against length\n",
         f"`python -m bench.long` ({meta['date']}): meetings built from the speech in bench/data ({meta['pool_minutes']:.1f} min of "
         "13 AMI excerpts, two pyannote examples and a call, joined in a seeded random order per round with 0.3-1.5 s pauses "
         "and ±3 dB gain, repeated to length), each imported by a real `parley import` subprocess with a fresh data folder "
         f"(model loading included). {meta['cpus']} CPUs; clustering caps: {meta['caps']}. Peak RSS from the kernel (`wait4`).\n",
         "| meeting | wall | × real time | CPU time (× audio) | peak RSS | turns | words | DER (collar 0.25) | speakers ref / found | load before → after | commit |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        d = r.get("der", {})
        L.append(f"| {r['minutes']:.1f} min | {r['wall_s']:.0f} s | **{r['rtf']:.3f}×** | {r['cpu_s']:.0f} s ({r['cpu_s'] / r['audio_s']:.3f}×) | **{r['peak_rss_mb']:.0f} MB** | "
                 f"{r['turns']} | {r['words']} | "
                 f"{d.get('der', float('nan')) * 100:.1f} % | {d.get('speakers_ref', '?')} / {d.get('speakers_hyp', '?')} | "
                 f"{r['load_before'][0]} → {r['load_after'][0]} | {r.get('commit', 'before 459d2e8')} |")
    if len(runs) >= 2:
        a, b = runs[0], runs[-1]
        growth = (b["peak_rss_mb"] - a["peak_rss_mb"]) / max(b["minutes"] - a["minutes"], 1e-9)
        L.append(f"\nFrom {a['minutes']:.0f} to {b['minutes']:.0f} min the peak grows by {growth:.1f} MB per minute of audio "
                 f"(the 16 kHz float32 audio itself is 3.7 MB per minute); the time by {(b['wall_s'] - a['wall_s']) / max(b['minutes'] - a['minutes'], 1e-9):.1f} s per minute.")
    contended = [r for r in runs if max(r["load_before"][0], r["load_after"][0]) > 0.5 * meta["cpus"]]
    if contended:
        L.append(f"\nContended: other processes shared the {meta['cpus']} CPUs during "
                 + ", ".join(f"the {r['minutes']:.0f}-min run (1-min load {r['load_before'][0]} → {r['load_after'][0]})" for r in contended)
                 + "; wall time and real-time factor are then higher than on an idle machine (CPU time is not).")
    L += [f"\n{n}" for n in notes]
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.long")
    ap.add_argument("--minutes", type=float, nargs="+", default=[10, 30, 120])
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-der", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the runs of other lengths already in long.json")
    ap.add_argument("--render-only", action="store_true", help="rewrite long.md from long.json")
    args = ap.parse_args(argv)
    if args.render_only:
        report = json.loads((args.out / "long.json").read_text())
        (args.out / "long.md").write_text(render(report["runs"], report["meta"], report.get("notes", [])))
        return 0
    from diarization import bounded

    names = (DATA / "all.lst").read_text().split()
    pool = load_pool(names)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(), "python": platform.python_version(),
            "pool_minutes": sum(len(a) for _, a, _ in pool) / 16000 / 60, "seed": args.seed,
            "caps": f"{bounded.MAX_CLUSTER_EMBEDDINGS} chunk embeddings, {bounded.MAX_CLUSTER_WINDOWS} voice windows"}
    runs = []
    args.out.mkdir(parents=True, exist_ok=True)
    if args.keep and (args.out / "long.json").exists():
        runs = [r for r in json.loads((args.out / "long.json").read_text())["runs"] if round(r["minutes"] / 10) not in {round(m / 10) for m in args.minutes}]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    for minutes in args.minutes:
        with tempfile.TemporaryDirectory(prefix="parley-long-") as tmp:
            tmp = Path(tmp)
            wav = tmp / f"meeting-{minutes:g}min.wav"
            duration, ref, pieces = build_meeting(pool, minutes * 60, args.seed + int(minutes), wav)
            print(f"long: {minutes:g} min meeting ({pieces} files joined), importing ...", file=sys.stderr, flush=True)
            before = load()
            r = run_import(wav, tmp / "data", tmp / "import.log")
            r.update(commit=commit, date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), minutes=round(duration / 60, 2), audio_s=round(duration, 1), rtf=round(r["wall_s"] / duration, 4),
                     cpu_rtf=round(r["cpu_s"] / duration, 4), files_joined=pieces, load_before=before, load_after=load(),
                     **meeting_counts(tmp / "data"))
            r["log_tail"] = (tmp / "import.log").read_text()[-1500:]
            if not args.no_der:
                try:
                    r["der"] = der_of_import(tmp / "data", ref, duration)
                except Exception as exc:  # the timing still counts
                    r["der"] = {"error": repr(exc)[:300]}
            runs.append(r)
            runs.sort(key=lambda x: x["minutes"])
            print(f"long: {minutes:g} min: {r['wall_s']} s ({r['rtf']}x), peak {r['peak_rss_mb']} MB, load {before} -> {r['load_after']}", file=sys.stderr, flush=True)
            (args.out / "long.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))
            (args.out / "long.md").write_text(render(runs, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
