"""``parley models`` (what is embedded, installed and available) and ``parley models get NAME``
(download through the libraries' own Hugging Face code, then check that it loads)."""

from __future__ import annotations

__all__ = ["add_parser", "cmd_models"]


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list speech models (embedded, installed, available); `models get NAME` downloads one")
    msub = p.add_subparsers(dest="models_command")
    get = msub.add_parser("get", help="download a faster-whisper model (small, medium, large-v3, turbo, distil-large-v3 …) or a pyannote pipeline")
    get.add_argument("name")
    get.add_argument("--quiet", action="store_true", help="no progress bars")


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n else ""


def cmd_models(args) -> int:
    from diarization.catalogue import catalogue, fetch

    if getattr(args, "models_command", None) == "get":
        m = fetch(args.name, progress=not args.quiet)
        flag = "--model" if m.kind == "asr" else "--diarization"
        print(f"{m.name}: installed and loads ({_mb(m.size)}, {m.path})")
        print(f"use it with: parley import FILE {flag} {m.name}")
        return 0
    models = catalogue()
    for kind, title, flag in (("asr", "Speech recognition (Whisper)", "--model"), ("diarization", "Diarization (pyannote)", "--diarization")):
        rows = [m for m in models if m.kind == kind]
        print(f"{title}: parley import {flag} NAME")
        for m in rows:
            if not (m.installed or m.source == "embedded" or kind == "diarization"):
                continue
            state = "embedded" if m.source == "embedded" else ("installed" if m.installed else "not installed")
            if m.source == "embedded" and not m.installed:
                state = "MISSING (run scripts/setup.sh)"
            note = m.path if m.installed else (f"parley models get {m.name}" + (" (gated: needs HF_TOKEN)" if m.gated else ""))
            print(f"  {m.name:<42} {state:<13} {_mb(m.size):>9}  {note}")
        more = [m.name for m in rows if m.source == "hub" and not m.installed and kind == "asr"]
        if more:
            print(f"  available: {', '.join(more)}")
            print("  (parley models get NAME downloads one from Hugging Face)")
    return 0
