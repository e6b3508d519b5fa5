"""What the long-meeting clustering caps cost in accuracy (diarization/bounded.py).

``python -m bench.bounded [--minutes 10 30]`` builds the same joined meetings as
``bench.long`` (a different seed: not the reported runs) and, on each:

* diarization: pyannote runs once (its segmentation and chunk embeddings cached in the file,
  pyannote's own training cache), then the clustering step and everything after it run again
  with the linkage fed all active chunk embeddings, and with only a share of them (the rest
  assigned to the nearest centroid): DER (collar 0.25, overlap scored) against the joined reference;
* voice stage: 2-second windows of the diarization's single-speaker speech get CAM++ embeddings and
  are clustered by the voice stage's clustering, all at once and with a share of them (the rest
  assigned): the share of window-seconds labelled differently (after matching the two labelings),
  and each labeling's impurity against the reference speakers.

The shares tried bracket what a 2-hour meeting keeps under the default caps (the 2-hour
``bench.long`` run records its counts). Nothing here was tuned on these figures.
Writes bench/extra/bounded.md and bounded.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.long import DATA, OUT, build_meeting, der, load, load_pool

SHARES = (0.5, 0.25)


def _windows(dia, window: float = 2.0, shortest: float = 1.0):
    """(start, end, diarization speaker) windows of about ``window`` s over single-speaker speech."""
    out = []
    for s in dia.exclusive:
        n = int(round((s.end - s.start) / window))
        if s.end - s.start < shortest:
            continue
        n = max(1, n)
        step = (s.end - s.start) / n
        out.extend((s.start + k * step, s.start + (k + 1) * step, s.speaker) for k in range(n))
    return out


def _majority(ref, a: float, b: float) -> str | None:
    best, who = 0.0, None
    for s, e, spk in ref:
        o = min(b, e) - max(a, s)
        if o > best:
            best, who = o, spk
    return who


def _impurity(labels: np.ndarray, truth: list, secs: np.ndarray) -> float:
    """Share of seconds whose cluster's majority reference speaker is not their own."""
    wrong = 0.0
    for c in np.unique(labels):
        m = labels == c
        counts: dict = {}
        for t, s in zip((truth[i] for i in np.flatnonzero(m)), secs[m]):
            counts[t] = counts.get(t, 0.0) + s
        wrong += secs[m].sum() - max(counts.values())
    return wrong / secs.sum()


def _disagreement(a: np.ndarray, b: np.ndarray, secs: np.ndarray) -> float:
    from scipy.optimize import linear_sum_assignment

    m = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(m, (a, b), secs)
    r, c = linear_sum_assignment(m, maximize=True)
    return 1.0 - m[r, c].sum() / secs.sum()


def run_meeting(diarizer, wav: Path, ref, duration: float) -> dict:
    import soundfile as sf
    import torch

    from diarization import bounded
    from diarization.voices import cluster_windows, cluster_windows_bounded

    audio = sf.read(wav, dtype="float32")[0]
    file = {"waveform": torch.from_numpy(audio)[None], "sample_rate": 16000, "uri": "meeting"}
    p = diarizer.pipeline
    p.training = True  # pyannote's cache: segmentation and embeddings computed once for all variants
    out: dict = {"minutes": round(duration / 60, 2)}
    default = bounded.MAX_CLUSTER_EMBEDDINGS
    try:
        for name, cap in [("all", 10**9), *((f"{s:.0%}", s) for s in SHARES)]:
            bounded.MAX_CLUSTER_EMBEDDINGS = cap
            t0 = time.perf_counter()
            with torch.inference_mode():
                dia = diarizer._convert(p(file))
            secs = time.perf_counter() - t0
            d = der(ref, [(s.start, s.end, s.speaker) for s in dia.segments], duration)
            out.setdefault("diarization", {})[name] = {**d, "seconds": round(secs, 1)}
            if name == "all":
                c = p.clustering
                emb = file["training_cache/embeddings"]["embeddings"]
                active = type(c).filter_embeddings(c, emb, segmentations=file[p.CACHED_SEGMENTATION])[0]
                out["chunk_embeddings"] = {"total": int(emb.shape[0] * emb.shape[1]), "active": int(len(active))}
                full_dia = dia
            print(f"bounded: {duration / 60:.0f} min, diarization {name}: DER {d['der']:.3f} ({secs:.0f} s)", file=sys.stderr, flush=True)
    finally:
        bounded.MAX_CLUSTER_EMBEDDINGS = default
        p.training = False

    wins = _windows(full_dia)
    emb = diarizer.embed_many([audio[int(a * 16000) : int(b * 16000)] for a, b, _ in wins])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9
    speakers = sorted({w[2] for w in wins})
    owners = np.array([speakers.index(w[2]) for w in wins])
    secs = np.array([b - a for a, b, _ in wins])
    truth = [_majority(ref, a, b) for a, b, _ in wins]
    args = dict(seconds=secs, owners=owners, cohesion_ratio=0.75, substantial=3.0)
    full = cluster_windows(emb, 0.3, **args)
    v = {"windows": len(wins), "all": {"impurity": round(_impurity(full, truth, secs), 4), "groups": int(full.max() + 1)}}
    for s in SHARES:
        part = cluster_windows_bounded(emb, 0.3, cap=s, **args)
        v[f"{s:.0%}"] = {"impurity": round(_impurity(part, truth, secs), 4), "groups": int(part.max() + 1),
                         "differs_from_all": round(_disagreement(full, part, secs), 4)}
    out["voice_windows"] = v
    return out


def render(runs: list[dict], meta: dict) -> str:
    L = ["## Long meetings: what the clustering caps cost\n",
         f"`python -m bench.bounded` ({meta['date']}; load {meta['load'][0]}): joined meetings as in `bench.long` (seed {meta['seed']}, "
         "not the reported runs). Diarization: pyannote's segmentation and chunk embeddings computed once, the clustering "
         "and everything after it re-run with all active chunk embeddings in the linkage and with a share of them "
         "(the rest assigned to the nearest centroid; `min_cluster_size` scaled by the share). DER collar 0.25 s, overlap scored.\n",
         "| meeting | active chunk embeddings | DER all | DER 50 % | DER 25 % | speakers ref / all / 50 % / 25 % |",
         "|---|---|---|---|---|---|"]
    for r in runs:
        d = r["diarization"]
        L.append(f"| {r['minutes']:.0f} min | {r['chunk_embeddings']['active']} | {d['all']['der'] * 100:.1f} % | {d['50%']['der'] * 100:.1f} % | "
                 f"{d['25%']['der'] * 100:.1f} % | {d['all']['speakers_ref']} / {d['all']['speakers_hyp']} / {d['50%']['speakers_hyp']} / {d['25%']['speakers_hyp']} |")
    L += ["", "Voice stage: the diarization's single-speaker speech in ~2 s windows (CAM++), clustered as the voice stage does "
          "(average linkage, merge at 0.3, cohesion 0.75 across diarized speakers) with all windows and with a share "
          "(the rest join the group they are on average most alike, or stay alone). *Differs*: window-seconds labelled "
          "differently from the full clustering after matching; *impurity*: window-seconds whose group's majority reference speaker is another.\n",
          "| meeting | windows | impurity all | 50 %: differs / impurity | 25 %: differs / impurity |", "|---|---|---|---|---|"]
    for r in runs:
        v = r["voice_windows"]
        L.append(f"| {r['minutes']:.0f} min | {v['windows']} | {v['all']['impurity'] * 100:.1f} % | "
                 f"{v['50%']['differs_from_all'] * 100:.1f} % / {v['50%']['impurity'] * 100:.1f} % | "
                 f"{v['25%']['differs_from_all'] * 100:.1f} % / {v['25%']['impurity'] * 100:.1f} % |")
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bounded")
    ap.add_argument("--minutes", type=float, nargs="+", default=[10, 30])
    ap.add_argument("--seed", type=int, default=1616)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--keep", action="store_true", help="keep the meetings of other lengths already in bounded.json")
    args = ap.parse_args(argv)
    from diarization.diarize import Diarizer

    pool = load_pool((DATA / "all.lst").read_text().split())
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seed": args.seed, "load": load(), "shares": SHARES}
    diarizer = Diarizer()
    runs = []
    args.out.mkdir(parents=True, exist_ok=True)
    if args.keep and (args.out / "bounded.json").exists():
        runs = [r for r in json.loads((args.out / "bounded.json").read_text())["runs"] if round(r["minutes"]) not in {round(m) for m in args.minutes}]
    for minutes in args.minutes:
        with tempfile.TemporaryDirectory(prefix="parley-bounded-") as tmp:
            wav = Path(tmp) / "meeting.wav"
            duration, ref, _ = build_meeting(pool, minutes * 60, args.seed + int(minutes), wav)
            runs.append({**run_meeting(diarizer, wav, ref, duration), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": load()})
            runs.sort(key=lambda r: r["minutes"])
        (args.out / "bounded.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))
        (args.out / "bounded.md").write_text(render(runs, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
