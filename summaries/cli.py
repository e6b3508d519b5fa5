"""``parley summarize ID [--model M] [--local]``: print the summary as Markdown.

The cloud is used only when cloud summaries are enabled (``PARLEY_CLOUD_SUMMARIES=1`` or the
settings file) and an API key exists; otherwise, and when the API fails after its retries, the
offline summary is written instead, with one line on stderr that says why (exit status 0).
The cost estimate is printed on stderr before a cloud run.
"""

from __future__ import annotations

import sys

from .config import load_settings
from .service import summarize_events
from .types import EstimateReady, Finished, Notice, Progress, SummaryRun, Tier

__all__ = ["summarize_command"]


def summarize_command(store, args) -> int:
    settings = load_settings()
    progress = sys.stderr.isatty()
    run: SummaryRun | None = None
    for event in summarize_events(
        store, args.id, local=bool(getattr(args, "local", False)), model=getattr(args, "model", None), tier=Tier.BATCH, settings=settings
    ):
        if isinstance(event, EstimateReady):
            print(event.estimate.line(), file=sys.stderr)
        elif isinstance(event, Notice):
            print(event.message, file=sys.stderr)
        elif isinstance(event, Progress) and progress and event.detail:
            print(f"  {event.stage}: {event.detail}", file=sys.stderr)
        elif isinstance(event, Finished):
            run = event.run
    assert run is not None
    sys.stdout.write(run.markdown)
    return 0
