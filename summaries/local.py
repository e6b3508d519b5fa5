"""Offline extractive summary: runs anywhere, sends nothing, clearly labelled as such.

Per speaker: their most central sentences (TF-IDF cosine to the speaker's own centroid, with
a small bonus for content length), their questions, and commitments found by cue phrases.
Meeting level: decisions and action items found by cue phrases, with owner and due date
where the sentence states one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from .model import Item, MeetingSummary, SpeakerSummary
from .transcript import Line

MODEL = "local-extractive"

_SENT = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z']+")
_STOP = set(
    "a an the and or but if so to of in on at for with is are was were be been it its this that these those i you he she we they me him her us them my your our their "
    "do does did have has had not no yes yeah okay ok um uh mm hmm like just really very well oh right there here what which who whom how when where why all any can "
    "could would should will shall may might must about from as by up out then than too also".split()
)
_COMMIT = re.compile(r"\b(i'll|i will|i can|i'm going to|i am going to|let me|i'll take|i'll do)\b", re.I)
_ACTION = re.compile(r"\b(we need to|we should|we have to|let's|lets|can you|could you|would you|action item|to do|todo|follow up|make sure)\b", re.I)
_DECISION = re.compile(r"\b(we decided|we've decided|decided to|let's go with|we'll go with|agreed|we agree|the decision|settled on)\b", re.I)
_DUE = re.compile(
    r"\b(by|before|until|on|next)\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight|next week|the end of (?:the )?(?:day|week|month)|end of (?:day|week|month)|\d{1,2}(?:st|nd|rd|th)?(?: of \w+)?|week|month)\b"
    r"|\b(tomorrow|tonight|next week|next month|this week|end of (?:the )?(?:day|week|month))\b",
    re.I,
)


def _tokens(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2]


def _sentences(lines: Sequence[Line]) -> list[tuple[Line, str]]:
    out = []
    for l in lines:
        for s in _SENT.split(l.text.strip()):
            if s.strip():
                out.append((l, s.strip()))
    return out


def _due(text: str) -> str | None:
    m = _DUE.search(text)
    return m.group(0) if m else None


def summarize_local(lines: Sequence[Line], per_speaker: int = 3) -> MeetingSummary:
    sents = _sentences(lines)
    docs = [_tokens(s) for _, s in sents]
    df = Counter(w for d in docs for w in set(d))
    vocab = {w: i for i, w in enumerate(df)}
    n = max(len(docs), 1)
    mat = np.zeros((len(docs), max(len(vocab), 1)), dtype=np.float32)
    for r, d in enumerate(docs):
        for w, c in Counter(d).items():
            mat[r, vocab[w]] = (1 + math.log(c)) * math.log(1 + n / df[w])
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    unit = mat / np.where(norms > 0, norms, 1)

    speakers: list[SpeakerSummary] = []
    decisions: list[Item] = []
    actions: list[Item] = []
    order = list(dict.fromkeys(l.speaker for l in lines))
    for spk in order:
        rows = [i for i, (l, _) in enumerate(sents) if l.speaker == spk]
        if not rows:
            continue
        centroid = unit[rows].mean(axis=0)
        scores = {i: float(unit[i] @ centroid) * (1 + 0.1 * min(len(docs[i]), 10)) for i in rows if len(docs[i]) >= 2}
        top = sorted(sorted(scores, key=scores.get, reverse=True)[:per_speaker])
        said = tuple(Item(sents[i][1], (sents[i][0].turn_id,)) for i in top)
        questions = tuple(Item(sents[i][1], (sents[i][0].turn_id,)) for i in rows if sents[i][1].endswith("?") and len(docs[i]) >= 1)
        commitments = []
        for i in rows:
            line, s = sents[i]
            if _COMMIT.search(s):
                item = Item(s, (line.turn_id,), owner=spk, due=_due(s))
                commitments.append(item)
                actions.append(item)
            elif _ACTION.search(s):
                actions.append(Item(s, (line.turn_id,), owner=None if re.search(r"\b(can|could|would) you\b", s, re.I) else spk, due=_due(s)))
            if _DECISION.search(s):
                decisions.append(Item(s, (line.turn_id,)))
        speakers.append(SpeakerSummary(spk, said, (), tuple(commitments), questions[:5]))
    return MeetingSummary(tuple(speakers), tuple(decisions), tuple(actions), MODEL, True)
