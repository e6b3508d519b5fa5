"""Clustering with bounded memory for long meetings.

Both clusterings in the pipeline are quadratic in what they cluster: pyannote's agglomerative
step builds the full distance matrix of the active chunk embeddings (a 2-hour meeting has ~10-15k
of them: ~1 GB of float64 distances, and SciPy copies it), and the voice stage's window clustering
keeps an n×n similarity matrix of its ~2-second windows. Here each clusters at most a fixed number
of items, spread evenly over the meeting, and every other item joins the cluster it is closest to
by the clustering's own criterion:

* diarization: pyannote already assigns *every* chunk embedding to its nearest centroid after
  clustering the active ones, so only which embeddings enter the linkage changes
  (:func:`bound_clustering`); ``min_cluster_size`` is scaled by the share kept, so a speaker needs
  as many seconds of speech to be a cluster as before.
* voice stage: a left-over window joins the group whose windows it is on average most alike (what
  average linkage would measure between it and that group) when that reaches the merge level,
  else it stays a group of its own, as it would have (:func:`assign_to_clusters`).

Below the caps nothing changes: a meeting shorter than about an hour is clustered exactly as before.
Memory is O(cap²) for the linkage plus O(n·clusters) for the assignment; time likewise.

After clustering, pyannote rebuilds the diarization from a (chunks × frames × speakers) float64
array of the clustered segmentation (a 2-hour meeting with 38 speakers: ~1.3 GB, the peak of the
whole import). :class:`ClusteredChunks` yields that array one chunk at a time to the overlap-add
that consumes it, with the same numbers.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "MAX_CLUSTER_EMBEDDINGS", "MAX_CLUSTER_WINDOWS", "keep_count", "even_subset", "bound_clustering", "assign_to_clusters",
    "ClusteredChunks",
]

#: chunk embeddings that enter pyannote's linkage (≈ 20-35 minutes of speech; 4,000² float64 ≈ 64 MB)
MAX_CLUSTER_EMBEDDINGS = 4000
#: voice-stage windows clustered together (≈ 1 hour of words; 2,000² float32 ≈ 16 MB per matrix)
MAX_CLUSTER_WINDOWS = 2000


def keep_count(n: int, cap: float) -> int:
    """How many of ``n`` items are clustered under ``cap``: a count, or a share when 0 < cap < 1
    (the share form exists to measure the approximation on short files)."""
    if cap <= 0:
        raise ValueError(f"cap must be positive, not {cap}")
    if cap < 1:
        return min(n, max(2, math.ceil(n * cap)))
    return min(n, int(cap))


def even_subset(n: int, cap: float) -> np.ndarray:
    """Indices of at most :func:`keep_count` of ``range(n)``, evenly spread and in order (all of them when they fit)."""
    k = keep_count(n, cap)
    if k >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))


def bound_clustering(clustering, cap: float | None = None) -> None:
    """Make a pyannote clustering instance (agglomerative or VBx) put at most ``cap`` (default
    :data:`MAX_CLUSTER_EMBEDDINGS`, read at each call) embeddings into its linkage.

    pyannote's ``filter_embeddings`` picks the embeddings to cluster and ``assign_embeddings``
    then assigns every embedding to the nearest centroid; the subset is taken between the two.
    Patches the instance only (idempotent)."""
    if getattr(clustering, "_parley_bounded", False):
        return
    filter_embeddings, cluster = clustering.filter_embeddings, getattr(clustering, "cluster", None)
    kept = {"share": 1.0}

    def bounded_filter(embeddings, segmentations=None, **kwargs):
        emb, chunk_idx, speaker_idx = filter_embeddings(embeddings, segmentations=segmentations, **kwargs)
        keep = even_subset(len(emb), MAX_CLUSTER_EMBEDDINGS if cap is None else cap)
        kept["share"] = len(keep) / len(emb) if len(emb) else 1.0
        if len(keep) == len(emb):
            return emb, chunk_idx, speaker_idx
        return emb[keep], chunk_idx[keep], speaker_idx[keep]

    def bounded_cluster(embeddings, *args, **kwargs):
        size = getattr(clustering, "min_cluster_size", None)
        if kept["share"] >= 1.0 or not isinstance(size, int):
            return cluster(embeddings, *args, **kwargs)
        clustering.min_cluster_size = max(2, round(size * kept["share"]))  # the same seconds of speech per speaker
        try:
            return cluster(embeddings, *args, **kwargs)
        finally:
            clustering.min_cluster_size = size

    clustering.filter_embeddings = bounded_filter
    if cluster is not None:
        clustering.cluster = bounded_cluster
    clustering._parley_bounded = True


def assign_to_clusters(unit: np.ndarray, labels: np.ndarray, level: float, block: int = 4096) -> np.ndarray:
    """Complete a partial clustering: ``labels`` holds a cluster id (0..C-1) for the items
    clustered and -1 for the rest. Each of the rest (rows of ``unit``, unit vectors) joins the
    cluster whose members it is on average most alike (cosine) if that is at least ``level``,
    else it becomes a cluster of its own (ids C, C+1, ...). Ids are then renumbered 0.. in order
    of first item. Memory O(block·C), never n×n."""
    labels = np.asarray(labels, dtype=np.int64).copy()
    done = labels >= 0
    if not done.any():
        raise ValueError("no clustered items to assign to")
    n_clusters = int(labels[done].max()) + 1
    sums = np.zeros((n_clusters, unit.shape[1]), dtype=np.float64)
    np.add.at(sums, labels[done], unit[done])
    means = sums / np.bincount(labels[done], minlength=n_clusters)[:, None]  # mean of members: average linkage to a singleton
    rest = np.flatnonzero(~done)
    fresh = n_clusters
    for k in range(0, len(rest), block):
        part = rest[k : k + block]
        sims = unit[part] @ means.T
        best = sims.argmax(axis=1)
        ok = sims[np.arange(len(part)), best] >= level
        labels[part[ok]] = best[ok]
        alone = part[~ok]
        labels[alone] = np.arange(fresh, fresh + len(alone))
        fresh += len(alone)
    order: dict[int, int] = {}
    return np.array([order.setdefault(int(c), len(order)) for c in labels], dtype=int)


class ClusteredChunks:
    """pyannote's clustered segmentation, ``(chunks, frames, clusters)``, made one chunk at a time.

    Chunk ``c``'s column ``k`` is the max over the local speakers that clustering put in ``k``;
    a cluster with no local speaker in the chunk is ``fill`` (pyannote's own reconstruction uses
    NaN, "not seen here"; 0 gives soft activations that count the chunk as silent). It stands in
    for the dense ``SlidingWindowFeature`` where only ``data.shape``, ``sliding_window`` and
    iteration over ``(chunk, scores)`` are used: ``Inference.aggregate`` and so ``to_diarization``.
    Memory: one chunk's frames × clusters instead of all of them; ``data`` is a zero-byte view.
    """

    def __init__(self, segmentations, hard_clusters: np.ndarray, fill: float, skip: tuple[int, ...] = (-2,)):
        self._segmentations = segmentations
        self._clusters = np.asarray(hard_clusters)
        self._fill = fill
        self._skip = skip
        num_chunks, num_frames, _ = segmentations.data.shape
        num_clusters = max(int(np.max(self._clusters)) + 1, 1) if self._clusters.size else 1
        self.sliding_window = segmentations.sliding_window
        self.data = np.broadcast_to(np.zeros((), dtype=np.float32), (num_chunks, num_frames, num_clusters))

    def __iter__(self):
        windows, data = self.sliding_window, self._segmentations.data
        _, num_frames, num_clusters = self.data.shape
        for c, cluster in enumerate(self._clusters):
            seg = data[c]
            out = np.full((num_frames, num_clusters), self._fill, dtype=np.float32)
            for k in np.unique(cluster):
                if k not in self._skip:
                    out[:, k] = np.max(seg[:, cluster == k], axis=1)
            yield windows[c], out
