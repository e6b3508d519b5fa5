"""App settings (a small JSON file in the user config folder) and the Anthropic API key (the
system keyring only, never SQLite or the JSON file). Qt-free."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from meetings.errors import ParleyError
from meetings.types import PipelineOptions

__all__ = [
    "AppSettings",
    "KeyringUnavailable",
    "default_settings_path",
    "load_settings",
    "save_settings",
    "save_api_key",
    "api_key_state",
    "ASR_MODELS",
    "DIARIZATION_MODELS",
    "DEVICES",
]

KEYRING_SERVICE = "parley"
KEYRING_USER = "anthropic_api_key"

ASR_MODELS = ("tiny.en", "base.en", "small", "medium", "large-v3", "turbo")
DIARIZATION_MODELS = ("embedded", "pyannote/speaker-diarization-community-1")
DEVICES = ("auto", "cpu", "cuda")


class KeyringUnavailable(ParleyError):
    """No usable system keyring (e.g. no Secret Service on this desktop)."""


def _on(value: str) -> bool:
    """A yes/no setting as saved ("1", "true", "yes", "on": yes)."""
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class AppSettings:
    asr_model: str = "tiny.en"
    diarization_model: str = "embedded"
    device: str = "auto"
    language: str = ""  # "" = detect
    data_dir: str = ""  # "" = the default data folder
    num_speakers: str = ""  # "" = let diarization decide; else how many people talk
    cloud_summaries: str = ""  # "1": the app may send transcript text to Anthropic for summaries
    recover_overlap: str = ""  # "1": re-transcribe a second voice under another's turn (PipelineOptions.recover_overlap)
    window_geometry: str = ""  # hex of QWidget.saveGeometry()
    last_meeting: str = ""  # the meeting open when the app was closed

    def pipeline_options(self) -> PipelineOptions:
        n = self.num_speakers.strip()
        return PipelineOptions(
            asr_model=self.asr_model or "tiny.en",
            diarization_model=self.diarization_model or "embedded",
            device=self.device if self.device in DEVICES else "auto",
            language=self.language.strip() or None,
            num_speakers=int(n) if n.isdigit() and int(n) > 0 else None,
            recover_overlap=_on(self.recover_overlap),
        )

    @property
    def cloud(self) -> bool:
        return _on(self.cloud_summaries)


def default_settings_path() -> Path:
    base = os.environ.get("PARLEY_CONFIG_DIR")
    if base:
        return Path(base) / "desktop.json"
    import platformdirs

    return Path(platformdirs.user_config_dir("parley")) / "desktop.json"


def load_settings(path: Path) -> AppSettings:
    """The saved settings; defaults for anything missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return AppSettings()
    known = {f.name for f in fields(AppSettings)}
    return replace(AppSettings(), **{k: str(v) for k, v in data.items() if k in known and v is not None})


def save_settings(path: Path, settings: AppSettings) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    tmp.replace(path)


def _unavailable(exc: BaseException) -> KeyringUnavailable:
    return KeyringUnavailable(
        f"The system keyring is not available ({exc.__class__.__name__}), so the API key was not saved. "
        "Install and unlock a Secret Service keyring (e.g. GNOME Keyring or KWallet), "
        "or set ANTHROPIC_API_KEY in the environment instead."
    )


def save_api_key(key: str) -> None:
    """Store (or, with an empty key, delete) the Anthropic API key in the system keyring."""
    try:
        import keyring
        import keyring.errors

        if key:
            keyring.set_password(KEYRING_SERVICE, KEYRING_USER, key)
        else:
            try:
                keyring.delete_password(KEYRING_SERVICE, KEYRING_USER)
            except keyring.errors.PasswordDeleteError:
                pass
    except Exception as exc:  # NoKeyringError, KeyringLocked, D-Bus failures, import errors
        raise _unavailable(exc) from exc


def api_key_state() -> str:
    """``"saved"``, ``"not set"`` or ``"keyring unavailable"`` (never the key itself)."""
    try:
        import keyring

        return "saved" if keyring.get_password(KEYRING_SERVICE, KEYRING_USER) else "not set"
    except Exception:
        return "keyring unavailable"
