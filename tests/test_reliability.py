"""Reliability on real files, real processes and a really full disk: damaged media keep their
audio, a full disk is one clear line and loses no finished transcript, and a running import is
neither marked interrupted nor deleted by another Parley process.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from capture.decode import SAMPLE_RATE, decode_to_wav, iter_blocks
from meetings.errors import DecodeError, SaveFailed
from meetings.events import StageDone
from meetings.store import Store

from .conftest import REPO, SAMPLE, ffmpeg


def cli(*args: str, data_dir: Path, timeout: int = 900, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PARLEY_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "meetings.cli", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout, **kw)


def start_cli(*args: str, data_dir: Path) -> subprocess.Popen:
    env = dict(os.environ, PARLEY_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1")
    return subprocess.Popen([sys.executable, "-m", "meetings.cli", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def one_line(stderr: str) -> str:
    lines = [l for l in stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("parley: error: ") and "Traceback" not in stderr, stderr[-3000:]
    return lines[0]


def wait_for(condition, what: str, timeout: float = 600.0, proc: subprocess.Popen | None = None):
    """Poll ``condition`` until it returns something truthy (no fixed sleeps: a deadline only)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = condition()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the process ended (exit {proc.returncode}) before {what}: {proc.stderr.read()[-2000:]}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def statuses(db: Path) -> list[tuple[int, str]]:
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT id, status FROM meetings ORDER BY id").fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return []


def consistent(db: Path) -> None:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """12 s of the bundled AMI sample (its own content, so its own meeting)."""
    path = tmp_path_factory.mktemp("clip") / "clip.wav"
    data, sr = sf.read(SAMPLE / "meeting.wav", dtype="float32")
    sf.write(path, data[: 12 * sr], sr)
    return path


# -- damaged media ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def m4a(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("m4a") / "meeting.m4a"
    ffmpeg("-i", str(SAMPLE / "meeting.wav"), "-c:a", "aac", str(path))
    return path


def test_a_damaged_packet_costs_only_its_own_milliseconds(tmp_path, m4a):
    raw = bytearray(m4a.read_bytes())
    tried = 0
    for frac in (0.2, 0.4, 0.6, 0.8):
        damaged = bytearray(raw)
        p = int(len(raw) * frac)
        damaged[p : p + 64] = bytes(range(64))
        src = tmp_path / f"damaged-{frac}.m4a"
        src.write_bytes(bytes(damaged))
        info = decode_to_wav(src, tmp_path / "out.wav")
        assert info.duration > 29.9, (frac, info.duration, info.warnings)  # was 6.3 s when decoding stopped at the error
        if info.warnings:
            assert "damaged" in info.warnings[0] and "replaced by silence" in info.warnings[0]
            tried += 1
    assert tried >= 1  # at least one of the spots was a packet FFmpeg refused


def test_nan_and_inf_become_silence_and_the_speech_stays(tmp_path):
    speech, sr = sf.read(SAMPLE / "meeting.wav", dtype="float32")
    x = speech[: 5 * sr].copy()
    x[16000:16800] = np.nan
    x[40000:40005] = np.inf
    x[50000] = -np.inf
    src = tmp_path / "nan.wav"
    sf.write(src, x, sr, subtype="FLOAT")
    info = decode_to_wav(src, tmp_path / "out.wav")
    out, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    assert any("806 invalid samples" in w for w in info.warnings) and not any("digital silence" in w for w in info.warnings)
    assert not np.any(out[16000:16800]) and np.isfinite(out).all()
    keep = np.ones(x.size, bool)
    keep[15990:16810] = keep[39990:40015] = keep[49990:50010] = False
    assert np.max(np.abs(out[keep] - x[keep])) < 1e-3  # everything else is the recording itself


def test_nan_in_a_file_that_needs_resampling_stays_finite(tmp_path):
    x = np.sin(np.arange(44100 * 2) / 7).astype(np.float32) * 0.3
    x[20000:20100] = np.nan
    src = tmp_path / "nan44.wav"
    sf.write(src, np.stack([x, x], 1), 44100, subtype="FLOAT")
    blocks = list(iter_blocks(src, warnings=(w := [])))
    data = np.concatenate(blocks, axis=1)
    assert np.isfinite(data).all() and abs(data.shape[1] / SAMPLE_RATE - 2.0) < 0.01
    assert any("NaN" in m for m in w)


def test_a_truncated_wav_imports_with_a_warning(tmp_path):
    raw = (SAMPLE / "meeting.wav").read_bytes()
    src = tmp_path / "cut.wav"
    src.write_bytes(raw[: len(raw) // 3])
    info = decode_to_wav(src, tmp_path / "out.wav")
    assert abs(info.duration - 10.0) < 0.05
    assert any("truncated" in w and "30.0 s" in w for w in info.warnings)


def test_a_zero_bit_wav_header_is_one_clear_error(tmp_path):
    raw = bytearray((SAMPLE / "meeting.wav").read_bytes())
    i = raw.find(b"fmt ")
    raw[i + 22 : i + 24] = b"\x00\x00"  # bits per sample
    src = tmp_path / "zero-bits.wav"
    src.write_bytes(bytes(raw))
    with pytest.raises(DecodeError, match="unsupported or damaged audio header"):
        decode_to_wav(src, tmp_path / "out.wav")


# -- a full disk ----------------------------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """A real, small filesystem (tmpfs) to fill up."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)]).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)])


def fill(folder: Path) -> Path:
    """Write until the disk says ENOSPC; returns the filler file (delete it to free the space)."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        except OSError:
            pass
    return filler


@pytest.mark.models
def test_a_full_disk_during_decode_is_one_line_and_leaves_nothing_half_written(tiny_disk, tmp_path):
    long = tmp_path / "long.flac"  # 60 s: 1.9 MB decoded, on a 1 MB disk
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=16000:duration=60", "-c:a", "flac", str(long))
    proc = cli("import", str(long), "--quiet", data_dir=tiny_disk / "data")
    assert proc.returncode == 2
    assert "the disk is full" in one_line(proc.stderr)
    assert list((tiny_disk / "data" / "audio").iterdir()) == []  # no .part left behind
    consistent(tiny_disk / "data" / "parley.db")
    assert statuses(tiny_disk / "data" / "parley.db") == []


@pytest.mark.models
def test_a_full_disk_at_save_keeps_the_finished_transcript(tiny_disk, clip, engine):
    data = tiny_disk / "data"
    store = Store(data / "parley.db")
    # the decoded clip (384 kB) fits; the disk is filled just before the result is saved
    filler: list[Path] = []

    def emit(event):
        if isinstance(event, StageDone) and event.stage == "align":
            filler.append(fill(tiny_disk))

    with pytest.raises(SaveFailed) as failed:
        engine.import_file(clip, store, emit=emit)
    exc = failed.value
    print(exc)
    assert "could not be saved" in str(exc) and "full" in str(exc) and "\n" not in str(exc)
    lines = exc.transcript.splitlines()
    assert len(lines) >= 2 and all(l.startswith("[00:00:") for l in lines)
    consistent(data / "parley.db")
    [(mid, status)] = statuses(data / "parley.db")
    assert status in ("processing", "failed")  # never 'done' without its turns
    store.close()

    filler[0].unlink()  # space again: the meeting reads as interrupted, and importing again finishes it
    store = Store(data / "parley.db")
    store.mark_interrupted()
    assert store.get_meeting(mid).status in ("interrupted", "failed")
    result = engine.import_file(clip, store)
    assert store.get_meeting(result.meeting_id).status == "done"
    assert [f"{t.text}" for t in store.turns(result.meeting_id)][:1] == [lines[0].split(": ", 1)[1]]
    consistent(data / "parley.db")


# -- concurrency -----------------------------------------------------------------------------------


@pytest.mark.models
def test_a_running_import_is_left_alone_by_other_parley_processes(tmp_path, clip):
    data = tmp_path / "data"
    db = data / "parley.db"
    first = start_cli("import", str(clip), "--quiet", data_dir=data)
    [(mid, _)] = wait_for(lambda: [r for r in statuses(db) if r[1] == "processing"], "the import's meeting row", proc=first)

    # another process starting up (here: a listing) does not call it interrupted
    listing = cli("list", data_dir=data, timeout=120)
    assert listing.returncode == 0, listing.stderr
    [row] = [l for l in listing.stdout.splitlines() if l.strip().startswith(str(mid))]
    assert "processing" in row and "interrupted" not in row

    # a second import of the same recording is refused and deletes nothing
    second = cli("import", str(clip), "--quiet", data_dir=data, timeout=600)
    assert second.returncode == 2 and "being imported right now" in one_line(second.stderr)
    assert statuses(db)[0] == (mid, "processing")

    # reads (and other writes) while the import writes: never "database is locked"
    reader = Store(db)
    reads = writes = 0
    while first.poll() is None:
        reader.list_meetings()
        reader.search("data")
        reads += 1
        if reads % 20 == 0:
            with reader._tx():
                reader.conn.execute("UPDATE meetings SET title=title WHERE id=?", (mid,))
            writes += 1
    out, err = first.communicate()
    assert first.returncode == 0, err[-3000:]
    assert reads > 0
    done = reader.get_meeting(mid)
    assert done.status == "done" and done.num_turns >= 2
    assert [m.id for m in reader.list_meetings()] == [mid]
    reader.close()
    consistent(db)


def test_the_import_lock_goes_with_its_process(tmp_path):
    """kill -9 of the lock holder frees it at once: its meeting is then (and only then) interrupted."""
    db = tmp_path / "data" / "parley.db"
    script = f"""
import sys
from meetings.store import Store
from meetings.types import AudioInfo, PipelineOptions
s = Store({str(db)!r})
info = AudioInfo(source_path="/x.wav", sha256="feed", duration=1.0, source_sample_rate=16000, channels=1, codec="pcm", container="wav")
with s.importing("feed"):
    s.begin_meeting("held", info, "/x.wav", PipelineOptions(), "tiny.en", "embedded")
    print("holding", flush=True)
    sys.stdin.read()
"""
    holder = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    store = Store(db)
    assert store.mark_interrupted() == 0 and store.list_meetings()[0].status == "processing"
    with pytest.raises(Exception, match="being imported right now"):
        with store.importing("feed"):
            pass
    with pytest.raises(Exception, match="being imported right now"):
        store.delete_meeting(store.list_meetings()[0].id)
    holder.kill()  # SIGKILL
    holder.wait()
    assert store.mark_interrupted() == 1 and store.list_meetings()[0].status == "interrupted"
    with store.importing("feed"):  # free again
        pass
    consistent(db)
