"""Voice re-clustering: check speaker labels against the voices heard under the words.

Diarization clusters embeddings of 5–10-second chunks, so a speaker change inside a chunk,
a chunk put in the wrong cluster, or two similar voices lumped into one cluster leave whole
sentences with the wrong label — and max-overlap or Viterbi alignment cannot repair that,
because it only redistributes the diarizer's labels. Here the words themselves choose the
audio: each run of one speaker's words (cut at pauses) is split into windows of about
``window`` seconds, each window gets a speaker embedding, and the windows are clustered
again (average linkage on cosine similarity; two groups are one voice when their windows
are on average at least ``same_voice`` alike).

Window clusters are matched to the diarization's speakers one to one (Hungarian, by
seconds of agreement); a cluster left over with at least ``min_new_speaker`` seconds of
speech becomes a speaker the diarizer missed — split out of the one diarization speaker that
held most of it (windows it gathered from other speakers keep their label, flagged unsure). On eval/core.lst, pure one-speaker windows
of the same person had median cosine 0.59 (10th percentile 0.41), of two different people
0.11 (90th percentile 0.36); ROC AUC 0.98.

Windows shorter than ``min_window`` (down to ``min_short``) are too short to cluster but are
compared with the voices found. Last, inside each run of one voice, 1-second sub-windows every
half second are scored against the voices and a Viterbi path with a switch penalty finds a
voice change the 2-second windows straddled (``refine``); that path runs over the words, and a
change costs less across a pause or after a sentence end, so it lands where people hand over.

Every window also reports its *margin*: similarity to its own voice minus the best other
voice, which turn confidence uses. Pure apart from ``embed`` (start, end → embedding).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from meetings.types import AttributedWord, Turn

from .align import build_turns

__all__ = ["VoiceOptions", "VoiceWindow", "VoiceResult", "voice_windows", "cluster_windows", "cluster_windows_bounded", "recluster_voices"]

Embed = Callable[[float, float], np.ndarray]
EmbedMany = Callable[[Sequence[tuple[float, float]]], np.ndarray]  # spans → (n, dim), batched
#: the cancel check runs before every this many embeddings (~0.4 s of CAM++ on a busy CPU; batching more gains nothing there)
CANCEL_EVERY = 8


@dataclass(frozen=True, slots=True)
class VoiceOptions:
    window: float = 2.0  # target seconds of words per embedding
    min_window: float = 1.0  # windows this long are clustered
    min_short: float = 0.5  # shorter ones (down to this) are only compared with the voices found
    short_margin: float = 0.1  # ... and move to another voice only when this much closer to it
    max_pause: float = 0.5  # a pause this long between words ends a window
    same_voice: float = 0.3  # mean cosine similarity at which two groups of windows are one voice
    cohesion_ratio: float = 0.75  # established voices merge only this alike relative to themselves
    respect_diarizer: bool = True  # ... a test applied only to voices the diarizer told apart
    min_new_speaker: float = 3.0  # seconds of windows a voice needs to become a new speaker
    min_new_windows: int = 2
    min_new_share: float = 0.02  # ... and this share of all judged speech (long meetings: no stray voices)
    max_absorbed: float = 0.8  # a diarization speaker keeps its windows if this share would go to others ...
    #: ... unless it is almost never heard at the same time as the voices it would go to (below
    #: this share of its words): one person does not talk over themselves, so a diarization
    #: speaker whose every window sounds like another's, and who never overlaps them, is that
    #: person split in two (a call's party split by the clustering). 0 keeps every diarized speaker.
    absorb_apart: float = 0.1
    refine: bool = True  # look for voice changes inside runs (1 s sub-windows)
    refine_window: float = 1.0
    refine_hop: float = 0.5
    refine_min_run: float = 1.5  # runs this long (two sub-windows) are searched for a voice change
    refine_beta: float = 20.0  # cosine → log-odds scale of the sub-window evidence
    refine_penalty: float = 3.0  # nats to change voice inside a run
    max_turn_gap: float = 3.0
    edge_words: int = 2  # the first and last this many words of each turn are checked on their own
    edge_window: float = 1.0  # seconds of audio around each of those words


@dataclass(frozen=True, slots=True)
class VoiceWindow:
    """Words [first, last) of the flattened word list, spoken by one voice (we think)."""

    first: int
    last: int
    start: float
    end: float
    speaker: str  # label before re-clustering

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True, eq=False)
class VoiceResult:
    turns: tuple[Turn, ...]
    margins: tuple[float | None, ...]  # per turn: weakest judged window (None: no window judged)
    speakers: tuple[str, ...]  # diarization speakers plus any new voice
    new_centroids: dict[str, np.ndarray]  # mean window embedding of each new voice
    relabelled_words: int
    edge_margins: tuple[float | None, ...] = ()  # per turn: weakest voice margin at its first/last words


def voice_windows(words: Sequence[AttributedWord], opts: VoiceOptions = VoiceOptions()) -> list[VoiceWindow]:
    """Runs of one speaker without long pauses, split evenly into windows of about ``window`` s."""
    out: list[VoiceWindow] = []
    for i, j in _runs(words, opts.max_pause):
        start, end = words[i].word.start, words[j - 1].word.end
        pieces = max(1, int(round((end - start) / opts.window)))
        bounds = [start + (end - start) * p / pieces for p in range(pieces + 1)]
        a = i
        for p in range(pieces):
            b = a
            while b < j and (p == pieces - 1 or words[b].word.mid < bounds[p + 1]):
                b += 1
            if b > a:
                out.append(VoiceWindow(a, b, words[a].word.start, words[b - 1].word.end, words[a].speaker))
            a = b
    return out


def _runs(words: Sequence[AttributedWord], max_pause: float) -> list[tuple[int, int]]:
    """[i, j) ranges of consecutive words of one speaker with no pause of ``max_pause`` or more."""
    out, i = [], 0
    while i < len(words):
        j = i + 1
        while j < len(words) and words[j].speaker == words[i].speaker and words[j].word.start - words[j - 1].word.end < max_pause:
            j += 1
        out.append((i, j))
        i = j
    return out


def cluster_windows(
    embeddings: np.ndarray,
    same_voice: float,
    seconds: Sequence[float] | None = None,
    owners: Sequence[int] | None = None,
    cohesion_ratio: float = 0.0,
    substantial: float = 3.0,
) -> np.ndarray:
    """Average-linkage clustering on cosine similarity; ids 0..C-1 in order of first window.

    Two groups merge when their windows are on average ``same_voice`` alike. Two
    *established* groups (each at least two windows and ``substantial`` seconds) must also
    be alike relative to how alike each group is inside: at least ``cohesion_ratio`` times
    the looser group's mean inner similarity. Voices on a telephone line or one microphone
    are all fairly alike; what tells people apart is that each voice is more like itself.
    With ``owners`` (the diarization speaker of each window) that relative test applies only
    to groups the diarizer had put on different speakers.
    Numpy, O(n²) memory; a merge updates only the merged group's pairs.
    """
    n = len(embeddings)
    if n <= 1:
        return np.zeros(n, dtype=int)
    e = embeddings / (np.linalg.norm(embeddings, axis=1, keepdims=True) + 1e-9)
    sim = (e @ e.T).astype(np.float32)  # float32: a 3-hour meeting (~5,000 windows) needs ~200 MB
    np.fill_diagonal(sim, -np.inf)
    size = np.ones(n)
    inner = np.zeros(n)  # sum of pairwise similarities inside each group
    secs = np.asarray(seconds if seconds is not None else np.full(n, substantial), dtype=float).copy()
    alive = np.ones(n, dtype=bool)
    member = np.arange(n)
    k = int(max(owners)) + 1 if owners is not None else 1
    own = np.zeros((n, k))
    own[np.arange(n), np.asarray(owners, dtype=int) if owners is not None else 0] = secs
    boss = own.argmax(axis=1)

    def gated(rows: np.ndarray) -> np.ndarray:
        """sim[rows], with pairs that fail the relative test (or are dead) set to -inf."""
        g = sim[rows].copy()
        if cohesion_ratio > 0:
            established = alive & (size >= 2) & (secs >= substantial)
            coh = np.where(size >= 2, inner / np.maximum(size * (size - 1) / 2, 1), np.inf)
            both = established[rows][:, None] & established[None, :]
            if owners is not None:
                both &= boss[rows][:, None] != boss[None, :]
            need = cohesion_ratio * np.minimum(coh[rows][:, None], coh[None, :])
            g[both & (g < need)] = -np.inf
        g[:, ~alive] = -np.inf
        return g

    # gated similarities and each row's best partner, kept up to date merge by merge:
    # only pairs involving the merged group change, so a merge costs O(n) (plus the rows
    # whose best partner was one of the two groups)
    gate = gated(np.arange(n))
    best = gate.argmax(axis=1)
    best_val = gate[np.arange(n), best]
    while True:
        a = int(np.argmax(best_val))
        b = int(best[a])
        if not np.isfinite(best_val[a]) or best_val[a] < same_voice:
            break
        inner[a] += inner[b] + sim[a, b] * size[a] * size[b]
        merged = (size[a] * sim[a] + size[b] * sim[b]) / (size[a] + size[b])  # Lance–Williams, average
        sim[a, :] = merged
        sim[:, a] = merged
        sim[a, a] = -np.inf
        sim[b, :] = -np.inf
        sim[:, b] = -np.inf
        size[a] += size[b]
        secs[a] += secs[b]
        own[a] += own[b]
        boss[a] = own[a].argmax()
        alive[b] = False
        member[member == b] = a
        gate[b, :] = -np.inf
        gate[:, b] = -np.inf
        best_val[b] = -np.inf
        row = gated(np.array([a]))[0]
        row[a] = -np.inf
        gate[a, :] = row
        gate[:, a] = row
        stale = np.flatnonzero(alive & ((best == a) | (best == b)))
        stale = stale[stale != a]
        if stale.size:
            best[stale] = gate[stale].argmax(axis=1)
            best_val[stale] = gate[stale, best[stale]]
        better = alive & (gate[:, a] > best_val)
        best[better] = a
        best_val[better] = gate[better, a]
        best[a] = int(row.argmax())
        best_val[a] = row[best[a]]
    order: dict[int, int] = {}
    return np.array([order.setdefault(int(c), len(order)) for c in member], dtype=int)


def cluster_windows_bounded(
    embeddings: np.ndarray,
    same_voice: float,
    seconds: Sequence[float] | None = None,
    owners: Sequence[int] | None = None,
    cohesion_ratio: float = 0.0,
    substantial: float = 3.0,
    cap: float | None = None,
) -> np.ndarray:
    """:func:`cluster_windows` on at most ``cap`` windows (default
    :data:`diarization.bounded.MAX_CLUSTER_WINDOWS`) spread evenly over the meeting; every other
    window joins the group it is on average most alike when that reaches ``same_voice``, else stays
    a group of its own (:func:`diarization.bounded.assign_to_clusters`). Exactly
    :func:`cluster_windows` when all windows fit; memory O(cap² + n·groups) otherwise."""
    from . import bounded

    n = len(embeddings)
    keep = bounded.even_subset(n, bounded.MAX_CLUSTER_WINDOWS if cap is None else cap)
    if len(keep) == n:
        return cluster_windows(embeddings, same_voice, seconds, owners, cohesion_ratio, substantial)
    part = cluster_windows(
        embeddings[keep], same_voice,
        None if seconds is None else np.asarray(seconds, dtype=float)[keep],
        None if owners is None else np.asarray(owners, dtype=int)[keep],
        cohesion_ratio, substantial,
    )
    labels = np.full(n, -1, dtype=np.int64)
    labels[keep] = part
    unit = embeddings / (np.linalg.norm(embeddings, axis=1, keepdims=True) + 1e-9)
    return bounded.assign_to_clusters(unit, labels, same_voice)


def _match(seconds: np.ndarray) -> dict[int, int]:
    """Cluster → speaker, one to one, maximising agreed seconds (pairs with none are dropped)."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(seconds, maximize=True)
    return {int(r): int(c) for r, c in zip(rows, cols) if seconds[r, c] > 0}


def recluster_voices(
    turns: Sequence[Turn],
    speakers: Sequence[str],
    embed: Embed,
    opts: VoiceOptions = VoiceOptions(),
    embed_many: EmbedMany | None = None,
    cancel: Callable[[], None] | None = None,
) -> VoiceResult:
    """Relabel the words of single-voice turns by re-clustering their windows' voices.

    Recovered overlap turns (``overlapped``) are passed through untouched. ``embed_many``
    (optional) embeds many spans at once, which is faster than one ``embed`` call each.
    ``cancel`` (optional) is called before every :data:`CANCEL_EVERY` embeddings and raises to
    stop the stage (the import's cancel token), so a cancel never waits for the whole stage.
    """
    def many(spans: Sequence[tuple[float, float]]) -> np.ndarray:
        if not spans:
            return np.zeros((0, 1))
        parts = []
        for k in range(0, len(spans), CANCEL_EVERY):
            if cancel is not None:
                cancel()
            chunk = spans[k : k + CANCEL_EVERY]
            if embed_many is not None:
                parts.append(np.asarray(embed_many(chunk), dtype=np.float64))
            else:
                parts.append(np.stack([np.asarray(embed(a, b), dtype=np.float64) for a, b in chunk]))
        return np.concatenate(parts)

    kept = [t for t in turns if t.overlapped]
    words = [w for t in turns if not t.overlapped for w in t.words]
    labels = list(dict.fromkeys([*speakers, *(w.speaker for w in words)]))
    all_windows = voice_windows(words, opts)
    windows = [w for w in all_windows if w.duration >= opts.min_window]
    short = [w for w in all_windows if opts.min_short <= w.duration < opts.min_window]
    if len(windows) < 2:
        return VoiceResult(tuple(turns), (None,) * len(turns), tuple(labels), {}, 0, (None,) * len(turns))

    emb = many([(w.start, w.end) for w in windows])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9
    index = {s: k for k, s in enumerate(labels)}
    cluster = cluster_windows_bounded(
        emb,
        opts.same_voice,
        seconds=[w.duration for w in windows],
        owners=[index[w.speaker] for w in windows] if opts.respect_diarizer else None,
        cohesion_ratio=opts.cohesion_ratio,
        substantial=opts.min_new_speaker,
    )
    n_clusters = int(cluster.max()) + 1
    seconds = np.zeros((n_clusters, len(labels)))
    for w, c in zip(windows, cluster):
        seconds[c, index[w.speaker]] += w.duration
    match = _match(seconds)

    # clusters nobody matched: a voice the diarizer missed if there is enough of it, else unsure
    new_centroids: dict[str, np.ndarray] = {}
    label_of: dict[int, str | None] = {}
    for c in range(n_clusters):
        if c in match:
            label_of[c] = labels[match[c]]
            continue
        members = cluster == c
        enough = max(opts.min_new_speaker, opts.min_new_share * seconds.sum())
        if seconds[c].sum() >= enough and members.sum() >= opts.min_new_windows:
            name = _new_label(labels)
            labels.append(name)
            label_of[c] = name
            new_centroids[name] = emb[members].mean(axis=0)
        else:
            label_of[c] = None  # keep the words' own labels

    # the diarization speaker each new voice was split out of (the one holding most of its speech)
    source = {c: int(np.argmax(seconds[c])) for c in range(n_clusters) if c not in match and label_of[c] is not None}
    absorbed = _absorbed(seconds, [label_of[c] for c in range(n_clusters)], labels, speakers, opts, words)
    sums = np.zeros((n_clusters, emb.shape[1]))
    np.add.at(sums, cluster, emb)
    centroid = sums / np.bincount(cluster, minlength=n_clusters)[:, None]  # row c: cluster c's mean window
    out = list(words)
    word_margin: list[float | None] = [None] * len(words)
    relabelled = 0
    for w, c, e in zip(windows, cluster, emb):
        target = label_of[c] or w.speaker
        unsure = label_of[c] is None  # a voice that matches no speaker
        if c in source and index[w.speaker] != source[c]:
            target, unsure = w.speaker, True  # a new voice is split out of one diarization speaker; others keep theirs
        if w.speaker in absorbed and target in absorbed[w.speaker]:
            target, unsure = w.speaker, True  # the diarizer told these voices apart: never merge them whole
        row = centroid @ e  # one row per window, never windows × windows
        margin = float(row[c] - np.max(np.delete(row, c))) if n_clusters > 1 else 1.0
        if unsure:
            margin = min(margin, 0.0)
        for n in range(w.first, w.last):
            if out[n].speaker != target:
                out[n] = replace(out[n], speaker=target)
                relabelled += 1
            word_margin[n] = margin

    # short windows: too little voice to cluster, enough to compare with the voices found
    voices = {}
    for c in range(n_clusters):
        if label_of[c] is not None:
            voices.setdefault(label_of[c], []).append(emb[cluster == c])
    names = list(voices)
    vc = None
    if len(names) >= 2:
        vc = np.stack([np.concatenate(voices[v]).mean(axis=0) for v in names])
        vc /= np.linalg.norm(vc, axis=1, keepdims=True) + 1e-9
    if short and vc is not None:
        short_emb = many([(w.start, w.end) for w in short])
        for w, e in zip(short, short_emb):
            sims = vc @ (e / (np.linalg.norm(e) + 1e-9))
            now = out[w.first].speaker
            k = names.index(now) if now in names else None
            best = int(np.argmax(sims))
            if k is None or (best != k and sims[best] - sims[k] > opts.short_margin):
                k = best
            margin = float(sims[k] - np.max(np.delete(sims, k)))
            for n in range(w.first, w.last):
                if out[n].speaker != names[k]:
                    out[n] = replace(out[n], speaker=names[k])
                    relabelled += 1
                word_margin[n] = margin

    if opts.refine and vc is not None:
        relabelled += _refine(out, names, vc, many, opts)

    rebuilt = build_turns(out, opts.max_turn_gap)
    per_turn: list[float | None] = []
    n = 0
    for t in rebuilt:
        ms = [m for m in word_margin[n : n + len(t.words)] if m is not None]
        per_turn.append(min(ms) if ms else None)
        n += len(t.words)
    edges = _edge_margins(rebuilt, names, vc, many, opts) if vc is not None else [None] * len(rebuilt)
    merged = sorted(
        zip([*rebuilt, *kept], [*per_turn, *([None] * len(kept))], [*edges, *([None] * len(kept))]),
        key=lambda p: (p[0].start, p[0].end),
    )
    return VoiceResult(
        tuple(t for t, _, _ in merged),
        tuple(m for _, m, _ in merged),
        tuple(labels),
        new_centroids,
        relabelled,
        tuple(e for _, _, e in merged),
    )


def _edge_margins(turns: Sequence[Turn], names: list[str], vc: np.ndarray, many, opts: VoiceOptions) -> list[float | None]:
    """Per turn, the weakest voice margin over its first and last ``edge_words`` words, each heard
    through a window of ``edge_window`` s centred on it. Words at a turn's edges are where a
    speaker change is misplaced; the windows the voice stage judged straddle them."""
    spans, owner = [], []
    half = opts.edge_window / 2
    for k, t in enumerate(turns):
        if t.speaker not in names or opts.edge_words <= 0:
            continue
        n = len(t.words)
        for i in sorted({*range(min(opts.edge_words, n)), *range(max(n - opts.edge_words, 0), n)}):
            mid = t.words[i].word.mid
            spans.append((max(0.0, mid - half), mid + half))
            owner.append(k)
    out: list[float | None] = [None] * len(turns)
    if not spans:
        return out
    emb = many(spans)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9
    sims = emb @ vc.T
    for k, row in zip(owner, sims):
        own = names.index(turns[k].speaker)
        margin = float(row[own] - np.max(np.delete(row, own)))
        out[k] = margin if out[k] is None else min(out[k], margin)
    return out


def _absorbed(
    seconds: np.ndarray, label_of: list[str | None], labels: list[str], speakers: Sequence[str], opts: VoiceOptions,
    words: Sequence[AttributedWord] = (),
) -> dict[str, set[str]]:
    """Diarization speakers whose windows would almost all move to *other diarization speakers*
    (``max_absorbed`` of their judged seconds), with the speakers they would move to. Moving a
    misheard stretch is the voice stage's job; deleting a speaker the diarizer heard is not: where
    two voices talk at once for long, mixed windows make two people's groups alike and the
    clustering would merge them (two meetings summed: cpWER 67 → 79 %)."""
    out: dict[str, set[str]] = {}
    diarized = set(speakers)
    for k, name in enumerate(labels[: seconds.shape[1]]):  # new voices come after: not diarized
        total = seconds[:, k].sum()
        if name not in diarized or total < opts.min_new_speaker:
            continue
        to = {label_of[c]: seconds[c, k] for c in range(len(label_of)) if label_of[c] in diarized and label_of[c] != name}
        if sum(to.values()) >= opts.max_absorbed * total:
            if opts.absorb_apart > 0:
                mine = sum(1 for w in words if w.speaker == name)
                together = sum(1 for w in words if (w.speaker == name and set(w.overlapping) & set(to))
                               or (w.speaker in to and name in w.overlapping)) / max(mine, 1)
                if together < opts.absorb_apart:
                    continue  # never heard with them: the same person, split by the diarizer
            out[name] = set(to)
    return out


def _refine(out, names, vc, many, opts) -> int:
    """Voice changes inside runs: 1 s sub-windows every ``refine_hop`` s are scored against the
    voices; a Viterbi pass over the *words* (each weighted by its length) picks a voice per word,
    where changing voice costs ``refine_penalty`` nats, less across a pause and less again after
    a sentence or clause end, so a change lands where people actually hand over."""
    rw, hop = opts.refine_window, opts.refine_hop
    runs = []  # (first, last, sub-window centres)
    for i, j in _runs(out, opts.max_pause):
        start, end = out[i].word.start, out[j - 1].word.end
        if end - start >= opts.refine_min_run and out[i].speaker in names:
            runs.append((i, j, np.arange(start + rw / 2, end - rw / 2 + 1e-9, hop)))
    if not runs:
        return 0
    emb = many([(c - rw / 2, c + rw / 2) for _, _, centers in runs for c in centers])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9
    changed, offset = 0, 0
    for i, j, centers in runs:
        z = opts.refine_beta * (emb[offset : offset + len(centers)] @ vc.T)
        offset += len(centers)
        logp = z - z.max(axis=1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
        words = out[i:j]
        t = np.clip(np.round((np.array([w.word.mid for w in words]) - centers[0]) / hop).astype(int), 0, len(centers) - 1)
        weight = np.array([max(w.word.end - w.word.start, 0.05) for w in words]) / hop
        costs = np.array([opts.refine_penalty * _handover(words[n - 1], words[n]) for n in range(1, len(words))])
        path = _voice_path(logp[t] * weight[:, None], costs, names.index(out[i].speaker), opts.refine_penalty)
        for n, k in zip(range(i, j), path):
            if names[k] != out[n].speaker:
                out[n] = replace(out[n], speaker=names[k])
                changed += 1
    return changed


def _handover(prev: AttributedWord, nxt: AttributedWord, relief: float = 1.0) -> float:
    """Relative cost of a speaker change between two words: 1 mid-phrase, halved by a pause of
    ``relief`` s, and halved again after a sentence end (a quarter off after a comma)."""
    text = prev.word.text.strip()
    ending = 0.5 if text.endswith((".", "?", "!")) else 0.75 if text.endswith((",", ";", ":")) else 1.0
    return ending / (1.0 + max(0.0, nxt.word.start - prev.word.end) / relief)


def _voice_path(logp: np.ndarray, costs: np.ndarray, k0: int, edge: float) -> np.ndarray:
    """Viterbi: evidence ``logp`` (N, V), ``costs[n-1]`` to change voice before item n, and
    ``edge`` to start or end on a voice other than the run's own (``k0``)."""
    other = np.arange(logp.shape[1]) != k0
    score = logp[0] - edge * other
    back = np.zeros(logp.shape, dtype=int)
    for n in range(1, len(logp)):
        best = int(np.argmax(score))
        switch = score[best] - costs[n - 1]
        take = switch > score
        back[n] = np.where(take, best, np.arange(logp.shape[1]))
        score = np.where(take, switch, score) + logp[n]
    path = np.empty(len(logp), dtype=int)
    path[-1] = int(np.argmax(score - edge * other))
    for n in range(len(logp) - 1, 0, -1):
        path[n - 1] = back[n, path[n]]
    return path


def _new_label(taken: Sequence[str]) -> str:
    n = len(taken)
    while f"SPEAKER_{n:02d}" in taken:
        n += 1
    return f"SPEAKER_{n:02d}"
