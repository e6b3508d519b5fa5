"""CPU parallelism for the torch models: whole forward passes on Parley's own threads.

torch parallelises *inside* each operator. On a CPU, for the small convolutions and LSTMs of
segmentation-3.0 and CAM++, its threads meet at a barrier after every layer; with the
``OMP_WAIT_POLICY=PASSIVE`` Parley used to set, each barrier put them to sleep and woke them
(half the CPU time went to the kernel). Parley instead keeps torch's intra-op pool at one
thread and runs independent forward passes — one 10-s chunk each — on a small pool of its own
threads (torch releases the GIL inside every operator). Measured on the 2-core machine,
diarization of a 6-min meeting (``/tmp`` profile, same speakers and segments in every case):

=======================================================  ======  ========
torch threads                                            wall    CPU
=======================================================  ======  ========
2, ``OMP_WAIT_POLICY=PASSIVE`` (the old default)         156 s   171 s
2, the OpenMP default (spinning waits)                    71 s   138 s
2, the OpenMP default, with :func:`tune_allocator`        51 s   100 s
1 per chunk, 2 chunks at a time, :func:`tune_allocator`   36 s    68 s
=======================================================  ======  ========

:func:`workers` says how many passes run at once: ``$PARLEY_CPU_THREADS`` (a batch import
sets it per worker process), else the machine's CPUs, at most 8. With one worker everything
runs in the caller's thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["cpu_threads", "workers", "map_ordered", "single_threaded_torch", "tune_allocator"]

T = TypeVar("T")
R = TypeVar("R")

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()
_tuned = False


def cpu_threads(cap: int) -> int:
    """``$PARLEY_CPU_THREADS`` when set to a positive number, else the CPUs, at most ``cap``."""
    try:
        n = int(os.environ.get("PARLEY_CPU_THREADS", "0"))
    except ValueError:
        n = 0
    return n if n > 0 else max(1, min(cap, os.cpu_count() or 1))


def workers() -> int:
    """How many torch forward passes run at once."""
    return cpu_threads(8)


def single_threaded_torch() -> None:
    """torch's intra-op pool at one thread: in the calling thread and in threads started after
    it (torch hands its count to new threads); threads already running keep theirs, so each
    worker sets its own. Parallelism comes from :func:`map_ordered` instead."""
    import torch

    torch.set_num_threads(1)


def _executor(n: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != n:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(n, thread_name_prefix="parley-cpu", initializer=single_threaded_torch)
            _pool_size = n
        return _pool


def _forget_pool() -> None:
    """In a forked child the workers do not exist: start a new pool when one is needed."""
    global _pool, _pool_size
    _pool, _pool_size = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def map_ordered(fn: Callable[[T], R], items: Iterable[T], *, n: int | None = None) -> Iterator[R]:
    """``fn`` over ``items``, ``n`` at a time (default :func:`workers`), results in input order.

    Lazy: at most ``2 n`` items are in flight, so a caller that stops iterating (a cancel between
    results) stops the work within a couple of items, and a 2-hour meeting's chunks are never all
    queued at once."""
    n = n or workers()
    if n <= 1:
        yield from map(fn, items)
        return
    pool = _executor(n)
    pending = []
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * n:
                yield pending.pop(0).result()
        while pending:
            yield pending.pop(0).result()
    finally:
        for f in pending:
            f.cancel()


def tune_allocator() -> None:
    """glibc: serve tensors below 32 MB from the heap and keep up to 256 MB of free heap.

    By default glibc hands each large tensor its own ``mmap`` and unmaps it when freed, so every
    layer of every chunk faults its memory in again, zero-filled by the kernel: 9 million page
    faults and a fifth of the CPU time for the 6-min meeting above, 0.6 million with this.
    Parley still returns free memory between batches (:func:`meetings.memory.release_free_memory`),
    so the peak of a long meeting does not move. Elsewhere (macOS, Windows, musl) nothing to do."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    mallopt(M_MMAP_THRESHOLD, 32 * 2**20)
    mallopt(M_TRIM_THRESHOLD, 256 * 2**20)
    mallopt(M_TOP_PAD, 64 * 2**20)
