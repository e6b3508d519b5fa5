"""``parley people …``: people across meetings and their voice profiles (:mod:`meetings.people`)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from meetings.errors import ParleyError

__all__ = ["add_parser", "cmd_people", "print_naming"]


def add_parser(sub) -> None:
    p = sub.add_parser("people", help="people across meetings and their voice profiles (list, show, remember, rename, merge, forget …)")
    ps = p.add_subparsers(dest="people_command")
    ps.add_parser("list", help="everyone: meetings, talk time, voice profile size (the default)")
    show = ps.add_parser("show", help="a person's page: meetings, talk time, action items, what they said")
    show.add_argument("person", help="name or id")
    show.add_argument("--search", "-s", default="", metavar="TEXT", help="only what they said matching TEXT (full-text search)")
    show.add_argument("--limit", type=int, default=50)
    rem = ps.add_parser("remember", help="name a meeting's speaker and learn that voice (parley people remember 3 2 Ana)")
    rem.add_argument("meeting", type=int)
    rem.add_argument("speaker", help="the speaker: its number (Speaker 2 → 2), label or current name")
    rem.add_argument("name", nargs="+")
    rem.add_argument("--no-learn", action="store_true", help="only name them; keep their voice out of the profile")
    conf = ps.add_parser("confirm", help="accept the name suggested for a meeting's speaker")
    conf.add_argument("meeting", type=int)
    conf.add_argument("speaker")
    conf.add_argument("--learn", action="store_true", help="also add this voice to the person's profile")
    en = ps.add_parser("enrol", help="learn a person's voice from a short recording of them alone (any audio file)")
    en.add_argument("name")
    en.add_argument("file", type=Path)
    ren = ps.add_parser("rename", help="a new name for a person (and their speakers in every meeting)")
    ren.add_argument("person")
    ren.add_argument("name", nargs="+")
    mer = ps.add_parser("merge", help="two entries are one person: keep the first, the second's voice and meetings join it")
    mer.add_argument("keep")
    mer.add_argument("drop")
    fg = ps.add_parser("forget", help="delete a person and all their voice data, for good (transcripts keep the names)")
    fg.add_argument("person", nargs="?")
    fg.add_argument("--all", action="store_true", help="every person and every voice profile")
    fg.add_argument("--yes", action="store_true", help="do not ask")
    nm = ps.add_parser("name", help="name a meeting's speakers from the voice profiles again (after enrolling someone)")
    nm.add_argument("meeting", type=int)
    ex = ps.add_parser("export", help="write one person's voice profile to a file (it holds their voiceprint: keep it private)")
    ex.add_argument("person")
    ex.add_argument("-o", "--output", type=Path, required=True)
    im = ps.add_parser("import", help="add a voice profile file (from parley people export)")
    im.add_argument("file", type=Path)
    im.add_argument("--name", help="as this person (default: the name in the file)")


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _embedder():
    from diarization.diarize import Diarizer
    from meetings.people import embedder_for

    return embedder_for(Diarizer())


def print_naming(store, meeting_id: int, file=None) -> None:
    """What auto-naming did for a meeting: named, suggested (with the command that confirms it); stderr by default."""
    from meetings.people import namings

    file = file or sys.stderr

    for n in namings(store, meeting_id):
        if n.status == "named":
            print(f"named from voice profiles: {n.label} → {n.name} (score {n.score:.2f})", file=file)
        elif n.status == "suggested":
            print(f"suggestion: {n.name} may be {n.person_name} (score {n.score:.2f}); confirm: "
                  f"parley people confirm {meeting_id} {n.label}", file=file)


def _print_checks(store, meeting_id: int, checks) -> None:
    """Turns whose voice sounds like another speaker's person (flagged for review)."""
    names = {s.id: s.name for s in store.speakers(meeting_id)}
    turns = {t.id: t for t in store.turns(meeting_id)} if checks else {}
    for c in checks:
        t = turns[c.turn_id]
        print(f"flagged for review: the turn at {_hms(t.start)} ({names[c.speaker_id]}) sounds like {names[c.other_speaker_id]}"
              f" ({c.other:.2f} vs {c.own:.2f}): {t.text[:60]}")


def cmd_people(args) -> int:
    from meetings import people as P
    from meetings.cli import _store

    store = _store(args)
    cmd = args.people_command or "list"
    if cmd == "list":
        rows = P.people(store)
        if not rows:
            print("no people yet: parley people remember MEETING SPEAKER NAME names a speaker and learns their voice")
            return 0
        print(f"{'id':>4}  {'name':<24} {'meetings':>8} {'talk':>8}  profile")
        for p in rows:
            prof = f"{p.samples} sample(s), {p.seconds:.0f} s of speech" if p.samples else "no voice profile"
            print(f"{p.id:>4}  {(p.name + (' (you)' if p.is_self else '')):<24} {p.meetings:>8} {_hms(p.talk_time):>8}  {prof}")
        return 0
    if cmd == "show":
        page = P.person_page(store, args.person)
        p = page.person
        print(f"{p.name}: {p.meetings} meeting(s), talk time {_hms(p.talk_time)}, "
              + (f"voice profile of {p.samples} sample(s), {p.seconds:.0f} s of speech" if p.samples else "no voice profile"))
        for m in page.meetings:
            print(f"  meeting {m.meeting_id}  {m.created_at[:10]}  {m.title}  ({_hms(m.talk_time)}, {m.turns} turns)")
        if page.action_items:
            print("action items:")
            for i in page.action_items:
                print(f"  - {i.text}" + (f" (due {i.due})" if i.due else "") + f"  [meeting {i.meeting_id}]")
        hits = P.said(store, p.id, args.search, limit=args.limit)
        print(f"{'matching ' + repr(args.search) if args.search else 'what they said'} ({len(hits)}):")
        for h in hits:
            print(f"  [{h.meeting_id}:{_hms(h.start)}] {h.snippet}")
        return 0
    if cmd in ("remember", "confirm"):
        spk = P.resolve_speaker(store, args.meeting, args.speaker)
        learn = not args.no_learn if cmd == "remember" else args.learn
        emb = _embedder() if learn else None
        if cmd == "remember":
            p = P.remember(store, spk, " ".join(args.name), emb, learn=learn)
        else:
            p = P.confirm_suggestion(store, spk, emb, learn=learn)
        print(f"{args.speaker} of meeting {args.meeting} is {p.name}" + (f"; voice learned ({p.samples} sample(s), {p.seconds:.0f} s)" if learn else ""))
        if emb is not None:
            _print_checks(store, args.meeting, P.rescore_turns(store, args.meeting, emb))
        return 0
    if cmd == "enrol":
        from capture.decode import decode_to_wav, probe

        probe(args.file)
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "voice.wav"
            decode_to_wav(args.file, wav)
            p = P.enrol_recording(store, args.name, wav, _embedder())
        print(f"{p.name}: voice learned ({p.samples} sample(s), {p.seconds:.0f} s of speech)")
        return 0
    if cmd == "rename":
        p = P.rename_person(store, args.person, " ".join(args.name))
        print(f"renamed: {p.name}")
        return 0
    if cmd == "merge":
        p = P.merge_people(store, args.keep, args.drop)
        print(f"merged into {p.name}: {p.meetings} meeting(s), {p.samples} voice sample(s)")
        return 0
    if cmd == "forget":
        targets = P.people(store) if args.all else [P.find_person(store, args.person)] if args.person else []
        if not args.all and not args.person:
            raise ParleyError("name a person to forget, or --all")
        if any(t is None for t in targets):
            raise ParleyError(f"no person {args.person!r} (parley people lists them)")
        if not args.yes:
            what = "every person and voice profile" if args.all else f"{targets[0].name} and their voice profile"
            if not sys.stdin.isatty():
                raise ParleyError(f"this deletes {what} for good: add --yes")
            if input(f"Delete {what} for good? [y/N] ").strip().lower() not in ("y", "yes"):
                return 1
        for t in targets:
            P.forget(store, t.id)
        print(f"forgotten: {', '.join(t.name for t in targets) or 'nobody'}")
        return 0
    if cmd == "name":
        store.get_meeting(args.meeting)
        emb = _embedder()
        P.auto_name(store, args.meeting, emb)
        print_naming(store, args.meeting, file=sys.stdout)
        _print_checks(store, args.meeting, P.rescore_turns(store, args.meeting, emb))
        return 0
    if cmd == "export":
        path = P.export_profile(store, args.person, args.output)
        print(f"wrote {path} (a voiceprint: keep it private)")
        return 0
    if cmd == "import":
        p = P.import_profile(store, args.file, args.name)
        print(f"{p.name}: {p.samples} voice sample(s)")
        return 0
    raise ParleyError(f"unknown people command {cmd!r}")
