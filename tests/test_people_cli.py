"""``parley people …`` end to end on a real SQLite file, with real CAM++ embeddings on AMI audio."""

from __future__ import annotations

import json

import pytest

from meetings.cli import main
from meetings.store import Store

from .test_people_models import A, B, reference_meeting

pytestmark = pytest.mark.models


def parley(db, *args: str) -> int:
    return main(["--db", str(db), *args])


def test_people_remember_list_show_rename_export_import_name_and_forget(tmp_path, capsys):
    db = tmp_path / "parley.db"
    store = Store(db)
    a = reference_meeting(store, A)
    b = reference_meeting(store, B)
    store.close()

    assert parley(db, "people") == 0
    assert "no people yet" in capsys.readouterr().out
    assert parley(db, "people", "remember", str(a), "MEE009", "Marco", "Polo") == 0
    assert "MEE009 of meeting 1 is Marco Polo; voice learned (1 sample(s)" in capsys.readouterr().out
    assert parley(db, "people", "remember", str(a), "Speaker 2", "Luis", "--no-learn") == 0
    capsys.readouterr()
    assert parley(db, "people", "list") == 0
    out = capsys.readouterr().out
    assert "Marco Polo" in out and "1 sample(s)" in out and "Luis" in out and "no voice profile" in out

    assert parley(db, "people", "name", str(b)) == 0  # ES2003b: Marco is recognised, Luis has no profile
    out = capsys.readouterr().out
    assert "MEE009 → Marco Polo" in out and "Luis" not in out
    assert parley(db, "export", str(b), "--format", "txt") == 0
    assert "Marco Polo:" in capsys.readouterr().out  # exports carry the names
    assert parley(db, "export", str(b), "--format", "json") == 0
    out = capsys.readouterr().out
    assert "Marco Polo" in out and "vec_sum" not in out and "voice" not in out.lower()  # and never the voice profile
    import base64

    blob = Store(db).conn.execute("SELECT vec_sum FROM voice_samples").fetchone()[0]
    assert base64.b64encode(blob[:48]).decode()[:32] not in out

    assert parley(db, "people", "show", "Marco Polo") == 0
    out = capsys.readouterr().out
    assert out.startswith("Marco Polo: 2 meeting(s)") and f"meeting {a}" in out and f"meeting {b}" in out
    word = Store(db).turns(b)[1].text.split()[0]  # a word Marco says in ES2003b
    assert parley(db, "people", "show", "Marco Polo", "--search", word) == 0
    assert f"[{word}]".lower() in capsys.readouterr().out.lower()

    assert parley(db, "people", "rename", "Marco Polo", "Marco") == 0
    capsys.readouterr()
    assert {s.name for s in Store(db).speakers(b)} >= {"Marco"}
    assert parley(db, "people", "export", "Marco", "-o", str(tmp_path / "marco.json")) == 0
    capsys.readouterr()
    assert json.loads((tmp_path / "marco.json").read_text())["name"] == "Marco"
    other = tmp_path / "other.db"
    assert parley(other, "people", "import", str(tmp_path / "marco.json")) == 0
    assert "Marco: 1 voice sample(s)" in capsys.readouterr().out

    assert parley(db, "people", "forget", "Marco", "--yes") == 0
    assert "forgotten: Marco" in capsys.readouterr().out
    assert parley(db, "people", "forget", "Nobody", "--yes") == 2
    assert "no person 'Nobody'" in capsys.readouterr().err
    assert parley(db, "people", "forget", "--all", "--yes") == 0
    assert "forgotten: Luis" in capsys.readouterr().out
    assert Store(db).conn.execute("SELECT COUNT(*) FROM people").fetchone()[0] == 0
