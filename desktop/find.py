"""Search inside the open transcript (Ctrl+F), Qt-free: which runs of words match a query.
Case and punctuation are ignored; the last query word matches as a prefix, as you type."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["Hit", "find_in_turns"]

_WORD = re.compile(r"\w+(?:'\w+)?")

#: (turn index, first word index, last word index + 1)
Hit = tuple[int, int, int]


def _norm(text: str) -> str:
    return "".join(_WORD.findall(text.lower()))


def find_in_turns(turns: Sequence, query: str) -> list[Hit]:
    """Every place the query's words occur as consecutive words of a turn, in reading order."""
    terms = [_norm(q) for q in query.split()]
    terms = [t for t in terms if t]
    if not terms:
        return []
    *whole, last = terms
    out: list[Hit] = []
    n = len(terms)
    for ti, turn in enumerate(turns):
        words = [_norm(w.text) for w in turn.words]
        for i in range(len(words) - n + 1):
            if words[i : i + n - 1] == whole and words[i + n - 1].startswith(last):
                out.append((ti, i, i + n))
    return out
