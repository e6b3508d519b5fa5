"""``python -m bench`` / ``parley bench``: accuracy and speed on the evaluation set.

Runs the real import pipeline (embedded offline models) on every file of a list
(default ``bench/data/core.lst``, the repository's copy of ``../shared/eval``) and writes ``BENCHMARKS.md`` (+ a JSON twin):
  * DER (pyannote.metrics, overlap scored, collar 0 and 0.25 s; missed / false alarm /
    confusion) of Parley's diarization **and** of pyannote's own pipeline with its
    published default settings on the same weights, side by side, same run;
  * WER, cpWER and tcpWER (meeteval) of Parley's alignment and of a WhisperX-style
    max-overlap baseline on the same ASR and diarization output;
  * flag quality: recall of wrongly attributed words inside flagged turns, share flagged;
  * the same on pairs of files joined into 60-s recordings with 4-6 people, and on pairs
    summed with 15 s of two conversations at once;
  * real-time factor per stage, whole-process RTF and peak RSS of a real ``parley import``;
  * out of sample (``bench/loo.py``, ``bench/variants.py``): every stage setting chosen again
    leave-one-meeting-out, the confidence risks refitted without the file, bootstrap intervals;
  * the exported RTTM (speaker activity renamed by the words) against the internal diarization;
  * two-party calls: the real one (mono and stereo) and calls built from eval speakers at
    telephone quality (``bench/calls.py``), each through the route its audio picks.
Sections in ``bench/extra/*.md`` are appended to the report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench import calls

REPO = Path(__file__).resolve().parent.parent
DEFAULT_EVAL = REPO / "bench" / "data"  # a copy of ../shared/eval (FLAC), so a clone benchmarks on its own
HEAVY_OVERLAP = ("ami_EN2006b_000-030s", "ami_EN2009b_000-030s")
#: two different meetings back to back: 60 s, 4-6 people, voices that never met in one
#: diarization chunk — speaker counting and the voice stage on a longer, busier file
JOINED_PAIRS = (
    ("ami_EN2001a_000-030s", "ami_EN2005a_000-030s"),
    ("ami_ES2003a_000-030s", "ami_EN2004a_000-030s"),
    ("ami_EN2006b_000-030s", "pyannote_sample_call"),
    ("ami_EN2009b_000-030s", "ami_ES2003b_000-030s"),
)
#: two different meetings *summed*, the second starting 15 s into the first: 45 s with 15 s of
#: two conversations at once — the worst case for overlap (the voice stage must not merge people)
MIXED_PAIRS = (
    ("ami_EN2001a_000-030s", "ami_ES2003b_000-030s"),
    ("ami_EN2005a_000-030s", "ami_EN2009b_000-030s"),
    ("ami_ES2003a_000-030s", "pyannote_sample_call"),
)
MIXED_OVERLAP = 15.0


@dataclass
class FileResult:
    name: str
    duration: float
    ref_speakers: int
    hyp_speakers: int
    base_speakers: int
    der: dict  # variant -> {collar -> DerParts as dict}
    wer: dict  # system -> {wer/cpwer/tcpwer -> (errors, length)}
    flags: dict
    stage_seconds: dict


def _der_dict(parts):
    return {"total": parts.total, "missed": parts.missed, "false_alarm": parts.false_alarm, "confusion": parts.confusion}


def run_file(name: str, eval_dir: Path, engine, baseline, store, tmp: Path, variants: bool = True) -> FileResult:
    from bench import scoring
    from capture.decode import decode_to_wav, read_mono
    from meetings.types import SpeakerSegment

    src = scoring.audio_path(eval_dir, name)
    t0 = time.perf_counter()
    info = decode_to_wav(src, tmp / f"{name}.wav")
    stages = {"decode": time.perf_counter() - t0}
    processed = engine.process(tmp / f"{name}.wav", info.duration)
    stages.update({t.stage: t.seconds for t in processed.timings})
    if store is not None:
        meeting = store.begin_meeting(name, info, str(tmp / f"{name}.wav"), engine.options, engine.options.asr_model, engine.options.diarization_model)
        t0 = time.perf_counter()
        store.save_result(meeting, speakers=processed.diarization.speakers, centroids=processed.diarization.centroids, turns=processed.turns, language=processed.transcript.language)
        stages["save"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    base_dia = baseline(read_mono(tmp / f"{name}.wav"))
    stages["baseline_diarize"] = time.perf_counter() - t0

    ref = scoring.load_reference(eval_dir, name, info.duration)
    der = {}
    mapping = {}
    from diarization.activity import relabel_activity

    exported = relabel_activity(processed.activity or processed.diarization.segments, processed.turns,
                                keep=set(processed.diarization.speakers))  # what `parley export --format rttm` writes
    word_turns = [SpeakerSegment(t.start, t.end, t.speaker) for t in processed.turns]  # the RTTM as it was: word turns
    for variant, segs in (("parley", processed.diarization.segments), ("pyannote_default", base_dia.segments),
                          ("export", exported), ("export_word_turns", word_turns)):
        der[variant] = {}
        for collar in (0.0, 0.25):
            parts, m = scoring.der(ref, segs, collar)
            der[variant][str(collar)] = _der_dict(parts)
            if variant == "parley" and collar == 0.0:
                mapping = m
    wer = {}
    flags = {}
    if ref.seglst:
        words = processed.transcript.words
        baseline_turns = scoring.max_overlap_turns(words, processed.diarization)
        systems = (("parley", list(processed.turns)), ("parley_no_overlap", list(processed.primary_turns)), ("max_overlap", baseline_turns))
        for system, turns in systems:
            res = scoring.wer_scores(ref, scoring.turns_to_seglst(name, turns))
            wer[system] = {k: [v.errors, v.length] for k, v in res.items()}
            wer[system]["splits"] = list(scoring.sentence_splits(turns))
        flags = asdict(scoring.flag_quality(ref, list(processed.turns)))
        flags["per_turn"] = _turn_samples(ref, processed)
        if variants:
            t0 = time.perf_counter()
            from bench.variants import run_variants

            for key, turns in run_variants(engine, tmp / f"{name}.wav", processed).items():
                res = scoring.wer_scores(ref, scoring.turns_to_seglst(name, turns))
                wer.setdefault("variants", {})[key] = [res["cpwer"].errors, res["cpwer"].length]
            stages["variants (bench only)"] = time.perf_counter() - t0
    return FileResult(
        name=name,
        duration=info.duration,
        ref_speakers=len(ref.speakers),
        hyp_speakers=len({t.speaker for t in processed.turns}) or len(processed.diarization.speakers),
        base_speakers=len(base_dia.speakers),
        der=der,
        wer=wer,
        flags=flags,
        stage_seconds=stages,
    )


def _turn_samples(ref, processed) -> list[list]:
    """Per final turn: its confidence features, (wrong words, judged words): the rows the
    leave-one-out refit of the confidence risks learns from."""
    from bench import scoring
    from diarization.confidence import turn_features

    vm, em = processed.voice_margins, processed.edge_margins
    rows = []
    for i, (t, (wrong, judged)) in enumerate(zip(processed.turns, scoring.turn_errors(ref, list(processed.turns)))):
        f = turn_features(t, vm[i] if vm else None, em[i] if em else None)
        rows.append([asdict(f), wrong, judged])
    return rows


def run_joined(a: str, b: str, eval_dir: Path, engine, tmp: Path, overlap: float = 0.0) -> dict:
    """Two evaluation files as one recording, scored against their joined references: back to
    back, or with the second starting ``overlap`` seconds before the first ends (audio summed)."""
    import soundfile as sf

    from bench import scoring
    from meetings.types import SpeakerSegment

    xa, _ = sf.read(scoring.audio_path(eval_dir, a), dtype="float32")
    xb, _ = sf.read(scoring.audio_path(eval_dir, b), dtype="float32")
    start = max(len(xa) - int(overlap * 16000), 0)
    audio = np.zeros(max(len(xa), start + len(xb)), dtype=np.float32)
    audio[: len(xa)] += xa
    audio[start : start + len(xb)] += xb
    audio /= max(1.0, float(np.abs(audio).max()) / 0.95)  # summed speech must not clip
    wav = tmp / f"joined_{a}_{b}_{overlap:g}.wav"
    sf.write(wav, audio, 16000)
    off = start / 16000
    ra, rb = scoring.load_reference(eval_dir, a, len(xa) / 16000), scoring.load_reference(eval_dir, b, len(xb) / 16000)
    name = f"{a}+{b}"
    ref = scoring.Reference(
        name,
        len(audio) / 16000,
        (*ra.segments, *(SpeakerSegment(x.start + off, x.end + off, "2:" + x.speaker) for x in rb.segments)),
        (*ra.seglst, *(("2:" + spk, x + off, y + off, w) for spk, x, y, w in rb.seglst)),
    )
    p = engine.process(wav, ref.duration)
    wer = {}
    for system, turns in (("parley", list(p.turns)), ("max_overlap", scoring.max_overlap_turns(p.transcript.words, p.diarization))):
        wer[system] = {k: [v.errors, v.length] for k, v in scoring.wer_scores(ref, scoring.turns_to_seglst(name, turns)).items()}
    return {
        "name": name,
        "ref_speakers": len(ref.speakers),
        "hyp_speakers": len({t.speaker for t in p.turns}),
        "wer": wer,
        "flags": asdict(scoring.flag_quality(ref, list(p.turns))),
    }


def run_call(name: str, path: Path, ref, engine, tmp: Path, full: bool = True) -> dict:
    """One two-party call through the import pipeline (the route decided from the audio):
    speaker count, DER of the internal diarization and of the exported activity, talk shares."""
    from bench import scoring
    from capture.decode import decode_to_wav, read_mono
    from diarization.activity import relabel_activity
    from meetings.pipeline import channel_route

    wav = tmp / f"{name}.dec.wav"
    info = decode_to_wav(path, wav)
    route = channel_route(wav)
    if full:
        p = engine.process(wav, info.duration, route=route)
        dia, turns = p.diarization, list(p.turns)
    else:  # the diarizer alone
        dia, turns = engine.diarizer(read_mono(wav)), []
    out = {"name": name, "route": route.path, "ref_speakers": len(ref.speakers), "diarized_speakers": len(dia.speakers),
           "speakers": len({t.speaker for t in turns}) if turns else len(dia.speakers), "der": {}}
    talk = {}
    for t in turns:
        talk[t.speaker] = talk.get(t.speaker, 0.0) + sum(w.word.end - w.word.start for w in t.words)
    out["top_share"] = max(talk.values()) / sum(talk.values()) if talk else None
    variants = [("internal", dia.segments)] + ([("export", relabel_activity(p.activity or dia.segments, turns, keep=set(dia.speakers)))] if turns else [])
    for variant, segs in variants:
        parts, _ = scoring.der(ref, segs, 0.25)
        out["der"][variant] = _der_dict(parts)
    if turns and ref.seglst:
        out["cpwer"] = {s: [v.errors, v.length] for s, v in scoring.wer_scores(ref, scoring.turns_to_seglst(ref.name, turns)).items()}
    out["warnings"] = list(getattr(p, "warnings", ())) if full else []
    if turns:
        out["flags"] = {k: v for k, v in asdict(scoring.flag_quality(ref, turns)).items() if k != "bins"}
        # per turn: confidence, flagged, wrong words, judged words (flag rules can be re-scored from the JSON)
        out["turn_samples"] = [[t.confidence, bool(t.flagged), w, j] for t, (w, j) in zip(turns, scoring.turn_errors(ref, turns))]
    return out


def run_calls(eval_dir: Path, engine, tmp: Path, names: list[str]) -> list[dict]:
    """The real call (phone_call_40, mono mix and stereo) and the calls built from eval speakers
    (bench/calls.py): mono telephone mix, stereo one party per channel, wideband (diarizer only);
    and a held-out draw of built calls (mono and stereo) on which nothing was chosen."""
    from bench import calls, scoring

    out = []
    if (eval_dir / "phone_call_40").exists():
        ref = scoring.load_reference(eval_dir, "phone_call_40", 245.4)
        for kind, stem in (("mono", None), ("stereo", "phone_call_40.stereo")):
            r = run_call(f"phone_call_40 ({kind})", scoring.audio_path(eval_dir, "phone_call_40", stem), ref, engine, tmp)
            r.update(kind=kind, built=False)
            out.append(r)
            print(f"call {r['name']}: {r['speakers']} speakers", file=sys.stderr)
    for draw, built, kinds in (("tune", calls.default_calls(eval_dir, names), ("mono", "stereo", "wideband", "quiet")),
                               ("held-out", calls.held_out_calls(eval_dir, names), ("mono", "stereo"))):
        for i, c in enumerate(built):
            paths = calls.write_call(c, tmp / "calls" / draw)
            if "quiet" in kinds:
                paths["quiet"] = calls.write_quiet(c, tmp / "calls" / draw, party=i % 2)
            ref = calls.reference(c)
            for kind in kinds:
                label = f"quiet {'AB'[i % 2]}" if kind == "quiet" else kind
                r = run_call(f"{c.name} ({label})", paths[kind], ref, engine, tmp, full=kind != "wideband")
                r.update(kind=kind, built=True, duration=c.duration, draw=draw)
                out.append(r)
                print(f"call {r['name']} [{draw}]: {r['speakers']} speakers", file=sys.stderr)
    return out


def run_bias_sweep(eval_dir: Path, engine, tmp: Path, names: list[str]) -> dict:
    """The telephone-band speech bias swept over every narrowband file: the real call's mono mix,
    the built calls' mono mixes and ``pyannote_sample_call`` (bench/calls.py: bias_sweep)."""
    from bench import calls, scoring
    from capture.decode import decode_to_wav, read_mono

    items = []

    def add(name, path, ref=None):
        wav = tmp / f"{name}.sweep.wav"
        info = decode_to_wav(path, wav)
        items.append((name, read_mono(wav), ref or scoring.load_reference(eval_dir, name, info.duration)))

    for name in ("phone_call_40", "pyannote_sample_call"):  # the real calls (their mono mix)
        if (eval_dir / name).exists():
            add(name, scoring.audio_path(eval_dir, name))
    for c in calls.default_calls(eval_dir, names):
        add(f"{c.name} (mono)", calls.write_call(c, tmp / "calls")["mono"], calls.reference(c))
    return calls.bias_sweep(engine.diarizer, items)


def whole_process(files: list[Path], tmp: Path) -> dict:
    """Concatenate the files and time a real `parley import` subprocess (model loading included)."""
    import soundfile as sf

    audio = np.concatenate([sf.read(f, dtype="float32")[0] for f in files])
    joined = tmp / "joined.wav"
    sf.write(joined, audio, 16000)
    env = dict(os.environ, PARLEY_DATA_DIR=str(tmp / "whole"))
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, "-m", "meetings.cli", "import", str(joined), "--quiet"], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"parley import failed: {proc.stderr[-2000:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"audio_seconds": len(audio) / 16000, "wall_seconds": wall, "peak_rss_mb": max(peak_kb, before) / 1024}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL)
    ap.add_argument("--list", default="core.lst")
    ap.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    ap.add_argument("--files", nargs="*", help="only these items")
    ap.add_argument("--no-whole", action="store_true", help="skip the whole-process run")
    ap.add_argument("--no-joined", action="store_true", help="skip the joined and summed (mixed) meetings checks")
    ap.add_argument("--no-calls", action="store_true", help="skip the two-party calls (real and built from eval speakers)")
    ap.add_argument("--no-variants", action="store_true", help="skip the stage variants (leave-one-out report)")
    ap.add_argument("--render-only", action="store_true", help="rewrite the report from its JSON twin (no models run)")
    ap.add_argument("--only-calls", action="store_true", help="rerun only the two-party calls and the telephone-band sweep; "
                    "the rest of the JSON twin is kept")
    args = ap.parse_args(argv)
    if args.render_only:
        args.out.write_text(render(json.loads(args.out.with_suffix(".json").read_text()), args))
        print(f"wrote {args.out}", file=sys.stderr)
        return 0
    if args.only_calls:
        return _only_calls(args)

    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    from diarization.diarize import PYANNOTE_DEFAULT_PARAMS, Diarizer
    from meetings.pipeline import Engine
    from meetings.types import PipelineOptions

    try:
        from meetings.store import Store
    except ImportError:  # partial checkouts: benchmark the pipeline without storage
        Store = None

    names = args.files or [l.strip() for l in (args.eval_dir / args.list).read_text().splitlines() if l.strip()]
    t0 = time.perf_counter()
    engine = Engine(PipelineOptions(device="cpu"))
    baseline = Diarizer("embedded", engine.device, PYANNOTE_DEFAULT_PARAMS)
    baseline.speech_bias = 0.0  # pyannote's own decision, on telephone-band audio too
    engine.models.wait()  # the engine's diarizer loads on a background thread
    load_s = time.perf_counter() - t0
    results = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        store = Store(tmp / "bench.db") if Store else None
        for name in names:
            r = run_file(name, args.eval_dir, engine, baseline, store, tmp, variants=not args.no_variants)
            results.append(r)
            p = r.der["parley"]["0.25"]
            print(f"{name}: DER@0.25 {(p['missed'] + p['false_alarm'] + p['confusion']) / max(p['total'], 1e-9):.3f}", file=sys.stderr)
        joined, mixed = [], []
        if not args.no_joined:
            for a, b in JOINED_PAIRS:
                if a in names and b in names:
                    joined.append(run_joined(a, b, args.eval_dir, engine, tmp))
                    print(f"joined {a}+{b}", file=sys.stderr)
            for a, b in MIXED_PAIRS:
                if a in names and b in names:
                    mixed.append(run_joined(a, b, args.eval_dir, engine, tmp, overlap=MIXED_OVERLAP))
                    print(f"mixed {a}+{b}", file=sys.stderr)
        pool = calls.call_pool(args.eval_dir)
        call_results = [] if args.no_calls else run_calls(args.eval_dir, engine, tmp, pool)
        bias_sweep = {} if args.no_calls else run_bias_sweep(args.eval_dir, engine, tmp, pool)
        from bench import scoring

        whole = None if args.no_whole else whole_process([scoring.audio_path(args.eval_dir, n) for n in names], tmp)
        from bench import startup

        start = None if args.no_whole else startup.measure(tmp)
    report = {"files": [asdict(r) for r in results], "recover_overlap": engine.recover_overlap, "calls": call_results, "calls_bias": bias_sweep, "joined": joined, "mixed": mixed, "model_load_seconds": load_s, "whole_process": whole, "startup": start, "machine": machine(),
              "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    args.out.write_text(render(report, args))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _only_calls(args) -> int:
    """``--only-calls``: the calls and the telephone-band sweep rerun, stored in the JSON twin."""
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    from meetings.pipeline import Engine
    from meetings.types import PipelineOptions

    twin = args.out.with_suffix(".json")
    report = json.loads(twin.read_text()) if twin.exists() else {"files": []}
    engine = Engine(PipelineOptions(device="cpu"))
    engine.models.wait()
    pool = calls.call_pool(args.eval_dir)
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        report["calls"] = run_calls(args.eval_dir, engine, tmp, pool)
        report["calls_bias"] = run_bias_sweep(args.eval_dir, engine, tmp, pool)
    report["calls_generated"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    twin.write_text(json.dumps(report, indent=1))
    args.out.write_text(render(report, args))
    print(f"wrote {twin} and {args.out}", file=sys.stderr)
    return 0


def machine() -> dict:
    import torch

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def _sum_der(files, variant, collar):
    tot = {"total": 0.0, "missed": 0.0, "false_alarm": 0.0, "confusion": 0.0}
    for f in files:
        for k in tot:
            tot[k] += f["der"][variant][collar][k]
    t = tot["total"] or 1e-9
    return {k: tot[k] / t for k in ("missed", "false_alarm", "confusion")} | {"der": (tot["missed"] + tot["false_alarm"] + tot["confusion"]) / t}


def _sum_wer(files, system, kind):
    e = sum(f["wer"][system][kind][0] for f in files if f["wer"])
    n = sum(f["wer"][system][kind][1] for f in files if f["wer"])
    return e / n if n else float("nan")


def _render_export(files: list[dict]) -> list[str]:
    """Exported RTTM (speaker activity relabelled by the words) against the internal diarization."""
    files = [f for f in files if "export" in f["der"]]
    if not files:
        return []

    def d(f, v):
        x = f["der"][v]["0.25"]
        return (x["missed"] + x["false_alarm"] + x["confusion"]) / max(x["total"], 1e-9)

    worse = [f["name"] for f in files if d(f, "export") > d(f, "parley") + 1e-9]
    L = ["\n## Who spoke when, as exported (`parley export --format rttm`)\n",
         "The RTTM is the diarization's speaker activity (all the speech, words or not), each piece renamed as the final words say "
         "(voice stage, folded back-channel speakers, and in the app the user's corrections: `diarization/activity.py`). "
         "Before, it was rebuilt from the word turns. DER at collar 0.25 s, total-weighted.\n",
         "| | internal diarization | exported RTTM | RTTM from word turns (before) |\n|---|---|---|---|",
         f"| all files | {100 * _sum_der(files, 'parley', '0.25')['der']:.1f} % | **{100 * _sum_der(files, 'export', '0.25')['der']:.1f} %** | "
         f"{100 * _sum_der(files, 'export_word_turns', '0.25')['der']:.1f} % |",
         f"\nFiles where the exported RTTM is worse than the internal diarization: {', '.join(worse) if worse else 'none'} (of {len(files)})."]
    return L


def extra_sections(folder: Path = REPO / "bench" / "extra") -> str:
    """Sections other benchmarks keep in ``bench/extra/*.md``, appended to the report in name order."""
    if not folder.is_dir():
        return ""
    return "".join("\n" + p.read_text().strip() + "\n" for p in sorted(folder.glob("*.md")))


def render(report: dict, args) -> str:
    files = report["files"]
    m = report["machine"]
    dur = sum(f["duration"] for f in files)
    L = []
    L.append("# Parley benchmark report\n")
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    L.append(f"Generated by `python -m bench --list {args.list}` on {report.get('generated', now)}"
             + (f" (two-party calls rerun on {report['calls_generated']})" if report.get("calls_generated") else "")
             + (f"; rendered on {now} with the sections of `bench/extra` (each dated)" if report.get("generated", now) != now else "")
             + ". ")
    L.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, GPU: {m['gpu']}; Python {m['python']}, torch {m['torch']}.\n")
    L.append(f"Data: {len(files)} files of `{args.eval_dir.name}/{args.list}`, {dur / 60:.1f} min. Models: Whisper tiny.en (int8, CPU), pyannote segmentation-3.0 + CAM++ (embedded, offline).\n")
    L.append("\n## Diarization error rate (pyannote.metrics, overlap scored, total-weighted)\n")
    L.append("| system | collar | DER | missed | false alarm | confusion |\n|---|---|---|---|---|---|")
    for variant, label in (("parley", "Parley (embedded pipeline)"), ("pyannote_default", "pyannote pipeline, default 3.1 settings, same weights")):
        for collar in ("0.0", "0.25"):
            s = _sum_der(files, variant, collar)
            L.append(f"| {label} | {collar} s | {100 * s['der']:.1f} % | {100 * s['missed']:.1f} % | {100 * s['false_alarm']:.1f} % | {100 * s['confusion']:.1f} % |")
    wer_files = [f for f in files if f["wer"]]
    if wer_files:
        L.append("\n## Transcription and speaker attribution (meeteval; tcpWER collar 5 s)\n")
        L.append("| system | WER | cpWER | tcpWER | cpWER heavy-overlap (EN2006b, EN2009b) |\n|---|---|---|---|---|")
        heavy = [f for f in wer_files if f["name"] in HEAVY_OVERLAP]
        shipped = "Parley: alignment + voice re-clustering" + (" + overlap recovery" if report.get("recover_overlap", True) else " (as shipped: overlap recovery off)")
        for system, label in (("parley", shipped), ("parley_no_overlap", "Parley Viterbi alignment only (no voice stage, no overlap recovery)"), ("max_overlap", "WhisperX-style max-overlap, same ASR + diarization")):
            hv = " / ".join(f"{100 * _sum_wer([f], system, 'cpwer'):.1f} %" for f in heavy) or "–"
            L.append(f"| {label} | {100 * _sum_wer(wer_files, system, 'wer'):.1f} % | {100 * _sum_wer(wer_files, system, 'cpwer'):.1f} % | {100 * _sum_wer(wer_files, system, 'tcpwer'):.1f} % | {hv} |")
        sp = {s: [sum(f["wer"][s].get("splits", [0, 0])[i] for f in wer_files) for i in (0, 1)] for s in ("parley", "max_overlap")}
        L.append(f"\nSpeaker changes inside a sentence (the previous word ends no sentence): Parley {sp['parley'][0]} of {sp['parley'][1]} changes, max-overlap {sp['max_overlap'][0]} of {sp['max_overlap'][1]}.")
        p_cp, b_cp = _sum_wer(wer_files, "parley", "cpwer"), _sum_wer(wer_files, "max_overlap", "cpwer")
        L.append(f"\ncpWER of Parley relative to the max-overlap baseline: **{100 * (p_cp - b_cp) / b_cp:+.1f} %** overall; heavy-overlap files: "
                 + ", ".join(f"{f['name']} {100 * _sum_wer([f], 'parley', 'cpwer'):.1f} % vs {100 * _sum_wer([f], 'max_overlap', 'cpwer'):.1f} %" for f in heavy) + ".")
        fl = {k: sum(f["flags"].get(k, 0) for f in wer_files) for k in wer_files[0]["flags"] if k not in ("bins", "per_turn")}
        L.append("\n## Review flags\n")
        recall = fl["wrong_in_flagged"] / fl["wrong_words"] if fl["wrong_words"] else float("nan")
        share = fl["flagged_turns"] / fl["turns"] if fl["turns"] else float("nan")
        prec = fl["flagged_with_wrong"] / fl["flagged_turns"] if fl["flagged_turns"] else float("nan")
        L.append(f"- Wrongly attributed words: {fl['wrong_words']} of {fl['judged_words']} judged words ({100 * fl['wrong_words'] / max(fl['judged_words'], 1):.1f} %).")
        L.append(f"- Recall: {100 * recall:.1f} % of wrongly attributed words are inside flagged turns.")
        L.append(f"- Turns flagged: {fl['flagged_turns']} of {fl['turns']} ({100 * share:.1f} %).")
        unflagged = fl["turns"] - fl["flagged_turns"]
        un_wrong = fl.get("turns_with_wrong", 0) - fl["flagged_with_wrong"]
        L.append(f"- Calibration: {100 * prec:.1f} % of flagged turns contain a wrongly attributed word, against {100 * un_wrong / max(unflagged, 1):.1f} % of unflagged turns.")
        from bench.scoring import CONFIDENCE_BINS

        bins = [[sum(f["flags"]["bins"][i][j] for f in wer_files if f["flags"].get("bins")) for j in (0, 1)] for i in range(len(CONFIDENCE_BINS) - 1)]
        L.append("- Reliability (turn confidence vs. turns holding a wrongly attributed word): " + "; ".join(
            f"{lo:.2f}–{min(hi, 1.0):.2f}: {w}/{n}" for (lo, hi), (n, w) in zip(zip(CONFIDENCE_BINS, CONFIDENCE_BINS[1:]), bins) if n) + ".")
        L.append("- Wrongly attributed: the word's speaker, under the one-to-one speaker mapping that makes the most final words right, is not a reference speaker active at the word's midpoint (±0.1 s).")
    sections = (
        ("joined", "Longer and busier: two meetings joined (60 s, 4–6 people)",
         "Each pair of evaluation files is played back to back as one recording and scored against the joined references (same models and settings)."),
        ("mixed", f"Two conversations at once: two meetings summed, {MIXED_OVERLAP:g} s of full overlap",
         f"The second file starts {MIXED_OVERLAP:g} s before the first ends and the audio is summed: for {MIXED_OVERLAP:g} s two conversations talk over each other "
         "(harder than any real meeting; single-stream ASR loses much of it). It checks that overlap handling degrades gracefully and the voice stage does not merge people."),
    )
    for key, title, text in sections:
        joined = report.get(key) or []
        if not joined:
            continue
        L.append(f"\n## {title}\n")
        L.append(text + "\n")
        L.append("| recording | spk ref/parley | cpWER parley | cpWER max-overlap | flagged turns | wrong words (in flagged) |\n|---|---|---|---|---|---|")
        for j in joined:
            r = lambda s: 100 * j["wer"][s]["cpwer"][0] / max(j["wer"][s]["cpwer"][1], 1)
            fl = j["flags"]
            L.append(f"| {j['name']} | {j['ref_speakers']}/{j['hyp_speakers']} | {r('parley'):.1f} % | {r('max_overlap'):.1f} % | {fl['flagged_turns']}/{fl['turns']} | {fl['wrong_words']} ({fl['wrong_in_flagged']}) |")
        tot = lambda s: 100 * sum(j["wer"][s]["cpwer"][0] for j in joined) / max(sum(j["wer"][s]["cpwer"][1] for j in joined), 1)
        ww, wf = sum(j["flags"]["wrong_words"] for j in joined), sum(j["flags"]["wrong_in_flagged"] for j in joined)
        ft, tt = sum(j["flags"]["flagged_turns"] for j in joined), sum(j["flags"]["turns"] for j in joined)
        L.append(f"| **all** | | **{tot('parley'):.1f} %** | **{tot('max_overlap'):.1f} %** | {ft}/{tt} ({100 * ft / max(tt, 1):.0f} %) | {ww} ({wf}: {100 * wf / max(ww, 1):.0f} %) |")
    from bench import calls as calls_mod, loo

    L.extend(loo.render_out_of_sample(files))
    L.extend(_render_export(files))
    L.extend(calls_mod.render_calls(report.get("calls") or []))
    from diarization.band import NARROWBAND_SPEECH_BIAS

    L.extend(calls_mod.render_bias(report.get("calls_bias") or {}, NARROWBAND_SPEECH_BIAS))
    L.append("\n## Speed (this machine, CPU)\n")
    stages = {}
    for f in files:
        for k, v in f["stage_seconds"].items():
            stages[k] = stages.get(k, 0.0) + v
    L.append("| stage | seconds | real-time factor |\n|---|---|---|")
    for k, v in stages.items():
        L.append(f"| {k} | {v:.1f} | {v / dur:.3f} |")
    pipeline_s = sum(v for k, v in stages.items() if k != "baseline_diarize")
    L.append(f"| **import pipeline (decode → save)** | {pipeline_s:.1f} | **{pipeline_s / dur:.3f}** |")
    L.append(f"\nModel loading (once per process): {report['model_load_seconds']:.1f} s. Share of pipeline time: alignment (Viterbi, pure) {100 * stages.get('align', 0) / max(pipeline_s, 1e-9):.2f} %, voice re-clustering (speaker embeddings of word windows + clustering) {100 * stages.get('voice', 0) / max(pipeline_s, 1e-9):.1f} %, overlap recovery (re-transcription) " + (f"{100 * stages.get('overlap', 0) / max(pipeline_s, 1e-9):.1f} %" if "overlap" in stages else "off (`--recover-overlap`)") + ".\n")
    w = report.get("whole_process")
    if w:
        L.append(f"Whole process, a real `parley import` of all files joined ({w['audio_seconds'] / 60:.1f} min, model loading and start-up included): {w['wall_seconds']:.1f} s = **{w['wall_seconds'] / w['audio_seconds']:.3f}× real time**, peak RSS **{w['peak_rss_mb']:.0f} MB**.\n")
    if report.get("startup"):
        from bench import startup

        L.append(startup.render(report["startup"]))
    L.append("\n## Per file\n")
    L.append("| file | min | spk ref/parley/default | DER@0.25 parley | DER@0.25 default | DER@0.25 exported RTTM | WER | cpWER parley | cpWER max-overlap | flagged turns | wrong words (in flagged) |\n|---|---|---|---|---|---|---|---|---|---|---|")
    for f in files:
        d = lambda v: sum(f["der"][v]["0.25"][k] for k in ("missed", "false_alarm", "confusion")) / max(f["der"][v]["0.25"]["total"], 1e-9)
        if f["wer"]:
            wr = lambda s, k: 100 * f["wer"][s][k][0] / max(f["wer"][s][k][1], 1)
            fl = f["flags"]
            extra = f"{wr('parley', 'wer'):.1f} % | {wr('parley', 'cpwer'):.1f} % | {wr('max_overlap', 'cpwer'):.1f} % | {fl['flagged_turns']}/{fl['turns']} | {fl['wrong_words']} ({fl['wrong_in_flagged']})"
        else:
            extra = "– | – | – | – | –"
        ex = f"{100 * d('export'):.1f} %" if "export" in f["der"] else "–"
        L.append(f"| {f['name']} | {f['duration'] / 60:.1f} | {f['ref_speakers']}/{f['hyp_speakers']}/{f['base_speakers']} | {100 * d('parley'):.1f} % | {100 * d('pyannote_default'):.1f} % | {ex} | {extra} |")
    L.append("\nNotes: most AMI excerpts come from AMI *train* meetings that pyannote's segmentation model saw in training (see the eval README); treat their DER as optimistic. Scored words are lower-cased with punctuation removed on both sides.\n")
    return "\n".join(L) + "\n" + extra_sections()


if __name__ == "__main__":
    sys.exit(main())
