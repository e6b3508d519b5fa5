"""Out-of-sample discipline: leave-one-meeting-out choices and bootstrap intervals over files.

Every constant fitted on the evaluation set is re-chosen without the file it is scored on: for
each held-out file, the variant (a stage's setting, or a stage switched off) with the lowest
pooled error on the *other* files is the one applied to it, and the held-out files' errors are
summed. The in-sample figure (one variant chosen on all files) sits beside it. Pure apart from
nothing: per-file, per-variant ``(errors, length)`` counts in, figures out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

Counts = Mapping[str, Mapping[str, tuple[float, float]]]  # file -> variant -> (errors, length)


def pooled(counts: Counts, variant: str, files: Sequence[str]) -> float:
    e = sum(counts[f][variant][0] for f in files)
    n = sum(counts[f][variant][1] for f in files)
    return e / n if n else float("nan")


def best_variant(counts: Counts, files: Sequence[str], variants: Sequence[str], default: str) -> str:
    """The variant with the lowest pooled rate on ``files`` (ties: ``default``, then the order given)."""
    order = [default, *[v for v in variants if v != default]]
    return min(order, key=lambda v: (round(pooled(counts, v, files), 9), order.index(v)))


def leave_one_out(counts: Counts, variants: Sequence[str], default: str) -> dict[str, str]:
    """Per file, the variant chosen on all the other files."""
    files = list(counts)
    return {f: best_variant(counts, [g for g in files if g != f], variants, default) for f in files}


def held_out(counts: Counts, choice: Mapping[str, str]) -> dict[str, tuple[float, float]]:
    """Per file, the counts of the variant chosen without it."""
    return {f: tuple(counts[f][v]) for f, v in choice.items()}


def rate(per_file: Mapping[str, tuple[float, float]]) -> float:
    e = sum(x[0] for x in per_file.values())
    n = sum(x[1] for x in per_file.values())
    return e / n if n else float("nan")


def bootstrap(per_file: Mapping[str, tuple[float, float]], iters: int = 2000, seed: int = 0,
              statistic: Callable[[np.ndarray], float] | None = None) -> tuple[float, float]:
    """95 % interval of the pooled rate (or ``statistic`` of the resampled rows) over files
    resampled with replacement."""
    rows = np.array(list(per_file.values()), dtype=float)
    if len(rows) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    stat = statistic or (lambda r: r[:, 0].sum() / r[:, 1].sum() if r[:, 1].sum() > 0 else float("nan"))
    vals = np.array([stat(rows[rng.integers(0, len(rows), len(rows))]) for _ in range(iters)], dtype=float)
    vals = vals[np.isfinite(vals)]  # a resample with nothing to count (no wrong words) says nothing
    if not vals.size:
        return float("nan"), float("nan")
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def relative(per_file_a: Mapping[str, tuple[float, float]], per_file_b: Mapping[str, tuple[float, float]],
             iters: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(a − b) / b of pooled rates (a system against a baseline on the same files) and its 95 %
    bootstrap interval over files."""
    files = sorted(set(per_file_a) & set(per_file_b))
    rows = np.array([[per_file_a[f][0], per_file_a[f][1], per_file_b[f][0], per_file_b[f][1]] for f in files], dtype=float)

    def stat(r):
        ra, rb = r[:, 0].sum() / max(r[:, 1].sum(), 1e-12), r[:, 2].sum() / max(r[:, 3].sum(), 1e-12)
        return (ra - rb) / rb if rb else 0.0

    point = stat(rows) if len(rows) else float("nan")
    if not len(rows):
        return point, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    vals = [stat(rows[rng.integers(0, len(rows), len(rows))]) for _ in range(iters)]
    return float(point), float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def confidence_loo(samples: Mapping[str, Sequence], words: Mapping[str, Sequence[tuple[int, int]]]):
    """Flag quality out of sample: for each file, the confidence risks refitted on the other
    files' turns (:func:`diarization.confidence.fit_confidence`), then its own turns flagged.
    ``samples[f]``: ScoredTurn per turn; ``words[f]``: (wrong words, judged words) per turn.
    Returns per file (wrong words in flagged turns, wrong words, flagged turns, turns), in-sample
    (fitted on all files) and out of sample."""
    from diarization.confidence import fit_confidence

    everything = [s for f in samples for s in samples[f]]
    fitted_all = fit_confidence(everything)
    out = {"in": {}, "out": {}}
    for f in samples:
        rest = [s for g in samples if g != f for s in samples[g]]
        for key, model in (("in", fitted_all), ("out", fit_confidence(rest))):
            caught = wrong = flagged = 0
            for s, (w, _) in zip(samples[f], words[f]):
                flag = model.confidence(s.features) < model.threshold
                flagged += flag
                wrong += w
                caught += w if flag else 0
            out[key][f] = (caught, wrong, flagged, len(samples[f]))
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _ci(lo: float, hi: float) -> str:
    return f"[{100 * lo:.1f}, {100 * hi:.1f}]"


def render_out_of_sample(files: list[dict]) -> list[str]:
    """The report's out-of-sample section, from ``python -m bench``'s per-file results."""
    from bench.variants import OVERLAP_SHIPPED, OVERLAP_VARIANTS, VOICE_VARIANTS
    from diarization.confidence import ScoredTurn, TurnFeatures

    files = [f for f in files if f.get("wer", {}).get("variants")]
    if len(files) < 3:
        return []
    names = [f["name"] for f in files]
    var = {f["name"]: {k: tuple(v) for k, v in f["wer"]["variants"].items()} for f in files}
    base = {f["name"]: tuple(f["wer"]["max_overlap"]["cpwer"]) for f in files}
    voice = {n: {v: var[n][f"{v}|off"] for v in VOICE_VARIANTS} for n in names}
    overlap = {n: {o: var[n][f"default|{o}"] for o in OVERLAP_VARIANTS} for n in names}
    joint = var
    rows = []

    def row(label, per_in, per_out, choices=""):
        a, b = bootstrap(per_out)
        rel, rlo, rhi = relative(per_out, base)
        rows.append(f"| {label} | {_pct(rate(per_in))} | **{_pct(rate(per_out))}** {_ci(a, b)} | {100 * rel:+.1f} % {_ci(rlo, rhi)} | {choices} |")

    def fixed(counts, key):
        return {n: counts[n][key] for n in names}

    def chosen(counts, default):
        choice = leave_one_out(counts, list(next(iter(counts.values()))), default)
        picks = {}
        for v in choice.values():
            picks[v] = picks.get(v, 0) + 1
        return held_out(counts, choice), ", ".join(f"{v} ×{k}" for v, k in sorted(picks.items(), key=lambda x: -x[1]))

    row("WhisperX-style max-overlap (nothing fitted)", base, base)
    row("Viterbi alignment alone", fixed(joint, "off|off"), fixed(joint, "off|off"))
    v_out, v_pick = chosen(voice, "default")
    row("+ voice stage (its thresholds, or off, chosen without the file)", fixed(joint, "default|off"), v_out, v_pick)
    o_out, o_pick = chosen(overlap, OVERLAP_SHIPPED)
    row("+ overlap recovery on the default voice stage (leakage rules, or off, chosen without the file; in-sample: on)", fixed(joint, "default|default"), o_out, o_pick)
    shipped = f"default|{OVERLAP_SHIPPED}"
    j_out, j_pick = chosen(joint, shipped)
    row(f"full pipeline: both stages' settings chosen together without the file (in-sample: as shipped, {shipped})", fixed(joint, shipped), j_out, j_pick)
    L = ["\n## Out of sample: leave-one-meeting-out\n",
         f"Every setting fitted on the evaluation set is chosen again for each of the {len(names)} files *without* that file: among a stage's "
         "variants (its shipped setting, neighbouring settings, and the stage switched off: `bench/variants.py`), the one with the lowest "
         "pooled cpWER on the other files is applied to the held-out file. In-sample = the shipped setting scored on the same files it was "
         "tuned on. Intervals: 95 % bootstrap over files (2,000 resamples). The relative figure is against max-overlap on the same ASR "
         "and diarization, out of sample.\n",
         "| system | cpWER in-sample | cpWER out of sample [95 % CI] | vs max-overlap, out of sample [95 % CI] | variants chosen (held-out files) |",
         "|---|---|---|---|---|", *rows]
    v_eff = relative(v_out, fixed(joint, "off|off"))
    o_eff = relative(o_out, fixed(joint, "default|off"))
    L.append(f"\nEach stage's own out-of-sample effect: voice stage {100 * v_eff[0]:+.1f} % {_ci(v_eff[1], v_eff[2])} relative to Viterbi alone; "
             f"overlap recovery {100 * o_eff[0]:+.1f} % {_ci(o_eff[1], o_eff[2])} relative to the voice stage without it.")
    samples, words = {}, {}
    for f in files:
        rows_ = f["flags"].get("per_turn") or []
        samples[f["name"]] = [ScoredTurn(TurnFeatures(**feat), wrong > 0) for feat, wrong, _ in rows_]
        words[f["name"]] = [(wrong, judged) for _, wrong, judged in rows_]
    if any(samples.values()):
        res = confidence_loo(samples, words)
        shipped = {f["name"]: (f["flags"]["wrong_in_flagged"], f["flags"]["wrong_words"], f["flags"]["flagged_turns"], f["flags"]["turns"]) for f in files}
        L.append("\n**Flags out of sample.** The confidence risks refitted for each file on the other files' turns "
                 "(`diarization.confidence.fit_confidence`: each risk the rate of wrong turns among turns showing its signal, shrunk toward "
                 "the shipped value), then that file's turns flagged.\n")
        L.append("| risks | misattributed words inside flagged turns [95 % CI] | turns flagged |\n|---|---|---|")
        for label, per in (("as shipped (fitted on this set: in-sample)", shipped), ("refitted on all files (in-sample)", res["in"]),
                           ("refitted without the file (out of sample)", res["out"])):
            rec = {k: (v[0], v[1]) for k, v in per.items()}
            lo, hi = bootstrap(rec)
            flagged = sum(v[2] for v in per.values()) / max(sum(v[3] for v in per.values()), 1)
            L.append(f"| {label} | {_pct(rate(rec))} ({sum(v[0] for v in per.values())} of {sum(v[1] for v in per.values())}) {_ci(lo, hi)} | {_pct(flagged)} |")
    return L
