"""Bounded clustering for long meetings (diarization/bounded.py): structure and memory, no models.

Memory is asserted with tracemalloc (NumPy reports its buffers to it): a full clustering of
the items here would need an n×n matrix far above the bounds asserted.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from diarization import bounded
from diarization.asr import plan_windows
from diarization.voices import cluster_windows, cluster_windows_bounded


def voices(n: int, k: int, dim: int = 192, spread: float = 0.35, seed: int = 0):
    """n unit embeddings from k well-separated voices, in meeting order (turns of ~20 items)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    who = np.repeat(rng.integers(0, k, size=n // 20 + 1), 20)[:n]
    x = centres[who] / np.sqrt(dim) + spread * rng.normal(size=(n, dim)) / np.sqrt(dim)
    return x / np.linalg.norm(x, axis=1, keepdims=True), who


def same_partition(a, b) -> bool:
    """Two labelings agree up to renaming."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def peak_bytes(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_even_subset_spreads_over_the_whole_meeting():
    assert bounded.even_subset(10, 4000).tolist() == list(range(10))
    idx = bounded.even_subset(20_000, 2000)
    assert len(idx) == 2000 and idx[0] == 0 and idx[-1] == 19_999
    assert np.all(np.diff(idx) >= 9) and np.all(np.diff(idx) <= 11)
    assert bounded.keep_count(1000, 0.25) == 250 and bounded.keep_count(3, 0.1) == 2
    with pytest.raises(ValueError):
        bounded.keep_count(10, 0)


def test_voice_windows_20k_cluster_within_a_memory_bound():
    x, who = voices(20_000, 4)
    labels, peak = peak_bytes(lambda: cluster_windows_bounded(x, 0.3, seconds=np.full(len(x), 2.0), cap=1000))
    assert labels.shape == (20_000,)
    assert same_partition(labels, who)  # the four voices, every window placed
    full_matrix = 20_000**2 * 4  # one float32 n×n similarity matrix: 1.6 GB
    assert peak < full_matrix / 20, peak  # cap² matrices plus n×dim rows: ~tens of MB


def test_bounded_voice_clustering_equals_the_full_one_when_it_fits():
    x, _ = voices(300, 3, spread=1.0, seed=3)
    owners = np.arange(300) % 2
    full = cluster_windows(x, 0.3, seconds=np.full(300, 2.0), owners=owners, cohesion_ratio=0.75)
    assert np.array_equal(cluster_windows_bounded(x, 0.3, seconds=np.full(300, 2.0), owners=owners, cohesion_ratio=0.75, cap=300), full)


def test_a_window_unlike_every_group_stays_its_own():
    x, _ = voices(200, 2)
    odd = np.zeros((1, x.shape[1]))
    odd[0, 0] = 1.0  # unlike both voices
    x = np.vstack([x[:101], odd, x[101:]])
    labels = cluster_windows_bounded(x, 0.3, cap=50)
    assert labels.max() + 1 == 3 and np.sum(labels == labels[101]) == 1
    assert labels[0] == 0 and set(np.unique(labels)) == {0, 1, 2}  # ids in order of first window


def _segmentations(who: np.ndarray, frames: int = 50):
    """(chunks, frames, 3) binary segmentations: local speaker 0 talks alone in every chunk."""
    from pyannote.core import SlidingWindow, SlidingWindowFeature

    seg = np.zeros((len(who), frames, 3), dtype=np.float32)
    seg[:, :, 0] = 1.0
    return SlidingWindowFeature(seg, SlidingWindow(start=0.0, duration=10.0, step=1.0))


def test_pyannote_clustering_of_20k_chunk_embeddings_is_bounded():
    from pyannote.audio.pipelines.clustering import AgglomerativeClustering

    x, who = voices(20_000, 3, spread=0.3, seed=1)
    emb = np.full((len(x), 3, x.shape[1]), np.nan, dtype=np.float32)  # one active local speaker per chunk
    emb[:, 0] = x
    clustering = AgglomerativeClustering(metric="cosine")
    clustering.instantiate({"method": "centroid", "min_cluster_size": 12, "threshold": 0.7})
    bounded.bound_clustering(clustering, cap=1500)
    bounded.bound_clustering(clustering, cap=1500)  # idempotent
    (hard, soft, centroids), peak = peak_bytes(lambda: clustering(emb.copy(), segmentations=_segmentations(who)))
    assert hard.shape == (20_000, 3) and centroids.shape == (3, x.shape[1])
    assert same_partition(hard[:, 0].astype(int), who)  # every chunk assigned, not only the 1,500 clustered
    condensed = 20_000 * 19_999 // 2 * 8  # SciPy's float64 distances over all 20k: 1.6 GB
    assert peak < condensed / 10, peak
    assert clustering.min_cluster_size == 12  # scaled only while clustering


def test_plan_windows_cuts_in_pauses_in_one_pass():
    pauses = [(t + 0.2, t + 0.8) for t in range(0, 7200, 5)]
    spans = plan_windows(7200.0, pauses, 600.0)
    assert spans[0][0] == 0.0 and spans[-1][1] == 7200.0
    assert all(b - a <= 600.0 for a, b in spans)
    assert all(any(p0 <= b <= p1 for p0, p1 in pauses) for _, b in spans[:-1])  # every cut inside a pause


def test_giving_freed_memory_back_is_safe_to_call_anywhere():
    from meetings.memory import release_free_memory

    release_free_memory(0.0)  # glibc: malloc_trim(0); elsewhere nothing
    release_free_memory()  # throttled: returns at once


def _segmentation(num_chunks: int, num_frames: int = 589, local: int = 3, seed: int = 0):
    """A pyannote-shaped raw segmentation (10-s chunks every second) and a clustering of it."""
    from pyannote.core import SlidingWindow, SlidingWindowFeature

    rng = np.random.default_rng(seed)
    data = rng.random((num_chunks, num_frames, local)).astype(np.float32)
    clusters = rng.integers(0, 7, size=(num_chunks, local))
    clusters[rng.random((num_chunks, local)) < 0.3] = -2  # inactive local speakers
    segmentations = SlidingWindowFeature(data, SlidingWindow(start=0.0, duration=10.0, step=1.0))
    frames = SlidingWindow(start=0.0, duration=0.0619375, step=0.016875)
    n_frames = int((num_chunks + 9) / frames.step) + 2
    count = SlidingWindowFeature(rng.integers(0, 3, size=(n_frames, 1)).astype(np.uint8), frames)
    return segmentations, clusters, count


def test_chunked_reconstruction_equals_pyannotes():
    """The diarization rebuilt chunk by chunk is pyannote's own, value for value."""
    from types import SimpleNamespace

    from pyannote.audio.pipelines import SpeakerDiarization

    segmentations, clusters, count = _segmentation(60)
    dense = SpeakerDiarization.reconstruct(
        SimpleNamespace(to_diarization=SpeakerDiarization.to_diarization), segmentations, clusters, count
    )
    chunked = SpeakerDiarization.to_diarization(bounded.ClusteredChunks(segmentations, clusters, fill=np.nan), count)
    assert dense.data.shape == chunked.data.shape and dense.data.sum() > 0
    np.testing.assert_array_equal(dense.data, chunked.data)
    assert dense.sliding_window.start == chunked.sliding_window.start


def test_chunked_soft_activations_equal_the_dense_average():
    from pyannote.audio.core.inference import Inference
    from pyannote.core import SlidingWindowFeature

    segmentations, clusters, count = _segmentation(40, seed=1)
    dense = np.zeros((40, 589, 7), dtype=np.float32)
    for c in range(40):
        for k in np.unique(clusters[c]):
            if k >= 0:
                dense[c, :, k] = segmentations.data[c][:, clusters[c] == k].max(axis=1)
    args = dict(hamming=False, missing=0.0, skip_average=False)
    want = Inference.aggregate(SlidingWindowFeature(dense, segmentations.sliding_window), count.sliding_window, **args)
    got = Inference.aggregate(bounded.ClusteredChunks(segmentations, clusters, fill=0.0, skip=(-2, -1)), count.sliding_window, **args)
    np.testing.assert_allclose(got.data, want.data, rtol=0, atol=1e-6)


def test_chunked_reconstruction_never_holds_the_whole_array():
    """A 2-hour meeting's worth of chunks: pyannote's dense array alone would be chunks × frames × clusters × 8 bytes."""
    from pyannote.audio.pipelines import SpeakerDiarization

    segmentations, clusters, count = _segmentation(1200, seed=2)
    dense_bytes = 1200 * 589 * 7 * 8
    out, peak = peak_bytes(lambda: SpeakerDiarization.to_diarization(bounded.ClusteredChunks(segmentations, clusters, fill=np.nan), count))
    assert out.data.shape[1] == 7
    assert peak < dense_bytes / 4, (peak, dense_bytes)
