"""People in the desktop app, driven like a user (real widgets offscreen, real SQLite, real CAM++ on
AMI audio): remember a speaker's voice from the transcript, accept a suggested name with one key (Y),
the People page (meetings, what they said, search), the library's person filter, forget."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from diarization.profiles import MatchRule
from meetings import people as P
from tests.test_desktop import fresh, key, window  # noqa: F401
from tests.test_people_models import A, B, STRANGER, reference_meeting, spk

pytestmark = [pytest.mark.qt, pytest.mark.models]


def select_speaker_turn(view, speaker_id: int) -> None:
    s = view.session
    s.select(next(i for i, t in enumerate(s.turns) if t.speaker_id == speaker_id))


def test_remember_confirm_with_y_people_page_library_filter_and_forget(window, store, engine, qtbot):
    a, b, c = (reference_meeting(store, n) for n in (A, B, STRANGER))
    keys = window.people_keys
    keys._factory = lambda: P.embedder_for(engine.diarizer)
    window.library.refresh()

    # in meeting a: name the speaker and remember the voice (what Shift+R's dialog does)
    window.open_meeting(a)
    view = window.transcript
    marco = spk(store, a, "MEE009")
    select_speaker_turn(view, marco)
    keys.remember(marco, "Marco")
    qtbot.waitUntil(lambda: (P.find_person(fresh(store), "Marco") or P.Person(0, "", False, 0, 0, 0, 0, 0, ())).samples == 1,
                    timeout=60000)
    assert {s.name for s in fresh(store).speakers(a)} >= {"Marco"}
    assert view.session.speaker(marco).name == "Marco"

    # in meeting b he is only suggested (a strict rule): Y accepts it, and the voice is learned again
    P.auto_name(store, b, None, voices={spk(store, b, "MEE009"): P.speaker_voice(store, spk(store, b, "MEE009"), keys._factory())},
                rule=MatchRule(threshold=0.99, suggest=0.3))
    assert next(n for n in P.namings(store, b) if n.label == "MEE009").status == "suggested"
    window.open_meeting(b)
    select_speaker_turn(view, spk(store, b, "MEE009"))
    view.setFocus()
    key(qtbot, view, Qt.Key.Key_Y)
    qtbot.waitUntil(lambda: P.find_person(fresh(store), "Marco").samples == 2, timeout=60000)
    assert next(n for n in P.namings(fresh(store), b) if n.label == "MEE009").person_name == "Marco"

    # the People page
    window.sidebar.setCurrentRow(3)
    page = window.people
    assert window.stack.currentWidget() is page and page.list.count() == 1
    assert "Marco" in page.header.text() and "2 meeting(s)" in page.header.text()
    assert page.meetings.count() == 2
    everything = page.said.count()
    assert everything > 0
    page.search_box.setText(fresh(store).turns(b)[1].text.split()[0])
    assert 0 < page.said.count() < everything + 1 and "[" in page.said.item(0).text()
    opened = []
    window.meetingOpened.connect(opened.append)
    page._open_item(page.said.item(0))
    assert opened == [b]

    # the library filtered by person: only his meetings
    lib = window.library
    lib.refresh()
    assert lib.model.rowCount() == 3
    lib.person_box.setCurrentIndex(lib.person_box.findText("Marco"))
    assert {lib.model.meeting(i).id for i in range(lib.model.rowCount())} == {a, b} and c not in (a, b)

    # forget him from the People page
    window.sidebar.setCurrentRow(3)
    box = page.ask_forget()
    forget = next(btn for btn in box.buttons() if btn.text() == "Forget")
    forget.click()
    qtbot.waitUntil(lambda: page.list.count() == 0)
    assert fresh(store).conn.execute("SELECT COUNT(*) FROM voice_samples").fetchone()[0] == 0
    assert lib.person_box.count() == 1 and lib.model.rowCount() == 3
