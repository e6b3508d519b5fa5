"""Privacy, proved on real runs: no network socket, no telemetry, user-only files, deletion that
leaves nothing readable in the database file, damaged and read-only databases.

One real ``parley import`` of the bundled sample runs under ``strace`` (every ``connect`` and
``send*`` of every thread and child) with a fresh ``$HOME`` and no telemetry variables set by
the caller; the other checks here reuse its meeting or build small stores directly.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from meetings.errors import StoreError
from meetings.store import Store
from meetings.telemetry import TELEMETRY_OFF
from meetings.types import AttributedWord, AudioInfo, PipelineOptions, Turn, Word

from .conftest import AS_NOBODY, REPO, SAMPLE, nobody_can_run_parley
from .figures import record

STRACE = shutil.which("strace")
TRACED = "trace=connect,sendto,sendmsg,sendmmsg,openat"
#: files the C library reads to resolve a host name: reading them means a name lookup was attempted
_RESOLVER = re.compile(r'openat\(.*"(/etc/resolv\.conf|/etc/hosts|/etc/gai\.conf)"')
_INET4 = re.compile(r'sin_addr=inet_addr\("([0-9.]+)"\)')
_INET6 = re.compile(r'inet_pton\(AF_INET6, "([0-9a-fA-F:.]+)"')


#: variables by which ONNX Runtime 1.32 decides it runs on a build server and keeps its telemetry off
#: (the names are in its library's strings; CI=true alone silences it, measured): a user's machine has none
CI_MARKERS = frozenset({
    "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "TRAVIS", "JENKINS_URL", "CODEBUILD_BUILD_ID",
    "BUILDKITE", "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER", "ORT_RUNNING_UNIT_TESTS",
})


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment as a user's machine has it: nothing that turns telemetry off or the hub offline for us."""
    # XDG_* too: ONNX Runtime writes its device id under $XDG_CACHE_HOME when that is set (CI sets it),
    # so a fresh HOME is the whole of the user's state only without them
    env = {k: v for k, v in os.environ.items()
           if k not in TELEMETRY_OFF and k not in CI_MARKERS and not k.startswith(("HF_HUB_", "PARLEY_", "XDG_"))}
    env.update(extra)
    return env


def non_local(trace: str) -> list[str]:
    """Every address in a trace that is not this machine, plus host-name lookups (resolver files read).

    (A connect to nscd's socket is also made for user-name lookups, so it alone proves nothing.)
    """
    found = []
    for line in trace.splitlines():
        if _RESOLVER.search(line):
            found.append(line.strip())
        for a in _INET4.findall(line):
            if not a.startswith("127.") and a != "0.0.0.0":
                found.append(line.strip())
        for a in _INET6.findall(line):
            if a not in ("::1", "::") and not a.startswith("::ffff:127."):
                found.append(line.strip())
    return found


def traced(cmd: list[str], trace: Path, env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [STRACE, "-f", "-qq", "-e", TRACED, "-o", str(trace), *cmd],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, preexec_fn=lambda: os.umask(0o022),
    )


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The bundled sample imported by the real CLI under strace, umask 022, a fresh HOME."""
    if STRACE is None:
        pytest.fail("strace is required for the network test (apt-get install strace)")
    root = tmp_path_factory.mktemp("privacy")
    home, data = root / "home", root / "data"
    home.mkdir()
    trace = root / "import.trace"
    proc = traced([sys.executable, "-m", "meetings.cli", "import", str(SAMPLE / "meeting.wav"), "--quiet"], trace,
                  clean_env(HOME=str(home), PARLEY_DATA_DIR=str(data)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"root": root, "home": home, "data": data, "trace": trace.read_text(errors="replace"), "stdout": proc.stdout}


@pytest.mark.models
def test_an_import_opens_no_non_local_socket(imported):
    trace = imported["trace"]
    record("sockets", imports_traced=1, connect_calls=trace.count("connect("), non_local=len(non_local(trace)),
           tracer=f"strace -f -e {TRACED}")
    assert "+++ killed" not in trace
    assert non_local(trace) == []
    assert "openat(" in trace and "meeting.wav" in trace  # strace was watching the run (its files, every thread)


def test_the_socket_check_sees_a_real_attempt(tmp_path):
    """Control: a process that does try the network is caught by the same trace and parser."""
    script = textwrap.dedent(
        """
        import socket
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"x", ("192.0.2.1", 53))
        try:
            socket.getaddrinfo("telemetry.invalid", 443)
        except OSError:
            pass
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.setblocking(False)
        try:
            t.connect(("198.51.100.7", 443))
        except OSError:
            pass
        """
    )
    trace = tmp_path / "control.trace"
    assert traced([sys.executable, "-c", script], trace, clean_env()).returncode == 0
    hits = non_local(trace.read_text())
    assert any("192.0.2.1" in h for h in hits) and any("198.51.100.7" in h for h in hits)
    assert any("resolv.conf" in h or "/etc/hosts" in h for h in hits)  # the name lookup, even with no network


@pytest.mark.models
def test_no_telemetry_state_is_written(imported, tmp_path):
    assert not (imported["home"] / ".cache" / "Microsoft").exists()
    # control: ONNX Runtime with its telemetry left on does write its device id under HOME
    home = tmp_path / "home"
    home.mkdir()
    script = (
        "import glob, os, faster_whisper, onnxruntime\n"
        "p = glob.glob(os.path.join(os.path.dirname(faster_whisper.__file__), 'assets', '*.onnx'))[0]\n"
        "onnxruntime.InferenceSession(p, providers=['CPUExecutionProvider'])\n"
    )
    subprocess.run([sys.executable, "-c", script], env=clean_env(HOME=str(home)), check=True, timeout=300)
    assert (home / ".cache" / "Microsoft").exists()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.models
def test_data_folder_recordings_database_and_exports_are_user_only(imported):
    data = imported["data"]
    assert mode(data) == 0o700 and mode(data / "audio") == 0o700
    files = [data / "parley.db", *(data / "audio").iterdir()]
    files += [p for p in (data / "parley.db-wal", data / "parley.db-shm") if p.exists()]
    assert len(files) >= 2
    assert {str(p.relative_to(data)): oct(mode(p)) for p in files} == {str(p.relative_to(data)): "0o600" for p in files}
    out = imported["root"] / "meeting.md"
    proc = subprocess.run([sys.executable, "-m", "meetings.cli", "export", "1", "--format", "md", "-o", str(out)],
                          env=clean_env(PARLEY_DATA_DIR=str(data)), cwd=REPO, capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    assert mode(out) == 0o600 and "Speaker 1" in out.read_text()


def db_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def words_of(store: Store, meeting_id: int) -> set[str]:
    text = " ".join(t.text for t in store.turns(meeting_id)).lower()
    return {w for w in re.findall(r"[a-z]{4,}", text)}


def baseline_words(tmp_path: Path) -> bytes:
    """What an empty Parley database already contains (schema text): words found there prove nothing."""
    with Store(tmp_path / "empty" / "parley.db") as s:
        s.checkpoint()
    return db_bytes(tmp_path / "empty" / "parley.db").lower()


@pytest.mark.models
def test_delete_leaves_no_word_of_the_meeting_in_the_database_file(imported, tmp_path):
    data = imported["data"]
    store = Store(data / "parley.db")
    [m] = store.list_meetings()
    wav = Path(m.audio_path)
    base = baseline_words(tmp_path)
    words = {w for w in words_of(store, m.id) if w.encode() not in base}
    store.close()
    before = db_bytes(data / "parley.db").lower()
    present = {w for w in words if w.encode() in before}
    assert len(present) >= 20, present  # control: the search finds the meeting's words while it exists

    proc = subprocess.run([sys.executable, "-m", "meetings.cli", "delete", str(m.id), "--yes"],
                          env=clean_env(PARLEY_DATA_DIR=str(data)), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    after = db_bytes(data / "parley.db").lower()
    left = sorted(w for w in present if w.encode() in after)
    assert left == [], f"{len(left)} of {len(present)} words still readable: {left}"
    assert not wav.exists() and (SAMPLE / "meeting.wav").exists()  # our copy gone, the user's file untouched
    assert list((data / ".locks").iterdir()) == []
    with Store(data / "parley.db") as s:
        assert s.list_meetings() == [] and s.search("morning") == []
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- the store alone (no models) ------------------------------------------------------------------


def _meeting(store: Store, sha: str, words: list[str]) -> int:
    info = AudioInfo(source_path=f"/nowhere/{sha}.wav", sha256=sha, duration=10.0, source_sample_rate=16000, channels=1,
                     codec="pcm_s16le", container="wav")
    wav = store.data_dir / "audio" / f"{sha}.wav"
    wav.parent.mkdir(exist_ok=True)
    wav.write_bytes(b"RIFF")
    mid = store.begin_meeting(f"title {sha}", info, str(wav), PipelineOptions(), "tiny.en", "embedded")
    tw = tuple(AttributedWord(Word(i * 0.5, i * 0.5 + 0.4, " " + w, 0.9), "A") for i, w in enumerate(words))
    turn = Turn("A", 0.0, len(words) * 0.5, tw, 0.9)
    store.save_result(mid, speakers=("A",), centroids=None, turns=[turn], language="en")
    return mid


def test_store_delete_purges_words_summaries_and_corrections_but_keeps_the_other_meeting(tmp_path):
    gone_words = ["zanzibarian", "quixotically", "flummoxing", "brouhahaed", "kerfuffling"]
    kept_words = ["marzipanned", "snollygoster"]
    store = Store(tmp_path / "data" / "parley.db")
    gone = _meeting(store, "a1", gone_words)
    kept = _meeting(store, "b2", kept_words)
    store.add_summary(gone, speaker_id=None, kind="meeting", model="local", prompt_version="1",
                      content_json='{"x": "hullabalooing"}', markdown="hullabalooing", local=True)
    store.rename_speaker(store.speakers(gone)[0].id, "Wilhelmina")
    t = store.turns(gone)[0]
    store.split_turn(t.id, 2)  # a correction whose payload holds the words
    store.checkpoint()
    before = db_bytes(store.path)
    assert all(w.encode() in before for w in [*gone_words, "hullabalooing", "Wilhelmina", *kept_words])

    removed = store.delete_meeting(gone)
    after = db_bytes(store.path)
    assert [w for w in [*gone_words, "hullabalooing", "Wilhelmina"] if w.encode() in after] == []
    assert all(w.encode() in after for w in kept_words)  # control: the byte search still sees live text
    assert [p.name for p in removed] == ["a1.wav"] and (store.data_dir / "audio" / "b2.wav").exists()
    assert [h.meeting_id for h in store.search("snollygoster")] == [kept] and store.search("zanzibarian") == []
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_damaged_database_is_refused_at_open_and_left_untouched(tmp_path):
    path = tmp_path / "data" / "parley.db"
    with Store(path) as s:
        for i in range(40):
            _meeting(s, f"m{i:02d}", ["alpha", "bravo", "charlie"] * 30)
        s.checkpoint()
    raw = bytearray(path.read_bytes())
    page = 4096
    assert len(raw) > 20 * page
    for p in range(8, 12):  # scribble over four b-tree pages in the middle of the file
        raw[p * page + 16 : p * page + 400] = os.urandom(384)
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="damaged"):
        Store(path)
    assert path.read_bytes() == bytes(raw)  # nothing written to it
    proc = subprocess.run([sys.executable, "-m", "meetings.cli", "--db", str(path), "list"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=clean_env())
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "damaged" in proc.stderr
    assert path.read_bytes() == bytes(raw)


def _as_nobody() -> list[str]:
    if not nobody_can_run_parley():
        pytest.skip("needs root, setpriv and a checkout other users can read, to run parley as another user "
                    "(root ignores file modes)")
    return AS_NOBODY


def test_read_only_data_folder_lists_shows_and_exports_but_refuses_to_write(request):
    prefix = _as_nobody()
    import tempfile

    tmp_path = Path(tempfile.mkdtemp(prefix="parley-ro-"))  # pytest's own folder is root-only
    request.addfinalizer(lambda: shutil.rmtree(tmp_path, ignore_errors=True))
    data = tmp_path / "data"
    with Store(data / "parley.db") as s:
        mid = _meeting(s, "ro", ["readable", "history"])
    os.chmod(tmp_path, 0o755)
    for p in [data, *data.rglob("*")]:
        os.chown(p, 65534, 65534)
    for p in data.rglob("*"):
        os.chmod(p, 0o500 if p.is_dir() else 0o400)
    os.chmod(data, 0o500)
    env = clean_env(PARLEY_DATA_DIR=str(data), HOME=str(tmp_path))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, sys.executable, "-m", "meetings.cli", *args], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=120)

    listed = cli("list")
    assert listed.returncode == 0 and "title ro" in listed.stdout, listed.stderr
    shown = cli("show", str(mid))
    assert shown.returncode == 0 and "readable history" in shown.stdout, shown.stderr
    exported = cli("export", str(mid), "--format", "srt")
    assert exported.returncode == 0 and "readable history" in exported.stdout, exported.stderr
    refused = cli("delete", str(mid), "--yes")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1 and "read-only" in refused.stderr
    assert sorted(p.name for p in data.iterdir()) == sorted(p.name for p in data.iterdir() if p.stat().st_uid == 65534)


def test_store_files_are_user_only_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with Store(tmp_path / "deep" / "data" / "parley.db") as s:
            _meeting(s, "u1", ["private"])
            with s.importing("u2"):
                assert mode(s.data_dir / ".locks") == 0o700
    finally:
        os.umask(old)
    data = tmp_path / "deep" / "data"
    assert mode(data) == 0o700 and mode(tmp_path / "deep") == 0o700
    assert [oct(mode(p)) for p in data.glob("parley.db*")] == ["0o600"] * len(list(data.glob("parley.db*")))


def test_bad_input_is_rejected_before_any_model_loads(tmp_path):
    empty = tmp_path / "empty.m4a"
    empty.write_bytes(b"")
    script = (
        "import sys\nfrom meetings.cli import main\n"
        f"code = main(['import', {str(empty)!r}, '--quiet'])\n"
        "print(code, 'torch' in sys.modules, 'faster_whisper' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env=clean_env(PARLEY_DATA_DIR=str(tmp_path / "data")))
    assert proc.stdout.split() == ["2", "False", "False"], proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "empty" in proc.stderr


def test_sqlite_reads_never_wait_for_a_writer(tmp_path):
    """WAL: a reader in another connection reads while a write transaction is open."""
    store = Store(tmp_path / "parley.db")
    _meeting(store, "w1", ["during", "writes"])
    other = sqlite3.connect(tmp_path / "parley.db", timeout=0.0)
    with store._tx():
        store.conn.execute("UPDATE meetings SET title='changing'")
        assert other.execute("SELECT title FROM meetings").fetchone()[0] == "title w1"
    assert other.execute("SELECT title FROM meetings").fetchone()[0] == "changing"


def test_an_older_parleys_world_readable_files_become_user_only(tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "audio").mkdir(parents=True)
    os.chmod(data, 0o755)
    os.chmod(data / "audio", 0o755)
    with Store(data / "parley.db") as s:
        _meeting(s, "old", ["legacy"])
    wav = data / "audio" / "old.wav"
    for p in (data / "parley.db", wav):
        os.chmod(p, 0o644)
    monkeypatch.setenv("PARLEY_DATA_DIR", str(data))
    Store.default().close()
    assert (mode(data), mode(data / "audio"), mode(data / "parley.db"), mode(wav)) == (0o700, 0o700, 0o600, 0o600)


def test_the_api_key_is_never_written_to_the_database_exports_or_output(tmp_path):
    """A real cloud summary (the API on 127.0.0.1) through the CLI; then every byte Parley wrote is searched."""
    from .summaries_fixtures.fake_anthropic import FakeAnthropic
    from .summaries_fixtures.meetings import store_turns, turn

    key = "sk-ant-api03-NEVER-STORE-ME-5e1f"
    api = FakeAnthropic(key=key)
    try:
        data, config = tmp_path / "data", tmp_path / "config"
        with Store(data / "parley.db") as s:
            mid = store_turns(s, [turn("A", 0.0, 4.0, "I'll send the budget by Friday."), turn("B", 5.0, 9.0, "Thanks, Friday works.")],
                              title="Budget", names={"A": "Alice", "B": "Bob"})
        env = clean_env(PARLEY_DATA_DIR=str(data), PARLEY_CONFIG_DIR=str(config), HOME=str(tmp_path), PARLEY_CLOUD_SUMMARIES="1",
                        ANTHROPIC_API_KEY=key, ANTHROPIC_BASE_URL=api.url)
        outputs = []
        for args in (["summarize", str(mid)], *(["export", str(mid), "--format", f, "-o", str(tmp_path / f"out.{f}")]
                                                for f in ("txt", "md", "srt", "vtt", "json", "rttm"))):
            proc = subprocess.run([sys.executable, "-m", "meetings.cli", *args], cwd=REPO, env=env, capture_output=True, text=True,
                                  timeout=300)
            assert proc.returncode == 0, proc.stderr
            outputs.append(proc.stdout + proc.stderr)
        assert api.messages(), "the summary did go to the (local) API"
        assert any(api.key_sent(m) == key for m in api.messages())
    finally:
        api.close()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "out.md" for p in written) and any(p.name == "parley.db" for p in written)
    leaks = [str(p) for p in written if key.encode() in p.read_bytes()] + [o[:80] for o in outputs if key in o]
    assert leaks == []
    assert "Alice" in (tmp_path / "out.md").read_text()  # control: the search reads what was written
