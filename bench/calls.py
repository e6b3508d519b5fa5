"""Two-party calls built from evaluation speakers, for the speaker-count and channel checks.

Each call takes two people from *different* evaluation recordings with word- or utterance-level
references (their clean single-speaker
stretches: nobody else within 0.2 s in the reference), lets them take turns with short gaps, a
few back-channels spoken over the other, and optionally one party holding most of the call. The
audio is then made telephone-like — band-limited to 300–3400 Hz, 8 kHz, G.711 µ-law — as an
ordinary call recording is. Three versions of every call:

  * ``mono``: both parties mixed, as a call recorder or a meeting app saves it;
  * ``stereo``: one party per channel, with the other party's bleed at -28 dB, 12 ms late
    (the far end heard through the near end's microphone), as call-centre recordings are;
  * ``wideband``: the mono mix at 16 kHz, not band-limited (to tell band-limiting from the rest).

The reference is the placement itself (RTTM segments; words from the AMI word timings where
there are any). Deterministic: the same seed builds the same calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meetings.types import SpeakerSegment

SR = 16_000


@dataclass(frozen=True, slots=True)
class Clean:
    """One person's clean stretches, in one or more evaluation files (AMI speaker ids are the
    same person across meetings)."""

    item: str
    speaker: str
    spans: tuple[tuple[str, float, float], ...]  # (item, start, end)

    @property
    def seconds(self) -> float:
        return sum(b - a for _, a, b in self.spans)


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    parties: tuple[str, str]  # "item:speaker"
    mono: np.ndarray  # 8 kHz telephone mix, float32
    stereo: np.ndarray  # (samples, 2) 8 kHz, one party per channel with bleed
    wideband: np.ndarray  # 16 kHz mix, not band-limited
    segments: tuple[SpeakerSegment, ...]  # reference: who speaks when (speakers "A", "B")
    words: tuple[tuple[str, float, float, str], ...]  # (speaker, start, end, word) where known

    @property
    def duration(self) -> float:
        return len(self.wideband) / SR


def clean_speakers(eval_dir: Path, names: list[str], min_span: float = 0.8, min_seconds: float = 6.0,
                   shrink: float = 0.0) -> list[Clean]:
    """Per person of each file, the stretches where the reference has only them (others kept 0.2 s
    away), their own pauses under 0.5 s bridged; ``shrink`` trims coarse labels' edges."""
    from bench import scoring
    from diarization.overlap import _merge, _subtract

    out = []
    for name in names:
        ref = scoring.load_reference(eval_dir, name, 0.0)
        for spk in ref.speakers:
            mine = _merge([(s.start - 0.25, s.end + 0.25) for s in ref.segments if s.speaker == spk])
            mine = [(a + 0.25 + shrink, b - 0.25 - shrink) for a, b in mine]
            others = _merge([(s.start - 0.2, s.end + 0.2) for s in ref.segments if s.speaker != spk])
            spans = [(name, a, b) for a, b in _subtract([m for m in mine if m[1] > m[0]], others) if b - a >= min_span]
            same = next((k for k, c in enumerate(out) if c.speaker == spk), None)
            if same is not None:
                out[same] = Clean(out[same].item, spk, out[same].spans + tuple(spans))
            elif spans:
                out.append(Clean(name, spk, tuple(spans)))
    return [c for c in out if c.seconds >= min_seconds]


def telephone(x: np.ndarray) -> np.ndarray:
    """16 kHz → 8 kHz narrowband: 300–3400 Hz band-pass, G.711 µ-law (8 bits)."""
    from scipy.signal import butter, resample_poly, sosfilt

    y = resample_poly(x, 1, 2)
    y = sosfilt(butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos"), y)
    mu = 255.0
    y = np.clip(y, -1, 1)
    q = np.round((np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu)) * 127) / 127
    return (np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu).astype(np.float32)


def _words(eval_dir: Path, item: str, speaker: str) -> list[tuple[float, float, str]]:
    path = eval_dir / item / f"{item}.words.tsv"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines()[1:]:
        p = line.split("\t")
        if len(p) >= 4 and p[2] == speaker:
            out.append((float(p[0]), float(p[1]), p[3]))
    return out


#: each line of a built stereo call hears the other party this much quieter, this late (8 kHz)
BLEED_DB = -28.0
BLEED_LAG = 0.012


def late(y: np.ndarray, sr: int = 8000, lag: float = BLEED_LAG) -> np.ndarray:
    """``y`` delayed by ``lag`` s (zeros first, same length)."""
    n = int(lag * sr)
    return np.r_[np.zeros(n, y.dtype), y[:-n]]


def cross_bleed(a: np.ndarray, b: np.ndarray, db: float) -> np.ndarray:
    """Two parties' 8-kHz lines as (samples, 2) stereo, each hearing the other ``db`` quieter, :data:`BLEED_LAG` late."""
    g = 10 ** (db / 20)
    return np.stack([a + g * late(b), b + g * late(a)], axis=1)


def build_call(eval_dir: Path, a: Clean, b: Clean, seed: int, dominant: bool = False) -> Call:
    import soundfile as sf

    from bench import scoring

    rng = np.random.default_rng(seed)
    audio = {}
    for item in {i for c in (a, b) for i, _, _ in c.spans}:
        x, sr = sf.read(scoring.audio_path(eval_dir, item), dtype="float32")
        if sr != SR:
            raise ValueError(f"{item}: expected {SR} Hz")
        audio[item] = x
    refs = {item: scoring.load_reference(eval_dir, item, 0.0) for item in audio}
    def pieces(spans):  # calls hand over every few seconds: cut long stretches into 1.5-5 s turns
        out = []
        for item, s0, s1 in spans:
            while s1 - s0 > 6.0:
                cut = s0 + float(rng.uniform(1.5, 5.0))
                out.append((item, s0, cut))
                s0 = cut
            out.append((item, s0, s1))
        return out

    queues = {c: pieces(c.spans) for c in (a, b)}
    if dominant:  # B says little: at most a fifth of A's speech
        keep, total = [], 0.0
        for s in queues[b]:
            if total + (s[2] - s[1]) <= 0.2 * a.seconds or not keep:
                keep.append(s)
                total += s[2] - s[1]
        queues[b] = keep
    tracks = {c: [] for c in (a, b)}  # (placed start, clip)
    rng.shuffle(queues[a])
    rng.shuffle(queues[b])
    segments, words, t = [], [], 0.5
    gain = {a: 1.0, b: float(10 ** (rng.uniform(-6, 6) / 20))}
    label = {a: "A", b: "B"}
    turn = a
    while queues[a] or queues[b]:
        if not queues[turn]:
            turn = b if turn is a else a
        item, s0, s1 = queues[turn].pop(0)
        clip = audio[item][int(s0 * SR): int(s1 * SR)]
        clip = clip / (np.sqrt(np.mean(clip**2)) + 1e-9) * 0.05 * gain[turn]
        tracks[turn].append((t, clip))
        for r in refs[item].segments:  # the reference's own timing inside the clip (its pauses are not speech)
            if r.speaker == turn.speaker and r.end > s0 and r.start < s1:
                segments.append(SpeakerSegment(t + max(r.start, s0) - s0, t + min(r.end, s1) - s0, label[turn]))
        words += [(label[turn], t + w0 - s0, t + w1 - s0, w) for w0, w1, w in _words(eval_dir, item, turn.speaker) if s0 <= w0 and w1 <= s1]
        t += len(clip) / SR
        nxt = b if turn is a else a
        if queues[nxt]:
            t += float(rng.uniform(-0.25, 0.2)) if rng.random() < 0.25 else float(rng.uniform(0.15, 0.8))  # sometimes they talk over
            turn = nxt
        else:
            t += float(rng.uniform(0.15, 0.8))
    n = int((t + 0.5) * SR)
    chan = {}
    for c in (a, b):
        y = np.zeros(n, np.float32)
        for start, clip in tracks[c]:
            i = int(start * SR)
            y[i: i + len(clip)] += clip[: n - i]
        chan[c] = y
    wide = chan[a] + chan[b]
    peak = max(1.0, float(np.abs(wide).max()) / 0.9)
    tel = {c: telephone(chan[c] / peak) for c in (a, b)}
    stereo = cross_bleed(tel[a], tel[b], BLEED_DB)
    mono = telephone(wide / peak)
    name = f"call_{a.item.removeprefix('ami_')[:8]}-{a.speaker}_{b.item.removeprefix('ami_')[:8]}-{b.speaker}" + ("_dominant" if dominant else "")
    return Call(name, (f"{a.item}:{a.speaker}", f"{b.item}:{b.speaker}"), mono, stereo.astype(np.float32), (wide / peak).astype(np.float32),
                tuple(segments), tuple(words))


def default_calls(eval_dir: Path, names: list[str], count: int = 6, seed: int = 14, per_speaker: int = 2) -> list[Call]:
    """``count`` calls between people of different recordings (each person in at most
    ``per_speaker`` calls), every third one dominated by one party. Only recordings with
    word-level or utterance-level references are used: the pyAudioAnalysis files' coarse labels
    cannot promise that a stretch holds one person."""
    pool = sorted(clean_speakers(eval_dir, [n for n in names if not n.startswith("paa_")]), key=lambda c: (-c.seconds, c.speaker))
    rng = np.random.default_rng(seed)
    pairs = [(i, j) for i in range(len(pool)) for j in range(len(pool))
             if i < j and pool[i].speaker != pool[j].speaker and pool[i].item != pool[j].item]
    calls, used = [], {}
    for k in rng.permutation(len(pairs)):
        i, j = pairs[int(k)]
        if used.get(i, 0) >= per_speaker or used.get(j, 0) >= per_speaker:
            continue
        used[i], used[j] = used.get(i, 0) + 1, used.get(j, 0) + 1
        calls.append(build_call(eval_dir, pool[i], pool[j], seed + len(calls), dominant=len(calls) % 3 == 2))
        if len(calls) >= count:
            break
    return calls


def write_call(call: Call, folder: Path) -> dict[str, Path]:
    """The call's three versions as WAV files (8 kHz mono and stereo, 16 kHz wideband)."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"mono": folder / f"{call.name}.wav", "stereo": folder / f"{call.name}.stereo.wav", "wideband": folder / f"{call.name}.16k.wav"}
    sf.write(paths["mono"], call.mono, 8000, subtype="PCM_16")
    sf.write(paths["stereo"], call.stereo, 8000, subtype="PCM_16")
    sf.write(paths["wideband"], call.wideband, SR, subtype="PCM_16")
    return paths


#: how much quieter one party is in the "quiet" version of a call (a call recorded on one side's
#: phone: the far end comes through the line quieter)
QUIET_DB = -10.0


def write_quiet(call: Call, folder: Path, party: int, db: float = QUIET_DB) -> Path:
    """The call's 8-kHz mono mix with party ``party`` (0: A, 1: B) ``db`` quieter, built from
    its telephone-band stereo tracks (each party's own line, with the other's bleed at -28 dB)."""
    import soundfile as sf

    tracks = call.stereo.astype(np.float64)
    gain = np.ones(tracks.shape[1])
    gain[party] = 10 ** (db / 20)
    mix = tracks @ gain
    mix /= max(1.0, float(np.abs(mix).max()) / 0.9)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{call.name}.quiet{'AB'[party]}.wav"
    sf.write(path, mix.astype(np.float32), 8000, subtype="PCM_16")
    return path


def reference(call: Call):
    from bench.scoring import Reference

    seglst = tuple((spk, a, b, w) for spk, a, b, w in call.words)
    return Reference(call.name, call.duration, call.segments, seglst)


#: a second draw of calls that chose nothing: every constant fitted on calls (the telephone-band
#: bias, the voice split, the bleed pad, the crosstalk flag) was chosen on :func:`default_calls`
#: and ``phone_call_40``. The same people (the eval speakers), in new pairs and new timings,
#: and up to three calls each, so the quieter and briefer speakers come in too.
HELD_OUT = {"count": 10, "seed": 101, "per_speaker": 3}


def held_out_calls(eval_dir: Path, names: list[str]) -> list[Call]:
    return default_calls(eval_dir, names, **HELD_OUT)


def call_pool(eval_dir: Path) -> list[str]:
    """The evaluation items calls are built from (``all.lst`` without the real call)."""
    return [n.strip() for n in (eval_dir / "all.lst").read_text().split() if n.strip() and n.strip() != "phone_call_40"]


def stereo_calls(eval_dir: Path, folder: Path) -> list[tuple[str, object, Path]]:
    """The stereo calls the channel path's constants are chosen on, as (name, reference, file):
    :func:`default_calls` (written to ``folder``) and ``phone_call_40``'s stereo file."""
    from bench import scoring

    items = [(c.name, reference(c), write_call(c, folder)["stereo"]) for c in default_calls(eval_dir, call_pool(eval_dir))]
    if (eval_dir / "phone_call_40").exists():
        items.append(("phone_call_40", scoring.load_reference(eval_dir, "phone_call_40", 245.4),
                      scoring.audio_path(eval_dir, "phone_call_40", "phone_call_40.stereo")))
    return items


def import_variants(eval_dir: Path, variants, write, describe) -> list[dict]:
    """Every built call of both draws (tuning and held out), once per item of ``variants``:
    ``write(call, variant, folder)`` writes the file to import and returns its path; it goes
    through :func:`bench.run.run_call` (the route it took, speakers with words, warnings) and the
    row keeps the DER (collar 0.25 s, seconds) of the exported speaker activity.
    ``describe(variant)`` adds its own fields to the row."""
    import os
    import sys
    import tempfile

    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    from bench.run import run_call
    from meetings.pipeline import Engine
    from meetings.types import PipelineOptions

    engine = Engine(PipelineOptions(device="cpu"))
    engine.models.wait()
    pool = call_pool(eval_dir)
    rows = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        for draw, built in (("tune", default_calls(eval_dir, pool)), ("held-out", held_out_calls(eval_dir, pool))):
            for c in built:
                ref = reference(c)
                for i, variant in enumerate(variants):
                    r = run_call(f"{c.name}.{i}", write(c, variant, tmp / draw), ref, engine, tmp)
                    d = {k: float(v) for k, v in r["der"]["export"].items()}
                    rows.append({"call": c.name, "draw": draw, **describe(variant), "route": r["route"],
                                 "ref_speakers": r["ref_speakers"], "speakers": r["speakers"], "der": d, "warnings": r["warnings"]})
                    print(f"{c.name} [{draw}] {describe(variant)}: {r['route']}, {r['speakers']} speakers, "
                          f"DER {100 * (d['missed'] + d['false_alarm'] + d['confusion']) / max(d['total'], 1e-9):.1f} %", file=sys.stderr)
    return rows


def section_main(argv, prog: str, stem: str, measure, render) -> int:
    """The ``main`` of a benchmark that writes one section of the report:
    ``bench/extra/<stem>.md`` (appended to BENCHMARKS.md) and its JSON twin."""
    import argparse
    import json

    from bench.run import DEFAULT_EVAL, REPO

    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "extra")
    args = ap.parse_args(argv)
    r = measure(args.eval_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(r, indent=1))
    (args.out / f"{stem}.md").write_text(render(r))
    print(render(r))
    return 0


def render_calls(results: list[dict]) -> list[str]:
    """The report's two-party calls section."""
    if not results:
        return []

    def der(r, k):
        d = r["der"].get(k)
        return (d["missed"] + d["false_alarm"] + d["confusion"]) / max(d["total"], 1e-9) if d else None

    def conf(r, k):
        d = r["der"].get(k)
        return d["confusion"] / max(d["total"], 1e-9) if d else None

    def pct(x):
        return "–" if x is None else f"{100 * x:.1f} %"

    held = [r for r in results if r.get("draw") == "held-out"]
    L = ["\n## Two-party calls\n",
         "The real call (`phone_call_40`: mono mix and stereo, a party per channel) and calls built from evaluation speakers "
         "(`bench/calls.py`: two people from different recordings take turns, sometimes over each other, one call in three dominated by "
         "one party; telephone band 300–3400 Hz, 8 kHz, µ-law; *stereo*: a party per channel with the other's bleed at −28 dB; "
         "*wideband*: the same mix at 16 kHz, diarizer only, to tell band-limiting from the rest; *quiet*: the mono mix with one "
         f"party (A and B in turn) {-QUIET_DB:.0f} dB quieter, as when a call is recorded on one side's phone). Path: the route the import took "
         "(decided from the audio). DER at collar 0.25 s; *exported* = the speaker activity `parley export --format rttm` writes."
         + (" *Held out*: a second draw of calls (`bench/calls.py`: HELD_OUT; the same people in new pairs and timings, the quieter "
            "and briefer speakers included) on which nothing was chosen: every constant fitted on calls was chosen on the first draw "
            "and phone_call_40." if held else "") + "\n",
         "| call | path | speakers ref / diarizer / final | DER internal | DER exported | confusion (exported) | largest talk share | warnings |",
         "|---|---|---|---|---|---|---|---|"]
    for r in results:
        ex = "export" if "export" in r["der"] else "internal"
        L.append(f"| {r['name']}{' *held out*' if r.get('draw') == 'held-out' else ''} | {r['route']} | {r['ref_speakers']} / {r['diarized_speakers']} / {r['speakers']} | {pct(der(r, 'internal'))} | "
                 f"{pct(der(r, 'export'))} | {pct(conf(r, ex))} | {pct(r.get('top_share'))} | {len(r.get('warnings') or [])} |")
    for kind, draw in (("mono", "tune"), ("stereo", "tune"), ("wideband", "tune"), ("quiet", "tune"), ("mono", "held-out"),
                       ("stereo", "held-out")):
        group = [r for r in results if r.get("kind") == kind and r.get("draw", "tune") == draw]
        if not group:
            continue
        fitted = "never fitted on these calls" if draw == "held-out" or kind != "stereo" else "the crosstalk level chosen on these calls"
        right = sum(r["speakers"] == r["ref_speakers"] for r in group)
        tot = {k: sum(r["der"][("export" if "export" in r["der"] else "internal")][k] for r in group) for k in ("total", "missed", "false_alarm", "confusion")}
        t = max(tot["total"], 1e-9)
        inner = {k: sum(r["der"]["internal"][k] for r in group) for k in ("missed", "false_alarm", "confusion")}
        ok = sum(der(r, "export" if "export" in r["der"] else "internal") <= 0.12 for r in group)
        line = (f"\n- {kind}{' (held out)' if draw == 'held-out' else ''}: right speaker count on {right} of {len(group)}; "
                f"DER ≤ 12 % on {ok} of {len(group)}; pooled DER "
                f"{100 * (tot['missed'] + tot['false_alarm'] + tot['confusion']) / t:.1f} %, confusion {100 * tot['confusion'] / t:.1f} % "
                f"(internal diarization: missed {100 * inner['missed'] / t:.1f} %, false alarm {100 * inner['false_alarm'] / t:.1f} %, "
                f"confusion {100 * inner['confusion'] / t:.1f} %)")
        fl = [r["flags"] for r in group if r.get("flags")]
        if fl:
            ww, wf = sum(f["wrong_words"] for f in fl), sum(f["wrong_in_flagged"] for f in fl)
            ft, tt = sum(f["flagged_turns"] for f in fl), sum(f["turns"] for f in fl)
            line += (f"; flags ({fitted}): {wf} of {ww} misattributed words inside flagged turns "
                     f"({100 * wf / max(ww, 1):.0f} %), {ft} of {tt} turns flagged ({100 * ft / max(tt, 1):.0f} %)")
            merged = [r for r in group if r.get("flags") and r["speakers"] < r["ref_speakers"]]
            if merged:
                mw = sum(r["flags"]["wrong_words"] for r in merged)
                mf = sum(r["flags"]["wrong_in_flagged"] for r in merged)
                warned = sum(bool(r.get("warnings")) for r in merged)
                line += (f"; {mw} of those words are in the {len(merged)} call(s) where the parties were merged into one speaker "
                         f"(a meeting-level failure: {warned} of them warned); in the other calls {wf - mf} of {ww - mw} "
                         f"({100 * (wf - mf) / max(ww - mw, 1):.0f} %)")
        L.append(line + ".")
    return L


#: the telephone-band speech bias values tried (diarization/band.py), each call left out in turn
BIAS_GRID = (0.0, 1.0, 2.0, 3.0)


def bias_sweep(diarizer, items, grid=BIAS_GRID) -> dict:
    """The diarizer alone on each narrowband item ``(name, audio, reference)`` at every bias of
    ``grid``: {bias: {name: {total, missed, false_alarm, confusion, speakers}}} (collar 0.25)."""
    from bench import scoring

    before = diarizer.speech_bias
    out: dict = {}
    try:
        for b in grid:
            diarizer.speech_bias = float(b)
            row = {}
            for name, audio, ref in items:
                dia = diarizer(audio)
                parts, _ = scoring.der(ref, dia.segments, 0.25)
                row[name] = {"total": parts.total, "missed": parts.missed, "false_alarm": parts.false_alarm,
                             "confusion": parts.confusion, "speakers": len(dia.speakers), "ref_speakers": len(ref.speakers),
                             "narrowband": bool(diarizer.narrowband)}
            out[str(float(b))] = row
    finally:
        diarizer.speech_bias = before
    return out


def _pooled(rows) -> float:
    rows = list(rows)
    t = sum(r["total"] for r in rows)
    return sum(r["missed"] + r["false_alarm"] + r["confusion"] for r in rows) / max(t, 1e-9)


def leave_one_call_out(sweep: dict) -> dict:
    """Per item, the bias chosen on all the *other* items (lowest pooled DER; ties: the smaller
    bias) and the item's DER there: {name: {"bias", "der", "speakers", "ref_speakers"}}."""
    if not sweep:
        return {}
    grid = sorted(sweep, key=float)
    names = list(sweep[grid[0]])
    out = {}
    for held in names:
        best = min(grid, key=lambda b: (round(_pooled(r for n, r in sweep[b].items() if n != held), 9), float(b)))
        r = sweep[best][held]
        out[held] = {"bias": float(best), "der": _pooled([r]), "speakers": r["speakers"], "ref_speakers": r["ref_speakers"]}
    return out


def render_bias(sweep: dict, shipped: float) -> list[str]:
    """The report's lines on the telephone-band bias: the sweep, and the leave-one-call-out figures."""
    if not sweep:
        return []
    grid = sorted(sweep, key=float)
    names = list(sweep[grid[0]])
    loo = leave_one_call_out(sweep)
    L = ["\n### Telephone-band speech bias (out of sample)\n",
         "On telephone-band audio (decided from the sound: `diarization/band.py`) the segmentation's no-speech class loses a "
         f"log-odds handicap; shipped value {shipped:g}. The diarizer alone on each narrowband file; *out of sample*: the bias chosen "
         "on all the other files (lowest pooled DER), scored on the one left out. DER at collar 0.25.\n",
         "| file | " + " | ".join(f"bias {float(b):g}" for b in grid) + " | out of sample (bias chosen) | speakers ref / found (out of sample) |",
         "|---|" + "---|" * (len(grid) + 2)]
    for n in names:
        cells = [f"{100 * _pooled([sweep[b][n]]):.1f} %" for b in grid]
        o = loo[n]
        L.append(f"| {n} | " + " | ".join(cells) + f" | **{100 * o['der']:.1f} %** ({o['bias']:g}) | {o['ref_speakers']} / {o['speakers']} |")
    pooled = [f"{100 * _pooled(sweep[b].values()):.1f} %" for b in grid]
    t = sum(sweep[grid[0]][n]["total"] for n in names)
    oos = sum(loo[n]["der"] * sweep[grid[0]][n]["total"] for n in names) / max(t, 1e-9)
    L.append("| **pooled** | " + " | ".join(pooled) + f" | **{100 * oos:.1f} %** | |")
    right = sum(loo[n]["speakers"] == loo[n]["ref_speakers"] for n in names)
    worst = max(loo[n]["der"] for n in names)
    L.append(f"\nOut of sample: right speaker count on {right} of {len(names)}, DER ≤ 12 % on "
             f"{sum(loo[n]['der'] <= 0.12 for n in names)} of {len(names)} (worst {100 * worst:.1f} %).")
    return L
