"""The `parley` command end to end: real models, real SQLite file, the bundled sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from bench.scoring import normalize
from meetings.cli import main

from .conftest import REPO, SAMPLE


def run_cli(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = dict(os.environ, PARLEY_DATA_DIR=str(data_dir), PYANNOTE_METRICS_ENABLED="false", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "meetings.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.models
def test_import_bundled_sample_matches_its_reference(tmp_path):
    proc = run_cli("import", str(SAMPLE / "meeting.wav"), "--quiet", data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if l.startswith("[")]
    assert lines, proc.stdout

    from meetings.store import Store

    store = Store(tmp_path / "parley.db")
    [meeting] = store.list_meetings()
    assert meeting.status == "done"
    ref = json.loads((SAMPLE / "meeting.seglst.json").read_text())
    ref_speakers = {e["speaker"] for e in ref}
    turns = store.turns(meeting.id)
    hyp_speakers = {t.speaker_label for t in turns if not t.overlapped}
    assert len(hyp_speakers) == len(ref_speakers)
    ref_words = set(normalize(" ".join(e["words"] for e in ref)).split())
    hyp_words = set(normalize(" ".join(t.text for t in turns)).split())
    # tiny.en on overlapped meeting speech: most of the reference vocabulary is recovered
    assert len(ref_words & hyp_words) / len(ref_words) > 0.6
    # every stored word belongs to a turn of the same speaker
    for t in turns:
        assert all(w.speaker_id == t.speaker_id for w in t.words)

    # importing the same file again does not duplicate it
    again = run_cli("import", str(SAMPLE / "meeting.wav"), "--quiet", data_dir=tmp_path)
    assert again.returncode == 0 and "already imported" in again.stderr
    assert len(Store(tmp_path / "parley.db").list_meetings()) == 1

    # list / show / export
    listing = run_cli("list", data_dir=tmp_path)
    assert "meeting" in listing.stdout and "done" in listing.stdout
    for fmt in ("txt", "md", "srt", "vtt", "json", "rttm"):
        out = run_cli("export", str(meeting.id), "--format", fmt, data_dir=tmp_path)
        assert out.returncode == 0 and out.stdout.strip(), (fmt, out.stderr)
    exported = json.loads(run_cli("export", str(meeting.id), "--format", "json", data_dir=tmp_path).stdout)
    assert len(exported["turns"]) == len(turns)


@pytest.mark.parametrize(
    "content,expect",
    [(b"", "empty"), (b"hello, this is not audio at all" * 50, "not a readable audio")],
    ids=["empty", "text-as-wav"],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, content, expect):
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / "data"))
    bad = tmp_path / "call.wav"
    bad.write_bytes(content)
    code = main(["import", str(bad), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and expect in err
    from meetings.store import Store

    assert Store(tmp_path / "data" / "parley.db").list_meetings() == []


def test_missing_file_and_bad_options(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path))
    assert main(["import", str(tmp_path / "nope.mp3")]) == 2
    assert "no such file" in capsys.readouterr().err
    f = tmp_path / "x.wav"
    sf.write(f, np.zeros(1600, dtype=np.float32), 16000)
    assert main(["import", str(f), "--num-speakers", "2", "--max-speakers", "3"]) == 2
    assert "either --num-speakers" in capsys.readouterr().err
    assert main(["show", "42"]) == 2
    assert "no meeting" in capsys.readouterr().err
