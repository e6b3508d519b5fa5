"""People with real CAM++ embeddings on eval audio: enrol from one AMI meeting (ES2003a), name the same
people in the next one of the series (ES2003b), a stranger (EN2004a) not named, two speakers never
one person, rename / merge / forget (the voiceprint gone from the database file), a profile from
another embedding model ignored, and a real import through the pipeline naming who it knows."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import soundfile as sf

from meetings import people as P
from meetings.types import AttributedWord, AudioInfo, PipelineOptions, Turn, Word

from .conftest import EVAL, eval_item

pytestmark = pytest.mark.models

A, B, STRANGER = "ami_ES2003a_000-030s", "ami_ES2003b_000-030s", "ami_EN2004a_000-030s"


@pytest.fixture(scope="module")
def embedder(engine):
    return P.embedder_for(engine.diarizer)


def reference_meeting(store, name: str, relabel: tuple[float, float, str] | None = None) -> int:
    """A stored meeting made of the reference words (speaker = AMI participant id) over the real audio;
    ``relabel`` (start, end, speaker) gives the turns starting in that stretch to another speaker (a diarization error)."""
    wav = eval_item(name)
    rows = list(csv.DictReader(open(EVAL / name / f"{name}.words.tsv"), delimiter="\t"))
    words = sorted((float(r["start"]), float(r["end"]), r["speaker"], r["word"]) for r in rows)
    attributed = []
    for i, (a, b, spk, text) in enumerate(words):
        others = tuple(sorted({w[2] for w in words if w[2] != spk and w[0] < b and w[1] > a}))
        attributed.append(AttributedWord(Word(a, b, " " + text, 0.9), spk, others))
    turns, run = [], []
    for w in attributed:
        if run and (w.speaker != run[-1].speaker or w.word.start - run[-1].word.end > 1.0):
            turns.append(Turn(run[0].speaker, run[0].word.start, run[-1].word.end, tuple(run), overlapped=False))
            run = []
        run.append(w)
    turns.append(Turn(run[0].speaker, run[0].word.start, run[-1].word.end, tuple(run)))
    if relabel is not None:  # whole turns starting in the stretch go to another speaker
        lo, hi, to = relabel
        turns = [Turn(to, t.start, t.end, tuple(AttributedWord(w.word, to, w.overlapping) for w in t.words))
                 if lo <= t.start < hi else t for t in turns]
    info = AudioInfo(str(wav), name, 30.0, 16000, 1, "pcm_s16le", "wav")
    mid = store.begin_meeting(name, info, str(wav), PipelineOptions(), "reference", "embedded")
    store.save_result(mid, speakers=sorted({t.speaker for t in turns}), centroids=None, turns=turns, language="en")
    return mid


def spk(store, mid, label):
    return next(s.id for s in store.speakers(mid) if s.label == label)


def names(store, mid) -> dict[str, str]:
    return {s.label: s.name for s in store.speakers(mid)}


def test_enrol_then_name_the_same_people_in_the_next_meeting_and_not_a_stranger(store, embedder):
    a = reference_meeting(store, A)
    P.remember(store, spk(store, a, "MEE009"), "Marco", embedder)
    P.remember(store, spk(store, a, "MEE012"), "Luis", embedder)
    assert names(store, a) == {"MEE009": "Marco", "MEE012": "Luis"}
    assert [(p.name, p.samples) for p in P.people(store)] == [("Luis", 1), ("Marco", 1)]
    assert all(p.seconds > 3 for p in P.people(store))

    b = reference_meeting(store, B)
    got = {n.label: n for n in P.auto_name(store, b, embedder)}
    assert (got["MEE009"].status, got["MEE009"].name) == ("named", "Marco")
    assert (got["MEE012"].status, got["MEE012"].name) == ("named", "Luis")
    assert [t.speaker_name for t in store.turns(b) if t.speaker_label == "MEE009"][0] == "Marco"

    s = reference_meeting(store, STRANGER)
    assert {n.status for n in P.auto_name(store, s, embedder)} <= {"unnamed", "suggested"}
    assert not any(name in ("Marco", "Luis") for name in names(store, s).values())


def test_a_turn_that_sounds_like_another_known_speaker_is_flagged(store, embedder):
    a = reference_meeting(store, A)
    P.remember(store, spk(store, a, "MEE009"), "Marco", embedder)
    P.remember(store, spk(store, a, "MEE012"), "Luis", embedder)
    b = reference_meeting(store, B, relabel=(4.0, 6.6, "MEE009"))  # Luis's first turn given to Marco
    P.auto_name(store, b, embedder)
    assert {s.label: s.name for s in store.speakers(b)}["MEE009"] == "Marco"
    P.remember(store, spk(store, b, "MEE012"), "Luis", None, learn=False)  # (3 s left of him: the user names him)
    checks = P.rescore_turns(store, b, embedder)
    wrong = next(t for t in store.turns(b) if t.start < 5.0)
    assert [c.turn_id for c in checks] == [wrong.id]
    assert checks[0].other > checks[0].own and checks[0].other_speaker_id == spk(store, b, "MEE012")
    assert "ambiguous_voice" in [f.value for f in store.turn(wrong.id).flags]


def test_two_speakers_are_never_one_person(store, embedder):
    a = reference_meeting(store, A)
    P.remember(store, spk(store, a, "MEE009"), "Marco", embedder)  # only Marco is known
    b = reference_meeting(store, B)
    got = {n.label: n for n in P.auto_name(store, b, embedder)}
    assert got["MEE009"].name == "Marco" and got["MEE012"].name != "Marco" and got["MEE012"].status != "named"
    # the user cannot make the other speaker Marco too
    with pytest.raises(Exception, match="already"):
        P.remember(store, spk(store, b, "MEE012"), "Marco", embedder)


def test_rename_merge_forget_and_a_profile_of_another_model(store, embedder, tmp_path):
    a = reference_meeting(store, A)
    P.remember(store, spk(store, a, "MEE009"), "Marco", embedder)
    # a short recording of the same man (5 s of him alone in ES2003b) enrolled under another name
    audio, sr = sf.read(eval_item(B), dtype="float32")
    clip = tmp_path / "marco.wav"
    sf.write(clip, audio[int(6.9 * sr):int(11.7 * sr)], sr)
    P.enrol_recording(store, "M. Rossi", clip, embedder)
    assert P.find_person(store, "M. Rossi").samples == 1
    P.rename_person(store, "Marco", "Marco Rossi")
    assert names(store, a)["MEE009"] == "Marco Rossi"
    merged = P.merge_people(store, "Marco Rossi", "M. Rossi")
    assert merged.samples == 2 and P.find_person(store, "M. Rossi") is None

    b = reference_meeting(store, B)
    assert names(store, b)["MEE009"].startswith("Speaker")
    assert {n.label: n.name for n in P.auto_name(store, b, embedder)}["MEE009"] == "Marco Rossi"

    # forgetting him removes his voiceprints from the file itself
    blobs = [bytes(r[0]) for r in store.conn.execute("SELECT vec_sum FROM voice_samples")]
    store.checkpoint()
    assert all(blob in store.path.read_bytes() for blob in blobs)
    P.forget(store, "Marco Rossi")
    wal = store.path.with_name(store.path.name + "-wal")
    data = store.path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert not any(blob[:96] in data for blob in blobs)
    assert names(store, b)["MEE009"] == "Marco Rossi"  # transcripts keep the name, without the link
    assert [n.status for n in P.namings(store, b)] == ["unnamed", "unnamed"]

    # a profile of another embedding model is never compared, even one that would match
    other = P.create_person(store, "Other model")
    vp = P.speaker_voice(store, spk(store, b, "MEE009"), embedder)
    with store.transaction():
        store.conn.execute("INSERT INTO voice_samples (person_id, model, vec_sum, n, seconds, source, created_at) VALUES"
                           " (?, 'pyannote:some/other-embedding', ?, ?, ?, 'file', 'now')",
                           (other.id, np.asarray(vp.vec_sum, np.float32).tobytes(), vp.n, vp.seconds))
    assert all(n.status != "named" for n in P.auto_name(store, b, embedder))


def test_an_import_through_the_pipeline_names_the_people_it_knows(store, embedder, engine, capsys):
    from meetings.people_cli import print_naming

    a = reference_meeting(store, A)
    P.remember(store, spk(store, a, "MEE009"), "Marco", embedder)
    P.remember(store, spk(store, a, "MEE012"), "Luis", embedder)
    result = engine.import_file(eval_item(B), store)
    got = P.namings(store, result.meeting_id)
    named = [n for n in got if n.status == "named"]
    assert named, got
    assert len({n.person_id for n in named}) == len(named)  # never two speakers as one person
    # the one who talks most in ES2003b is MEE009 (Marco)
    talk: dict[int, float] = {}
    for t in store.turns(result.meeting_id):
        talk[t.speaker_id] = talk.get(t.speaker_id, 0.0) + t.end - t.start
    top = max(talk, key=talk.get)
    assert next(n for n in got if n.speaker_id == top).name == "Marco"
    print_naming(store, result.meeting_id)
    assert "named from voice profiles:" in capsys.readouterr().err
