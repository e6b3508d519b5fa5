"""``python -m bench.live_speakers``: the live transcript's speaker path, offline (issue 13).

The same system-audio track as ``bench.live_transcript`` (AMI excerpts of ``core.lst`` joined
end to end, looped to the length asked for; their participants recur) is fed block by block
through :class:`meetings.live.LiveTranscriber` — its own VAD, utterances, interim and final
steps and speaker decisions — on a simulated clock: no audio server, no real-time waiting.
By default each worker step takes no simulated time (deterministic: the same audio gives the
same utterances and speakers); ``--timed`` lets each step take the wall time it took here, so
the worker falls behind as it would in real time. ``--no-asr`` skips the Whisper decodes
(the speaker path does not need their words; much faster).

Scored as the real-time benchmark scores it: live speaker DER on the system channel, collar
0.5 s, from each system utterance's span and its speaker — with missed / false alarm /
confusion, per meeting (so settings can be chosen leave-one-meeting-out), and diagnostics:
utterances that span a change of speaker, how many live speakers there are per person, and the
DER the utterances would have with the best label each (what segmentation alone costs).
The worker's CPU time per audio second is measured (process CPU time over the replay).

Writes ``bench/extra/live_speakers.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import scoring
from bench.signals import to_16k

REPO = Path(__file__).resolve().parent.parent
SR = 16_000
COLLAR = 0.5


@dataclass(frozen=True)
class Track:
    audio: np.ndarray
    words: list  # (start, end, speaker, word)
    rttm: list  # (start, end, speaker)
    regions: list  # (start, end, meeting name): which excerpt each stretch of the track is


def system_track(eval_dir: Path, minutes: float) -> Track:
    """The benchmark's system-audio track: core AMI excerpts (word-level references) joined and
    looped until ``minutes`` long."""
    import soundfile as sf

    names = [n for n in (eval_dir / "core.lst").read_text().split() if (eval_dir / n / f"{n}.words.tsv").exists()]
    audio, words, rttm, regions, t = [], [], [], [], 0.0
    while t < minutes * 60 - 1:
        for n in names:
            x, sr = sf.read(scoring.audio_path(eval_dir, n), dtype="float32")
            x = to_16k(x, sr)
            for line in (eval_dir / n / f"{n}.words.tsv").read_text().splitlines()[1:]:
                a, b, spk, w = line.split("\t")
                words.append((t + float(a), t + float(b), spk, w))
            for line in (eval_dir / n / f"{n}.rttm").read_text().splitlines():
                p = line.split()
                rttm.append((t + float(p[3]), t + float(p[3]) + float(p[4]), p[7]))
            audio.append(x)
            regions.append((t, t + len(x) / SR, n))
            t += len(x) / SR
            if t >= minutes * 60 - 1:
                break
    return Track(np.concatenate(audio), words, rttm, regions)


# ---------------------------------------------------------------------- scoring
def _annotations(ref_rttm, hyp, offset: float = 0.0):
    from pyannote.core import Annotation, Segment

    ref_ann, hyp_ann = Annotation(), Annotation()
    for i, (a, b, s) in enumerate(ref_rttm):
        ref_ann[Segment(a + offset, b + offset), i] = s
    for i, (a, b, s) in enumerate(hyp):
        if s and b > a:
            hyp_ann[Segment(a, b), i] = s
    return ref_ann, hyp_ann


def live_der(ref_rttm, hyp, offset: float = 0.0, regions=None) -> dict:
    """DER (collar 0.5) of live speaker spans ``hyp`` [(start, end, label)] against the reference
    (times shifted by ``offset``: the capture's lag in the real-time benchmark): the total, its
    components (percent of reference speech), and per region (meeting) the component seconds."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref_ann, hyp_ann = _annotations(ref_rttm, hyp, offset)
    d = DiarizationErrorRate(collar=COLLAR)(ref_ann, hyp_ann, detailed=True)
    total = d["total"] or 1.0
    out = {"der_pct": round(100 * d["diarization error rate"], 1),
           "missed_pct": round(100 * d["missed detection"] / total, 1),
           "false_alarm_pct": round(100 * d["false alarm"] / total, 1),
           "confusion_pct": round(100 * d["confusion"] / total, 1),
           "reference_s": round(d["total"], 1)}
    if regions:
        out["per_region"] = _per_region(ref_ann, hyp_ann, regions, offset)
    return out


def _per_region(ref_ann, hyp_ann, regions, offset: float) -> list[dict]:
    """Error seconds per region, with the hypothesis labels mapped to reference people once over
    the whole track (the mapping the total DER uses), so regions add up to the total."""
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=COLLAR)
    mapping = metric.optimal_mapping(ref_ann, hyp_ann)
    mapped = hyp_ann.rename_labels(mapping=mapping)  # unmapped live labels stay: wrong for every person
    rows = []
    ident = _IdentityError()
    for a, b, name in regions:
        uem = Timeline([Segment(a + offset, b + offset)])
        d = ident(ref_ann, mapped, uem)
        rows.append({"meeting": name, "start": round(a, 2), "missed": d["missed detection"], "false_alarm": d["false alarm"],
                     "confusion": d["confusion"], "total": d["total"]})
    return rows


class _IdentityError:
    """Identification error (labels already mapped) with the DER's collar."""

    def __init__(self):
        from pyannote.metrics.identification import IdentificationErrorRate

        self.metric = IdentificationErrorRate(collar=COLLAR)

    def __call__(self, ref, hyp, uem):
        return self.metric(ref, hyp, uem=uem, detailed=True)


def meeting_counts(per_region: list[dict]) -> dict[str, tuple[float, float]]:
    """Per meeting (error seconds, reference seconds), its regions summed."""
    out: dict[str, list[float]] = {}
    for r in per_region:
        e = out.setdefault(r["meeting"], [0.0, 0.0])
        e[0] += r["missed"] + r["false_alarm"] + r["confusion"]
        e[1] += r["total"]
    return {k: (v[0], v[1]) for k, v in out.items()}


def diagnose(ref_rttm, utterances: list[tuple[float, float, str | None]], offset: float = 0.0) -> dict:
    """Why the DER is what it is: utterances spanning a change of speaker, live speakers per
    person, and the DER with each utterance given its best label (segmentation alone)."""
    ref = [(a + offset, b + offset, s) for a, b, s in ref_rttm]

    def talk(a, b):
        acc: dict[str, float] = {}
        for x0, x1, s in ref:
            o = min(b, x1) - max(a, x0)
            if o > 0:
                acc[s] = acc.get(s, 0.0) + o
        return acc

    spanning = spanning_s = 0.0
    unlabelled = 0
    best = []
    by_label: dict[str, dict[str, float]] = {}
    for a, b, s in utterances:
        acc = talk(a, b)
        if s is None:
            unlabelled += 1
        if not acc:
            continue
        ranked = sorted(acc.values(), reverse=True)
        if len(ranked) > 1 and ranked[1] >= 1.0:  # a second person talks a second or more inside it
            spanning += 1
            spanning_s += b - a
        who = max(acc, key=acc.get)
        best.append((a, b, who))
        if s:
            by_label.setdefault(s, {}).setdefault(who, 0.0)
            by_label[s][who] += b - a
    people = {s for _, _, s in ref}
    per_person: dict[str, int] = {}
    for label, acc in by_label.items():
        who = max(acc, key=acc.get)
        per_person[who] = per_person.get(who, 0) + 1
    oracle = live_der(ref_rttm, best, offset)
    return {"utterances": len(utterances), "unlabelled": unlabelled,
            "spanning_a_change": int(spanning), "spanning_s": round(spanning_s, 1),
            "utterance_s": round(sum(b - a for a, b, _ in utterances), 1),
            "live_speakers": len(by_label), "people": len(people),
            "people_with_several_labels": sum(1 for v in per_person.values() if v > 1),
            "people_without_a_label": len(people) - len(per_person),
            "best_label_der_pct": oracle["der_pct"], "best_label_missed_pct": oracle["missed_pct"],
            "best_label_false_alarm_pct": oracle["false_alarm_pct"], "best_label_confusion_pct": oracle["confusion_pct"]}


# ---------------------------------------------------------------------- replay
@dataclass
class Replay:
    live: object
    events: list  # (simulated seconds, event)
    cpu_s: float  # process CPU time of the replay's worker steps
    wall_s: float
    audio_s: float

    def system_spans(self) -> list[tuple[float, float, str | None]]:
        return [(u.start, u.end, u.speaker) for u in self.live.utterances if u.channel == "system"]


def replay(engine, audio: np.ndarray, *, block: float = 0.05, asr: bool = True, timed: bool = False,
           options=None, speakers=None, role: str = "system") -> Replay:
    """Feed ``audio`` through a LiveTranscriber (one channel) on a simulated clock.

    The recorder's tap gets ``block``-second blocks; after each, the worker runs its steps until
    it has nothing to do (``timed``: a step takes the wall time it took, and the blocks that
    arrive meanwhile wait for it, as in real time). ``asr=False``: no Whisper decodes (no words;
    utterances, VAD and speakers as with them)."""
    from meetings.live import LiveOptions, LiveTranscriber

    events: list = []
    now = [0.0]

    def emit(e):
        events.append((now[0], e))

    live = LiveTranscriber(lambda: engine, emit, roles=(role,), options=options or LiveOptions(), clock=lambda: now[0])
    if speakers is not None:
        live.speakers = speakers
    if not live.load():
        raise RuntimeError(live.error)
    if not asr:
        live._decode = lambda a, offset, beam: []
    n = int(block * SR)
    blocks = [(i / SR, audio[i: i + n]) for i in range(0, len(audio), n)]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    k = 0
    worker_free = 0.0  # simulated time at which the worker finishes its current step
    while k < len(blocks):
        # blocks that have arrived by the time the worker looks again
        t_arrive = blocks[k][0] + len(blocks[k][1]) / SR
        now[0] = max(worker_free, t_arrive)
        while k < len(blocks) and blocks[k][0] + len(blocks[k][1]) / SR <= now[0] + 1e-9:
            live.tap(role, blocks[k][1], blocks[k][0])
            k += 1
        while True:
            t0 = time.perf_counter()
            did = live.step(False)
            if timed:
                now[0] += time.perf_counter() - t0
            if did == "idle":
                break
            if timed:  # audio that arrived during the step is taken in at the next one
                while k < len(blocks) and blocks[k][0] + len(blocks[k][1]) / SR <= now[0]:
                    live.tap(role, blocks[k][1], blocks[k][0])
                    k += 1
        worker_free = now[0]
    while live.step(True) != "done":
        pass
    return Replay(live, events, time.process_time() - cpu0, time.perf_counter() - wall0, len(audio) / SR)


# ---------------------------------------------------------------------- thresholds, out of sample
#: (join, new_below, margin) tried for the online speaker matching; the shipped one first
THRESHOLDS = [(0.50, 0.40, 0.10), (0.60, 0.50, 0.0), (0.60, 0.50, 0.10), (0.60, 0.45, 0.0), (0.60, 0.45, 0.10),
              (0.55, 0.45, 0.0), (0.55, 0.45, 0.10), (0.50, 0.45, 0.0), (0.50, 0.45, 0.10), (0.50, 0.45, 0.05),
              (0.55, 0.50, 0.10), (0.45, 0.40, 0.0), (0.45, 0.40, 0.10), (0.45, 0.40, 0.15), (0.50, 0.40, 0.0),
              (0.50, 0.40, 0.05), (0.50, 0.40, 0.15), (0.55, 0.40, 0.10), (0.50, 0.35, 0.10), (0.45, 0.35, 0.10),
              (0.65, 0.50, 0.10), (0.50, 0.45, 0.15)]
#: start offsets of the track (samples) the sweep pools over: online matching is path-dependent,
#: and a 1-ms shift moved the DER of one setting by 3 points, so a setting is judged on all of them
SHIFTS = (0, 17, 160, 333, 801, 2222, 5000, 9001)


def utterance_embeddings(engine, audio: np.ndarray, spans) -> list:
    """Each utterance's final-decode embedding, as the live transcriber computes it (the whole
    utterance; none under half a second)."""
    out = []
    for a, b, _ in spans:
        x = audio[max(0, int(a * SR)): int(b * SR)]
        out.append((np.asarray(engine.diarizer.embed(x), np.float32) if x.size >= SR // 2 else None, x.size / SR))
    return out


def decide_all(embeddings, join: float, new_below: float, margin: float = 0.0) -> list[str | None]:
    """The speakers the live transcriber's final decodes give, for other thresholds (the
    utterances themselves do not depend on them)."""
    from diarization.online_speakers import OnlineSpeakers

    sp = OnlineSpeakers(assign=join, new_below=new_below, margin=margin)
    return [sp.observe(e, secs).label for e, secs in embeddings]


#: voice-activity settings tried (LiveOptions fields; the shipped ones first)
VAD_VARIANTS: list[dict] = [{}, {"pad": 0.2}, {"pad": 0.3}, {"vad_threshold": 0.35, "pad": 0.2},
                            {"vad_threshold": 0.35, "pad": 0.3}, {"vad_threshold": 0.35}]


def sweep(engine, track: Track, vad_variants=None, thresholds=None, shifts=SHIFTS) -> dict:
    """DER per meeting for each voice-activity setting × matching thresholds, each pooled over the
    track started at ``shifts`` (samples of silence before it); the variant applied to each
    meeting is the one with the lowest pooled DER on the *other* meetings (leave one meeting out,
    :mod:`bench.loo`). Returns the in-sample and out-of-sample DER, and the spread over shifts."""
    from dataclasses import replace

    from bench import loo
    from meetings.live import LiveOptions

    counts: dict[str, dict[str, list[float]]] = {}
    totals: dict[str, list[float]] = {}
    for vad in vad_variants or VAD_VARIANTS:
        for shift in shifts:
            audio = np.concatenate([np.zeros(shift, np.float32), track.audio])
            spans = replay(engine, audio, asr=False, options=replace(LiveOptions(), **vad)).system_spans()
            embs = utterance_embeddings(engine, audio, spans)
            for join, new_below, margin in thresholds or THRESHOLDS:
                key = ",".join(f"{k}={v:g}" for k, v in vad.items()) + ("; " if vad else "") + f"{join:.2f}/{new_below:.2f}/{margin:.2f}"
                labels = decide_all(embs, join, new_below, margin)
                d = live_der(track.rttm, [(a, b, s) for (a, b, _), s in zip(spans, labels)], shift / SR, regions=track.regions)
                totals.setdefault(key, []).append(d["der_pct"])
                for m, c in meeting_counts(d["per_region"]).items():
                    acc = counts.setdefault(m, {}).setdefault(key, [0.0, 0.0])
                    acc[0] += c[0]
                    acc[1] += c[1]
            print(f"  {vad or 'shipped VAD'}, shift {shift}: done", file=sys.stderr, flush=True)
    counts = {m: {k: tuple(v) for k, v in per.items()} for m, per in counts.items()}
    keys = list(totals)
    choice = loo.leave_one_out(counts, keys, keys[0])
    out = loo.held_out(counts, choice)
    lo, hi = loo.bootstrap(out)
    best_all = loo.best_variant(counts, list(counts), keys, keys[0])
    picks: dict[str, int] = {}
    for v in choice.values():
        picks[v] = picks.get(v, 0) + 1

    def spread(k):
        return {"mean": round(float(np.mean(totals[k])), 2), "sd": round(float(np.std(totals[k])), 2),
                "min": min(totals[k]), "max": max(totals[k])}

    return {"shifts": list(shifts), "der_pct_by_variant": {k: spread(k) for k in keys}, "in_sample_best": best_all,
            "in_sample_best_der_pct": round(100 * loo.pooled(counts, best_all, list(counts)), 1),
            "shipped": keys[0], "shipped_der_pct": round(100 * loo.pooled(counts, keys[0], list(counts)), 1),
            "loo_choice": choice, "loo_picks": picks, "loo_der_pct": round(100 * loo.rate(out), 1),
            "loo_ci_pct": [round(100 * lo, 1), round(100 * hi, 1)]}


def _latency(rep: Replay, words) -> dict:
    """Simulated latencies (``--timed``): committed words and the speaker label they end with."""
    from bench.live_transcript import match_words, pct
    from meetings.events import LiveCommitted, LiveSpeaker

    committed, said = [], {}
    for t, e in rep.events:
        if isinstance(e, LiveCommitted) and e.channel == "system":
            committed += [{"text": w.text.strip(), "end": w.end, "emitted": t, "utterance": e.utterance, "speaker": e.speaker}
                          for w in e.words]
        elif isinstance(e, LiveSpeaker) and e.utterance is not None:
            said[e.utterance] = t
    mc = match_words(committed, words, 0.0)
    lat_c = [w["emitted"] - m[1] for w, m in zip(committed, mc) if m]
    lat_s = [max(w["emitted"], said.get(w["utterance"], w["emitted"] if w["speaker"] else np.inf)) - m[1]
             for w, m in zip(committed, mc) if m]
    lat_s = [x for x in lat_s if np.isfinite(x)]
    return {"committed_median_s": round(pct(lat_c, 50), 2), "committed_p95_s": round(pct(lat_c, 95), 2),
            "speaker_label_median_s": round(pct(lat_s, 50), 2), "speaker_label_p95_s": round(pct(lat_s, 95), 2),
            "words_matched": len(lat_c)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.live_speakers", description=__doc__.split("\n")[0])
    ap.add_argument("--eval-dir", type=Path, default=REPO / "bench" / "data")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--no-asr", action="store_true", help="skip the Whisper decodes (speakers only)")
    ap.add_argument("--timed", action="store_true", help="each worker step takes the wall time it took")
    ap.add_argument("--sweep", action="store_true", help="other matching thresholds, chosen leave-one-meeting-out")
    ap.add_argument("--shipped-vad", action="store_true", help="sweep the matching thresholds with the shipped voice activity only")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "extra")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--render-only", action="store_true", help="rewrite the .md from the .json")
    args = ap.parse_args(argv)
    if args.render_only:
        (args.out / "live_speakers.md").write_text(render(json.loads((args.out / "live_speakers.json").read_text())))
        return 0
    for k, v in (("PYANNOTE_METRICS_ENABLED", "false"), ("HF_HUB_OFFLINE", "1")):
        os.environ.setdefault(k, v)
    from meetings.pipeline import Engine
    from meetings.types import PipelineOptions

    track = system_track(args.eval_dir, args.minutes)
    engine = Engine(PipelineOptions(device="cpu"))
    engine.diarizer  # loaded before the clock starts
    rep = replay(engine, track.audio, asr=not args.no_asr, timed=args.timed)
    spans = rep.system_spans()
    r = {"minutes": args.minutes, "asr": not args.no_asr, "timed": args.timed, "date": time.strftime("%Y-%m-%d %H:%M"),
         "machine": f"{os.cpu_count()} CPU cores", "load_avg": os.getloadavg()[0]}
    r["der"] = live_der(track.rttm, spans, regions=track.regions)
    r["diagnosis"] = diagnose(track.rttm, spans)
    r["cpu_per_audio_s"] = round(rep.cpu_s / rep.audio_s, 3)
    r["wall_per_audio_s"] = round(rep.wall_s / rep.audio_s, 3)
    if args.timed and not args.no_asr:
        r["latency"] = _latency(rep, track.words)
    if args.sweep:
        r["sweep"] = sweep(engine, track, vad_variants=[{}] if args.shipped_vad else None)
    per = meeting_counts(r["der"]["per_region"])
    r["per_meeting_der_pct"] = {k: round(100 * e / max(n, 1e-9), 1) for k, (e, n) in per.items()}
    print(render(r))
    if not args.no_write:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "live_speakers.json").write_text(json.dumps(r, indent=1))
        (args.out / "live_speakers.md").write_text(render(r))
    return 0


def render(r: dict) -> str:
    d, g = r["der"], r["diagnosis"]
    L = ["## Live speakers, offline replay (system channel)", "",
         f"`python -m bench.live_speakers --minutes {r['minutes']:g}{'' if r['asr'] else ' --no-asr'}{' --timed' if r['timed'] else ''}"
         f"{' --sweep' if 'sweep' in r else ''}{' --shipped-vad' if 'sweep' in r and not any(';' in k for k in r['sweep']['der_pct_by_variant']) else ''}` "
         f"({r['date']}, {r['machine']}, load {r['load_avg']:.1f}): the real-time benchmark's system track through the live "
         "transcriber on a simulated clock.", "",
         "| figure | value |", "|---|---|",
         f"| live speaker DER (collar 0.5) | {d['der_pct']:.1f} % (missed {d['missed_pct']:.1f}, false alarm {d['false_alarm_pct']:.1f}, "
         f"confusion {d['confusion_pct']:.1f}) |",
         f"| with the best label per utterance (segmentation alone) | {g['best_label_der_pct']:.1f} % (missed {g['best_label_missed_pct']:.1f}, "
         f"false alarm {g['best_label_false_alarm_pct']:.1f}, confusion {g['best_label_confusion_pct']:.1f}) |",
         f"| utterances (unlabelled) | {g['utterances']} ({g['unlabelled']}), {g['utterance_s']:.0f} s |",
         f"| utterances with a second person talking ≥ 1 s | {g['spanning_a_change']} ({g['spanning_s']:.0f} s) |",
         f"| live speakers / people | {g['live_speakers']} / {g['people']} ({g['people_with_several_labels']} people with several labels, "
         f"{g['people_without_a_label']} with none) |",
         f"| worker CPU time per audio second | {r['cpu_per_audio_s']:.3f} s (wall {r['wall_per_audio_s']:.3f} s) |"]
    if "latency" in r:
        lat = r["latency"]
        L.append(f"| simulated committed-word latency, median / p95 | {lat['committed_median_s']:.2f} / {lat['committed_p95_s']:.2f} s |")
        L.append(f"| simulated speaker-label latency, median / p95 | {lat['speaker_label_median_s']:.2f} / {lat['speaker_label_p95_s']:.2f} s |")
    if "sweep" in r:
        sw = r["sweep"]
        sw = r["sweep"]
        base = sw["der_pct_by_variant"][sw["shipped"]]
        base = base if isinstance(base, dict) else {"mean": base, "sd": 0.0, "min": base, "max": base}
        n_shifts = len(sw.get("shifts", [0]))
        vad_too = any(";" in k for k in sw["der_pct_by_variant"])
        what = ("Voice-activity settings × matching thresholds" if vad_too else
                "Matching thresholds with the shipped voice activity (`--shipped-vad`; the voice-activity settings were "
                "chosen by an earlier sweep on one offset: shipped ×10 of 10)")
        L += ["", f"**Out of sample.** {what} (join / new speaker below / margin a centroid "
              f"needs to move), {len(sw['der_pct_by_variant'])} variants (`bench/live_speakers.py`: {'VAD_VARIANTS, ' if vad_too else ''}THRESHOLDS; "
              f"replayed without ASR, which the speakers do not depend on), each on the track started at {n_shifts} offsets "
              "(SHIFTS: 0–9001 samples of silence first; online matching is path-dependent) and pooled over them. "
              f"Each meeting scored with the variant that has the lowest pooled DER on the *other* meetings: "
              f"**{sw['loo_der_pct']:.1f} %** [95 % CI over meetings {sw['loo_ci_pct'][0]:.1f}, {sw['loo_ci_pct'][1]:.1f}]; "
              f"shipped setting ({sw['shipped']}) {sw['shipped_der_pct']:.1f} % in-sample (over the offsets: mean {base['mean']:.1f} %, "
              f"sd {base['sd']:.1f}, {base['min']:.1f}–{base['max']:.1f}); best in-sample "
              f"({sw['in_sample_best']}) {sw['in_sample_best_der_pct']:.1f} %. Chosen for the held-out meetings: "
              + ", ".join(f"{k} ×{v}" for k, v in sorted(sw["loo_picks"].items(), key=lambda x: -x[1])) + "."]
        others = sorted(((v["mean"], v["sd"], k) for k, v in sw["der_pct_by_variant"].items() if isinstance(v, dict)))[:6]
        if others:
            L += ["", "Lowest mean DER over the offsets: " + "; ".join(f"{k} {m:.1f} ± {sd:.1f} %" for m, sd, k in others) + "."]
    L += ["", "Before the whole-utterance decision (speaker from the first 1.5–2.5 s of an utterance's interim audio, "
          "thresholds 0.45/0.30, Silero's state reset on every call, pad 0.2 s), this replay with `--timed` gave 33.0 % "
          "(missed 22.9, false alarm 0.2, confusion 9.9; 11 live speakers) against 33.4 % in the real-time benchmark. "
          "Most of what is left is missed speech: a second person talking at once is about 11 % of the reference speech, "
          "and an utterance has one speaker. Online matching is path-dependent: with the earlier setting (0.60/0.50, no "
          "margin) a 1-ms shift of the track moved the DER from 21.8 to 24.6 % (21.3–25.0 % over the 8 offsets), which the "
          "margin on centroid updates and the sweep over offsets address."]
    L += ["", "Per meeting (DER %, both passes of the loop): " + ", ".join(f"{k.replace('ami_', '').replace('_000-030s', '')} {v:.1f}"
                                                                        for k, v in sorted(r["per_meeting_der_pct"].items())), ""]
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
