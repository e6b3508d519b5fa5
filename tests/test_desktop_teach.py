"""Corrections that teach, end to end: real CAM++ voices from a real AMI recording. The
diarizer got three of one speaker's turns wrong; the user fixes one by key, the app offers
the other two, applying the offer writes them to the store, and Ctrl+Z takes one back."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from meetings.types import FlagReason
from tests.conftest import eval_item
from tests.test_desktop import make_meeting, reference_turns

pytestmark = [pytest.mark.qt, pytest.mark.models]

ITEM = "ami_ES2003a_000-030s"  # two speakers, MEE009 and MEE012
WRONG = (4, 7, 11)  # MEE012's turns that the "diarizer" gave to MEE009


def mislabelled_turns():
    turns = reference_turns(eval_item(ITEM).with_suffix(".words.tsv"), chunk=8)
    assert all(turns[i].speaker == "MEE012" for i in WRONG)
    out = []
    for i, t in enumerate(turns):
        if i in WRONG:
            words = tuple(replace(w, speaker="MEE009") for w in t.words)
            t = replace(t, speaker="MEE009", words=words, confidence=0.4, flags=(FlagReason.AMBIGUOUS_VOICE,))
        out.append(t)
    return out


def test_fix_similar_turns_after_one_correction(qtbot, store, tmp_path):
    from desktop.main_window import MainWindow
    from desktop.teach import Teacher

    meeting = make_meeting(store, tmp_path, item=ITEM, title="Kick-off", turns=mislabelled_turns())
    teacher = Teacher()
    window = MainWindow(store, settings_path=tmp_path / "desktop.json", teacher=teacher)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    view = window.transcript
    with qtbot.waitSignal(teacher.ready, timeout=120_000):
        window.open_meeting(meeting)
    assert not view.fix_button.isVisible()  # nothing learnt yet

    ids = [t.id for t in view.session.turns]
    before = {t.id: t.speaker_id for t in store.turns(meeting)}
    mee009, mee012 = (s.id for s in store.speakers(meeting))
    view.session.select(WRONG[0])
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_2)  # the user: "this is speaker 2"
    assert {t.id: t.speaker_id for t in store.turns(meeting)}[ids[WRONG[0]]] == mee012

    assert sorted(s.turn_id for s in view.suggestions) == [ids[i] for i in WRONG[1:]]
    assert all(s.to_speaker == mee012 for s in view.suggestions)
    assert view.fix_button.isVisible() and view.fix_button.text() == "Fix 2 similar turns…"

    qtbot.keyClick(view, Qt.Key.Key_F)
    dialog = view.dialog
    assert dialog.list.count() == 2
    dialog.accept()
    after = {t.id: t.speaker_id for t in store.turns(meeting)}
    assert [after[ids[i]] for i in WRONG] == [mee012] * 3
    assert all(after[ids[i]] == before[ids[i]] for i in range(len(ids)) if i not in WRONG)
    assert not view.fix_button.isVisible()

    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # each fix is undoable
    undone = {t.id: t.speaker_id for t in store.turns(meeting)}
    assert sorted(undone[ids[i]] for i in WRONG) == [mee009, mee012, mee012]
    window.close()
