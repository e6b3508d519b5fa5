"""Summary settings: whether cloud summaries are enabled, which model per tier, limits; prices;
and the Anthropic API key (environment or OS keyring, never the database or a settings file).

Settings come from ``summaries.json`` in Parley's config folder (``$PARLEY_CONFIG_DIR`` or the
platform's user config folder), then the environment overrides:

==============================  =============================================================
``PARLEY_CLOUD_SUMMARIES``      ``1``/``true``/``yes``/``on`` sends transcript text to Anthropic
``PARLEY_SUMMARY_MODEL``        ``batch``, ``strong`` or a model id, for every run
``PARLEY_SUMMARY_TIMEOUT``      seconds without a byte from the API before a try fails
``PARLEY_SUMMARY_MAX_RETRIES``  retries per call (429 / 5xx / timeouts / dropped connections)
``PARLEY_SUMMARY_MAX_USD``      refuse cloud runs estimated above this (local summary instead)
``ANTHROPIC_API_KEY``           the key (else the keyring: service ``parley``, ``anthropic_api_key``)
``ANTHROPIC_BASE_URL``          honoured by the SDK when no ``base_url`` is given
``PARLEY_LLM_URL``              a local LLM server's OpenAI-compatible API: summaries run there
``PARLEY_LLM_MODEL``            the model on that server (default: the first it lists)
==============================  =============================================================
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .types import SummaryError, Tier

__all__ = [
    "SummarySettings",
    "ApiKey",
    "KeyLookup",
    "PRICES",
    "settings_path",
    "load_settings",
    "save_settings",
    "set_cloud_enabled",
    "resolve_model",
    "price_of",
    "find_api_key",
]

log = logging.getLogger(__name__)

KEYRING_SERVICE = "parley"
KEYRING_USER = "anthropic_api_key"

#: USD per million tokens (input, output). Only used for the estimate shown before a run.
PRICES: dict[str, tuple[float, float]] = {
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-3-5-haiku": (0.8, 4.0),
}
_ALIASES = {"batch": Tier.BATCH, "cheap": Tier.BATCH, "haiku": Tier.BATCH, "strong": Tier.ON_DEMAND, "on-demand": Tier.ON_DEMAND, "sonnet": Tier.ON_DEMAND}
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{1,100}$")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


@dataclass(frozen=True, slots=True)
class SummarySettings:
    cloud_enabled: bool = False
    model: str | None = None  # a tier name or a model id that overrides the tier everywhere
    batch_model: str = "claude-haiku-4-5"
    strong_model: str = "claude-sonnet-4-5"
    base_url: str | None = None  # None: the SDK's default, or $ANTHROPIC_BASE_URL
    timeout: float = 120.0
    max_retries: int = 3
    stream: bool = True  # stream responses (a slow answer is then not mistaken for a dead one)
    max_output_tokens: int = 8192
    context_tokens: int = 200_000  # the model's context window
    chunk_tokens: int = 60_000  # most input tokens per call; longer meetings are chunked, then merged
    max_usd: float | None = None
    # a local LLM server (Ollama, llama-server, LM Studio) with an OpenAI-compatible API
    llm_url: str | None = None  # e.g. http://127.0.0.1:11434/v1; set: summaries run there
    llm_model: str | None = None  # None: the server's first model
    llm_context_tokens: int = 8192  # the server's context window (Ollama: OLLAMA_CONTEXT_LENGTH / num_ctx)
    llm_max_output_tokens: int = 4096


_TYPES = {f.name: {"bool": bool, "int": int, "float": float}.get(str(f.type).split(" ")[0], str) for f in fields(SummarySettings)}
_OPTIONAL = {f.name for f in fields(SummarySettings) if "None" in str(f.type)}


@dataclass(frozen=True, slots=True)
class ApiKey:
    value: str = field(repr=False)
    source: str  # "argument" | "environment" | "keyring"

    def __str__(self) -> str:  # never print the key by accident
        return f"<Anthropic API key from the {self.source}>"


@dataclass(frozen=True, slots=True)
class KeyLookup:
    key: ApiKey | None
    problem: str = ""  # why none was found, for the one-line note


def settings_path() -> Path:
    base = os.environ.get("PARLEY_CONFIG_DIR")
    if base:
        return Path(base) / "summaries.json"
    import platformdirs

    return Path(platformdirs.user_config_dir("parley")) / "summaries.json"


def _flag(value: str, name: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise SummaryError(f"{name}={value!r}: use 1 or 0")


def _number(value: str, name: str, kind: type) -> float | int:
    try:
        n = kind(value)
    except ValueError:
        raise SummaryError(f"{name}={value!r} is not a number") from None
    if n < 0:
        raise SummaryError(f"{name} cannot be negative")
    return n


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> SummarySettings:
    """The settings file (missing or unreadable: defaults), then environment overrides."""
    env = os.environ if env is None else env
    s = SummarySettings()
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if isinstance(data, dict):
        good = {}
        for k, v in data.items():
            kind = _TYPES.get(k)
            if kind is None:
                continue
            if v is None and k in _OPTIONAL:
                good[k] = None
            elif kind is float and isinstance(v, (int, float)) and not isinstance(v, bool):
                good[k] = float(v)
            elif isinstance(v, kind) and (kind is not int or not isinstance(v, bool)):
                good[k] = v
            else:
                log.warning("ignoring %s=%r in %s", k, v, path)
        s = replace(s, **good)
    if "PARLEY_CLOUD_SUMMARIES" in env:
        s = replace(s, cloud_enabled=_flag(env["PARLEY_CLOUD_SUMMARIES"], "PARLEY_CLOUD_SUMMARIES"))
    if env.get("PARLEY_SUMMARY_MODEL"):
        s = replace(s, model=env["PARLEY_SUMMARY_MODEL"].strip())
    if env.get("PARLEY_SUMMARY_TIMEOUT"):
        s = replace(s, timeout=float(_number(env["PARLEY_SUMMARY_TIMEOUT"], "PARLEY_SUMMARY_TIMEOUT", float)))
    if env.get("PARLEY_SUMMARY_MAX_RETRIES"):
        s = replace(s, max_retries=int(_number(env["PARLEY_SUMMARY_MAX_RETRIES"], "PARLEY_SUMMARY_MAX_RETRIES", int)))
    if env.get("PARLEY_LLM_URL"):
        s = replace(s, llm_url=env["PARLEY_LLM_URL"].strip())
    if env.get("PARLEY_LLM_MODEL"):
        s = replace(s, llm_model=env["PARLEY_LLM_MODEL"].strip())
    if env.get("PARLEY_SUMMARY_MAX_USD"):
        s = replace(s, max_usd=float(_number(env["PARLEY_SUMMARY_MAX_USD"], "PARLEY_SUMMARY_MAX_USD", float)))
    return s


def save_settings(settings: SummarySettings, path: Path | None = None) -> None:
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    tmp.replace(path)


def set_cloud_enabled(enabled: bool, path: Path | None = None) -> SummarySettings:
    """The settings flag behind "send transcripts to Anthropic for summaries" (e.g. for the app)."""
    path = path or settings_path()
    s = replace(load_settings(path, env={}), cloud_enabled=enabled)
    save_settings(s, path)
    return s


def resolve_model(requested: str | None, tier: Tier, settings: SummarySettings) -> str:
    """``--model`` (tier name or model id), else the configured override, else the tier's model."""
    name = (requested or settings.model or tier.value).strip()
    alias = _ALIASES.get(name.lower())
    if alias is not None:
        return settings.batch_model if alias is Tier.BATCH else settings.strong_model
    if not _MODEL_ID.match(name):
        raise SummaryError(f"{name!r} is not a model name (use batch, strong or a Claude model id)")
    return name


def price_of(model: str) -> tuple[float, float, bool]:
    """(USD per million input tokens, per million output tokens, known?) for a model id.

    Dated ids (``claude-haiku-4-5-20251001``) are priced as their family; unknown models as
    the strong tier, so an estimate never undersells a run."""
    for name in sorted(PRICES, key=len, reverse=True):
        if model == name or model.startswith(name + "-"):
            return (*PRICES[name], True)
    return (*PRICES["claude-sonnet-4-5"], False)


def find_api_key(env: Mapping[str, str] | None = None) -> KeyLookup:
    """``ANTHROPIC_API_KEY``, else the OS keyring. Keyring failures are reported, never raised."""
    env = os.environ if env is None else env
    key = (env.get("ANTHROPIC_API_KEY") or "").strip()
    if key:
        return KeyLookup(ApiKey(key, "environment"))
    try:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception as exc:  # NoKeyringError, a locked keyring, D-Bus trouble, keyring not installed
        return KeyLookup(None, f"no ANTHROPIC_API_KEY and the OS keyring is unavailable ({type(exc).__name__})")
    if stored and stored.strip():
        return KeyLookup(ApiKey(stored.strip(), "keyring"))
    return KeyLookup(None, "no Anthropic API key (set ANTHROPIC_API_KEY or save one in the app's settings)")
