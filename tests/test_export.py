"""Transcript exporters on a hand-built document (no store, no models)."""

from __future__ import annotations

import json
import re

import pytest

from meetings.errors import ParleyError
from meetings.export import FORMATS, ExportDoc, ExportTurn, export, timestamp


def _timed(start: float, texts: list[str], step: float = 0.5):
    return tuple((start + i * step, start + (i + 1) * step, f" {w}", 0.9) for i, w in enumerate(texts))


LONG_WORDS = [f"w{i}" for i in range(1200)]  # 10 minutes at 0.5 s a word
TURNS = (
    ExportTurn("Speaker 1", 0.0, 3.0, "Fish & chips <b>, okay?", 0.95, (), False,
               _timed(0.0, ["Fish", "&", "chips", "<b>,", "okay?"], 0.6)),
    ExportTurn("Speaker 2", 2.5, 4.25, "Ça va — 日本語, naïve!", 0.4, ("overlap", "short_turn"), True),  # no words
    ExportTurn("Speaker 1", 5.0, 5.0, "Hm.", 0.3, ("no_timestamps",), False),  # zero length
    ExportTurn("Speaker 2", 10.0, 610.0, " ".join(LONG_WORDS), 0.8, (), False, _timed(10.0, LONG_WORDS)),
)
DOC = ExportDoc("Weekly sync", 610.0, ("Speaker 1", "Speaker 2"), TURNS, "### Actions\n\n- ship it")

CUE_TIME = r"(\d\d):(\d\d):(\d\d)[,.](\d{3})"
CUE = re.compile(rf"^{CUE_TIME} --> {CUE_TIME}$")


def _secs(h, m, s, ms) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_cues(text: str, fmt: str) -> list[tuple[float, float, str]]:
    """(start, end, text) per cue; asserts the block structure of SRT / WebVTT."""
    blocks = text.strip("\n").split("\n\n")
    if fmt == "vtt":
        assert blocks.pop(0) == "WEBVTT"
    cues = []
    for i, block in enumerate(blocks, 1):
        lines = block.split("\n")
        if fmt == "srt":
            assert lines.pop(0) == str(i)
        m = CUE.match(lines[0])
        assert m, lines[0]
        assert len(lines) == 2 and lines[1]
        cues.append((_secs(*m.groups()[:4]), _secs(*m.groups()[4:]), lines[1]))
    return cues


def test_timestamp():
    assert [timestamp(t) for t in (0, 62.9, 3723.0, -1)] == ["00:00:00", "00:01:02", "01:02:03", "00:00:00"]


def test_txt_marks_overlap_and_flags():
    lines = export(DOC, "txt").splitlines()
    assert len(lines) == len(TURNS)
    assert lines[0] == "[00:00:00] Speaker 1: Fish & chips <b>, okay?"
    assert lines[1] == "[00:00:02] Speaker 2 (overlapping): Ça va — 日本語, naïve! [check: overlap, short_turn]"


def test_md_has_title_speakers_turns_and_summaries():
    md = export(DOC, "md")
    assert md.startswith("# Weekly sync\n\n**Speakers:** Speaker 1, Speaker 2\n")
    assert "**Speaker 2** [00:00:02]: Ça va — 日本語, naïve! *(overlapping; check: overlap, short_turn)*" in md
    assert r"Fish & chips \<b\>, okay?" in md
    assert md.rstrip().endswith("## Summaries\n\n### Actions\n\n- ship it")
    no_summary = ExportDoc(DOC.title, DOC.duration, DOC.speakers, DOC.turns)
    assert "## Summaries" not in export(no_summary, "md")


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_well_formed_and_split(fmt):
    cues = parse_cues(export(DOC, fmt), fmt)
    assert all(end > start for start, end, _ in cues)
    assert [c[0] for c in cues] == sorted(c[0] for c in cues)
    long = [c for c in cues if c[0] >= 10.0]
    assert len(long) >= 600 / 7
    assert all(a[1] <= b[0] for a, b in zip(long, long[1:]))  # a turn's cues never overlap
    body = [re.sub(r"^(<v Speaker 2>|Speaker 2: )|</v>$", "", text) for _, _, text in long]
    assert all(end - start <= 7.0 for start, end, _ in long) and all(len(b) <= 84 for b in body)
    assert " ".join(body) == " ".join(LONG_WORDS)  # no word lost or repeated
    assert any("日本語" in text for _, _, text in cues)


def test_srt_and_vtt_speaker_syntax_and_escaping():
    srt, vtt = export(DOC, "srt"), export(DOC, "vtt")
    assert "00:00:00,000 --> 00:00:03,000\nSpeaker 1: Fish & chips <b>, okay?" in srt
    assert "00:00:00.000 --> 00:00:03.000\n<v Speaker 1>Fish &amp; chips &lt;b&gt;, okay?</v>" in vtt


def test_long_turn_without_words_is_split_evenly():
    turn = ExportTurn("A", 0.0, 600.0, " ".join(LONG_WORDS), 1.0, (), False)
    cues = parse_cues(export(ExportDoc("t", 600.0, ("A",), (turn,)), "srt"), "srt")
    assert len(cues) >= 600 / 7 and all(0 < end - start <= 7.0 for start, end, _ in cues)
    assert cues[0][0] == 0.0 and cues[-1][1] == 600.0


def test_json_round_trips():
    text = export(DOC, "json")
    assert "日本語" in text  # ensure_ascii=False
    data = json.loads(text)
    assert set(data) == {"title", "duration", "speakers", "turns"}
    assert data["speakers"] == ["Speaker 1", "Speaker 2"]
    t = data["turns"][1]
    assert t == {"speaker": "Speaker 2", "start": 2.5, "end": 4.25, "text": "Ça va — 日本語, naïve!",
                 "confidence": 0.4, "flags": ["overlap", "short_turn"], "overlapped": True, "words": []}
    assert data["turns"][0]["words"][1] == {"start": 0.6, "end": 1.2, "text": " &", "probability": 0.9}
    assert len(data["turns"][3]["words"]) == 1200


def test_json_rounds_floats():
    turn = ExportTurn("A", 1.23456, 2.0004, "x", 0.87654, (), False, ((1.23456, 2.0004, "x", 0.33333),))
    t = json.loads(export(ExportDoc("t", 2.0004, ("A",), (turn,)), "json"))["turns"][0]
    assert (t["start"], t["end"], t["confidence"], t["words"][0]["probability"]) == (1.235, 2.0, 0.877, 0.333)


def test_rttm_parses_back_to_turns():
    segments = []
    for line in export(DOC, "rttm").splitlines():
        f = line.split()
        assert len(f) == 10 and f[:3] == ["SPEAKER", "Weekly_sync", "1"] and f[5:7] == f[8:] == ["<NA>", "<NA>"]
        segments.append((float(f[3]), float(f[3]) + float(f[4]), f[7]))
    expected = [(t.start, t.end, t.speaker.replace(" ", "_")) for t in TURNS if t.end > t.start]
    assert [s for *_, s in segments] == [s for *_, s in expected]
    assert [t for seg in segments for t in seg[:2]] == pytest.approx([t for seg in expected for t in seg[:2]])


def test_every_format_renders_an_empty_doc():
    empty = ExportDoc("", 0.0, (), ())
    for fmt in FORMATS:
        assert isinstance(export(empty, fmt), str)
    assert export(empty, "vtt") == "WEBVTT\n"


def test_unknown_format_raises():
    with pytest.raises(ParleyError, match="txt, md, srt, vtt, json, rttm") as info:
        export(DOC, "docx")
    assert "\n" not in str(info.value)
