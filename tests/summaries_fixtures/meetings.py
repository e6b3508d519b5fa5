"""Meetings in a real Store for the summaries tests, built from the reference transcripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from meetings.types import AttributedWord, AudioInfo, PipelineOptions, Turn, Word


def turn(label: str, start: float, end: float, text: str) -> Turn:
    """A turn whose words are spread evenly over [start, end] (the references time segments, not words)."""
    words = text.split() or ["…"]
    step = max(end - start, 0.1) / len(words)
    return Turn(
        label, start, start + step * len(words),
        tuple(AttributedWord(Word(start + i * step, start + (i + 0.9) * step, " " + w, 0.9), label) for i, w in enumerate(words)),
    )


def store_turns(store, turns: Sequence[Turn], *, title: str = "Meeting", names: dict[str, str] | None = None) -> int:
    """Save ``turns`` as a finished meeting; ``names`` renames speakers by label."""
    duration = max((t.end for t in turns), default=1.0)
    info = AudioInfo(f"/audio/{title}.wav", f"sha-{title}-{len(turns)}", duration, 16000, 1, "pcm_s16le", "wav")
    mid = store.begin_meeting(title, info, info.source_path, PipelineOptions(), "tiny.en", "embedded")
    labels = tuple(dict.fromkeys(t.speaker for t in sorted(turns, key=lambda t: t.start)))
    store.save_result(mid, speakers=labels, centroids=None, turns=list(turns), language="en")
    for spk in store.speakers(mid):
        if names and spk.label in names:
            store.rename_speaker(spk.id, names[spk.label])
    return mid


def release_meeting(store) -> int:
    """Alice commits to the release notes, Bob asks, Alice states the decision: the small meeting
    both summary engines' tests summarise."""
    turns = [
        turn("SPK_A", 0.0, 4.0, "I'll write the release notes by Friday."),
        turn("SPK_B", 5.0, 9.0, "Thanks Alice. Can we ship on Friday?"),
        turn("SPK_A", 70.0, 75.0, "We decided to ship on Friday, Bob."),
    ]
    return store_turns(store, turns, title="Release", names={"SPK_A": "Alice Jones", "SPK_B": "Bob Smith"})


def seglst_turns(path: Path, offset: float = 0.0) -> list[Turn]:
    entries = json.loads(Path(path).read_text())
    return [turn(e["speaker"], offset + float(e["start_time"]), offset + float(e["end_time"]), e["words"]) for e in entries if e["words"].strip()]


def long_meeting_turns(eval_dir: Path) -> list[Turn]:
    """The meeting sessions of the eval set (AMI excerpts and the pyannote call), one after another:
    a long, many-speaker meeting. A fixed set, so the chunk and merge plan it needs does not move
    when a new item (the 4-minute phone call, say) joins the eval set."""
    turns: list[Turn] = []
    offset = 0.0
    for path in sorted(p for p in eval_dir.glob("*/*.seglst.json") if p.parent.name.startswith(("ami_", "pyannote_"))):
        part = seglst_turns(path, offset)
        turns += part
        offset = max([t.end for t in part] + [offset]) + 5.0
    return turns
