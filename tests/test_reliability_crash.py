"""kill -9, for real: during every stage of an import and during correction writes.

After each kill the database must pass ``integrity_check`` and ``foreign_key_check``, no meeting
may read as done without its turns, the killed import must read as interrupted (its process is
gone) and importing again must finish it with the same transcript; every correction whose call
returned before the kill must be there.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import soundfile as sf

from meetings.store import Store

from .conftest import REPO, SAMPLE
from .figures import record

STAGE_LINES = ("decode", "diarize", "transcribe", "align", "save")


def env_for(data: Path) -> dict[str, str]:
    return dict(os.environ, PARLEY_DATA_DIR=str(data), HF_HUB_OFFLINE="1")


def parley(*args: str, data: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meetings.cli", *args], cwd=REPO, env=env_for(data), capture_output=True,
                          text=True, timeout=timeout)


def check(db: Path) -> dict[str, int]:
    """The invariants after a crash; returns meeting counts by status."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        hollow = conn.execute("SELECT COUNT(*) FROM meetings m WHERE status='done' AND NOT EXISTS"
                              " (SELECT 1 FROM turns t WHERE t.meeting_id=m.id)").fetchone()[0]
        assert hollow == 0, "a meeting reads as done without its turns"
        return dict(conn.execute("SELECT status, COUNT(*) FROM meetings GROUP BY status").fetchall())
    finally:
        conn.close()


def texts(db: Path) -> list[str]:
    with Store(db) as s:
        [m] = [m for m in s.list_meetings() if m.status == "done"]
        return [f"{t.speaker_label}|{t.text}" for t in s.turns(m.id)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "clip.wav"
    data, sr = sf.read(SAMPLE / "meeting.wav", dtype="float32")
    sf.write(path, data[2 * sr : 14 * sr], sr)
    return path


def launch(clip: Path, data: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "meetings.cli", "import", str(clip)], cwd=REPO, env=env_for(data),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stage_times(proc: subprocess.Popen) -> tuple[dict[str, float], float]:
    """Each stage's length (from its "done in" line) and the time from launch to the first line."""
    t0 = time.monotonic()
    first = None
    times = {}
    for line in proc.stderr:
        m = re.match(r"(\w+)\s+done in ([\d.]+) s", line)
        if m:
            first = first or time.monotonic() - t0
            times[m.group(1)] = float(m.group(2))
    proc.wait()
    return times, first or 0.0


@pytest.mark.models
def test_kill_9_during_each_import_stage(tmp_path, clip):
    data = tmp_path / "data"
    db = data / "parley.db"
    ref = launch(clip, data)
    times, startup = stage_times(ref)
    assert ref.returncode == 0 and sorted(times) == sorted(STAGE_LINES), times
    order = list(times)  # the order the stages end in (diarization and ASR may overlap)
    reference = texts(db)
    assert parley("delete", "1", "--yes", data=data).returncode == 0

    # (stage to kill in, fraction of that stage's reference length): start = model loading
    plan = [(stage, frac) for stage in ("start", *order) for frac in (0.3, 0.8)] + [("diarize", 0.5), ("transcribe", 0.5)]
    seen: dict[str, int] = {}
    for stage, frac in plan:
        proc = launch(clip, data)
        got = []
        if stage != "start":  # wait for the line that ends the stage before it
            before = "start" if stage == order[0] else order[order.index(stage) - 1]
            for line in proc.stderr:
                got.append(line)
                if before == "start" or line.startswith(f"{before:<10} done in"):
                    break
        length = startup if stage == "start" else times[stage]
        try:
            proc.wait(timeout=max(0.001, frac * length))
            landed = "finished"
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            ended = [m.group(1) for l in got + proc.stderr.readlines() if (m := re.match(r"(\w+)\s+done in", l))]
            landed = f"after {'+'.join(ended)}" if ended else "before any stage ended"
        seen[landed] = seen.get(landed, 0) + 1
        counts = check(db)
        assert counts.get("processing", 0) <= 1
        listing = parley("list", data=data, timeout=120)  # the owner is gone: a listing calls it interrupted
        assert listing.returncode == 0 and "processing" not in listing.stdout, listing.stdout
        if counts.get("done"):
            assert texts(db) == reference
            with Store(db) as s:
                s.delete_meeting(s.list_meetings()[0].id)
    again = parley("import", str(clip), data=data)  # one action resumes after the last kill
    assert again.returncode == 0, again.stderr[-2000:]
    assert texts(db) == reference
    check(db)
    kills = sum(v for k, v in seen.items() if k != "finished")
    print(f"kill -9 during import: {len(plan)} trials, {kills} killed mid-stage: {seen}; reference stage seconds {times}, start {startup:.1f} s")
    record("kill_import", trials=len(plan), killed=kills, landed=seen, corrupt_databases=0,  # check() passed after every trial
           resumed_same_transcript=True)
    assert len([s for s in seen if s != "finished"]) >= 4  # the kills landed in several stages


WRITER = textwrap.dedent(
    """
    import sys
    from meetings.store import Store
    s = Store(sys.argv[1])
    mid = s.list_meetings()[0].id
    sp = s.speakers(mid)[0].id
    turns = [t.id for t in s.turns(mid)]
    n = int(sys.argv[2])
    while True:
        s.rename_speaker(sp, f"name {n}")
        s.mark_reviewed(turns[n % len(turns)], n % 2 == 0)
        print(n, flush=True)  # both corrections of step n are committed
        n += 1
    """
)


@pytest.mark.models
def test_kill_9_during_correction_writes_loses_no_confirmed_correction(tmp_path, clip):
    data = tmp_path / "data"
    db = data / "parley.db"
    assert parley("import", str(clip), "--quiet", data=data).returncode == 0
    rng = random.Random(1616)
    trials, n, confirmed_total = 10, 0, 0
    for _ in range(trials):
        before = check(db)
        with Store(db) as s:
            base = len(s.corrections(1))
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(n)], cwd=REPO, stdout=subprocess.PIPE, text=True)
        want = rng.randint(3, 40)
        last = None
        for line in proc.stdout:
            last = int(line)
            if last - n + 1 >= want:
                break
        os.kill(proc.pid, signal.SIGKILL)  # mid-write: the next rename/review is usually in flight
        proc.wait()
        for line in proc.stdout.read().split():  # steps it confirmed that this loop had not read yet
            last = int(line)
        assert check(db) == before
        confirmed = last - n + 1
        with Store(db) as s:
            made = len(s.corrections(1)) - base
            name = s.speakers(1)[0].name
        assert made >= 2 * confirmed  # every correction that returned is there
        assert made <= 2 * confirmed + 2  # and at most the step in flight besides
        assert name in (f"name {last}", f"name {last + 1}")
        confirmed_total += 2 * confirmed
        n = last + 2
    record("kill_corrections", trials=trials, confirmed_corrections=confirmed_total, lost=0, corrupt_databases=0)
    print(f"kill -9 during correction writes: {trials} trials, 0 confirmed corrections lost")


@pytest.mark.models
def test_kill_9_during_summaries_leaves_all_of_a_summary_or_none(tmp_path, clip):
    data = tmp_path / "data"
    db = data / "parley.db"
    assert parley("import", str(clip), "--quiet", data=data).returncode == 0
    ref = parley("summarize", "1", "--local", data=data)
    assert ref.returncode == 0, ref.stderr[-2000:]
    conn = sqlite3.connect(db)
    per_run = conn.execute("SELECT COUNT(*) FROM summaries").fetchone()[0]
    conn.close()
    assert per_run >= 2  # the meeting's summary and at least one speaker's
    t0 = time.monotonic()
    assert parley("summarize", "1", "--local", data=data).returncode == 0
    whole = time.monotonic() - t0
    trials, rng, killed = 8, random.Random(7), 0
    for i in range(trials):
        proc = subprocess.Popen([sys.executable, "-m", "meetings.cli", "summarize", "1", "--local"], cwd=REPO, env=env_for(data),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=whole * (0.05 + 0.8 * (i + rng.random()) / trials))  # inside the run, however busy the machine
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            killed += 1
        check(db)
        conn = sqlite3.connect(db)
        n = conn.execute("SELECT COUNT(*) FROM summaries").fetchone()[0]
        conn.close()
        assert n % per_run == 0, f"{n} summary rows: a run left only part of its summary"
    print(f"kill -9 during summaries: {trials} trials ({killed} killed before the end), every run all or nothing")
    record("kill_summaries", trials=trials, killed=killed, partial_summaries=0, corrupt_databases=0)
    assert killed >= trials // 2
