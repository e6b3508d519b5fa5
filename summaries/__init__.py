"""Per-speaker summaries: the Anthropic Messages API when the user enables it, an offline
extractive summary otherwise (and whenever the API fails). Only transcript text leaves the
machine, with speaker names replaced by pseudonyms; results are stored with their provenance.

Modules: ``types`` (records, events, errors), ``config`` (settings, models, prices, API key),
``prompt`` (prompt text, transcript rendering, pseudonyms), ``schema`` (the tool's JSON schema
and validation), ``chunking``, ``client`` (the SDK), ``cloud`` (chunk, call, repair, merge),
``local`` (offline extractive), ``render`` (Markdown), ``service`` (store in, store out), ``cli``.
"""

from .service import estimate_cost, needs_refresh, summarize_events, summarize_meeting
from .types import CostEstimate, MeetingSummary, SummaryError, SummaryRun, Tier

__all__ = ["summarize_meeting", "summarize_events", "estimate_cost", "needs_refresh", "MeetingSummary", "SummaryRun", "CostEstimate", "SummaryError", "Tier"]
