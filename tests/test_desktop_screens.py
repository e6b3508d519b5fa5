"""Screenshots of the real app on a real X server (Xvfb) at 1280×800, saved to
``docs/screenshots/`` for the README: library, transcript with flagged turns, settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.qt

SHOTS = REPO / "docs" / "screenshots"
SIZE = (1280, 800)


def shoot(out: Path, work: Path) -> None:
    """Runs in a child process on the Xvfb display (the test process is already offscreen)."""
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow
    from desktop.settings import AppSettings
    from meetings.store import Store
    from tests.test_desktop import make_meeting

    import keyring
    from keyring.backends.null import Keyring as NoKeys

    keyring.set_keyring(NoKeys())  # a keyring with no key in it, whatever this machine has
    app = QApplication([])
    store = Store(work / "parley.db")
    first = make_meeting(store, work, title="Flood damage review")
    second = make_meeting(store, work, item="ami_EN2009b_000-030s", title="Remote control design sync")
    third = make_meeting(store, work, item="ami_ES2003a_000-030s", title="Project kick-off")
    # fixed dates, so that the pictures (and the PNG files) only change when the UI does
    for mid, when in ((first, "2026-11-23T09:30:00+00:00"), (second, "2026-11-20T14:00:00+00:00"), (third, "2026-11-18T11:15:00+00:00")):
        store.conn.execute("UPDATE meetings SET created_at=? WHERE id=?", (when, mid))
    settings = AppSettings(device="cpu", language="en")
    window = MainWindow(store, settings_path=work / "desktop.json", settings=settings)
    window.resize(*SIZE)
    window.show()
    assert QTest.qWaitForWindowExposed(window)
    window.library.select_meeting(first)
    # the import strip as it looks mid-import (the widget fed the pipeline's real event sequence)
    panel = window.import_panel
    panel.begin("standup-2026-11-23.m4a")
    panel.on_progress("decode", 1.0, "")
    panel.on_stage_done("decode", 0.8)
    panel.on_progress("diarize", 1.0, "embeddings")
    panel.on_stage_done("diarize", 41.3)
    panel.on_progress("transcribe", 0.42, "")
    panel.set_queued(1)
    app.processEvents()
    out.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out / "library.png"))

    panel.hide()
    window.library.search_box.setText("legal issue")
    window.library.run_search()
    window.statusBar().clearMessage()
    app.processEvents()
    window.grab().save(str(out / "search.png"))
    window.library.search_box.clear()

    fiona = store.speakers(first)[0]
    store.add_summary(first, speaker_id=None, kind="meeting", model="local", prompt_version="1", content_json="{}", local=True,
                      markdown="### Local summary (offline)\n\n**Decisions**\n- none recorded\n\n"
                               "#### Speaker 1\n*Said*\n- Says the **floods** brought the ceilings down five years ago. [00:00]\n"
                               "- Wants it treated as a *legal issue*; doubts the committee understands it. [00:13]\n")
    store.rename_speaker(fiona.id, "Fiona")  # a correction after the summary: it shows as stale
    window.open_meeting(first)
    view = window.transcript
    view.session.select(0)
    view.session.next_flag()
    view.session.selected_word = 0
    view._update_highlights(scroll=True)
    view.player.seek(view.session.turn.start)
    window.statusBar().showMessage("Flagged turn (6 left to review): very short turn, overlapping speech")
    app.processEvents()
    window.grab().save(str(out / "transcript.png"))

    dialog = window.open_settings()
    dialog.data_dir.setPlaceholderText("~/.local/share/parley")  # the default, not this test's temp folder
    assert QTest.qWaitForWindowExposed(dialog)
    app.processEvents()
    dialog.grab().save(str(out / "settings.png"))
    dialog.reject()
    window.close()
    store_close = getattr(store, "close", None)
    if store_close:
        store_close()


@pytest.fixture
def xvfb():
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.fail("Xvfb is required for the screenshot test: apt-get install xvfb (scripts/setup.sh does)")
    read, write = os.pipe()
    proc = subprocess.Popen(
        [exe, "-displayfd", str(write), "-screen", "0", f"{SIZE[0] + 200}x{SIZE[1] + 200}x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as f:
        display = f.readline().strip()  # blocks until the server is ready
    if not display:
        proc.kill()
        pytest.fail("Xvfb did not start")
    yield f":{display}"
    proc.terminate()
    proc.wait(10)


def test_screenshots_under_xvfb(xvfb, tmp_path):
    from PySide6.QtGui import QImage

    env = {**os.environ, "DISPLAY": xvfb, "QT_QPA_PLATFORM": "xcb", "TZ": "UTC", "LANG": "C.UTF-8"}
    code = f"from pathlib import Path; from tests.test_desktop_screens import shoot; shoot(Path({str(SHOTS)!r}), Path({str(tmp_path)!r}))"
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    for name in ("library", "search", "transcript"):
        img = QImage(str(SHOTS / f"{name}.png"))
        assert (img.width(), img.height()) == SIZE, name
        colours = {img.pixel(x, y) for x in range(0, img.width(), 37) for y in range(0, img.height(), 23)}
        assert len(colours) > 8, f"{name}.png looks blank"
    settings = QImage(str(SHOTS / "settings.png"))
    assert settings.width() >= 500 and settings.height() >= 200
