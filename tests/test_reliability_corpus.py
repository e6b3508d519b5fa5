"""A hostile-input corpus through the real ``parley import``: every case ends with exit status 2
and one clear line, or with a correct result; never a traceback, never a hang; the database is
consistent afterwards.

Files that must be refused each get their own ``parley import FILE`` (they are refused before any
model loads). Files that hold audio, however odd, go through one ``parley import DIR`` (models
loaded once) and must come out as a finished meeting of the right length. Under root (with a
checkout other users can read) every command runs as ``nobody``, so file permissions mean what
they mean for a user.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from .conftest import AS_NOBODY, REPO, SAMPLE, ffmpeg, nobody_can_run_parley
from .figures import record

NOBODY = 65534


@dataclass
class Case:
    name: str
    path: Path
    expect: str  # "reject" | "audio" (a meeting of about ``seconds``) | "either"
    seconds: float = 0.0
    note: str = ""


def wav_bytes(data: bytes, *, channels=1, rate=16000, bits=16, fmt=1, data_size=None, riff_size=None) -> bytes:
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", (len(body) if riff_size is None else riff_size) & 0xFFFFFFFF) + body


def speechlike(seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """Amplitude-modulated harmonics: something with energy and structure (not one tone)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    x = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / sr) / k for k in range(1, 6))
    env = (np.sin(2 * np.pi * 3.1 * t) > -0.2).astype(float)
    return (0.2 * x * env + 0.005 * rng.standard_normal(t.size)).astype(np.float32)


def pcm16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def ffmpeg_seconds(path: Path) -> float:
    """How much audio the ffmpeg command line recovers from a damaged file (the reference)."""
    out = subprocess.run(["ffmpeg", "-v", "quiet", "-i", str(path), "-f", "f32le", "-ac", "1", "-ar", "16000", "-"],
                         capture_output=True, timeout=120).stdout
    return len(out) / 4 / 16000


def build_corpus(root: Path, ok_dir: Path) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, content: bytes | None, expect: str, seconds: float = 0.0, note: str = "", folder: Path | None = None) -> Path:
        path = (folder or root) / name
        if content is not None:
            path.write_bytes(content)
        cases.append(Case(name, path, expect, seconds, note))
        return path

    ok = lambda name, seconds, note="": cases.append(Case(name, ok_dir / name, "audio", seconds, note))  # noqa: E731
    src = root / "_src"
    src.mkdir()
    base = speechlike(4.0)
    sf.write(src / "base.wav", base, 16000)
    for ext, codec in (("m4a", "aac"), ("mp3", "libmp3lame"), ("ogg", "libvorbis"), ("opus", "libopus"), ("flac", "flac")):
        ffmpeg("-i", str(src / "base.wav"), "-c:a", codec, str(src / f"base.{ext}"))
    sf.write(src / "long.wav", speechlike(12.0, seed=1), 16000)
    ffmpeg("-i", str(src / "long.wav"), "-c:a", "aac", str(src / "long.m4a"))
    m4a = (src / "long.m4a").read_bytes()

    # -- refused: not audio, or nothing to decode -------------------------------------------------
    add("empty.wav", b"", "reject")
    add("empty.m4a", b"", "reject")
    add("one-byte.mp3", b"\x00", "reject")
    add("zeros-4k.wav", bytes(4096), "reject")
    add("text-as.wav", b"hello, this is not audio at all\n" * 64, "reject")
    add("random-10k.mp3", np.random.default_rng(1).bytes(10_000), "reject")
    add("random-1m.m4a", np.random.default_rng(2).bytes(1 << 20), "reject")
    add("json-as.ogg", json.dumps({"turns": [1, 2, 3]}).encode() * 40, "reject")
    add("python-as.flac", Path(__file__).read_bytes(), "reject")
    zbuf = root / "_z.zip"
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("a.txt", "x" * 5000)
    add("zip-as.mp3", zbuf.read_bytes(), "reject")
    add("header-only.wav", wav_bytes(b""), "reject")
    add("zero-channels.wav", wav_bytes(pcm16(base), channels=0), "reject")
    add("zero-hz.wav", wav_bytes(pcm16(base), rate=0), "reject")
    add("zero-bits.wav", wav_bytes(pcm16(base), bits=0), "reject")
    add("unknown-codec.wav", wav_bytes(pcm16(base), fmt=0x7777), "either", note="an encoding FFmpeg does not know")
    add("garbage-riff.wav", b"RIFF\xff\xff\xff\xffWAVEfmt \xff\xff\xff\xff" + np.random.default_rng(3).bytes(3000), "reject")
    add("too-short.wav", wav_bytes(pcm16(base[:80])), "reject", note="5 ms of audio")
    add("m4a-cut-10pc.m4a", m4a[: len(m4a) // 10], "either", note="moov atom may be lost")
    add("m4a-cut-50pc.m4a", m4a[: len(m4a) // 2], "either")
    add("flac-header-only.flac", (src / "base.flac").read_bytes()[:100], "reject")
    add("ogg-200-bytes.ogg", (src / "base.ogg").read_bytes()[:200], "reject")
    png = root / "_img.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=32x32:d=1", "-frames:v", "1", str(png))
    add("image-as.wav", png.read_bytes(), "reject")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=2", "-c:v", "mpeg4", str(root / "video-no-audio.mp4"))
    add("video-no-audio.mp4", None, "reject")
    (root / "folder.wav").mkdir()
    add("folder.wav", None, "reject")
    os.mkfifo(root / "fifo.wav")
    add("fifo.wav", None, "reject", note="a named pipe: must not hang")
    (root / "dangling.wav").symlink_to(root / "does-not-exist.wav")
    add("dangling.wav", None, "reject")
    add("missing.wav", None, "reject")
    locked = add("no-permission.wav", (src / "base.wav").read_bytes(), "reject" if nobody_can_run_parley() else "either")
    os.chmod(locked, 0o000)
    closed = root / "closed-dir"
    closed.mkdir()
    shutil.copy(src / "base.wav", closed / "inside.wav")
    cases.append(Case("closed-dir/inside.wav", closed / "inside.wav", "reject" if nobody_can_run_parley() else "either"))
    os.chmod(closed, 0o000)
    cases.append(Case("/dev/null", Path("/dev/null"), "reject"))
    db = root / "a-database.m4a"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    add("a-database.m4a", None, "reject")

    # -- audio, however odd: a finished meeting of the right length ------------------------------
    sf.write(ok_dir / "rate-8k.wav", speechlike(3.0, 8000, seed=4), 8000)
    ok("rate-8k.wav", 3.0)
    sf.write(ok_dir / "rate-384k.wav", speechlike(2.0, 384000, seed=5), 384000)
    ok("rate-384k.wav", 2.0)
    add("rate-1hz.wav", wav_bytes(pcm16(np.array([0.1, -0.1, 0.2, -0.2, 0.1], np.float32)), rate=1), "either", note="5 samples at 1 Hz")
    sf.write(ok_dir / "eight-channels.wav", np.stack([speechlike(3.0, seed=10 + c) for c in range(8)], axis=1), 16000)
    ok("eight-channels.wav", 3.0)
    x = speechlike(3.0, seed=6)
    x[1000:1400] = np.nan
    x[20000:20010] = np.inf
    x[30000] = -np.inf
    sf.write(ok_dir / "nan-inf.wav", x, 16000, subtype="FLOAT")
    ok("nan-inf.wav", 3.0, "NaN/Inf samples")
    sf.write(ok_dir / "all-nan.wav", np.full(32000, np.nan, np.float32), 16000, subtype="FLOAT")
    ok("all-nan.wav", 2.0, "nothing but NaN")
    sf.write(ok_dir / "huge-floats.wav", speechlike(2.0, seed=7) * 1e30, 16000, subtype="FLOAT")
    ok("huge-floats.wav", 2.0)
    sf.write(ok_dir / "digital-silence.wav", np.zeros(48000, np.float32), 16000)
    ok("digital-silence.wav", 3.0)
    sq = np.sign(np.sin(2 * np.pi * 200 * np.arange(48000) / 16000)).astype(np.float32)
    sf.write(ok_dir / "full-scale-square.wav", sq, 16000)
    ok("full-scale-square.wav", 3.0)
    y = speechlike(3.0, seed=8)
    sf.write(ok_dir / "opposite-phase.wav", np.stack([y, -y], axis=1), 16000)
    ok("opposite-phase.wav", 3.0)
    d = bytearray(m4a)
    p = len(d) // 3
    d[p : p + 64] = np.random.default_rng(9).bytes(64)
    (ok_dir / "m4a-64-bytes-damaged.m4a").write_bytes(bytes(d))
    ok("m4a-64-bytes-damaged.m4a", ffmpeg_seconds(ok_dir / "m4a-64-bytes-damaged.m4a"), "one damaged packet: the rest decodes")
    full = pcm16(speechlike(3.0, seed=11))
    (ok_dir / "wav-truncated.wav").write_bytes(wav_bytes(full, data_size=len(full) * 10))
    ok("wav-truncated.wav", 3.0, "header promises 30 s")
    (ok_dir / "wav-header-10h.wav").write_bytes(wav_bytes(full, data_size=10 * 3600 * 32000, riff_size=0xFFFFFFF0))
    ok("wav-header-10h.wav", 3.0, "header promises 10 hours")
    (ok_dir / "wav-streaming-size.wav").write_bytes(wav_bytes(full, data_size=0xFFFFFFFF, riff_size=0xFFFFFFFF))
    ok("wav-streaming-size.wav", 3.0, "size fields left open by a streaming writer")
    for ext in ("mp3", "ogg", "opus", "flac"):
        raw = (src / f"base.{ext}").read_bytes()
        (ok_dir / f"{ext}-cut-60pc.{ext}").write_bytes(raw[: int(len(raw) * 0.6)])
        ok(f"{ext}-cut-60pc.{ext}", ffmpeg_seconds(ok_dir / f"{ext}-cut-60pc.{ext}"), "truncated download")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=3", "-i", str(src / "base.wav"), "-c:v", "mpeg4", "-c:a", "aac",
           "-shortest", str(ok_dir / "video-with-audio.mp4"))
    ok("video-with-audio.mp4", 3.0)
    ffmpeg("-i", str(src / "long.wav"), "-t", "3", "-c:a", "libopus", str(ok_dir / "name with spaces, ünïcode & 'quotes'.webm"))
    ok("name with spaces, ünïcode & 'quotes'.webm", 3.0)
    return cases


def run_as_user(args: list[str], env: dict[str, str], timeout: int) -> subprocess.CompletedProcess:
    prefix = AS_NOBODY if nobody_can_run_parley() else []
    return subprocess.run([*prefix, sys.executable, "-m", "meetings.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def one_clear_line(stderr: str) -> bool:
    lines = [l for l in stderr.strip().splitlines() if l.strip()]
    return len(lines) == 1 and lines[0].startswith("parley: error: ") and "Traceback" not in stderr


@pytest.mark.models
def test_hostile_corpus_through_parley_import(request):
    root = Path(tempfile.mkdtemp(prefix="parley-corpus-"))
    request.addfinalizer(lambda: (os.system(f"chmod -R u+rwx {root} 2>/dev/null"), shutil.rmtree(root, ignore_errors=True)))
    os.chmod(root, 0o755)
    ok_dir = root / "ok"
    ok_dir.mkdir()
    data = root / "data"
    cases = build_corpus(root, ok_dir)
    if nobody_can_run_parley():
        for p in [root, ok_dir, *ok_dir.iterdir()]:
            os.chown(p, NOBODY, NOBODY)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(PARLEY_DATA_DIR=str(data), HOME=str(root), HF_HUB_OFFLINE="1")

    handled: list[str] = []
    problems: list[str] = []
    one_by_one = [c for c in cases if c.expect != "audio"]
    for c in one_by_one:
        try:
            proc = run_as_user(["import", str(c.path), "--quiet"], env, timeout=300)
        except subprocess.TimeoutExpired:
            problems.append(f"{c.name}: hung")
            continue
        if c.name == "folder.wav" and proc.returncode == 2 and "Traceback" not in proc.stderr:
            # a folder is a batch import, whose report lists each failed file before the error line
            handled.append(f"{c.name}: refused: {proc.stderr.strip().splitlines()[-1]}")
        elif proc.returncode == 2 and one_clear_line(proc.stderr):
            handled.append(f"{c.name}: refused: {proc.stderr.strip()[len('parley: error: '):]}")
        elif proc.returncode == 0 and c.expect == "either" and "Traceback" not in proc.stderr:
            handled.append(f"{c.name}: imported")
        else:
            problems.append(f"{c.name}: exit {proc.returncode}: {proc.stderr.strip()[-800:]}")

    audio = [c for c in cases if c.expect == "audio"]
    try:
        proc = run_as_user(["import", str(ok_dir), "--quiet"], env, timeout=1800)
        batch_err = proc.stderr
        assert "Traceback" not in batch_err, batch_err[-3000:]
    except subprocess.TimeoutExpired:
        problems.append("the folder import hung")
        batch_err = ""
    conn = sqlite3.connect(data / "parley.db")
    rows = {Path(src).name: (status, dur, json.loads(w)) for src, status, dur, w in
            conn.execute("SELECT source_path, status, duration, warnings_json FROM meetings")}
    for c in audio:
        got = rows.get(c.path.name)
        if got is None:
            problems.append(f"{c.name}: no meeting ({[l for l in batch_err.splitlines() if c.path.name in l][:2]})")
        elif got[0] != "done":
            problems.append(f"{c.name}: status {got[0]}")
        elif abs(got[1] - c.seconds) > max(0.35, 0.1 * c.seconds):
            problems.append(f"{c.name}: {got[1]:.2f} s imported, {c.seconds:.2f} s expected")
        else:
            handled.append(f"{c.name}: {got[1]:.2f} s, warnings {got[2]}")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("SELECT COUNT(*) FROM meetings m WHERE status='done' AND NOT EXISTS"
                        " (SELECT 1 FROM audio_sources a WHERE a.meeting_id=m.id)").fetchone()[0] == 0
    conn.close()

    report = "\n".join([f"hostile corpus: {len(cases)} cases tried, {len(handled)} handled, {len(problems)} not", *handled, *problems])
    record("hostile_corpus", tried=len(cases), handled=len(handled), refused=sum(": refused" in h for h in handled),
           tracebacks=sum("Traceback" in p for p in problems) + ("Traceback" in batch_err), hangs=sum("hung" in p for p in problems),
           database_ok=True, problems=problems)  # integrity_check and foreign_key_check passed above
    print(report)
    assert len(cases) >= 40
    assert problems == [], report
