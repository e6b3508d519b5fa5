"""Parley's core: domain types, the SQLite store, orchestration and the CLI.

Stage packages (``capture``, ``diarization``, ``summaries``) exchange the frozen
dataclasses of :mod:`meetings.types`; ``desktop`` only talks to this package.
Importing it is cheap: no model, torch or Qt import happens here.
"""

from meetings import telemetry as _telemetry  # noqa: F401  (dependencies' telemetry off, before they load)
