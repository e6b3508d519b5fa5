"""``python -m bench.live_transcript``: the live transcript against real time (issue 13).

AMI meeting excerpts (core list, word-level references; real participant ids, so people of one
series meet again) are joined into one long "system audio" track, and the agent of the
two-party call talks into the microphone. Both play through a private PulseAudio server in
real time while Parley records them with the live transcript on. Every displayed word is
time-stamped when it was shown and matched to the reference word it stands for
(computation-aware: the recording's own clock), giving:

* latency of interim and committed words, and of the speaker label on committed words;
* the backlog over the run, interim decodes skipped;
* rewrites of committed text, duplicate lines;
* live WER / cpWER (system channel, against the AMI references) beside the refined ones (the
  batch pipeline on the same recording), live speaker DER on the system channel;
* names given live (one per live speaker, as a user would: the person it mostly is) that end
  on the right people after refinement.

Writes ``bench/extra/live_transcript.md`` and ``.json`` (``live_transcript_60min.*`` for ``--minutes 60``:
other lengths get their own files, so the 10-minute report is not overwritten).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from bench import scoring
from bench.pulse import PulseServer
from bench.signals import to_16k, xcorr_peak

REPO = Path(__file__).resolve().parent.parent
SR = 16_000
PLAY_RATE = 48_000  # bench.pulse's null sinks


def label_latencies(committed: list[dict], matches: list, lines: list[dict], offset: float) -> list[tuple[float, str]]:
    """Per matched committed word: how long after it was spoken its speaker label was final (when
    it was shown, or its utterance's last speaker update if later), and why it waited: ``none``
    (labelled when shown), ``first label`` (shown before its utterance had any label) or
    ``label changed`` (shown under another label that a later update changed)."""
    first: dict = {}
    last: dict = {}
    for x in lines:
        if x["type"] == "speaker" and x.get("utterance") is not None:
            first.setdefault(x["utterance"], x["emitted"])
            last[x["utterance"]] = x["emitted"]
    rows = []
    for w, m in zip(committed, matches):
        if not m:
            continue
        u = w["utterance"]
        done = max(w["emitted"], last.get(u, w["emitted"] if w["speaker"] else np.inf))
        if not np.isfinite(done):
            continue
        why = "none" if done == w["emitted"] else ("first label" if not w["speaker"] and first.get(u) == last.get(u) else "label changed")
        rows.append((done - (m[1] + offset), why))
    return rows


def label_breakdown(committed: list[dict], matches: list, lines: list[dict], offset: float) -> dict:
    """The slowest twentieth of speaker labels on committed words (:func:`label_latencies`), by why they waited."""
    rows = label_latencies(committed, matches, lines, offset)
    if not rows:
        return {}
    cut = pct([r[0] for r in rows], 95)
    slow = [why for lat, why in rows if lat >= cut]
    return {"p95_s": round(cut, 2), "words": len(slow), **{k: slow.count(k) for k in ("first label", "label changed", "none")}}


def build_tracks(eval_dir: Path, minutes: float, tmp: Path):
    """The system track (:func:`bench.live_speakers.system_track`, the offline replay's too) and
    the call's agent on the mic, written for the audio server to play."""
    from bench.live_speakers import system_track

    track = system_track(eval_dir, minutes)
    system = track.audio
    agent, sr = sf.read(scoring.audio_path(eval_dir, "phone_call_40", "agent"), dtype="float32")
    mic = np.zeros_like(system)
    a = to_16k(agent, sr)[: len(system)]
    mic[: len(a)] = a
    # played at the sinks' rate, as a meeting app plays: a 16-kHz file would be resampled by the
    # server on playback, with the top of the speech band cut (no real call has that)
    import soxr

    sf.write(tmp / "system.wav", soxr.resample(system, SR, PLAY_RATE, "HQ"), PLAY_RATE, subtype="PCM_16")
    sf.write(tmp / "mic.wav", soxr.resample(mic, SR, PLAY_RATE, "HQ"), PLAY_RATE, subtype="PCM_16")
    return tmp / "mic.wav", tmp / "system.wav", system, track.words, track.rttm


def match_words(shown, ref, offset: float, window: float = 1.0):
    """Each shown word → the reference word with the same text nearest in time (or None)."""
    by_text: dict[str, list] = {}
    for r in ref:
        by_text.setdefault(scoring.normalize(r[3]), []).append(r)
    out = []
    for w in shown:
        cands = by_text.get(scoring.normalize(w["text"]), [])
        best = min(cands, key=lambda r: abs(r[1] + offset - w["end"]), default=None)
        out.append(best if best is not None and abs(best[1] + offset - w["end"]) <= window else None)
    return out


def pct(xs, q):
    return float(np.percentile(xs, q)) if len(xs) else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.live_transcript", description=__doc__.split("\n")[0])
    ap.add_argument("--eval-dir", type=Path, default=REPO / "bench" / "data")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "extra")
    ap.add_argument("--max-utterance", type=float, help="LiveOptions.max_utterance for this run (default: the shipped one)")
    ap.add_argument("--keep-events", type=Path, help="copy the run's event log (JSON lines) here")
    args = ap.parse_args(argv)
    stem = "live_transcript" if args.minutes == 10 else f"live_transcript_{args.minutes:g}min"
    for k, v in (("PYANNOTE_METRICS_ENABLED", "false"), ("HF_HUB_OFFLINE", "1")):
        os.environ.setdefault(k, v)
    from capture.devices import find_device
    from capture.recorder import ChannelSpec, Recorder
    from meetings.events import LiveBacklog, LiveCommitted, LiveSpeaker
    from meetings.live import EventLog, LiveOptions, LiveTranscriber, apply_live_names
    from meetings.pipeline import Engine
    from meetings.recording import process_recording
    from meetings.store import Store
    from meetings.types import PipelineOptions

    r: dict = {"minutes": args.minutes, "machine": f"{os.cpu_count()} CPU cores", "date": time.strftime("%Y-%m-%d %H:%M")}
    with tempfile.TemporaryDirectory(prefix="parley-live-tr-") as t, PulseServer() as pulse:
        tmp = Path(t)
        mic_path, sys_path, system, ref_words, ref_rttm = build_tracks(args.eval_dir, args.minutes, tmp)
        engine = Engine(PipelineOptions(device="cpu"))
        store = Store(tmp / "bench.db")
        folder = store.data_dir / "recordings" / "replay"
        rec = Recorder(folder, [ChannelSpec("mic", find_device("mic", "virtual_mic")),
                                ChannelSpec("system", find_device("system", "sys_out.monitor"))])
        log_path = tmp / "events.jsonl"
        events: list = []
        log = EventLog(log_path, lambda: rec.t0)

        def emit(e):
            events.append((time.monotonic() - rec.t0, e))
            log(e)

        opts = LiveOptions() if args.max_utterance is None else replace(LiveOptions(), max_utterance=args.max_utterance)
        r["max_utterance"] = opts.max_utterance
        live = LiveTranscriber(lambda: engine, emit, options=opts)
        rec.add_tap(live.tap)
        rec.start()
        live.start()
        live.ready.wait(120)
        while not all(c.seconds > 0 for c in rec.status().channels):
            time.sleep(0.05)
        plays = [pulse.play("mic_feed", mic_path), pulse.play("sys_out", sys_path)]
        for p in plays:
            p.wait()
        time.sleep(1.0)
        rec.stop()
        t_stop = time.monotonic()
        live.stop(600)
        r["flush_after_stop_s"] = round(time.monotonic() - t_stop, 2)
        log.close()
        captured, _ = sf.read(folder / "system.wav", dtype="float32")
        offset = xcorr_peak(captured[: 120 * SR], system[: 60 * SR], max_lag=10.0)[1]
        # the same near the end: playback that stalled under load shifts the rest of the track
        # against the references (scored with the offset at the start)
        t1 = max(0.0, len(system) / SR - 90.0)
        c0 = max(0, int((t1 + offset - 5.0) * SR))
        end_lag = xcorr_peak(captured[c0: c0 + 70 * SR], system[int(t1 * SR): int((t1 + 60) * SR)], max_lag=10.0)[1]
        r["capture_offset_s"] = round(offset, 3)
        r["capture_offset_drift_s"] = round(c0 / SR + end_lag - t1 - offset, 3)
        lines = [json.loads(x) for x in log_path.read_text().splitlines()]
        sys_words = [x for x in lines if x["type"] == "word" and x["channel"] == "system"]
        interim = [x for x in sys_words if x["state"] == "interim"]
        committed = [x for x in sys_words if x["state"] == "committed"]
        lat_i = [w["emitted"] - (m[1] + offset) for w, m in zip(interim, match_words(interim, ref_words, offset)) if m]
        mc = match_words(committed, ref_words, offset)
        lat_c = [w["emitted"] - (m[1] + offset) for w, m in zip(committed, mc) if m]
        lat_s = [lat for lat, _ in label_latencies(committed, mc, lines, offset)]
        r["slow_labels"] = label_breakdown(committed, mc, lines, offset)
        if args.keep_events:
            import shutil

            shutil.copy(log_path, args.keep_events)
        backlog = [x["seconds"] for x in lines if x["type"] == "backlog"]
        r["latency"] = {
            "interim_median_s": round(pct(lat_i, 50), 2), "interim_words_matched": len(lat_i),
            "committed_median_s": round(pct(lat_c, 50), 2), "committed_p95_s": round(pct(lat_c, 95), 2),
            "committed_words_matched": len(lat_c), "committed_words_shown": len(committed),
            "speaker_label_median_s": round(pct(lat_s, 50), 2), "speaker_label_p95_s": round(pct(lat_s, 95), 2),
        }
        r["backlog"] = {"max_s": round(max(backlog, default=0.0), 2), "median_s": round(pct(backlog, 50), 2),
                        "interim_skipped": live.governor.skipped,
                        "max_by_10min_s": [round(max((x["seconds"] for x in lines if x["type"] == "backlog"
                                                      and k * 600 <= x["emitted"] < (k + 1) * 600), default=0.0), 2)
                                           for k in range(int(np.ceil(args.minutes / 10)))]}
        import resource

        r["peak_rss_live_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # before refining
        # rewrites and duplicates
        shown: dict[int, list] = {}
        for _, e in events:
            if isinstance(e, LiveCommitted):
                shown.setdefault(e.utterance, []).extend(e.words)
        rewrites = sum(1 for u in live.utterances if shown.get(u.id, []) != u.committed[: len(shown.get(u.id, []))])
        texts = [(u.channel, u.start, scoring.normalize(" ".join(w.text for w in u.committed))) for u in live.utterances if u.committed]
        dup = sum(1 for i, (c, s, x) in enumerate(texts) if x and any(c2 == c and x2 == x and 0 < s - s2 <= 10
                                                                      for c2, s2, x2 in texts[:i]))
        r["stability"] = {"rewrites": rewrites, "utterances": len(texts), "duplicate_lines": dup,
                          "duplicate_rate_pct": round(100 * dup / max(len(texts), 1), 2)}
        # live speakers on the system channel: DER (and its parts), and names a user would give
        from bench.live_speakers import diagnose, live_der

        live_sys = [(u.start, u.end, u.speaker) for u in live.utterances if u.channel == "system" and u.speaker]
        d = live_der(ref_rttm, live_sys, offset)
        r["live_der_system_pct"] = d["der_pct"]
        r["live_der_parts_pct"] = {k: d[k] for k in ("missed_pct", "false_alarm_pct", "confusion_pct")}
        r["live_speakers_diagnosis"] = diagnose(ref_rttm, live_sys, offset)
        # the same speaker path offline (bench.live_speakers' replay: no real-time clock, no Whisper),
        # on the original track and on what was captured: a gap between the two is the audio path's,
        # a gap between them and the real-time figure is the clock's
        from bench.live_speakers import replay

        for key, audio, shift in (("original", system, offset), ("captured", captured, 0.0)):
            spans = [(a + shift, b + shift, lab) for a, b, lab in replay(engine, audio, asr=False).system_spans() if lab]
            r[f"offline_replay_der_{key}_pct"] = live_der(ref_rttm, spans, offset)["der_pct"]

        def dominant(spans, a, b):
            acc: dict[str, float] = {}
            for x0, x1, s in spans:
                acc[s] = acc.get(s, 0.0) + max(0.0, min(b, x1) - max(a, x0))
            return max(acc, key=acc.get) if acc and max(acc.values()) > 0 else None

        truth: dict[str, dict[str, float]] = {}
        for a, b, s in live_sys:
            who = dominant([(x0 + offset, x1 + offset, p) for x0, x1, p in ref_rttm], a, b)
            if who:
                truth.setdefault(s, {}).setdefault(who, 0.0)
                truth[s][who] += b - a
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{stem}.partial.json").write_text(json.dumps(r, indent=1))  # the live part, kept if refining fails
        for label, people in truth.items():  # the user names each live speaker after who it mostly is
            live.names[label] = max(people, key=people.get)
        t0 = time.perf_counter()
        res = process_recording(engine, folder, store, title="replay")
        r["refine_s"] = round(time.perf_counter() - t0, 1)
        applied = apply_live_names(store, res.meeting_id, live)
        turns = store.turns(res.meeting_id)
        right = 0
        for sp in store.speakers(res.meeting_id):
            if sp.label not in applied:
                continue
            spans = [(t.start, t.end) for t in turns if t.speaker_label == sp.label]
            people: dict[str, float] = {}
            for a, b in spans:
                who = dominant([(x0 + offset, x1 + offset, p) for x0, x1, p in ref_rttm], a, b)
                if who:
                    people[who] = people.get(who, 0.0) + b - a
            right += bool(people) and max(people, key=people.get) == applied[sp.label]
        r["names"] = {"live_speakers": len(live.speakers.labels), "named": len(applied), "right_after_refine": right,
                      "right_pct": round(100 * right / max(len(applied), 1), 1)}
        # WER / cpWER on the system channel: live vs refined
        ref = scoring.Reference("replay", len(system) / SR, (), tuple(
            (s, a + offset, b + offset, w) for a, b, s, w in ref_words))
        ref_entries = _group(ref.seglst)
        ref = scoring.Reference("replay", ref.duration, (), tuple(ref_entries))
        live_entries = [{"session_id": "replay", "speaker": u.speaker or "?", "start_time": u.start, "end_time": u.end,
                         "words": scoring.normalize(" ".join(w.text for w in u.committed))}
                        for u in live.utterances if u.channel == "system" and u.committed]
        refined_entries = [{"session_id": "replay", "speaker": t.speaker_label, "start_time": t.start, "end_time": t.end,
                            "words": scoring.normalize(t.text)} for t in turns if t.speaker_label != "LOCAL" and scoring.normalize(t.text)]
        for key, entries in (("live", live_entries), ("refined", refined_entries)):
            w = scoring.wer_scores(ref, [e for e in entries if e["words"]])
            r[f"{key}_wer_pct"] = round(100 * w["wer"].errors / max(w["wer"].length, 1), 1)
            r[f"{key}_cpwer_pct"] = round(100 * w["cpwer"].errors / max(w["cpwer"].length, 1), 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(r, indent=1))
    (args.out / f"{stem}.partial.json").unlink(missing_ok=True)
    (args.out / f"{stem}.md").write_text(render(r))
    print(render(r))
    return 0


def _group(words, gap: float = 1.0):
    """Reference words → speaker segments (a new one after a pause or a change of speaker)."""
    out, cur = [], None
    for s, a, b, w in sorted(words, key=lambda x: x[1]):
        if cur and cur[0] == s and a - cur[2] <= gap:
            cur = (s, cur[1], b, cur[3] + " " + w)
        else:
            if cur:
                out.append(cur)
            cur = (s, a, b, w)
    if cur:
        out.append(cur)
    return out


def _parts(r: dict) -> str:
    p = r.get("live_der_parts_pct")
    return f" (missed {p['missed_pct']:.1f}, false alarm {p['false_alarm_pct']:.1f}, confusion {p['confusion_pct']:.1f})" if p else ""


def render(r: dict) -> str:
    lat, bl, st, nm = r["latency"], r["backlog"], r["stability"], r["names"]
    return "\n".join([
        f"## Live transcript (real-time replay, 2 channels, {r['minutes']:g} minutes)", "",
        f"`python -m bench.live_transcript --minutes {r['minutes']:g}` ({r['date']}, {r['machine']}, embedded tiny.en int8): "
        "AMI excerpts joined into one system-audio track (their participants recur), the call's agent on the microphone; "
        "each shown word time-stamped against its reference word (computation-aware).", "",
        "| figure | target | measured |", "|---|---|---|",
        f"| interim text, median after the word was spoken | ≤ 1.5 s | {lat['interim_median_s']:.2f} s ({lat['interim_words_matched']} words) |",
        f"| committed words, median / 95th percentile | ≤ 3 s / ≤ 5 s | {lat['committed_median_s']:.2f} s / {lat['committed_p95_s']:.2f} s ({lat['committed_words_matched']} of {lat['committed_words_shown']} shown words matched) |",
        f"| speaker label on committed words, median / 95th | ≤ 5 s | {lat['speaker_label_median_s']:.2f} s / {lat['speaker_label_p95_s']:.2f} s |",
        f"| backlog, max over the run | ≤ 5 s | {bl['max_s']:.1f} s (median {bl['median_s']:.1f} s; {bl['interim_skipped']} interim decodes skipped) |",
        f"| rewrites of committed text | 0 | {st['rewrites']} |",
        f"| duplicate lines | < 1 % | {st['duplicate_rate_pct']:.1f} % ({st['duplicate_lines']} of {st['utterances']}) |",
        f"| live speaker DER, system channel (collar 0.5) | ≤ 25 % | {r['live_der_system_pct']:.1f} %{_parts(r)} |",
        f"| live names on the right people after refinement | ≥ 95 % | {nm['right_pct']:.0f} % ({nm['right_after_refine']} of {nm['named']}; {nm['live_speakers']} live speakers) |",
        f"| WER / cpWER, system channel: live vs refined | reported | {r['live_wer_pct']:.1f} / {r['live_cpwer_pct']:.1f} % vs {r['refined_wer_pct']:.1f} / {r['refined_cpwer_pct']:.1f} % |",
        "", (f"Capture offset {r['capture_offset_s']:.2f} s at the start, {r['capture_offset_drift_s']:+.2f} s more near "
             "the end (playback stalls under load shift the rest; scored with the start's). " if "capture_offset_s" in r else "")
        + f"After stop the live transcript finished its last decodes in {r['flush_after_stop_s']:.1f} s; the refinement "
        f"(the import pipeline on the recording) took {r['refine_s']:.0f} s."
        + (f" The same speaker path replayed offline (no real-time clock, no Whisper; `bench.live_speakers`' replay): "
           f"live DER {r['offline_replay_der_original_pct']:.1f} % on the original track, "
           f"{r['offline_replay_der_captured_pct']:.1f} % on the captured system channel." if "offline_replay_der_original_pct" in r else "")
        + (" Backlog, max per 10 minutes: " + ", ".join(f"{x:.1f}" for x in bl["max_by_10min_s"]) + " s." if "max_by_10min_s" in bl else "")
        + (f" Peak memory of the benchmark process before refining (models, recorder, live transcriber, event log): "
           f"{r['peak_rss_live_mb']} MB." if "peak_rss_live_mb" in r else "")
        + (f" The slowest twentieth of speaker labels (≥ {sl['p95_s']:.2f} s, {sl['words']} words): {sl['first label']} waited "
           f"for their utterance's first label, {sl['label changed']} were shown under a label changed later, "
           f"{sl['none']} were labelled when shown (slow words)." if (sl := r.get("slow_labels")) else "")
        + (f" Utterances cut at {r['max_utterance']:g} s." if "max_utterance" in r else ""), ""])


if __name__ == "__main__":
    sys.exit(main())
