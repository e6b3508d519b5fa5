"""`parley summarize ID [--model M] [--local]`."""

from __future__ import annotations

import sys

from .service import summarize_meeting


def summarize_command(store, args) -> int:
    store.get_meeting(args.id)  # a clear error for an unknown id
    def show_estimate(e) -> None:
        print(f"cloud summary: about {e.input_tokens:,} input tokens in {e.calls} call(s), at most ${e.usd:.3f}", file=sys.stderr)

    run = summarize_meeting(store, args.id, local=args.local, model=args.model, on_estimate=show_estimate)
    if run.note:
        print(run.note, file=sys.stderr)
    sys.stdout.write(run.markdown)
    return 0
