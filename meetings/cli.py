"""The ``parley`` command line.

    parley import FILE_OR_DIR... [--jobs N] [--num-speakers N | --min-speakers N --max-speakers N]
                       [--model NAME] [--diarization NAME] [--device auto|cpu|cuda] [--language xx]
                       [--recover-overlap]
    parley list
    parley show ID
    parley export ID --format txt|md|srt|vtt|json|rttm [-o FILE]
    parley summarize ID [--model M] [--local | --llm [URL]]
    parley models [get NAME]
    parley app
    parley --version
    parley bench [--files NAME ...]

Errors a user can act on exit with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from meetings.errors import ParleyError

EXIT_USER_ERROR = 2


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="parley", description="Who said what, and what did each person want — locally.")
    p.add_argument("--db", type=Path, help="database file (default: the user data folder, or $PARLEY_DATA_DIR)")
    from meetings.version import __version__

    p.add_argument("--version", action="version", version=f"parley {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    imp = sub.add_parser("import", help="transcribe and diarize recorded files (or every recording in a folder)")
    imp.add_argument("files", type=Path, nargs="+", metavar="FILE_OR_DIR")
    imp.add_argument("--title", help="meeting title (one file only; default: the file name)")
    imp.add_argument("--jobs", "-j", type=_positive, default=1, help="worker processes for many files (each loads its own models, ~2.5 GB)")
    imp.add_argument("--num-speakers", type=_positive)
    imp.add_argument("--min-speakers", type=_positive)
    imp.add_argument("--max-speakers", type=_positive)
    imp.add_argument("--model", default="tiny.en", help="Whisper model: tiny.en (embedded), a faster-whisper name such as large-v3 or turbo, or a folder")
    imp.add_argument("--diarization", default="embedded", help="embedded (offline) or a pyannote pipeline such as pyannote/speaker-diarization-community-1 (needs HF_TOKEN)")
    imp.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    imp.add_argument("--language", help="language code (default: detect; tiny.en is English only)")
    imp.add_argument("--recover-overlap", action="store_true",
                     help="re-transcribe a second voice under someone else's turn (off: with tiny.en it does not help; try it with a larger --model)")
    imp.add_argument("--quiet", action="store_true", help="no progress bars")

    sub.add_parser("list", help="list imported meetings")
    show = sub.add_parser("show", help="print a meeting's transcript")
    show.add_argument("id", type=int)

    exp = sub.add_parser("export", help="export a meeting")
    exp.add_argument("id", type=int)
    exp.add_argument("--format", default="txt")
    exp.add_argument("-o", "--output", type=Path, help="write to a file instead of stdout")

    summ = sub.add_parser("summarize", help="per-speaker summaries (Anthropic API, a local LLM server with --llm, or extractive with --local)")
    summ.add_argument("id", type=int, nargs="?")
    summ.add_argument("--model", help="Claude model (default: the configured batch tier), or with --llm the model on that server")
    summ.add_argument("--local", action="store_true", help="offline extractive summary, nothing leaves the machine")
    summ.add_argument("--llm", nargs="?", const="", metavar="URL",
                      help="a local LLM server's OpenAI-compatible API (Ollama, llama-server, LM Studio); default: the configured one, else http://127.0.0.1:11434/v1")
    summ.add_argument("--list-models", action="store_true", help="list the models of the local LLM server (--llm) and exit")

    dele = sub.add_parser("delete", help="delete a meeting for good: its audio, transcript, summaries and voice data")
    dele.add_argument("id", type=int)
    dele.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    from meetings.record_cli import add_parsers as add_live_parsers

    add_live_parsers(sub)  # devices, record, recover
    sub.add_parser("app", help="open the desktop app")
    from meetings.models_cli import add_parser as add_models_parser

    add_models_parser(sub)
    from meetings.people_cli import add_parser as add_people_parser

    add_people_parser(sub)  # people and voice profiles
    sub.add_parser("bench", help="benchmark accuracy and speed on bench/data, the bundled eval set (python -m bench --help)")
    return p


def _store(args):
    from meetings.store import Store

    store = Store(args.db) if args.db else Store.default()
    store.mark_interrupted()
    if getattr(args, "command", None) != "recover":
        from meetings.record_cli import pending_notice

        pending_notice(store)  # a recording left by a crash is offered on the first start after it
    return store


def cmd_devices(args) -> int:
    from meetings.record_cli import cmd_devices as run

    return run(args)


def cmd_record(args) -> int:
    from meetings.record_cli import cmd_record as run

    return run(args, _store(args))


def cmd_people(args) -> int:
    from meetings.people_cli import cmd_people as run

    return run(args)


def cmd_recover(args) -> int:
    from meetings.record_cli import cmd_recover as run

    return run(args, _store(args))


class _Bars:
    """One tqdm progress bar per pipeline stage, on stderr."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()  # bars only on a terminal; stage lines always
        self.quiet = not enabled
        self.bar = None
        self.stage = None

    def __call__(self, event) -> None:
        from meetings.events import Progress, StageDone

        if isinstance(event, Progress):
            if not self.enabled:
                return
            from tqdm import tqdm

            if event.stage != self.stage:
                self.close()
                self.stage = event.stage
                self.bar = tqdm(total=round(event.total, 1) if event.total else None, desc=f"{event.stage:<10}", unit="s" if event.stage != "diarize" else "it", leave=False, file=sys.stderr)
            if event.total and self.bar.total != round(event.total, 1):
                self.bar.total = round(event.total, 1)
            self.bar.n = round(event.done, 1)
            if event.detail:
                self.bar.set_postfix_str(event.detail, refresh=False)
            self.bar.refresh()
        elif isinstance(event, StageDone):
            self.close()
            if not self.quiet:
                print(f"{event.stage:<10} done in {event.seconds:.1f} s", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            self.stage = None


def cmd_import(args) -> int:
    from meetings.types import PipelineOptions

    if args.num_speakers and (args.min_speakers or args.max_speakers):
        raise ParleyError("use either --num-speakers or --min/--max-speakers, not both")
    if args.min_speakers and args.max_speakers and args.min_speakers > args.max_speakers:
        raise ParleyError("--min-speakers is larger than --max-speakers")
    options = PipelineOptions(
        asr_model=args.model,
        diarization_model=args.diarization,
        device=args.device,
        language=args.language,
        num_speakers=args.num_speakers,
        min_speakers=args.min_speakers,
        max_speakers=args.max_speakers,
        recover_overlap=args.recover_overlap,
    )
    if len(args.files) > 1 or args.files[0].is_dir():
        if args.title:
            raise ParleyError("--title names one meeting: import one file with it")
        from meetings.batch import batch_command

        return batch_command(args, _store(args), options)
    return _import_one_file(args, options)


def _import_one_file(args, options) -> int:
    from capture.decode import file_sha256, probe

    path = args.files[0]
    if not path.exists():
        raise ParleyError(f"{path}: no such file")
    probe(path)  # a bad file is rejected before any model loads (DecodeError: one line, status 2)
    store = _store(args)
    existing = store.find_by_sha256(file_sha256(path))
    if existing is not None and existing.status == "done":
        print(f"already imported as meeting {existing.id}", file=sys.stderr)
        _print_transcript(store, existing.id)
        return 0
    from meetings.pipeline import Engine

    bars = _Bars(not args.quiet)
    engine = Engine(options)
    try:
        result = engine.import_file(path, store, title=args.title, emit=bars)
    finally:
        bars.close()
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if result.duplicate:
        print(f"already imported as meeting {result.meeting_id}", file=sys.stderr)
    from meetings.people_cli import print_naming

    print_naming(store, result.meeting_id)  # who was named from voice profiles, who only got a suggestion
    _print_transcript(store, result.meeting_id)
    return 0


def _print_transcript(store, meeting_id: int) -> None:
    from meetings.export import export

    print(export(_export_doc(store, meeting_id), "txt"), end="")


def _export_doc(store, meeting_id: int):
    from meetings.export import ExportDoc, ExportTurn

    meeting = store.get_meeting(meeting_id)
    turns = store.turns(meeting_id)
    summaries_md = "\n\n".join(
        ("*This summary predates later corrections (stale): `parley summarize` regenerates it.*\n\n" if s.stale else "") + s.markdown
        for s in store.summaries(meeting_id)
        if s.kind == "meeting"
    )
    return ExportDoc(
        title=meeting.title,
        duration=meeting.duration,
        speakers=tuple(s.name for s in store.speakers(meeting_id)),
        turns=tuple(
            ExportTurn(
                speaker=t.speaker_name,
                start=t.start,
                end=t.end,
                text=t.text,
                confidence=t.confidence,
                flags=tuple(f.value for f in t.flags),
                overlapped=t.overlapped,
                words=tuple((w.start, w.end, w.text, w.probability) for w in t.words),
            )
            for t in turns
        ),
        summaries_markdown=summaries_md,
    )


def cmd_list(args) -> int:
    store = _store(args)
    meetings = store.list_meetings()
    if not meetings:
        print("no meetings yet: parley import FILE")
        return 0
    print(f"{'id':>4}  {'date':<16}  {'length':>8}  {'spk':>3}  {'turns':>5}  {'flag':>4}  {'status':<11}  title")
    for m in meetings:
        mins, secs = divmod(int(round(m.duration)), 60)
        print(f"{m.id:>4}  {m.created_at[:16].replace('T', ' '):<16}  {mins:>5}:{secs:02d}  {m.num_speakers:>3}  {m.num_turns:>5}  {m.num_flagged:>4}  {m.status:<11}  {m.title}")
    return 0


def cmd_show(args) -> int:
    store = _store(args)
    m = store.get_meeting(args.id)
    print(f"# {m.title}  ({m.duration / 60:.1f} min, {m.num_speakers} speakers, {m.num_flagged} of {m.num_turns} turns flagged, {m.status})")
    for w in store.warnings(args.id):
        print(f"! {w}")
    _print_transcript(store, args.id)
    return 0


def cmd_export(args) -> int:
    from meetings.export import export

    store = _store(args)
    from meetings.export import with_activity

    doc = _export_doc(store, args.id)
    text = export(with_activity(doc, store, args.id) if args.format.strip().lower().lstrip(".") == "rttm" else doc, args.format)
    if args.output:
        from meetings.files import write_private

        try:
            write_private(args.output, text)  # a new export is user-only, like the database
        except OSError as exc:
            raise ParleyError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_summarize(args) -> int:
    try:
        from summaries.cli import summarize_command
    except ImportError as exc:
        raise ParleyError("summaries are not available in this build") from exc
    return summarize_command(_store(args), args)


def cmd_app(args) -> int:
    try:
        from desktop.app import main as app_main
    except ImportError as exc:
        raise ParleyError(f"the desktop app cannot start: {exc}") from exc
    return app_main(db=args.db)


def cmd_delete(args) -> int:
    store = _store(args)
    m = store.get_meeting(args.id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise ParleyError(f"deleting meeting {m.id} ({m.title!r}) cannot be undone: add --yes to confirm")
        answer = input(f"Delete meeting {m.id} ({m.title!r}) with its audio, transcript and summaries for good? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted", file=sys.stderr)
            return 1
    removed = store.delete_meeting(m.id)
    print(f"deleted meeting {m.id} ({m.title!r}): transcript, summaries, voice data and {len(removed)} audio file(s)", file=sys.stderr)
    return 0


def _cmd_models(args) -> int:
    from meetings.models_cli import cmd_models

    return cmd_models(args)


COMMANDS = {
    "delete": cmd_delete,
    "devices": cmd_devices,
    "record": cmd_record,
    "recover": cmd_recover,
    "import": cmd_import,
    "list": cmd_list,
    "show": cmd_show,
    "export": cmd_export,
    "summarize": cmd_summarize,
    "app": cmd_app,
    "models": _cmd_models,
    "people": cmd_people,
}


def main(argv: list[str] | None = None) -> int:
    as_process = argv is None  # the console script / ``python -m meetings.cli``, not a caller in Python
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from bench.run import main as bench_main

        return bench_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        code = COMMANDS[args.command](args)
    except ParleyError as exc:
        if getattr(exc, "transcript", ""):  # finished but not saved (a full disk): the transcript is not lost
            sys.stdout.write(exc.transcript)
        print(f"parley: error: {exc}", file=sys.stderr)
        code = EXIT_USER_ERROR
    except OSError as exc:  # the system said no (a path that cannot be read, a full disk): one line, not a traceback
        print(f"parley: error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", file=sys.stderr)
        code = EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("parley: interrupted", file=sys.stderr)
        code = 130
    if as_process and args.command in ("import", "record", "recover") and "torch" in sys.modules:
        # Everything is written and committed; tearing down torch, CTranslate2 and pyannote at
        # interpreter exit takes ~1.5 s more and does nothing for the user.
        import logging
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
