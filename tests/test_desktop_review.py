"""Issue 10, driven like a user (real widgets offscreen, a real SQLite store, a real AMI
recording): the defects of the correction view, each with the check that failed before its
fix, and the editor features people expect (edit words, find, export/copy, new speaker,
summaries from the UI, the timeline, remembered window)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication, QMessageBox

from meetings.types import AttributedWord, Turn, Word
from tests.test_desktop import click_word, db_turns, fresh, key, make_meeting, meeting, view, window  # noqa: F401

pytestmark = pytest.mark.qt

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def word_point(view, t: int, w: int) -> QPoint:
    b = view.browser
    a, e = b.layout_info.word_spans[t][w]
    b.scroll_to_turn(t)
    c = QTextCursor(b.document())
    c.setPosition(a)
    left = b.cursorRect(c)
    c.setPosition(e)
    right = b.cursorRect(c)
    return QPoint((left.left() + right.left()) // 2, left.center().y())


def assert_view_matches_store(view, store) -> None:
    """What the view shows after its incremental patches == a full render of what is stored."""
    from desktop.transcript_doc import TranscriptBrowser

    turns = fresh(store).turns(view.session.meeting_id)
    assert [t.id for t in view.session.turns] == [t.id for t in turns]
    assert [(t.speaker_id, t.speaker_name, t.text, t.reviewed, t.flags) for t in view.session.turns] == \
        [(t.speaker_id, t.speaker_name, t.text, t.reviewed, t.flags) for t in turns]
    ref = TranscriptBrowser()
    ref.set_turns(turns, [s.id for s in fresh(store).speakers(view.session.meeting_id)])
    assert view.browser.toPlainText() == ref.toPlainText()
    a, b = view.browser.layout_info, ref.layout_info
    assert (a.turn_ids, a.turn_pos, a.turn_end, a.word_rel, a.flagged) == (b.turn_ids, b.turn_pos, b.turn_end, b.word_rel, b.flagged)


# ---------------------------------------------------------------------- defect 2
def test_a_correction_redraws_only_the_turns_it_changed(view, store, meeting, qtbot):
    doc = view.browser.document()
    edits = []
    doc.contentsChange.connect(lambda pos, removed, added: edits.append((pos, removed, added)))
    view.session.select(5)  # "Okay" (Speaker 2)
    view._update_highlights()
    target = view.session.turn.id
    a, b = view.browser.layout_info.turn_spans[5]
    edits.clear()
    key(qtbot, view, Qt.Key.Key_1)
    assert edits, "the turn was redrawn"
    assert all(pos >= a and pos + max(removed, added) <= b + 1 for pos, removed, added in edits), (edits, a, b)
    assert store.last_change is not None and store.last_change.turns == {target}
    assert view.session.last_patch.full is False and view.session.last_patch.dirty == {target}
    assert_view_matches_store(view, store)

    # every kind of correction, and undo/redo, leaves exactly what a full render would show
    view.session.select(10)
    click_word(qtbot, view, 10, 12)
    key(qtbot, view, Qt.Key.Key_S)  # split
    assert_view_matches_store(view, store)
    assert len(db_turns(store, meeting)) == 14
    key(qtbot, view, Qt.Key.Key_M)  # merge back (same speaker: no question)
    assert_view_matches_store(view, store)
    key(qtbot, view, Qt.Key.Key_Return)  # accept
    assert_view_matches_store(view, store)
    for _ in range(3):
        key(qtbot, view, Qt.Key.Key_Z, CTRL)
        assert_view_matches_store(view, store)
    key(qtbot, view, Qt.Key.Key_Z, CTRL | SHIFT)
    assert_view_matches_store(view, store)
    spk = view.session.speakers[0]
    view.rename(spk.id)
    view.dialog.name_edit.setText("Fiona")
    view.dialog.accept()
    assert_view_matches_store(view, store)
    assert "Fiona" in view.browser.toPlainText() and view.session.last_patch.full is False
    s2 = view.session.speakers[1]
    view.merge_speakers()
    view.dialog.drop_combo.setCurrentIndex(view.dialog.drop_combo.findData(s2.id))
    view.dialog.keep_combo.setCurrentIndex(view.dialog.keep_combo.findData(spk.id))
    view.dialog.accept()  # Speaker 2 folded into Fiona: Speaker 3's colour moves up
    assert_view_matches_store(view, store)
    key(qtbot, view, Qt.Key.Key_Z, CTRL)
    assert_view_matches_store(view, store)
    view.session.select(9)
    view.reassign_all()
    view.dialog.accept()
    assert_view_matches_store(view, store)
    # the layout still hit-tests: clicking a word after the patches selects that word
    click_word(qtbot, view, 12, 0)
    assert (view.session.current, view.session.selected_word) == (12, 0)
    click_word(qtbot, view, 10, 3)
    assert (view.session.current, view.session.selected_word) == (10, 3)


# ---------------------------------------------------------------------- defect 4
def test_view_menu_shortcuts_open_each_page(window, meeting, qtbot):
    window.open_meeting(meeting)
    window.sidebar.setCurrentRow(0)
    for k, page in ((Qt.Key.Key_2, window.transcript), (Qt.Key.Key_3, window.live), (Qt.Key.Key_1, window.library)):
        qtbot.keyClick(window, k, CTRL)
        assert window.stack.currentWidget() is page


# ---------------------------------------------------------------------- defect 5
def test_merging_two_speakers_turns_asks_first(view, store, meeting, qtbot):
    view.session.select(1)  # "Alright is it" (Speaker 2), after a turn of Speaker 1
    before = db_turns(store, meeting)
    key(qtbot, view, Qt.Key.Key_M)
    box = view.dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "Speaker 2" in box.text() and "Speaker 1" in box.text()
    assert db_turns(store, meeting) == before  # nothing changed yet
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert db_turns(store, meeting) == before
    key(qtbot, view, Qt.Key.Key_M)
    view.dialog.button(QMessageBox.StandardButton.Yes).click()
    after = db_turns(store, meeting)
    assert len(after) == len(before) - 1
    merged = after[0]
    assert {w.speaker_id for w in merged.words} == {merged.speaker_id} == {before[0].speaker_id}
    assert_view_matches_store(view, store)


# ---------------------------------------------------------------------- defect 6
def test_header_legend_and_library_agree_on_speakers(view, window, store, meeting, qtbot):
    view.session.select(9)  # Speaker 3 has two turns: 9 and 11
    key(qtbot, view, Qt.Key.Key_1)
    assert "(1 turn " in view.legend.item(2).text() or "(1 turn)" in view.legend.item(2).text()
    assert "(1 turns" not in view.legend.item(2).text()
    view.session.select(11)
    key(qtbot, view, Qt.Key.Key_1)  # Speaker 3 now has no turns
    assert window.library.model.meeting(0).num_speakers == 2
    assert "2 speakers ·" in view.stats.text()
    assert "(0 turns)" in view.legend.item(2).text()  # still listed: turns can be given back to them


# ---------------------------------------------------------------------- defect 7
def test_space_after_accept_plays_the_turn_accept_moved_to(view, qtbot):
    key(qtbot, view, Qt.Key.Key_N)  # first flagged turn
    first = view.session.turn
    key(qtbot, view, Qt.Key.Key_Return)  # accept: moves on to the next flagged turn
    nxt = view.session.turn
    assert nxt.id != first.id
    assert view.player.position() == pytest.approx(nxt.start)
    with qtbot.waitSignal(view.player.positionChanged, timeout=2000):
        key(qtbot, view, Qt.Key.Key_Space)
    assert view.session.turn.id == nxt.id
    view.player.stop()


# ---------------------------------------------------------------------- defect 8
def zero_length_turns():
    def aw(a, b, text, spk):
        return AttributedWord(Word(a, b, " " + text, 0.9), spk)

    a = (aw(3.0, 3.5, "so", "A"), aw(3.76, 3.76, "uh", "A"))
    b = (aw(3.76, 4.2, "yes", "B"), aw(4.3, 4.8, "right", "B"))
    c = (aw(6.0, 6.0, "hm", "A"),)
    return [Turn("A", 3.0, 3.76, a, 0.9), Turn("B", 3.76, 4.8, b, 0.9), Turn("A", 6.0, 6.0, c, 0.4, ())]


def test_zero_length_words_can_be_marked_and_heard(window, store, tmp_path, qtbot):
    from desktop.logic import WordClock

    mid = make_meeting(store, tmp_path, turns=zero_length_turns(), title="Zero words")
    window.open_meeting(mid)
    view = window.transcript
    qtbot.mouseClick(view.browser.viewport(), Qt.MouseButton.LeftButton, pos=word_point(view, 0, 1))
    assert (view.session.current, view.session.selected_word) == (0, 1)
    assert view._playing_word == (0, 1)  # the "playing" mark is on "uh", not on "yes" after it
    turns = view.session.turns
    clock = WordClock(turns)
    assert clock.at(3.76, prefer_turn=turns[0].id) == (turns[0].id, 1)
    assert clock.at(3.85, prefer_turn=turns[0].id) == (turns[0].id, 1)  # it lasts long enough to be heard
    assert clock.at(3.85) == (turns[0].id, 1) or clock.at(3.85) == (turns[1].id, 0)
    assert clock.at(6.1, prefer_turn=turns[2].id) == (turns[2].id, 0)  # a zero-length turn keeps the audio
    view.session.select(2)
    view.loop_button.setChecked(True)
    assert view.player.loop == (6.0, pytest.approx(6.2))


# ---------------------------------------------------------------------- defect 9
def test_summaries_panel_shows_each_bullet_once(view, store, meeting, qtbot):
    spk = store.speakers(meeting)[0]
    md = "### Local summary (offline)\n\n**Decisions**\n- none recorded\n\n#### Speaker 1\n*Said*\n- wants the floods report by Friday [00:13]\n"
    store.add_summary(meeting, speaker_id=None, kind="meeting", model="local", prompt_version="1", content_json="{}", markdown=md, local=True)
    store.add_summary(meeting, speaker_id=spk.id, kind="speaker", model="local", prompt_version="1", content_json="{}",
                      markdown="*Local summary (offline)*\n\n*Said*\n- wants the floods report by Friday [00:13]\n", local=True)
    view.open_meeting(meeting)
    text = view.summaries.view.toPlainText()
    assert text.count("wants the floods report") == 1
    view.session.select(0)
    key(qtbot, view, Qt.Key.Key_2)  # stale now
    text = view.summaries.view.toPlainText()
    assert text.count("wants the floods report") == 1 and text.count("stale") == 1


# ---------------------------------------------------------------------- defect 10
def test_right_click_on_a_word_offers_copy_not_a_link(view, qtbot):
    pt = word_point(view, 0, 6)  # "floods"
    assert view.browser.anchorAt(pt) == ""  # words are not links
    menu = view.browser.context_menu(pt)
    texts = [a.text() for a in menu.actions()]
    assert not any("Link" in t for t in texts)
    copy = next(a for a in menu.actions() if a.text().startswith("Copy “"))
    copy.trigger()
    assert QApplication.clipboard().text() == "floods"
    assert any(t.startswith("Edit “floods”") for t in texts)


# ---------------------------------------------------------------------- defect 11
def test_a_finished_background_import_does_not_pull_the_view_away(window, store, tmp_path, meeting, qtbot):
    other = make_meeting(store, tmp_path, title="Second call")
    window.open_meeting(meeting)
    window.imports.worker.finished.emit(other, False)  # as the import thread reports it
    qtbot.waitUntil(lambda: "Second call" in window.statusBar().currentMessage())
    assert window.stack.currentWidget() is window.transcript and window.transcript.session.meeting_id == meeting
    assert "library" in window.statusBar().currentMessage()
    window.sidebar.setCurrentRow(0)  # on the library page, a finished import is shown
    with qtbot.waitSignal(window.meetingOpened, timeout=2000) as opened:
        window.imports.worker.finished.emit(other, False)
    assert opened.args == [other]


# ---------------------------------------------------------------------- edit words
def test_edit_a_misheard_word_with_undo_audit_and_search(view, store, meeting, qtbot):
    click_word(qtbot, view, 0, 6)  # "floods"
    key(qtbot, view, Qt.Key.Key_E)
    d = view.dialog
    assert d.text == "floods"
    d.text_edit.setText("flood waters")
    d.accept()
    turn = db_turns(store, meeting)[0]
    assert turn.words[6].text == " flood waters" and turn.text.endswith("of the flood waters")
    assert "flood waters" in view.browser.toPlainText()
    assert fresh(store).corrections(meeting)[-1].action == "edit_word"
    assert [h.turn_id for h in fresh(store).search("waters")] == [turn.id]
    assert_view_matches_store(view, store)
    key(qtbot, view, Qt.Key.Key_Z, CTRL)
    assert db_turns(store, meeting)[0].words[6].text == " floods"
    assert fresh(store).search("waters") == []
    assert_view_matches_store(view, store)


# ---------------------------------------------------------------------- find
def test_ctrl_f_finds_in_the_open_transcript(window, view, store, meeting, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_F, CTRL)
    assert view.find_bar.isVisible() and view.find_box.hasFocus()
    before = db_turns(store, meeting)
    qtbot.keyClicks(view.find_box, "the")  # typing never triggers the review keys
    assert db_turns(store, meeting) == before
    hits = view.find_bar.hits
    assert len(hits) >= 3 and all(view.session.turns[t].words[w].text.strip().lower().startswith("the") for t, w, _ in hits)
    assert view.find_label.text() == f"1 of {len(hits)}"
    first = view.find_bar.current
    qtbot.keyClick(view.find_box, Qt.Key.Key_Return)  # next hit; it does not accept the turn
    assert db_turns(store, meeting) == before
    assert view.find_bar.current == first + 1 and view.session.current == hits[first + 1][0]
    assert view.find_label.text() == f"{first + 2} of {len(hits)}"
    qtbot.keyClick(view.find_box, Qt.Key.Key_Return, SHIFT)
    assert view.find_bar.current == first
    assert len(view.browser.extraSelections()) >= len(hits)
    qtbot.keyClick(view.find_box, Qt.Key.Key_Escape)
    assert not view.find_bar.isVisible()
    window.sidebar.setCurrentRow(0)
    qtbot.keyClick(window, Qt.Key.Key_F, CTRL)  # on the library: search every transcript
    assert window.library.search_box.hasFocus()


def test_library_search_matches_prefixes_speakers_and_titles(window, store, meeting, qtbot):
    lib = window.library
    for query, expect in (("flo", "floods"), ("Speaker 3", "Speaker 3"), ("damage rev", "Flood damage review")):
        lib.search_box.setText(query)
        lib.run_search()
        texts = [lib.results.item(i).text() for i in range(lib.results.count())]
        assert texts and any(expect in t for t in texts), (query, texts)


# ---------------------------------------------------------------------- export / copy
def test_export_every_format_from_the_ui_as_the_cli_does(view, store, meeting, tmp_path, qtbot, capsys):
    from meetings.cli import main
    from meetings.export import FORMATS

    for fmt in FORMATS:
        ours = tmp_path / f"app.{fmt}"
        dialog = view.choose_export(fmt)
        dialog.selectFile(str(ours))
        dialog.accept()
        assert ours.is_file(), fmt
        theirs = tmp_path / f"cli.{fmt}"
        assert main(["--db", str(store.path), "export", str(meeting), "--format", fmt, "-o", str(theirs)]) == 0
        assert ours.read_text(encoding="utf-8") == theirs.read_text(encoding="utf-8"), fmt
    assert json.loads((tmp_path / "app.json").read_text())["title"] == "Flood damage review"


def test_copy_the_selection_or_the_current_turn(view, qtbot):
    b = view.browser
    a, e = b.layout_info.word_span(0, 0)[0], b.layout_info.word_span(0, 2)[1]
    c = QTextCursor(b.document())
    c.setPosition(a)
    c.setPosition(e, QTextCursor.MoveMode.KeepAnchor)
    b.setTextCursor(c)
    key(qtbot, view, Qt.Key.Key_C, CTRL)
    assert QApplication.clipboard().text() == "Five years just"
    b.setTextCursor(QTextCursor(b.document()))
    view.session.select(1)
    key(qtbot, view, Qt.Key.Key_C, CTRL)
    assert QApplication.clipboard().text() == "[00:03] Speaker 2: Alright is it"


# ---------------------------------------------------------------------- new speaker
def test_add_a_speaker_the_diarizer_missed(view, store, meeting, qtbot):
    view.session.select(9)
    tid = view.session.turn.id
    key(qtbot, view, Qt.Key.Key_0)
    d = view.dialog
    assert d.give.isChecked()
    d.name_edit.setText("Dana")
    d.accept()
    names = [s.name for s in fresh(store).speakers(meeting)]
    assert names[-1] == "Dana" and view.legend.count() == 4 and "Dana" in view.legend.item(3).text()
    dana = fresh(store).speakers(meeting)[-1]
    assert fresh(store).turn(tid).speaker_id == dana.id
    assert_view_matches_store(view, store)
    view.session.select(11)
    key(qtbot, view, Qt.Key.Key_4)  # the new speaker has a number key like the others
    assert fresh(store).turn(view.session.turn.id).speaker_id == dana.id
    for _ in range(3):
        key(qtbot, view, Qt.Key.Key_Z, CTRL)
    assert [s.name for s in fresh(store).speakers(meeting)] == ["Speaker 1", "Speaker 2", "Speaker 3"]
    assert_view_matches_store(view, store)


# ---------------------------------------------------------------------- summaries from the UI
def test_summarize_from_the_ui_and_jump_by_its_links(view, store, meeting, qtbot):
    panel = view.summaries
    assert panel.generate_button.text() == "Summarize" and panel.generate_button.isEnabled()
    with qtbot.waitSignal(panel.changed, timeout=120_000):
        panel.generate_button.click()
        assert panel.busy.isVisible()  # progress while it writes
    assert not panel.busy.isVisible()
    stored = [s for s in fresh(store).summaries(meeting) if s.kind == "meeting"]
    assert stored and stored[0].local
    assert "Local summary" in panel.view.toPlainText() and panel.generate_button.text() == "Regenerate"
    links = [a for a in panel.view.toHtml().split('href="')[1:]]
    targets = [h.split('"')[0] for h in links if h.startswith("t:")]
    assert targets, panel.view.toHtml()
    seconds = float(targets[-1][2:])
    view.session.select(0)
    panel.view.anchorClicked.emit(QUrl(targets[-1]))  # what clicking the [mm:ss] link sends
    assert int(view.session.turn.start) == int(seconds)


def test_summaries_cloud_switch_lives_in_settings(window, tmp_path):
    from desktop.settings import load_settings

    d = window.open_settings()
    d.cloud.setChecked(True)
    d.num_speakers.setValue(3)
    d.accept()
    assert window.settings.cloud and window.transcript.summaries.cloud_enabled()
    assert window.imports.options().num_speakers == 3
    assert load_settings(tmp_path / "desktop.json").num_speakers == "3"


# ---------------------------------------------------------------------- timeline
def test_timeline_shows_speakers_flags_and_seeks(view, qtbot):
    tl = view.timeline
    s = view.session
    assert len(tl._lanes) == len(s.speakers)
    assert len(tl._flags) == sum(1 for t in s.turns if t.flags and not t.reviewed)
    x = int(tl._x(23.0))
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(x, tl.height() // 2))
    assert view.player.position() == pytest.approx(tl.time_at(x), abs=1e-6)
    assert s.turn.start <= 23.5 and s.turn.end >= 22.5
    assert "·" in view.legend.item(0).text()  # talk time per speaker
    key(qtbot, view, Qt.Key.Key_Return)  # accepting a flagged turn removes its mark
    assert len(tl._flags) == sum(1 for t in s.turns if t.flags and not t.reviewed)


# ---------------------------------------------------------------------- honest state
def test_window_size_and_last_meeting_are_remembered(qtbot, store, meeting, tmp_path):
    from desktop.main_window import MainWindow

    w = MainWindow(store, settings_path=tmp_path / "desktop.json")
    qtbot.addWidget(w)
    w.show()
    w.resize(720, 520)  # the offscreen screen is 800×600
    size = (w.width(), w.height())
    assert size != (1280, 800)
    w.open_meeting(meeting)
    w.close()
    again = MainWindow(store, settings_path=tmp_path / "desktop.json")
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == size
    assert again.transcript.session is not None and again.transcript.session.meeting_id == meeting
    again.close()


def test_import_strip_is_busy_while_models_load(qtbot):
    from desktop.import_panel import ImportPanel

    panel = ImportPanel()
    qtbot.addWidget(panel)
    panel.begin("call.m4a")
    assert "loading models" in panel.headline.text() and panel.bar.maximum() == 0  # indeterminate
    panel.on_progress("decode", 0.5, "")
    assert panel.bar.maximum() == 1000 and panel.bar.value() == 500


# ---------------------------------------------------------------------- meeting warnings
def test_the_meetings_warnings_are_shown_above_its_transcript_and_go_with_it(window, store, tmp_path):
    from meetings.types import AudioInfo, PipelineOptions
    from tests.conftest import eval_item
    from tests.test_desktop import reference_turns

    clean = make_meeting(store, tmp_path, title="Clean")
    src = eval_item("ami_EN2005a_000-030s")
    info = AudioInfo(str(src), "sha-warned", 30.0, 16000, 1, "pcm_s16le", "wav",
                     warnings=("recording gap: the microphone was lost for 4.0 s at 12:03",))
    mid = store.begin_meeting("Warned", info, str(src), PipelineOptions(), "tiny.en", "embedded")
    turns = reference_turns(src.with_suffix(".words.tsv"))
    store.save_result(mid, speakers=tuple(dict.fromkeys(t.speaker for t in turns)), centroids=None, turns=turns,
                      language="en", warnings=("one speaker holds 96 % of the speech",))
    window.open_meeting(mid)
    banner = window.transcript.warnings
    assert banner.isVisible()
    assert banner.text().splitlines() == ["⚠ recording gap: the microphone was lost for 4.0 s at 12:03",
                                          "⚠ one speaker holds 96 % of the speech"]
    window.open_meeting(clean)
    assert not banner.isVisible() and banner.text() == ""


def test_a_cloud_summary_from_the_ui_shows_its_cost_first_and_sends_only_pseudonymised_text(view, store, meeting, qtbot,
                                                                                           monkeypatch, tmp_path):
    from tests.summaries_fixtures.fake_anthropic import FakeAnthropic

    api = FakeAnthropic(key="sk-ant-ui-test")
    try:
        for name in ("PARLEY_CLOUD_SUMMARIES", "PARLEY_SUMMARY_MODEL", "PARLEY_SUMMARY_MAX_USD", "PARLEY_LLM_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("PARLEY_CONFIG_DIR", str(tmp_path / "config"))
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-ui-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        first = fresh(store).speakers(meeting)[0]
        store.rename_speaker(first.id, "Dana Whitfield")
        view.open_meeting(meeting)
        panel = view.summaries
        panel.cloud_enabled = lambda: True  # Settings ▸ Cloud summaries on
        panel.generate_button.click()
        qtbot.waitUntil(lambda: getattr(panel, "question", None) is not None and panel.question.isVisible(), timeout=60_000)
        assert "$" in panel.question.text() and not api.messages()  # the cost, before anything is sent
        with qtbot.waitSignal(panel.changed, timeout=120_000):
            panel.question.button(QMessageBox.StandardButton.Yes).click()  # "Send"
        [req] = api.messages()
        assert "Dana" not in req.text and "Whitfield" not in req.text and "sk-ant-ui-test" not in req.text
        stored = [s for s in fresh(store).summaries(meeting) if s.kind == "meeting"]
        assert stored and not stored[0].local and stored[0].model
        assert "Dana Whitfield" in panel.view.toPlainText()  # the real name is back in what the user reads
    finally:
        api.close()
