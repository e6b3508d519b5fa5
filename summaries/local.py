"""The offline summary: extractive, runs anywhere with numpy, sends nothing anywhere.

Per speaker
  * **said**: their key sentences: TF-IDF vectors over the meeting's sentences; a sentence
    scores by its centrality among the speaker's own sentences (LexRank-style power iteration),
    its closeness to the meeting's overall content and how much content it carries; picked
    with a redundancy penalty (MMR) and shown in meeting order;
  * **positions**: opinion / proposal cues ("I think", "we should", "I'd rather" …);
  * **commitments**: first-person future cues ("I'll", "I'm going to", "let me" …), with a due
    date when the sentence states one ("by Friday", "next week", "end of the month" …);
  * **open questions**: their questions that no other speaker answered in the next turns.
Meeting level: decisions ("we decided", "let's go with" …) and action items: commitments (owner:
the speaker), requests ("can you …", owner: the person addressed, by name or by who answers)
and group actions ("we need to", "let's", "action item" …, owner: the speaker who raised them).

Works on punctuated ASR output and on unpunctuated transcripts (sentences are then cut at
capitalised discourse words, questions recognised by their opening words).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .prompt import PROMPT_VERSION
from .types import Item, MeetingSummary, SpeakerSummary, TranscriptLine

__all__ = ["MODEL", "summarize_local", "find_due"]

MODEL = "local-extractive"

_FILLER = re.compile(r"(?<![\w'-])(?:u+h+m*|u+m+|e+r+m*|h*m+h*m+|mm-hmm|mhm|uh-huh)(?![\w'-])[,.]?\s*", re.I)
_REPEAT = re.compile(r"\b(\w+)(?:\s+\1\b)+", re.I)
_SENT_END = re.compile(r"(?<=[.!?…])\s+")
_DISCOURSE = re.compile(r"(?<=[a-z0-9']) (?=(?:So|Okay|OK|Alright|Right|Well|But|And|Now|Then|Yeah|Yes|No|Anyway|Actually)\b)")
_WORD = re.compile(r"[a-z][a-z'-]*")
_STOP = set(
    """a an the and or but if so to of in on at for with from by as into onto about over under than then too also very just really quite
    i me my mine we us our ours you your yours he him his she her hers it its they them their theirs this that these those there here
    is are was were be been being am do does did doing done have has had having will would shall should can could may might must
    not no yes yeah yep okay ok oh ah well right like um uh mm hmm mhm kind sort thing things stuff lot bit gonna wanna gotta
    what which who whom whose how when where why all any some each every both either neither one ones get got go going went say said
    i'm i'll i've i'd you're you'll you've you'd we're we'll we've we'd it's that's there's what's let's don't doesn't didn't can't
    won't isn't aren't wasn't weren't haven't hasn't couldn't wouldn't shouldn't dunno mean know think see actually maybe probably""".split()
)

_REQUEST = re.compile(r"\b(?:can|could|would|will)\s+you\b(?!\s+(?:like|believe|imagine|see|hear|tell|say|think|mind if i))|\bplease\s+(?!don't)\w+|\bi need you to\b|\byou need to\b", re.I)
#: requests that are done on the spot or ask for a choice, not work to do later ("could you spell
#: that for me", "would you prefer 8 a.m. or 3 p.m.", "can you hear me")
_NOT_A_TASK = re.compile(
    r"\b(?:can|could|would|will)\s+(?:you|we)\s+(?:(?:just|please|also|maybe|kindly)\s+)*"
    r"(?:spell|repeat|say|hear|hold|wait|confirm|clarify|explain|describe|speak|read|tell me|give me (?:your|the)|go (?:over|through)|walk me|prefer|rather|want|care|mind|like|do that again|remind me (?:what|who|how|of your))\b"
    r"|\bplease\s+(?:hold|wait|repeat|spell|go ahead|continue)\b",
    re.I,
)
_COMMIT = re.compile(
    r"\b(?:i'll|i will|i'm going to|i am going to|i'm gonna|let me|i can take|leave it (?:with|to) me|i'll make sure|i promise to|i'm on it)\b"
    r"(?!\s+(?:be honest|say|admit|tell you|bet|grant|just say|be back|see\b|be (?:a|an|the|happy|glad|fine|okay|ok|good)\b|know\b|think\b|guess\b|ask you\b|explain\b|be clear\b|understand\b))",
    re.I,
)
_ACTION = re.compile(r"\b(?:we need to|we have to|we must|we've got to|we gotta|let's(?!\s+(?:see|say|just say|be honest|face it|not))|let us|someone (?:should|needs to|has to)|action items?|to-?do|follow[- ]up|make sure|don't forget|remember to|needs? to be done)\b", re.I)
_DECISION = re.compile(
    r"\b(?:we(?:'ve| have)? decided|decided to|(?:the|our) decision is|let's go with|we'll go with|we(?:'re| are) going (?:with|for)|we agreed|(?:it's|that's|is) agreed|agreed on|we agree|settled on|that's settled|final answer|we'll use|we will use)\b",
    re.I,
)
_POSITION = re.compile(
    r"\b(?:i think|i believe|i feel|i'd say|in my (?:view|opinion)|my view|i'd (?:rather|prefer|suggest|recommend)|i (?:agree|disagree)|i'm not (?:sure|convinced)|i'm (?:for|against)|i don't think|we should|we shouldn't|it would be (?:better|good|best)|the problem is|the issue is|i suggest|i propose|i prefer|i'm worried|my concern)\b",
    re.I,
)
_QUESTION_START = re.compile(
    r"^(?:(?:so|and|but|okay|ok|well|right|now|then|alright)\s+)*(?:who|what|what's|when|where|why|how|which|is|are|was|were|do|does|did|can|could|would|will|should|shall|have|has|isn't|aren't|don't|doesn't|didn't|won't|wouldn't|shouldn't|can't|couldn't|any(?:one|body))\b",
    re.I,
)
_ANSWER = re.compile(r"^\W*(?:yes|yeah|yep|no|nope|sure|definitely|because|it's|it is|we|they|i think|probably|maybe)\b", re.I)
_LEAD = re.compile(r"^(?:(?:okay|ok|so|well|right|yeah|alright|oh|and|but|now)\b[,.]?\s+)+", re.I)
_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|mon|tue|tues|wed|thu|thurs|fri)"
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_ORD = r"\d{1,2}(?:st|nd|rd|th)?"
_WHEN = (
    rf"(?:(?:this|next|coming)\s+)?{_DAY}(?:\s+(?:morning|afternoon|evening|night))?"
    rf"|{_MONTH}\s+{_ORD}|(?:the\s+)?{_ORD}\s+of\s+{_MONTH}|the\s+\d{{1,2}}(?:st|nd|rd|th)"
    r"|(?:the\s+)?end of (?:the |this |next )?(?:day|week|month|quarter|year|sprint)|eod|eow|cob"
    r"|tomorrow(?:\s+(?:morning|afternoon|evening))?|tonight|today|noon|lunch(?:time)?|\d{1,2}(?::\d{2})?\s*(?:am|pm|o'clock)"
    r"|next (?:week|month|meeting|time|quarter|sprint)|this (?:week|afternoon|evening|month)|as soon as (?:possible|we can|i can)|asap"
)
_DUE = re.compile(
    rf"\b(?:(?:by|before|until|till|no later than|due)\s+(?:{_WHEN})|(?:on|for)\s+(?:{_DAY}|{_MONTH}\s+{_ORD})|in (?:a|an|one|two|three|four|a couple of|\d+) (?:days?|weeks?|months?|hours?)|(?:{_WHEN}))\b",
    re.I,
)


def find_due(text: str) -> str | None:
    """A due-date phrase as stated ("by Friday", "next week"), or None."""
    m = _DUE.search(text)
    return m.group(0).strip() if m else None


def _clean(text: str) -> str:
    text = _FILLER.sub("", text)
    text = _REPEAT.sub(r"\1", text)
    rest = _LEAD.sub("", text)  # "Okay so who wants …" → "who wants …"
    if len(rest.split()) >= 3:
        text = rest
    text = re.sub(r"\s+([,.?!])", r"\1", " ".join(text.split())).strip(" ,;-")
    if len(text) > 300:
        text = text[:299].rsplit(" ", 1)[0] + "…"
    return text[:1].upper() + text[1:] if text else text


_TIME = re.compile(r"\b([ap])\s?\.\s?m\b\.?", re.I)  # "8 a .m." (tokenised references), "8 a.m", "8 am." → "8 a.m."
_ABBREV = re.compile(r"(?:\b(?:mr|mrs|ms|dr|prof|st|vs|approx|no|e\.g|i\.e|cf)\.)$", re.I)
_CLOCK = re.compile(r"\b[ap]\.m\.$", re.I)


def _pieces(text: str) -> list[str]:
    """Sentences, not cut after a title ("Dr."), "e.g." or a time ("8 a.m. or 3 p.m.")."""
    text = _TIME.sub(lambda m: m.group(1).lower() + ".m.", " ".join(text.split()))
    out: list[str] = []
    for piece in _SENT_END.split(text):
        if out and (_ABBREV.search(out[-1]) or (_CLOCK.search(out[-1]) and re.match(r"[a-z0-9(]", piece))):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return out


def _split(text: str) -> list[str]:
    out = []
    for piece in _pieces(text):
        if len(piece.split()) > 20 and not re.search(r"[.!?,;]", piece[:-1]):
            out += _DISCOURSE.split(piece)  # unpunctuated transcript: cut at discourse words
        else:
            out.append(piece)
    return [p.strip() for p in out if p.strip()]


def _stem(w: str) -> str:
    w = w.removesuffix("'s")
    for suffix in ("ing", "ed", "es", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def _tokens(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2]


@dataclass(frozen=True, slots=True)
class _Sentence:
    line: int  # index into the lines (where the sentence starts)
    raw: str
    text: str  # cleaned, for display
    tokens: tuple[str, ...]
    question: bool
    lines: tuple[int, ...] = ()  # every line it spans (a sentence the speaker finished after an interjection)

    @property
    def end(self) -> int:
        return self.lines[-1] if self.lines else self.line


_TERMINAL = re.compile(r"[.?!…][\"')\]]*$")


def _punctuated(lines: Sequence[TranscriptLine]) -> bool:
    """ASR-style text with full stops (Whisper), not a bare word stream (some references)."""
    text = " ".join(l.text for l in lines)
    return len(re.findall(r"[.?!…](?:\s|$)", text)) * 30 >= len(text.split())  # a sentence end every 30 words or less


def _sentences(lines: Sequence[TranscriptLine], who: Sequence[tuple[int | None, str]], punctuated: bool) -> list[tuple[tuple[int, ...], str]]:
    """(lines, raw text) of every sentence. A speaker's line that stops mid-sentence is continued
    by their next line within three when that one goes on in lower case ("… I got a car" /
    "from the dealership …"): turns cut at a pause or around someone's "okay" are rejoined.
    Only in punctuated transcripts, where a missing full stop means something."""
    out: list[tuple[list[int], str]] = []
    open_tail: dict[tuple[int | None, str], int] = {}  # speaker → their unfinished last sentence
    for i, l in enumerate(lines):
        pieces = _split(l.text)
        if not pieces:
            continue
        tail = open_tail.pop(who[i], None)
        last = None
        if tail is not None and i - out[tail][0][-1] <= 3 and pieces[0][:1].islower():
            out[tail][0].append(i)
            out[tail] = (out[tail][0], out[tail][1] + " " + pieces[0])
            pieces, last = pieces[1:], tail
        for p in pieces:
            out.append(([i], p))
            last = len(out) - 1
        if punctuated and not _TERMINAL.search(out[last][1]) and len(out[last][1].split()) < 80:  # unpunctuated transcripts: no cue
            open_tail[who[i]] = last
    return [(tuple(ls), raw) for ls, raw in out]


def _is_question(raw: str) -> bool:
    s = raw.strip()
    if s.endswith("?"):
        return True
    return not re.search(r"[.!]$", s) and bool(_QUESTION_START.match(_FILLER.sub("", s))) and 3 <= len(s.split()) <= 25


def _vectors(sents: list[_Sentence]) -> np.ndarray:
    df = Counter(t for s in sents for t in set(s.tokens))
    vocab = {w: i for i, w in enumerate(df)}
    n = len(sents)
    m = np.zeros((n, max(len(vocab), 1)), dtype=np.float64)
    for r, s in enumerate(sents):
        for w, c in Counter(s.tokens).items():
            m[r, vocab[w]] = (1.0 + math.log(c)) * (math.log((1 + n) / (1 + df[w])) + 1.0)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms > 0, norms, 1.0)


def _centrality(unit: np.ndarray) -> np.ndarray:
    """LexRank-style stationary scores of the cosine-similarity graph (uniform for ≤ 2 nodes)."""
    n = len(unit)
    if n <= 2:
        return np.ones(n)
    sim = unit @ unit.T
    np.fill_diagonal(sim, 0.0)
    rows = sim.sum(axis=1, keepdims=True)
    p = np.where(rows > 0, sim / np.where(rows > 0, rows, 1.0), 1.0 / n)
    r = np.full(n, 1.0 / n)
    for _ in range(50):
        r = 0.15 / n + 0.85 * (r @ p)
    return r * n


def _pick(cands: list[int], score: dict[int, float], unit: np.ndarray, k: int) -> list[int]:
    """Maximal marginal relevance: good sentences that do not repeat each other."""
    chosen: list[int] = []
    pool = sorted(cands, key=lambda i: -score[i])
    while pool and len(chosen) < k:
        best = max(pool, key=lambda i: score[i] - 0.6 * max((float(unit[i] @ unit[j]) for j in chosen), default=0.0))
        chosen.append(best)
        pool.remove(best)
    return sorted(chosen)


def summarize_local(lines: Sequence[TranscriptLine]) -> MeetingSummary:
    lines = [l for l in lines if l.text.strip()]
    who = [(l.speaker_id, l.speaker) for l in lines]
    names = {k: k[1] for k in who}
    punctuated = _punctuated(lines)
    sents = [_Sentence(ls[0], raw, _clean(raw), tuple(_tokens(raw)), _is_question(raw), ls) for ls, raw in _sentences(lines, who, punctuated)]
    sents = [s for s in sents if s.text]
    unit = _vectors(sents) if sents else np.zeros((0, 1))
    topical = unit @ unit.mean(axis=0) if len(sents) else np.zeros(0)

    def item(i: int, owner: tuple[int | None, str] | None = None, due: bool = False) -> Item:
        s = sents[i]
        ids = tuple(lines[j].turn_id for j in (s.lines or (s.line,)))
        return Item(s.text, ids, owner[1] if owner else None, owner[0] if owner else None, find_due(s.raw) if due else None)

    def substantial(i: int) -> bool:
        """Enough to act on: not "Let's do it." or a half sentence."""
        s = sents[i]
        return len(s.tokens) >= 2 and len(s.text.split()) >= 4

    def addressee(i: int) -> tuple[int | None, str] | None:
        s = sents[i]
        for key, name in names.items():  # named in the request ("Bob, can you …")
            if key != who[s.line] and not re.match(r"(?i)^speaker\s*\d+$", name) and re.search(rf"(?<!\w){re.escape(name.split()[0])}(?!\w)", s.raw, re.I):
                return key
        for j in range(s.end + 1, min(s.end + 3, len(lines))):  # else whoever answers it
            if who[j] != who[s.line]:
                return who[j]
        return None

    def answered(i: int) -> bool:
        """Another speaker replied on topic within the next three turns, or answered right away."""
        s = sents[i]
        q = set(s.tokens)
        first = True
        for j in range(s.end + 1, min(s.end + 4, len(lines))):
            if who[j] == who[s.line]:
                continue
            reply = set(_tokens(lines[j].text))
            if len(reply) >= 2 and reply & q:
                return True
            was_first, first = first, False
            if was_first and len(reply) >= 3 and _ANSWER.match(_FILLER.sub("", lines[j].text)):
                return True
        return False

    decisions: list[Item] = []
    actions: list[Item] = []
    per: dict[tuple[int | None, str], dict[str, list[int]]] = {k: {"said": [], "positions": [], "commitments": [], "open_questions": []} for k in dict.fromkeys(who)}
    for i, s in enumerate(sents):
        spk, bucket = who[s.line], per[who[s.line]]
        if _REQUEST.search(s.raw) and not _NOT_A_TASK.search(s.raw) and substantial(i):
            actions.append(item(i, addressee(i), due=True))
        elif _COMMIT.search(s.raw) and not s.question and substantial(i):
            bucket["commitments"].append(i)
            actions.append(item(i, spk, due=True))
        elif _DECISION.search(s.raw) and substantial(i):
            decisions.append(item(i))
        elif _ACTION.search(s.raw) and not s.question and substantial(i):
            actions.append(item(i, spk, due=True))
        elif s.question:
            # with punctuation about, a short question without "?" is a fragment ("What do you tell")
            enough = len(s.text.split()) >= (5 if punctuated and not s.raw.rstrip().endswith("?") else 3)
            on_the_spot = bool(_NOT_A_TASK.search(s.raw)) and addressee(i) is not None  # "could you spell that?" — and they did
            if enough and s.tokens and not on_the_spot and not answered(i):
                bucket["open_questions"].append(i)
        elif _POSITION.search(s.raw) and len(s.tokens) >= 2:
            bucket["positions"].append(i)
        elif len(s.tokens) >= 3:
            bucket["said"].append(i)

    speakers = []
    for key, buckets in per.items():
        rows = [i for i, s in enumerate(sents) if who[s.line] == key]
        score: dict[int, float] = {}
        if rows:
            central = _centrality(unit[rows])
            central = central / max(central.max(), 1e-9)
            for r, i in enumerate(rows):
                info = min(math.log1p(len(sents[i].tokens)) / math.log(16), 1.0)
                score[i] = 0.45 * float(central[r]) + 0.35 * float(topical[i]) / max(float(topical.max()), 1e-9) + 0.2 * info
        said = _pick(buckets["said"], score, unit, min(6, 1 + math.ceil(math.sqrt(len(buckets["said"])))))
        positions = _pick(buckets["positions"], score, unit, 4)
        questions = buckets["open_questions"][:5]
        commitments = buckets["commitments"][:8]
        speakers.append(
            SpeakerSummary(
                names[key], key[0],
                tuple(item(i) for i in said), tuple(item(i) for i in positions),
                tuple(item(i, key, due=True) for i in commitments), tuple(item(i) for i in questions),
            )
        )
    return MeetingSummary(tuple(speakers), tuple(decisions[:12]), tuple(actions[:20]), MODEL, True, PROMPT_VERSION)
