"""Batch import: inputs gathered from folders and checked before models load, one engine for
many files, worker processes with --jobs, and a summary of what failed and why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from meetings.batch import FileResult, check_inputs, collect_inputs, import_files, plan_jobs, summary_lines
from meetings.types import PipelineOptions

from .conftest import REPO, eval_item

ITEMS = ("ami_EN2005a_000-030s", "ami_EN2004a_000-030s")  # speech all through their first 12 s


def clip(src: Path, dst: Path, seconds: float = 12.0) -> Path:
    audio, sr = sf.read(src, dtype="float32")
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(dst, audio[: int(seconds * sr)], sr)
    return dst


def test_folders_are_searched_for_recordings(tmp_path):
    (tmp_path / "calls" / "march").mkdir(parents=True)
    for name in ("calls/b.m4a", "calls/a.WAV", "calls/march/c.flac", "calls/notes.txt", "calls/.hidden.wav"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    files, failed = collect_inputs([tmp_path / "calls", tmp_path / "calls" / "a.WAV", tmp_path / "nope.mp3", tmp_path / "empty"])
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["calls/a.WAV", "calls/b.m4a", "calls/march/c.flac"]
    assert [r.error for r in failed] == [f"{tmp_path / 'nope.mp3'}: no such file", f"{tmp_path / 'empty'}: no audio or video files in this folder"]


def test_inputs_are_probed_and_repeated_content_is_skipped(tmp_path):
    good = clip(eval_item(ITEMS[0]), tmp_path / "one.wav", 2.0)
    same = tmp_path / "copy.wav"
    same.write_bytes(good.read_bytes())
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    text = tmp_path / "text.ogg"
    text.write_text("not audio " * 100)
    checked = check_inputs([good, empty, same, text])
    assert checked.files == (good,)
    assert [(r.path.name, r.error.split(": ", 1)[1][:24]) for r in checked.failed] == [
        ("empty.mp3", "the file is empty (0 byt"), ("text.ogg", "cannot open (End of file")
    ]
    assert [(r.path.name, r.warnings) for r in checked.skipped] == [("copy.wav", ("same content as one.wav",))]


def test_jobs_are_capped_by_files_and_memory():
    gb = 2**30
    assert plan_jobs(4, 2, available=64 * gb) == (2, "")
    assert plan_jobs(1, 10, available=1 * gb) == (1, "")
    jobs, note = plan_jobs(4, 10, available=6 * gb, per_worker=int(2.5 * gb))
    assert jobs == 2 and "running 2 workers, not 4: 6.0 GB of memory free" in note


def test_failure_summary_names_each_file_and_reason(tmp_path):
    results = [FileResult(tmp_path / "a.wav", 1), FileResult(tmp_path / "b.mp3", error="b.mp3: the file has no audio track")]
    assert summary_lines(results) == ["1 of 2 files failed:", f"  {tmp_path / 'b.mp3'}: the file has no audio track"]
    assert summary_lines(results[:1]) == []


@pytest.mark.models
def test_many_files_through_one_engine(tmp_path, engine, store):
    files = [clip(eval_item(n), tmp_path / f"{n}.wav") for n in ITEMS]
    seen = []
    results = import_files(files, engine.options, store.path, engine=engine, on_result=seen.append)
    assert [r.path for r in results] == files and seen == results
    assert all(r.ok and not r.duplicate and r.meeting_id for r in results), results
    meetings = {m.id: m for m in store.list_meetings()}
    assert {meetings[r.meeting_id].title for r in results} == {f.stem for f in files}
    assert all(meetings[r.meeting_id].status == "done" and meetings[r.meeting_id].num_turns > 0 for r in results)
    again = import_files(files[:1], engine.options, store.path, engine=engine)
    assert again[0].duplicate and again[0].meeting_id == results[0].meeting_id


@pytest.mark.models
def test_cli_batch_with_two_worker_processes(tmp_path):
    calls = tmp_path / "calls"
    for n in ITEMS:
        clip(eval_item(n), calls / f"{n}.wav", 10.0)
    (calls / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 64)
    env = dict(os.environ, PARLEY_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "meetings.cli", "import", str(calls), "--jobs", "2"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 1, proc.stderr  # some failed, some imported
    lines = proc.stdout.splitlines()
    assert sorted(l.split()[2] for l in lines) == sorted(str(calls / f"{n}.wav") for n in ITEMS), proc.stdout
    assert all(l.startswith("meeting ") for l in lines)
    assert "importing 2 files with 2 workers" in proc.stderr
    assert f"1 of 3 files failed:\n  {calls / 'broken.wav'}: " in proc.stderr
    assert "imported 2 of 3 files" in proc.stderr

    from meetings.store import Store

    meetings = Store(tmp_path / "data" / "parley.db").list_meetings()
    assert sorted(m.title for m in meetings) == sorted(ITEMS)
    assert all(m.status == "done" and m.num_turns > 0 for m in meetings)
