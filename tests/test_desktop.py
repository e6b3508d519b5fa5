"""The desktop app driven like a user: real widgets (offscreen), a real SQLite store, a real
AMI recording. Every correction is checked in the database through a second connection."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication

from meetings.types import AttributedWord, AudioInfo, FlagReason, PipelineOptions, Turn, Word
from tests.conftest import eval_item

pytestmark = pytest.mark.qt

ITEM = "ami_EN2005a_000-030s"


# ---------------------------------------------------------------------- data
def reference_turns(tsv: Path, *, chunk: int = 0) -> list[Turn]:
    """Turns from an AMI word-level reference: consecutive words of one speaker (cut every
    ``chunk`` words when given), with the confidence and flags the pipeline would give."""
    rows = sorted(csv.DictReader(tsv.open(encoding="utf-8"), delimiter="\t"), key=lambda r: float(r["start"]))
    groups: list[tuple[str, list[dict]]] = []
    for r in rows:
        if groups and groups[-1][0] == r["speaker"] and not (chunk and len(groups[-1][1]) >= chunk):
            groups[-1][1].append(r)
        else:
            groups.append((r["speaker"], [r]))
    turns = []
    for i, (spk, rs) in enumerate(groups):
        words = tuple(
            AttributedWord(Word(float(r["start"]), float(r["end"]), " " + r["word"], 0.3 if j % 7 == 3 else 0.9), spk)
            for j, r in enumerate(rs)
        )
        flags: tuple[FlagReason, ...] = ()
        confidence = 0.92
        if len(rs) < 3:
            flags, confidence = (FlagReason.SHORT_TURN,), 0.45
        if i % 4 == 2:
            flags, confidence = flags + (FlagReason.OVERLAP,), 0.38
        turns.append(Turn(spk, words[0].word.start, words[-1].word.end, words, confidence, flags,
                          overlapped=FlagReason.OVERLAP in flags))
    return turns


def make_meeting(store, tmp_path: Path, item: str = ITEM, title: str = "Flood damage review", turns=None) -> int:
    """A finished meeting in ``store``: a copy of the real recording and its reference turns."""
    wav_src = eval_item(item)
    wav = tmp_path / f"{item}-{title.replace(' ', '_')}.wav"
    shutil.copy(wav_src, wav)
    info = AudioInfo(str(wav_src), f"sha-{item}-{title}", 30.0, 16000, 1, "pcm_s16le", "wav")
    meeting_id = store.begin_meeting(title, info, str(wav), PipelineOptions(), "tiny.en", "embedded")
    turns = turns if turns is not None else reference_turns(wav_src.with_suffix(".words.tsv"))
    speakers = tuple(dict.fromkeys(t.speaker for t in turns))
    store.save_result(meeting_id, speakers=speakers, centroids=None, turns=turns, language="en")
    return meeting_id


def fresh(store):
    """A second connection to the same database file: sees only what was committed."""
    from meetings.store import Store

    return Store(store.path)


# ---------------------------------------------------------------------- widgets
@pytest.fixture
def window(qtbot, store, tmp_path):
    from desktop.main_window import MainWindow

    w = MainWindow(store, settings_path=tmp_path / "desktop.json")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    yield w
    w.close()


@pytest.fixture
def meeting(store, tmp_path):
    return make_meeting(store, tmp_path)


@pytest.fixture
def view(window, meeting):
    window.open_meeting(meeting)
    v = window.transcript
    v.setFocus()
    return v


def key(qtbot, view, k, mod=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(view, k, mod)


def click_word(qtbot, view, turn_index: int, word_index: int) -> None:
    """Click the middle of a word on screen (real hit-testing through the document layout)."""
    b = view.browser
    a, e = b.layout_info.word_span(turn_index, word_index)
    b.scroll_to_turn(turn_index)
    c = QTextCursor(b.document())
    c.setPosition(a)
    left = b.cursorRect(c)
    c.setPosition(e)
    right = b.cursorRect(c)
    qtbot.mouseClick(b.viewport(), Qt.MouseButton.LeftButton, pos=QPoint((left.left() + right.left()) // 2, left.center().y()))


def db_turns(store, meeting_id):
    return fresh(store).turns(meeting_id)


# ---------------------------------------------------------------------- library + search
def test_library_lists_meetings_with_their_counts(window, store, tmp_path):
    a = make_meeting(store, tmp_path, title="Flood damage review")
    b = make_meeting(store, tmp_path, item="ami_EN2009b_000-030s", title="Design sync")
    window.library.refresh()
    model = window.library.model
    assert model.rowCount() == 2
    rows = {model.meeting(r).id: r for r in range(2)}
    m = store.get_meeting(a)
    assert model.index(rows[a], 0).data() == "Flood damage review"
    assert model.index(rows[a], 3).data() == str(m.num_speakers) == "3"
    assert model.index(rows[a], 4).data() == f"{m.num_flagged} of {m.num_turns}"
    assert m.num_flagged > 0
    assert model.index(rows[b], 5).data() == "done"
    # double-click opens the transcript
    proxy_index = window.library.proxy.mapFromSource(model.index(rows[b], 0))
    window.library.table.doubleClicked.emit(proxy_index)
    assert window.stack.currentWidget() is window.transcript
    assert window.transcript.session.meeting_id == b


def test_search_finds_a_turn_and_opens_the_meeting_there(window, store, meeting, qtbot):
    window.library.refresh()
    qtbot.keyClicks(window.library.search_box, "ceilings")
    window.library.run_search()
    results = window.library.results
    assert results.count() == 1
    hit_text = results.item(0).text()
    assert "Flood damage review" in hit_text and "ceilings" in hit_text
    with qtbot.waitSignal(window.meetingOpened, timeout=5000):
        results.itemClicked.emit(results.item(0))
    turn = window.transcript.session.turn
    assert "ceilings" in turn.text
    assert window.stack.currentWidget() is window.transcript


# ---------------------------------------------------------------------- review keys
def test_next_flag_then_assign_speaker_two_by_key(view, store, meeting, qtbot):
    turns = db_turns(store, meeting)
    first_flagged = next(i for i, t in enumerate(turns) if t.flags)
    view.session.select(0)
    key(qtbot, view, Qt.Key.Key_N)
    assert view.session.current == first_flagged
    assert view.browser._current == first_flagged  # drawn as the current turn
    key(qtbot, view, Qt.Key.Key_N)
    second = view.session.current
    assert second > first_flagged and turns[second].flags
    key(qtbot, view, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert view.session.current == first_flagged

    target = view.session.turn
    speaker2 = fresh(store).speakers(meeting)[1]
    assert target.speaker_id != speaker2.id
    key(qtbot, view, Qt.Key.Key_2)
    after = {t.id: t for t in db_turns(store, meeting)}
    assert after[target.id].speaker_id == speaker2.id
    assert after[target.id].speaker_name == speaker2.name
    assert view.session.turn.id == target.id  # the view reloaded from the store, same turn
    assert view.session.turn.speaker_id == speaker2.id


def test_accept_marks_reviewed_and_moves_on(view, store, meeting, qtbot):
    key(qtbot, view, Qt.Key.Key_N)
    turn = view.session.turn
    key(qtbot, view, Qt.Key.Key_Return)
    after = {t.id: t for t in db_turns(store, meeting)}
    assert after[turn.id].reviewed
    assert view.session.turn.id != turn.id and view.session.turn.flags  # on to the next flagged turn
    assert fresh(store).get_meeting(meeting).num_flagged == store.get_meeting(meeting).num_flagged


def test_rename_speaker_everywhere(view, store, meeting, qtbot):
    view.session.select(0)
    spk = view.session.turn.speaker_id
    key(qtbot, view, Qt.Key.Key_R)
    dialog = view.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.name_edit.setText("Fiona")
    dialog.accept()
    turns = db_turns(store, meeting)
    assert {t.speaker_name for t in turns if t.speaker_id == spk} == {"Fiona"}
    assert any(s.name == "Fiona" for s in fresh(store).speakers(meeting))
    assert "Fiona" in view.legend.item(0).text()


def test_reassign_all_turns_of_a_speaker(view, store, meeting, qtbot):
    speakers = fresh(store).speakers(meeting)
    third = next(i for i, t in enumerate(view.session.turns) if t.speaker_id == speakers[2].id)
    view.session.select(third)
    key(qtbot, view, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = view.dialog
    dialog.combo.setCurrentIndex(dialog.combo.findData(speakers[0].id))
    dialog.accept()
    turns = db_turns(store, meeting)
    assert not any(t.speaker_id == speakers[2].id for t in turns)


def test_merge_two_speakers(view, window, store, meeting, qtbot):
    speakers = fresh(store).speakers(meeting)
    n_turns_1 = sum(1 for t in db_turns(store, meeting) if t.speaker_id == speakers[1].id)
    key(qtbot, view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = view.dialog
    dialog.drop_combo.setCurrentIndex(dialog.drop_combo.findData(speakers[1].id))
    dialog.keep_combo.setCurrentIndex(dialog.keep_combo.findData(speakers[0].id))
    dialog.accept()
    after = fresh(store)
    assert [s.id for s in after.speakers(meeting)] == [speakers[0].id, speakers[2].id]
    turns = after.turns(meeting)
    assert not any(t.speaker_id == speakers[1].id for t in turns)
    assert sum(1 for t in turns if t.speaker_id == speakers[0].id) >= n_turns_1
    assert view.legend.count() == 2
    assert window.library.model.meeting(0).num_speakers == 2


def test_split_at_clicked_word_then_merge_back(view, store, meeting, qtbot):
    before = db_turns(store, meeting)
    long_i = max(range(len(before)), key=lambda i: len(before[i].words))
    turn = before[long_i]
    click_word(qtbot, view, long_i, 4)
    assert view.session.current == long_i and view.session.selected_word == 4
    assert abs(view.player.position() - turn.words[4].start) < 0.05  # the click seeked
    key(qtbot, view, Qt.Key.Key_S)
    after = db_turns(store, meeting)
    assert len(after) == len(before) + 1
    head = next(t for t in after if t.id == turn.id)
    tail = after[after.index(head) + 1]
    assert [w.text for w in head.words] == [w.text for w in turn.words[:4]]
    assert [w.text for w in tail.words] == [w.text for w in turn.words[4:]]
    assert view.session.turn.id == tail.id  # the view is on the new turn

    key(qtbot, view, Qt.Key.Key_M)
    merged = db_turns(store, meeting)
    assert len(merged) == len(before)
    assert [w.text for w in merged[long_i].words] == [w.text for w in turn.words]


def test_split_without_a_selected_word_explains_itself(view, store, meeting, qtbot, window):
    before = len(db_turns(store, meeting))
    view.session.select(0)
    key(qtbot, view, Qt.Key.Key_S)
    assert len(db_turns(store, meeting)) == before
    assert "Click the word" in window.statusBar().currentMessage()


def test_undo_and_redo_by_keys(view, store, meeting, qtbot):
    ctrl, shift = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
    view.session.select(0)
    turn = view.session.turn
    speakers = fresh(store).speakers(meeting)
    key(qtbot, view, Qt.Key.Key_3)
    assert next(t for t in db_turns(store, meeting) if t.id == turn.id).speaker_id == speakers[2].id
    key(qtbot, view, Qt.Key.Key_Z, ctrl)
    assert next(t for t in db_turns(store, meeting) if t.id == turn.id).speaker_id == turn.speaker_id
    assert view.session.turn.speaker_id == turn.speaker_id
    key(qtbot, view, Qt.Key.Key_Z, ctrl | shift)
    assert next(t for t in db_turns(store, meeting) if t.id == turn.id).speaker_id == speakers[2].id
    assert view.session.turn.speaker_id == speakers[2].id
    (audit,) = fresh(store).corrections(meeting)  # one audited correction, in effect again
    assert audit.action == "reassign_turn" and not audit.undone


def test_flagged_turns_show_their_reason(view):
    text = view.browser.toPlainText()
    assert "⚑ very short turn" in text and "overlapping speech" in text
    flagged = [i for i, t in enumerate(view.session.turns) if t.flags]
    assert flagged and all(view.browser.layout_info.flagged[i] for i in flagged)


# ---------------------------------------------------------------------- playback
def test_playback_keys_and_word_sync(view, qtbot):
    player = view.player
    assert not player.playing
    key(qtbot, view, Qt.Key.Key_BracketRight)
    assert player.rate == 1.25 and view.speed.currentData() == 1.25
    key(qtbot, view, Qt.Key.Key_BracketLeft)
    key(qtbot, view, Qt.Key.Key_BracketLeft)
    assert player.rate == 0.75
    view.session.select(0)
    start = view.session.turn.words[0].start
    player.seek(start)
    key(qtbot, view, Qt.Key.Key_Space)
    assert player.playing
    qtbot.waitUntil(lambda: player.position() > start + 0.4, timeout=10000)
    qtbot.waitUntil(lambda: view.browser._playing is not None and view.browser._playing[1] > 0, timeout=10000)
    key(qtbot, view, Qt.Key.Key_Space)
    assert not player.playing


def test_loop_current_turn(view, qtbot):
    turns = view.session.turns
    i = next(k for k, t in enumerate(turns) if 1.0 < t.end - t.start < 4.0)
    view.session.select(i)
    key(qtbot, view, Qt.Key.Key_L)
    assert view.loop_button.isChecked()
    turn = turns[i]
    assert view.player.loop == (turn.start, turn.end)
    key(qtbot, view, Qt.Key.Key_Space)
    looped = []
    view.player.positionChanged.connect(lambda t: looped.append(t))
    qtbot.waitUntil(lambda: any(b < a for a, b in zip(looped, looped[1:])), timeout=15000)  # jumped back
    assert all(turn.start - 0.1 <= t <= turn.end + 0.2 for t in looped), (turn.start, turn.end, looped)
    key(qtbot, view, Qt.Key.Key_L)
    assert view.player.loop is None


def test_unplayable_audio_falls_back_to_a_clock(qtbot, tmp_path):
    from desktop.player import Player

    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really audio" * 50)
    player = Player(outputs=lambda: ["speakers"])  # a sound output there is: the file itself fails
    with qtbot.waitSignal(player.notice, timeout=10000) as notice:
        player.load(str(bad), duration=5.0)
    assert "failed" in notice.args[0] and not player.has_audio
    player.play()
    qtbot.waitUntil(lambda: player.position() > 0.2, timeout=5000)
    player.pause()


def test_no_sound_output_is_said_and_playback_follows_a_clock(qtbot, tmp_path):
    from desktop.player import Player

    player = Player(outputs=lambda: [])  # a machine without a sound card (what Qt lists there)
    with qtbot.waitSignal(player.notice, timeout=5000) as notice:
        player.load(str(eval_item(ITEM)), duration=30.0)
    assert notice.args[0].startswith("no audio output device") and not player.has_audio
    player.play()
    qtbot.waitUntil(lambda: player.position() > 0.2, timeout=5000)
    player.pause()


def test_clock_playback_without_an_audio_device(qtbot):
    from desktop.player import Player

    player = Player(use_audio=False)
    player.load("/nonexistent.wav", duration=10.0)
    assert not player.has_audio
    player.set_rate(2.0)
    player.play()
    qtbot.waitUntil(lambda: player.position() > 0.5, timeout=5000)
    player.set_loop((1.0, 1.3))
    qtbot.waitUntil(lambda: 1.0 <= player.position() < 1.3, timeout=5000)
    player.pause()
    frozen = player.position()
    assert player.position() == frozen and not player.playing


# ---------------------------------------------------------------------- summaries
def test_summaries_panel_shows_markdown_and_goes_stale_after_a_correction(view, store, meeting, qtbot):
    spk = store.speakers(meeting)[0]
    store.add_summary(meeting, speaker_id=spk.id, kind="speaker", model="local", prompt_version="1",
                      content_json="{}", markdown="- wants the **floods** report by Friday", local=True)
    view.open_meeting(meeting)
    panel = view.summaries
    assert "floods report by Friday" in panel.view.toPlainText()
    assert spk.name in panel.view.toPlainText()
    assert panel.badge.isHidden()
    view.session.select(0)
    qtbot.keyClick(view, Qt.Key.Key_2)  # any correction makes the summary stale
    assert fresh(store).summaries(meeting)[0].stale
    assert not panel.badge.isHidden() and "stale" in panel.badge.text()
    assert "stale" in panel.view.toPlainText()


def test_summaries_panel_without_summaries_support(qtbot):
    from desktop.summaries_panel import SummariesPanel

    panel = SummariesPanel()
    qtbot.addWidget(panel)
    panel.load(object(), 1)
    assert panel.badge.isHidden() and "not available" in panel.view.toPlainText()


# ---------------------------------------------------------------------- parley app
def test_parley_app_opens_the_given_database_and_quits_cleanly(qtbot, store, meeting, tmp_path, monkeypatch):
    from PySide6.QtCore import QTimer

    from desktop.app import main
    from desktop.main_window import MainWindow

    monkeypatch.setenv("PARLEY_CONFIG_DIR", str(tmp_path / "config"))
    seen = []

    def look_and_close():
        (window,) = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen.append(window.library.model.rowCount())
        window.close()

    QTimer.singleShot(0, look_and_close)
    assert main(db=store.path) == 0
    assert seen == [1]
