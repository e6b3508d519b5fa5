"""``parley summarize ID [--model M] [--local | --llm [URL]]``: print the summary as Markdown.
``parley summarize --list-models [--llm URL]``: the models a local LLM server offers.

``--llm`` (or the ``llm_url`` setting / ``PARLEY_LLM_URL``) writes it with a local LLM server
(summaries/llm.py); when that fails, the extractive summary is written, with a line saying why.

The cloud is used only when cloud summaries are enabled (``PARLEY_CLOUD_SUMMARIES=1`` or the
settings file) and an API key exists; otherwise, and when the API fails after its retries, the
offline summary is written instead, with one line on stderr that says why (exit status 0).
The cost estimate is printed on stderr before a cloud run.
"""

from __future__ import annotations

import sys

from .config import load_settings
from .service import summarize_events
from .types import EstimateReady, Finished, Notice, Progress, SummaryError, SummaryRun, Tier

__all__ = ["summarize_command"]


def _llm_url(args, settings) -> str | None:
    """``--llm URL``; ``--llm`` alone: the configured server, else Ollama's default address."""
    from .llm import DEFAULT_URL

    flag = getattr(args, "llm", None)
    if flag is None:
        return None
    return flag or settings.llm_url or DEFAULT_URL


def summarize_command(store, args) -> int:
    settings = load_settings()
    llm_url = _llm_url(args, settings)
    if getattr(args, "list_models", False):
        from .llm import DEFAULT_URL, LocalLLMClient

        client = LocalLLMClient(llm_url or settings.llm_url or DEFAULT_URL)
        for name in client.list_models():
            print(name)
        return 0
    if getattr(args, "id", None) is None:
        raise SummaryError("which meeting? parley summarize ID (parley list shows the ids)")
    progress = sys.stderr.isatty()
    run: SummaryRun | None = None
    for event in summarize_events(
        store, args.id, local=bool(getattr(args, "local", False)), model=getattr(args, "model", None), tier=Tier.BATCH, settings=settings,
        llm_url=llm_url,
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
