"""The Live page's streaming transcript widget on typed events (real Qt widgets, no models)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from meetings.events import LiveCommitted, LivePartial, LiveSpeaker, LiveSpeakerDropped
from meetings.types import Word

pytestmark = pytest.mark.qt


def _speakers(view) -> list[str]:
    return [view.speaker_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(view.speaker_list.count())]


def test_a_label_shown_for_a_new_voice_moves_its_words_and_goes_when_dropped(qtbot):
    from desktop.live_transcript import LiveTranscriptView

    view = LiveTranscriptView()
    qtbot.addWidget(view)
    view.on_event(LiveSpeaker("S1", "Speaker 1", 1))
    view.on_event(LiveCommitted("system", 1, "S1", (Word(0.0, 0.4, " hello", 0.9),)))
    view.on_event(LiveSpeaker("S2", "Speaker 2", 2))  # a new voice, labelled while it speaks
    view.on_event(LivePartial("system", 2, "S2", (Word(1.0, 1.4, " so", 0.9), Word(1.4, 1.8, " anyway", 0.9))))
    assert _speakers(view) == ["LOCAL", "S1", "S2"]
    assert view.line_texts()[-1] == "Speaker 2: so anyway"
    view.on_event(LiveSpeaker("S1", "Speaker 1", 2))  # the whole utterance was S1's
    view.on_event(LiveSpeakerDropped("S2"))
    assert _speakers(view) == ["LOCAL", "S1"]
    assert view.line_texts() == ["Speaker 1: hello", "Speaker 1: so anyway"]
