"""``python -m bench.people``: naming people from voice profiles, on the eval set → ``bench/extra/people.md``.

Protocol (reference speaker turns, real CAM++ embeddings):
  * **Sessions.** AMI meetings of one series share people (EN2001a/b/d/e, EN2006a/b, ES2003a/b;
    the RTTM labels are AMI's global participant ids, and FEE083 is in both EN2005a and EN2009b):
    those files are whole sessions. Every other file is split by time into a first and a second half.
    Sessions are taken in a fixed order (series files in order; a file's first half before its second).
  * **Enrolment.** A person is enrolled from their first session with at least ``--enrol-seconds`` of
    clean speech (their RTTM speech with nobody else talking), exactly as Parley enrols a meeting speaker
    (:func:`diarization.profiles.voiceprint`: ~3 s windows, unit CAM++ embeddings summed).
  * **Trials.** Every later session's speakers (with ≥ 1 s of clean speech) are matched *together*
    against *all* enrolled profiles (:func:`diarization.profiles.match`, the shipped rule): an enrolled
    person should get their own name; a person not enrolled is a **stranger** and must get none. Each
    enrolled person's trial is also run again with their own profile removed (they are then a stranger
    whose nearest other person must not be named) — most of the stranger trials come from this.
  * **Thresholds out of sample.** For each test meeting (AMI meeting / file), the rule is chosen on the
    trials of all *other* meetings (leave-one-meeting-out: no trial whose test session or whose
    profile comes from that meeting): the largest number of correct names with no wrong name; among
    ties the strictest. The figures below are those out-of-sample decisions. The shipped rule is the one
    the same procedure picks on all trials.

The main figures use the reference speakers (voiceprints from their reference turns). A second set runs the
real import pipeline on each test session and names the speakers it found (its diarization errors included).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_EVAL = REPO / "bench" / "data"
SERIES = (
    ("ami_EN2001a_000-030s", "ami_EN2001b_000-030s", "ami_EN2001d_000-030s", "ami_EN2001e_000-030s"),
    ("ami_EN2006a_000-030s", "ami_EN2006b_000-030s"),
    ("ami_ES2003a_000-030s", "ami_ES2003b_000-030s"),
)
#: AMI participant ids are global; other corpora's labels are only per file
AMI = "ami_"


@dataclass(frozen=True, slots=True)
class Sample:
    session: str
    meeting: str  # the file it comes from
    person: str
    clean: float  # seconds with nobody else talking
    total: float  # seconds of speech in the session
    vec_sum: np.ndarray
    n: int


def _clean_spans(segs, person: str, lo: float, hi: float) -> list[tuple[float, float]]:
    """The person's speech in [lo, hi) with no other speaker active (from the reference)."""
    mine = [(max(s.start, lo), min(s.end, hi)) for s in segs if s.speaker == person and s.end > lo and s.start < hi]
    others = sorted((s.start, s.end) for s in segs if s.speaker != person)
    out = []
    for a, b in mine:
        pieces = [(a, b)]
        for oa, ob in others:
            nxt = []
            for pa, pb in pieces:
                if ob <= pa or oa >= pb:
                    nxt.append((pa, pb))
                else:
                    if oa > pa:
                        nxt.append((pa, oa))
                    if ob < pb:
                        nxt.append((ob, pb))
            pieces = nxt
        out += [p for p in pieces if p[1] - p[0] > 0.05]
    return out


def sessions(eval_dir: Path) -> list[tuple[str, str, float, float]]:
    """(session, file, start, end), in enrolment order."""
    from bench.scoring import audio_path
    import soundfile as sf

    in_series = [f for s in SERIES for f in s]
    names = sorted(p.name for p in eval_dir.iterdir() if (p / f"{p.name}.rttm").exists())
    out = []
    for f in in_series:
        if f in names:
            out.append((f, f, 0.0, float(sf.info(audio_path(eval_dir, f)).duration)))
    for f in names:
        if f in in_series:
            continue
        d = float(sf.info(audio_path(eval_dir, f)).duration)
        out += [(f + "#1", f, 0.0, d / 2), (f + "#2", f, d / 2, d)]
    return out


def collect(eval_dir: Path, diarizer, model: str) -> list[Sample]:
    from bench.scoring import audio_path, load_reference
    from capture.decode import decode_to_wav, read_mono
    from diarization.profiles import voiceprint

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        wavs: dict[str, Path] = {}
        for session, f, lo, hi in sessions(eval_dir):
            if f not in wavs:
                wavs[f] = Path(tmp) / f"{f}.wav"
                decode_to_wav(audio_path(eval_dir, f), wavs[f])
            ref = load_reference(eval_dir, f, hi)
            for person in sorted({s.speaker for s in ref.segments}):
                spans = _clean_spans(ref.segments, person, lo, hi)
                total = sum(min(s.end, hi) - max(s.start, lo) for s in ref.segments if s.speaker == person and s.end > lo and s.start < hi)
                vp = voiceprint(model, diarizer.embed_many, lambda a, b: read_mono(wavs[f], a, b), spans)
                if vp is None:
                    continue
                pid = person if f.startswith(AMI) else f"{f}:{person}"
                out.append(Sample(session, f, pid, sum(b - a for a, b in spans), total, vp.vec_sum, vp.n))
    return out


@dataclass(frozen=True, slots=True)
class HypSpeaker:
    """A speaker the real pipeline found in a session, its voiceprint as Parley makes it at import
    (its clean words), and the reference person it mostly is (by time)."""

    session: str
    meeting: str
    label: str
    person: str  # majority reference person ("" when its words overlap no reference speech)
    purity: float  # share of its word time that is ``person``'s
    total: float  # the reference person's speech in the session
    clean: float
    vec_sum: np.ndarray
    n: int


def collect_pipeline(eval_dir: Path, diarizer, model: str) -> list[HypSpeaker]:
    """Run the real import pipeline (diarization, ASR, voice stage, overlap) on every session and
    voiceprint each speaker it found exactly as auto-naming does (:func:`meetings.people.speaker_voice`)."""
    from bench.scoring import audio_path, load_reference
    from capture.decode import decode_to_wav, read_mono
    from meetings import people as P
    from meetings.pipeline import Engine
    from meetings.store import Store
    from meetings.types import AudioInfo, PipelineOptions
    import soundfile as sf

    engine = Engine(PipelineOptions(device="cpu"))
    emb = P.embedder_for(engine.diarizer)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        for session, f, lo, hi in sessions(eval_dir):
            full = Path(tmp) / f"{f}.wav"
            if not full.exists():
                decode_to_wav(audio_path(eval_dir, f), full)
            wav = Path(tmp) / f"{session.replace('#', '_')}.wav"
            sf.write(wav, read_mono(full, lo, hi), 16000, subtype="PCM_16")
            p = engine.process(wav, hi - lo)
            info = AudioInfo(str(wav), session, hi - lo, 16000, 1, "pcm_s16le", "wav")
            mid = store.begin_meeting(session, info, str(wav), PipelineOptions(), "tiny.en", "embedded")
            store.save_result(mid, speakers=p.diarization.speakers, centroids=p.diarization.centroids, turns=p.turns,
                              language=p.transcript.language)
            ref = load_reference(eval_dir, f, hi)
            turns = store.turns(mid)
            for s in store.speakers(mid):
                vp = P.speaker_voice(store, s.id, emb, turns)
                if vp is None:
                    continue
                share: dict[str, float] = {}
                for t in turns:
                    for w in t.words:
                        if w.speaker_id != s.id:
                            continue
                        a, b = w.start + lo, w.end + lo
                        for seg in ref.segments:
                            ov = min(b, seg.end) - max(a, seg.start)
                            if ov > 0:
                                share[seg.speaker] = share.get(seg.speaker, 0.0) + ov
                who = max(share, key=share.get) if share else ""
                pid = (who if f.startswith(AMI) else f"{f}:{who}") if who else ""
                total = sum(min(x.end, hi) - max(x.start, lo) for x in ref.segments if x.speaker == who and x.end > lo and x.start < hi)
                out.append(HypSpeaker(session, f, s.label, pid, share.get(who, 0.0) / max(1e-9, sum(share.values())),
                                      total, vp.seconds, vp.vec_sum, vp.n))
        store.close()
    return out


def pipeline_outcomes(hyps: list[HypSpeaker], enrolled: dict[str, Sample], trials, rules) -> list[dict]:
    """The same trials as the reference protocol (profiles enrolled before the session, each known person's
    profile also left out once), but the session's speakers are those the pipeline found; each meeting's
    rule is its leave-one-meeting-out rule. A speaker named as someone other than its majority person is wrong."""
    from diarization.profiles import match

    out = []
    for t, only in trials:
        direction = next(iter(p for p, _ in t.profiles)).split("/")[0] if t.profiles else "fwd"
        present = [h for h in hyps if h.session == t.session]
        if not present:
            continue
        profiles = {p: enrolled[p].vec_sum for p, _ in t.profiles}
        speakers = {h.label: h.vec_sum for h in present}
        decisions = match(speakers, profiles, rules[t.meeting], seconds={h.label: h.clean for h in present})
        biggest: dict[str, str] = {}
        for h in sorted(present, key=lambda h: h.clean):
            biggest[h.person] = h.label  # the hypothesis speaker holding most of a person
        for h in present:
            person = f"{direction}/{h.person}" if h.person else ""
            if only is not None and person != only:
                continue
            d = decisions[h.label]
            known = person in profiles and biggest.get(h.person) == h.label
            out.append({"session": t.session, "meeting": t.meeting, "label": h.label, "person": person, "known": known,
                        "purity": h.purity, "clean": h.clean, "total": h.total, "named": d.named,
                        "correct": d.named is not None and d.named == person and known,
                        "wrong": d.named is not None and d.named != person,  # a second cluster named as its own person is not wrong
                        "suggest_ok": d.suggested == person, "score": d.score, "second": d.second, "reason": d.reason})
    return out


@dataclass(frozen=True, slots=True)
class Trial:
    session: str
    meeting: str
    speakers: tuple[Sample, ...]  # the session's speakers, matched together
    profiles: tuple[tuple[str, str], ...]  # (person, meeting it was enrolled from) in the database


def build_trials(samples: list[Sample], enrol_seconds: float, min_clean: float = 1.0):
    """Enrolled profiles ((order, person) → sample) and trials, in both session orders (forward, and
    reversed: enrolled from the later session, named in the earlier)."""
    enrolled, trials = {}, []
    for direction in ("fwd", "rev"):
        e, t = _build_trials(samples, enrol_seconds, min_clean, direction)
        enrolled.update(e)
        trials += t
    return enrolled, trials


def _build_trials(samples: list[Sample], enrol_seconds: float, min_clean: float, direction: str):
    samples = [replace(s, person=f"{direction}/{s.person}") for s in samples]
    enrolled: dict[str, Sample] = {}
    order = list(dict.fromkeys(s.session for s in samples))
    if direction == "rev":
        order.reverse()
    by_session = {k: [s for s in samples if s.session == k] for k in order}
    tests = []
    for k in order:
        present = [s for s in by_session[k] if s.clean >= min_clean]
        if any(s.person in enrolled for s in present) or present:
            tests.append((k, tuple(present), dict(enrolled)))
        for s in by_session[k]:
            if s.person not in enrolled and s.clean >= enrol_seconds:
                enrolled[s.person] = s
    trials = []
    for k, present, db in tests:
        if not db or not present:
            continue
        meeting = present[0].meeting
        profiles = tuple((p, s.meeting) for p, s in db.items())
        trials.append((Trial(k, meeting, present, profiles), None))
        for s in present:
            if s.person in db:  # the same session with this person's own profile removed
                trials.append((Trial(k, meeting, present, tuple(x for x in profiles if x[0] != s.person)), s.person))
    return enrolled, trials


def run_trial(trial: Trial, enrolled: dict[str, Sample], rule, only: str | None = None) -> list[dict]:
    """One outcome per speaker (or only for ``only``, in a leave-own-profile-out trial)."""
    from diarization.profiles import match

    speakers = {s.person: s.vec_sum for s in trial.speakers}
    profiles = {p: enrolled[p].vec_sum for p, _ in trial.profiles}
    seconds = {s.person: s.clean for s in trial.speakers}
    decisions = match(speakers, profiles, rule, seconds=seconds)
    out = []
    for s in trial.speakers:
        if only is not None and s.person != only:
            continue
        d = decisions[s.person]
        known = s.person in profiles
        out.append({
            "session": trial.session, "meeting": trial.meeting, "person": s.person, "known": known,
            "clean": s.clean, "total": s.total, "named": d.named, "suggested": d.suggested,
            "correct": d.named is not None and d.named == s.person, "wrong": d.named is not None and d.named != s.person,
            "suggest_ok": d.suggested == s.person, "score": d.score, "second": d.second, "reason": d.reason,
            "enrolled_from": next((m for p, m in trial.profiles if p == s.person), None),
        })
    return out


def outcomes(trials, enrolled, rule) -> list[dict]:
    return [o for t, only in trials for o in run_trial(t, enrolled, rule, only)]


def grid():
    from diarization.profiles import DEFAULT_RULE

    for th, m2 in itertools.product(np.arange(0.30, 0.801, 0.01), np.arange(0.0, 0.401, 0.02)):
        yield replace(DEFAULT_RULE, threshold=round(float(th), 2), margin_second=round(float(m2), 2),
                      suggest=round(min(float(th) - 0.1, DEFAULT_RULE.suggest), 2))


def choose(trials, enrolled):
    """The rule with the most correct names and no wrong name on these trials (ties: the strictest)."""
    best, key = None, None
    for rule in grid():
        res = outcomes(trials, enrolled, rule)
        wrong = sum(o["wrong"] for o in res)
        correct = sum(o["correct"] for o in res)
        k = (-wrong, correct, rule.threshold + rule.margin_second)
        if key is None or k > key:
            best, key = rule, k
    return best


def leave_one_meeting_out(trials, enrolled) -> tuple[list[dict], dict[str, object]]:
    meetings = sorted({t.meeting for t, _ in trials})
    res, rules = [], {}
    for m in meetings:
        def touches(t, only):
            if t.meeting == m:
                return True
            return any(enrolled[p].meeting == m for p, _ in t.profiles if p in {s.person for s in t.speakers})

        calib = [(t, o) for t, o in trials if not touches(t, o)]
        rule = choose(calib, enrolled)
        rules[m] = rule
        res += outcomes([(t, o) for t, o in trials if t.meeting == m], enrolled, rule)
    return res, rules


def matching_cost(n_profiles: int = 1000, n_speakers: int = 6, repeat: int = 50) -> dict:
    from diarization.profiles import DEFAULT_RULE, match

    rng = np.random.default_rng(0)
    profiles = {i: rng.standard_normal(192).astype(np.float32) for i in range(n_profiles)}
    speakers = {f"S{i}": rng.standard_normal(192).astype(np.float32) for i in range(n_speakers)}
    match(speakers, profiles, DEFAULT_RULE)
    t0 = time.perf_counter()
    for _ in range(repeat):
        match(speakers, profiles, DEFAULT_RULE)
    ms = 1000 * (time.perf_counter() - t0) / repeat
    # and reading them from a database of 1,000 people with 3 samples each, as auto-naming does
    from meetings import people as P
    from meetings.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "p.db")
        with store.transaction():
            for i in range(n_profiles):
                pid = store.conn.execute("INSERT INTO people (name, created_at) VALUES (?, 'now')", (f"P{i}",)).lastrowid
                for k in range(3):
                    v = rng.standard_normal(192).astype(np.float32)
                    store.conn.execute("INSERT INTO voice_samples (person_id, model, vec_sum, n, seconds, source, created_at)"
                                       " VALUES (?, 'm', ?, 10, 30, 'file', 'now')", (pid, v.tobytes()))
        t0 = time.perf_counter()
        for _ in range(5):
            P.profiles(store, "m")
        load_ms = 1000 * (time.perf_counter() - t0) / 5
        store.close()
    return {"profiles": n_profiles, "speakers": n_speakers, "ms": ms, "load_ms": load_ms}


def embed_cost(diarizer, seconds: float = 60.0) -> dict:
    """Seconds of CPU to voiceprint ``seconds`` of one speaker's speech (20 windows of 3 s)."""
    from diarization.profiles import voiceprint

    rng = np.random.default_rng(1)
    audio = (0.05 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)
    voiceprint("x", diarizer.embed_many, lambda a, b: audio[int(a * 16000):int(b * 16000)], [(0.0, seconds)])
    t0 = time.perf_counter()
    voiceprint("x", diarizer.embed_many, lambda a, b: audio[int(a * 16000):int(b * 16000)], [(0.0, seconds)])
    return {"speech_s": seconds, "s": time.perf_counter() - t0}


def summarize(res: list[dict]) -> dict:
    known = [o for o in res if o["known"]]
    strangers = [o for o in res if not o["known"]]
    long = [o for o in known if o["total"] >= 10.0]
    mid = [o for o in known if o["total"] >= 5.0]
    return {
        "speakers": len(res), "enrolled": len(known), "strangers": len(strangers),
        "wrong": sum(o["wrong"] for o in res), "wrong_enrolled": sum(o["wrong"] for o in known),
        "strangers_named": sum(o["wrong"] for o in strangers),
        "correct": sum(o["correct"] for o in known),
        "long": len(long), "long_correct": sum(o["correct"] for o in long),
        "mid": len(mid), "mid_correct": sum(o["correct"] for o in mid),
        "suggested_ok": sum(o["suggest_ok"] for o in known),
    }


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f} % ({a}/{b})" if b else "n/a"


def render(report: dict) -> str:
    s, r, lo = report["summary"], report["rule"], report["lomo_rules"]
    lines = [
        "## People: naming speakers from voice profiles",
        "",
        f"`python -m bench.people` ({report['date']}, {report['machine']}): {report['sessions']} sessions of "
        f"{report['files']} eval files, {report['people']} enrolments of people (≥ {report['enrol_seconds']:g} s of clean speech), "
        "reference speaker turns, real CAM++ embeddings. Protocol in `bench/people.py`'s docstring: AMI series "
        "share people across files; other files are split into halves; sessions are taken in order and again in reverse "
        "order (enrolled from the later, named in the earlier); every enrolled speaker's trial is repeated with their own "
        "profile removed (a stranger).",
        "",
        "Thresholds chosen **leave-one-meeting-out** (each meeting's speakers named by a rule chosen on the other meetings):",
        "",
        "| | figure | target |",
        "|---|---|---|",
        f"| wrong names (named as someone else, or a stranger named), of all speakers | {_pct(s['wrong'], s['speakers'])} | ≤ 1 % |",
        f"| … strangers named | {_pct(s['strangers_named'], s['strangers'])} | |",
        f"| … enrolled speakers named as another person | {_pct(s['wrong_enrolled'], s['enrolled'])} | |",
        f"| correct names, enrolled speakers who speak ≥ 10 s | {_pct(s['long_correct'], s['long'])} | ≥ 80 % |",
        f"| correct names, enrolled speakers who speak ≥ 5 s | {_pct(s['mid_correct'], s['mid'])} | |",
        f"| correct names, all enrolled speakers (≥ 1 s clean) | {_pct(s['correct'], s['enrolled'])} | |",
        f"| enrolled speakers not named but offered the right suggestion | {_pct(s['suggested_ok'], s['enrolled'])} | |",
        "",
        f"Shipped rule (the same selection on all trials, `diarization/profiles.py` `DEFAULT_RULE`): threshold "
        f"{r['threshold']:.2f}, ahead of the second-best person and of any other speaker's claim by "
        f"{r['margin_second']:.2f}, suggestions from {r['suggest']:.2f}, named only with ≥ {r['min_seconds']:g} s of clean speech. "
        f"Per-meeting out-of-sample thresholds ranged {min(x['threshold'] for x in lo.values()):.2f}–"
        f"{max(x['threshold'] for x in lo.values()):.2f}, margins {min(x['margin_second'] for x in lo.values()):.2f}–"
        f"{max(x['margin_second'] for x in lo.values()):.2f}. In sample (shipped rule on all trials): "
        f"{_pct(report['in_sample']['wrong'], report['in_sample']['speakers'])} wrong, "
        f"{_pct(report['in_sample']['long_correct'], report['in_sample']['long'])} correct (≥ 10 s).",
        "",
        *(_render_pipeline(report) if "pipeline" in report else []),
        f"Score separation (cosine of voiceprints): same person median {report['scores']['same_median']:.2f} "
        f"(min {report['scores']['same_min']:.2f}), different people median {report['scores']['diff_median']:.2f} "
        f"(max {report['scores']['diff_max']:.2f}).",
        "",
        f"Matching cost: {report['cost']['ms']:.2f} ms to match {report['cost']['speakers']} speakers against "
        f"{report['cost']['profiles']:,} profiles, plus {report['cost']['load_ms']:.0f} ms to read those profiles "
        f"(3 samples each) from SQLite; voiceprinting costs {report['embed']['s']:.2f} s per "
        f"{report['embed']['speech_s']:g} s of a speaker's speech (at most 40 windows = 120 s per speaker, so at most "
        f"≈ {report['embed']['s'] * 2:.1f} s per speaker on an import, against the pipeline's ~0.4× real time).",
        "",
        "The eval set is small "
        f"({s['speakers']} speaker trials): one wrong name would be {100 / max(1, s['speakers']):.1f} % of speakers.",
        "",
    ]
    return "\n".join(lines)


def _render_pipeline(report: dict) -> list[str]:
    s = report["pipeline"]
    return [
        f"**Through the real import pipeline** (diarization, ASR, voice stage; {report['pipeline_speakers']} speakers found "
        "in the test sessions, each voiceprinted from its own clean words as at import, and scored against the reference "
        "person holding most of its word time; the same trials and leave-one-meeting-out rules):",
        "",
        "| | figure | target |",
        "|---|---|---|",
        f"| wrong names, of all speakers found | {_pct(s['wrong'], s['speakers'])} | ≤ 1 % |",
        f"| … speakers of nobody enrolled (strangers, or a second cluster of one person) named | {_pct(s['strangers_named'], s['strangers'])} | |",
        f"| correct names, enrolled people who speak ≥ 10 s | {_pct(s['long_correct'], s['long'])} | ≥ 80 % |",
        f"| correct names, all enrolled people found | {_pct(s['correct'], s['enrolled'])} | |",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.people", description=__doc__.split("\n")[0])
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL)
    ap.add_argument("--enrol-seconds", type=float, default=3.0)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "extra" / "people.md")
    ap.add_argument("--cache", type=Path, default=None, help="reuse/save the voiceprints (JSON)")
    ap.add_argument("--no-pipeline", action="store_true", help="skip the trials through the real import pipeline (minutes)")
    args = ap.parse_args(argv)

    from diarization.diarize import Diarizer
    from diarization.profiles import embedding_model_id

    diarizer = Diarizer()
    model = embedding_model_id(diarizer)
    if args.cache and args.cache.exists():
        raw = json.loads(args.cache.read_text())
        samples = [Sample(**{**d, "vec_sum": np.asarray(d["vec_sum"], dtype=np.float32)}) for d in raw]
    else:
        samples = collect(args.eval_dir, diarizer, model)
        if args.cache:
            args.cache.write_text(json.dumps([{**asdict(s), "vec_sum": s.vec_sum.tolist()} for s in samples]))
    hyps: list[HypSpeaker] = []
    if not args.no_pipeline:
        pcache = args.cache.with_suffix(".pipeline.json") if args.cache else None
        if pcache and pcache.exists():
            hyps = [HypSpeaker(**{**d, "vec_sum": np.asarray(d["vec_sum"], dtype=np.float32)}) for d in json.loads(pcache.read_text())]
        else:
            t0 = time.perf_counter()
            hyps = collect_pipeline(args.eval_dir, diarizer, model)
            print(f"pipeline on {len({h.session for h in hyps})} sessions: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            if pcache:
                pcache.write_text(json.dumps([{**asdict(h), "vec_sum": h.vec_sum.tolist()} for h in hyps]))
    enrolled, trials = build_trials(samples, args.enrol_seconds)
    lomo, lomo_rules = leave_one_meeting_out(trials, enrolled)
    shipped = choose(trials, enrolled)
    from diarization.profiles import _unit

    same, diff = [], []
    vecs = {p: _unit(s.vec_sum[None].astype(np.float64))[0] for p, s in enrolled.items()}
    for t, only in trials:
        if only is not None:
            continue
        for s in t.speakers:
            v = _unit(s.vec_sum[None].astype(np.float64))[0]
            for p, _ in t.profiles:
                (same if p == s.person else diff).append(float(v @ vecs[p]))
    import platform

    report = {
        "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        "sessions": len({s.session for s in samples}), "files": len({s.meeting for s in samples}), "people": len(enrolled),
        "enrol_seconds": args.enrol_seconds, "summary": summarize(lomo), "rule": asdict(shipped),
        "lomo_rules": {m: asdict(r) for m, r in lomo_rules.items()},
        "in_sample": summarize(outcomes(trials, enrolled, shipped)),
        "scores": {"same_median": float(np.median(same)), "same_min": float(np.min(same)),
                   "diff_median": float(np.median(diff)), "diff_max": float(np.max(diff))},
        "cost": matching_cost(), "embed": embed_cost(diarizer),
        "outcomes": lomo,
    }
    if hyps:
        pres = pipeline_outcomes(hyps, enrolled, trials, lomo_rules)
        report["pipeline"] = summarize(pres)
        report["pipeline_outcomes"] = pres
        report["pipeline_speakers"] = len(hyps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(report))
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str))
    print(render(report))
    wrong = [o for o in lomo if o["wrong"]]
    for o in wrong:
        print("WRONG:", o, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
