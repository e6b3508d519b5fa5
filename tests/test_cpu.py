"""CPU parallelism for the torch models (diarization/cpu.py, diarization/diarize.py).

Model-free: the worker pool's order, laziness and errors; the thread count from the
environment; the embedding weights chosen per chunk, against pyannote's own rule.
Real models: the per-chunk embeddings equal pyannote's own batched ``get_embeddings``, and
the parallel segmentation equals pyannote's own, on a real meeting.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from diarization import cpu
from diarization.diarize import embedding_masks


def test_map_ordered_keeps_order_and_runs_in_parallel():
    seen = set()

    def slow(x):
        seen.add(threading.get_ident())
        time.sleep(0.01 * (5 - x % 5))  # later items finish first
        return x * x

    assert list(cpu.map_ordered(slow, range(20), n=3)) == [x * x for x in range(20)]
    assert len(seen) > 1
    assert list(cpu.map_ordered(slow, [], n=3)) == []


def test_map_ordered_with_one_worker_runs_in_the_callers_thread():
    me = threading.get_ident()
    assert list(cpu.map_ordered(lambda x: threading.get_ident() == me, range(3), n=1)) == [True] * 3


def test_map_ordered_is_lazy_and_stops_with_its_consumer():
    started = []

    def work(x):
        started.append(x)
        return x

    it = cpu.map_ordered(work, range(1000), n=2)
    assert next(it) == 0
    it.close()  # a cancel between results
    time.sleep(0.05)
    assert len(started) <= 5  # at most 2 n in flight, never the whole input


def test_map_ordered_raises_the_workers_error():
    def bad(x):
        if x == 3:
            raise ValueError("item 3")
        return x

    with pytest.raises(ValueError, match="item 3"):
        list(cpu.map_ordered(bad, range(10), n=2))


def test_thread_count_from_the_environment(monkeypatch):
    monkeypatch.setenv("PARLEY_CPU_THREADS", "3")
    assert cpu.cpu_threads(8) == 3 and cpu.workers() == 3
    monkeypatch.setenv("PARLEY_CPU_THREADS", "many")
    assert 1 <= cpu.cpu_threads(2) <= 2
    monkeypatch.setenv("PARLEY_CPU_THREADS", "0")
    assert cpu.cpu_threads(1) == 1


def test_workers_run_torch_single_threaded():
    import torch

    counts = list(cpu.map_ordered(lambda _: torch.get_num_threads(), range(4), n=2))
    assert counts == [1, 1, 1, 1]


def test_tune_allocator_is_harmless_to_call_twice():
    cpu.tune_allocator()
    cpu.tune_allocator()
    assert np.ones(10_000_000, dtype=np.float32).sum() == 10_000_000  # a 40 MB array still allocates


def test_embedding_masks_follow_pyannotes_rule():
    rng = np.random.default_rng(1)
    seg = (rng.random((589, 3)) > 0.6).astype(np.float32)
    seg[:, 2] = 0.0  # an inactive local speaker
    seg[10, 1] = np.nan  # partial stitching
    # without exclude_overlap: every frame of each speaker
    m = embedding_masks(seg, False, -1)
    assert m.shape == (3, 589) and m.dtype == np.float32
    assert np.array_equal(m, np.nan_to_num(seg).T)
    # with it: the clean frames, or all frames when too few are clean
    clean = np.nan_to_num(seg) * (np.nan_to_num(seg).sum(axis=1, keepdims=True) < 2)
    m = embedding_masks(seg, True, 60)
    for s in range(3):
        want = clean[:, s] if clean[:, s].sum() > 60 else np.nan_to_num(seg)[:, s]
        assert np.array_equal(m[s], want)
    m = embedding_masks(seg, True, 10_000)  # never enough clean frames: all of them
    assert np.array_equal(m, np.nan_to_num(seg).T)


@pytest.mark.models
def test_chunk_embeddings_and_parallel_segmentation_equal_pyannotes(engine):
    """On a real meeting: the same segmentation, and the same embeddings (to float rounding),
    as pyannote's own unsplit ``infer`` and batched ``get_embeddings``."""
    import soundfile as sf
    import torch

    from tests.conftest import eval_item

    audio, sr = sf.read(eval_item("ami_EN2002b_000-030s"), dtype="float32", always_2d=True)
    pipe = engine.diarizer.pipeline
    file = {"waveform": torch.from_numpy(np.ascontiguousarray(audio.mean(axis=1)))[None], "sample_rate": sr, "uri": "t"}
    with torch.inference_mode():
        seg = pipe.get_segmentations(file)
        parallel = pipe._segmentation.infer
        del pipe._segmentation.infer  # pyannote's own method again
        try:
            ref = pipe.get_segmentations(file)
        finally:
            pipe._segmentation.infer = parallel
    assert seg.data.shape == ref.data.shape and seg.data.shape[0] > 10
    assert np.array_equal(seg.data, ref.data)  # powerset: one-hot frames, no rounding left

    ours = pipe.get_embeddings(file, seg, exclude_overlap=pipe.embedding_exclude_overlap)
    pipe._parley_cpu = False
    try:
        theirs = pipe.get_embeddings(file, seg, exclude_overlap=pipe.embedding_exclude_overlap)
    finally:
        pipe._parley_cpu = True
    assert ours.shape == theirs.shape == (seg.data.shape[0], seg.data.shape[2], 192)
    assert np.allclose(ours, theirs, atol=1e-4), np.abs(ours - theirs).max()


def test_a_forked_child_gets_its_own_workers():
    import os

    assert list(cpu.map_ordered(abs, [-1, -2, -3], n=2)) == [1, 2, 3]  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # child: the parent's threads are gone; a new pool must serve it
        ok = list(cpu.map_ordered(abs, [-4, -5, -6], n=2)) == [4, 5, 6]
        os._exit(0 if ok else 1)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:  # a child waiting forever on the parent's dead workers
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung on the parent's worker pool")
    assert os.WEXITSTATUS(done[1]) == 0
