"""``parley models`` and ``parley models get``: the listing reads the real Hugging Face cache
layout; downloads fail with one clear line offline, without network, without a token, and when
a (localhost) hub refuses the token; an installed model is checked by really loading it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import REPO

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def parley(*args: str, hf_home: Path, **env) -> subprocess.CompletedProcess:
    e = dict(os.environ, HF_HOME=str(hf_home), PARLEY_DATA_DIR=str(hf_home / "data"))
    for k in ("HF_HUB_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT"):
        e.pop(k, None)
    e.update(env)
    return subprocess.run([sys.executable, "-m", "meetings.cli", *args], cwd=REPO, env=e, capture_output=True, text=True, timeout=300)


def install_in_hf_cache(hf_home: Path, repo: str) -> Path:
    """Put the embedded CTranslate2 Whisper files where the hub client caches ``repo``
    (the layout ``snapshot_download`` writes: refs/main → snapshots/<commit>/…)."""
    from diarization.models import embedded_whisper_dir

    root = hf_home / "hub" / ("models--" + repo.replace("/", "--"))
    snap = root / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(COMMIT)
    for f in embedded_whisper_dir().iterdir():
        if f.is_file():
            shutil.copy(f, snap / f.name)
    return snap


def test_listing_shows_the_embedded_models_and_what_can_be_fetched(tmp_path):
    proc = parley("models", hf_home=tmp_path, HF_HUB_OFFLINE="1")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "tiny.en" in out and "embedded" in out
    assert "available: tiny, base.en" in out and "large-v3" in out and "turbo" in out and "distil-large-v3" in out
    row = next(l for l in out.splitlines() if "speaker-diarization-community-1" in l)
    assert "not installed" in row and "gated: needs HF_TOKEN" in row


def test_an_installed_hub_model_is_listed_and_get_checks_it_loads_offline(tmp_path):
    snap = install_in_hf_cache(tmp_path, "Systran/faster-whisper-tiny")
    listing = parley("models", hf_home=tmp_path, HF_HUB_OFFLINE="1")
    row = next(l for l in listing.stdout.splitlines() if l.split()[:1] == ["tiny"])
    assert "installed" in row and str(snap) in row
    assert "available: base.en" in listing.stdout  # tiny is no longer only available
    got = parley("models", "get", "tiny", hf_home=tmp_path, HF_HUB_OFFLINE="1")
    assert got.returncode == 0, got.stderr
    assert got.stdout.startswith("tiny: installed and loads (") and "--model tiny" in got.stdout


def test_a_broken_installed_model_is_reported(tmp_path):
    snap = install_in_hf_cache(tmp_path, "Systran/faster-whisper-base")
    (snap / "model.bin").write_bytes(b"truncated download")
    got = parley("models", "get", "base", hf_home=tmp_path, HF_HUB_OFFLINE="1")
    assert got.returncode == 2
    assert got.stderr.startswith("parley: error: base was downloaded but does not load:")


def test_get_offline_is_one_clear_line(tmp_path):
    got = parley("models", "get", "large-v3", hf_home=tmp_path, HF_HUB_OFFLINE="1")
    assert got.returncode == 2
    assert got.stderr == "parley: error: cannot download large-v3: HF_HUB_OFFLINE=1 is set, so nothing can be downloaded: unset it and try again\n"


def test_get_without_network_is_one_clear_line(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on: the connection is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got = parley("models", "get", "turbo", hf_home=tmp_path, HF_ENDPOINT=f"http://127.0.0.1:{port}")
    assert got.returncode == 2, got.stderr
    assert got.stderr.strip() == "parley: error: cannot download turbo: the Hugging Face hub cannot be reached (offline? behind a proxy?): connect and try again"


def test_gated_pipeline_without_a_token_says_what_to_do(tmp_path):
    got = parley("models", "get", "pyannote/speaker-diarization-community-1", hf_home=tmp_path)
    assert got.returncode == 2
    assert "it is gated on Hugging Face: accept its conditions at https://huggingface.co/pyannote/speaker-diarization-community-1" in got.stderr
    assert "set HF_TOKEN" in got.stderr


class RefusingHub(BaseHTTPRequestHandler):
    """The hub's answers to a repository request it refuses: 401 for an unknown token, 403 with
    ``X-Error-Code: GatedRepo`` for a token whose account has not accepted the conditions."""

    known_tokens = {"hf_not_accepted"}
    seen: list[tuple[str, str]] = []

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        self.seen.append((self.path, auth))
        token = auth.removeprefix("Bearer ")
        if not self.path.startswith("/api/models/"):
            return self._send(404, {"error": "Not Found"}, "EntryNotFound")
        repo = self.path.split("/api/models/", 1)[1].split("/revision/")[0]
        if token not in self.known_tokens:
            return self._send(401, {"error": "Invalid credentials in Authorization header"})
        return self._send(403, {"error": f"Access to model {repo} is restricted. You must have access to it and be authenticated to access it. Please log in."}, "GatedRepo")

    do_HEAD = do_GET

    def _send(self, status: int, body: dict, code: str | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if code:
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", body["error"])
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_hub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusingHub)
    RefusingHub.seen = []
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_token_without_access_is_told_to_accept_the_conditions(tmp_path, refusing_hub):
    repo = "pyannote/speaker-diarization-community-1"
    got = parley("models", "get", repo, hf_home=tmp_path, HF_ENDPOINT=refusing_hub, HF_TOKEN="hf_not_accepted")
    assert got.returncode == 2
    assert got.stderr.strip() == (
        f"parley: error: cannot download {repo}: the Hugging Face hub says this token may not download it: "
        f"accept its conditions at https://huggingface.co/{repo} with the token's account"
    )
    assert RefusingHub.seen and RefusingHub.seen[0] == (f"/api/models/{repo}/revision/main", "Bearer hf_not_accepted")


def test_an_unknown_token_is_reported_as_refused(tmp_path, refusing_hub):
    got = parley("models", "get", "pyannote/speaker-diarization-3.1", hf_home=tmp_path, HF_ENDPOINT=refusing_hub, HF_TOKEN="hf_typo")
    assert got.returncode == 2
    assert "the Hugging Face hub refused the token (HTTP 401): check HF_TOKEN" in got.stderr


@pytest.mark.qt
def test_settings_dialog_offers_the_installed_models(qtbot, tmp_path, monkeypatch):
    import huggingface_hub.constants

    from desktop.settings import AppSettings
    from desktop.settings_dialog import SettingsDialog

    install_in_hf_cache(tmp_path, "Systran/faster-whisper-small")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    dialog = SettingsDialog(AppSettings(), str(tmp_path))
    qtbot.addWidget(dialog)
    asr = [dialog.asr.itemText(i) for i in range(dialog.asr.count())]
    assert asr == ["tiny.en", "small"]
    dia = [dialog.diarization.itemText(i) for i in range(dialog.diarization.count())]
    assert dia == ["embedded"]
    other = SettingsDialog(AppSettings(asr_model="large-v3"), str(tmp_path))  # a typed name stays selectable
    qtbot.addWidget(other)
    assert other.asr.currentText() == "large-v3"
