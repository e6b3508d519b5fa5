"""Private files and per-import locks.

Recordings and transcripts are among the most private files a person has: everything
Parley creates is user-only (folders 0700, files 0600) from the first byte, whatever the
umask. A running import holds an exclusive lock on a small file named after the
recording's hash; the kernel drops it the moment the process ends (even on ``kill -9``),
so "the owner of this import is gone" is a question the lock answers, not a guess.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = ["private_dir", "create_private", "write_private", "tighten", "ImportLock", "lock_is_free"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def tighten(path: Path, mode: int) -> None:
    """Best effort: take from a path we own every permission ``mode`` does not have (never add one:
    a folder the user made read-only stays read-only); foreign files are left as they are."""
    try:
        st = path.stat()
        want = st.st_mode & 0o777 & mode
        if (st.st_mode & 0o777) != want and (not hasattr(os, "getuid") or st.st_uid == os.getuid()):
            os.chmod(path, want)
    except OSError:
        pass


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and missing parents) user-only; a folder Parley created earlier is tightened too."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    for p in {path, *missing}:  # mkdir's mode is masked by the umask: set it exactly
        tighten(p, DIR_MODE)
    return path


def create_private(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty and user-only if it does not exist (an existing file keeps its content)."""
    path = Path(path)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    return path


def write_private(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``; a new file is created user-only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise


class ImportLock:
    """An exclusive, non-blocking lock on ``path`` held while one import runs; the holder's PID is written in it."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        if not _try_lock(fd):
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return True

    def holder(self) -> str:
        """The PID written by whoever holds (or last held) the lock, as text ('' when unknown)."""
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            os.close(fd)  # closing drops the lock


def lock_is_free(path: Path) -> bool:
    """True when nobody holds the lock at ``path`` (also when it does not exist, or cannot be opened to check)."""
    if not path.exists():
        return True
    try:
        fd = os.open(path, os.O_RDONLY if os.name != "nt" else os.O_RDWR)
    except OSError:
        return True
    try:
        return _try_lock(fd)
    finally:
        os.close(fd)  # our probe lock, if we got it, goes with the descriptor
