"""Which stretches of the transcript a correction changed, Qt-free: given the turn order before
and after, and the turns that changed, the few (old range → new range) replacements that turn
the old document into the new one. Unchanged turns keep their relative order (turns are sorted
by start, end, id), so they are the common backbone and everything between two of them is
replaced as one piece."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Replace", "plan_patch"]


@dataclass(frozen=True, slots=True)
class Replace:
    """Old turns ``[old_lo, old_hi)`` become new turns ``[new_lo, new_hi)``; both ranges are non-empty."""

    old_lo: int
    old_hi: int
    new_lo: int
    new_hi: int


def plan_patch(old_ids: Sequence[int], new_ids: Sequence[int], dirty: set[int] | frozenset[int]) -> list[Replace] | None:
    """Replacements, last first (so applying them in order never moves a later one's positions).

    ``dirty``: turns whose content changed (or that were added or removed). ``None`` means
    "rebuild everything" (either side empty, or the unchanged turns are not in the same order).
    """
    if not old_ids or not new_ids:
        return None
    new_set, old_set = set(new_ids), set(old_ids)
    clean_old = [i for i, t in enumerate(old_ids) if t not in dirty and t in new_set]
    clean_new = [i for i, t in enumerate(new_ids) if t not in dirty and t in old_set]
    if [old_ids[i] for i in clean_old] != [new_ids[i] for i in clean_new]:
        return None
    # gaps between consecutive clean turns (and before the first / after the last)
    bounds_old = [-1, *clean_old, len(old_ids)]
    bounds_new = [-1, *clean_new, len(new_ids)]
    out: list[Replace] = []
    for k in range(len(bounds_old) - 1):
        o_lo, o_hi = bounds_old[k] + 1, bounds_old[k + 1]
        n_lo, n_hi = bounds_new[k] + 1, bounds_new[k + 1]
        if o_lo == o_hi and n_lo == n_hi:
            continue
        if o_lo == o_hi or n_lo == n_hi:  # a pure insertion or removal: take a clean neighbour along
            if o_lo > 0:
                o_lo, n_lo = o_lo - 1, n_lo - 1
            else:
                o_hi, n_hi = o_hi + 1, n_hi + 1
        if out and o_lo < out[-1].old_hi:  # touches the previous piece (it took this neighbour): join them
            prev = out.pop()
            o_lo, n_lo = prev.old_lo, prev.new_lo
        out.append(Replace(o_lo, o_hi, n_lo, n_hi))
    return out[::-1]
