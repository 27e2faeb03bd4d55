"""Exclusive locks on files, on POSIX and Windows alike, and the workspace's one-writer lock.

:class:`FileLock` is an operating-system lock (``flock`` on POSIX, ``msvcrt.locking`` on
Windows) on a small file: the system drops it when its holder exits, however it exits, so a
lock is never left behind by a killed process.

:class:`WriterLock` is what every step that writes to a destination takes first (migrate,
delta, sample, rollback, adopt): one writer per workspace. Beside the lock it keeps a note of
who holds it (command, process id, host, start time), so a refusal can say who to wait for; a
note left by a process that died is recognised, since the system has already released its lock.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from pathlib import Path

from .errors import ConfigError

__all__ = ["FileLock", "WriterLock", "WorkspaceBusyError"]

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int, blocking: bool) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            if blocking:
                raise
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int, blocking: bool) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class FileLock:
    """An exclusive lock on ``path`` (created owner-only), held for a ``with`` block.

    Args:
        path: the lock file.
        blocking: wait for the lock (default); otherwise :meth:`acquire` returns False at once
            when another process (or another lock object in this one) holds it.
    """

    def __init__(self, path: str | Path, *, blocking: bool = True):
        self.path, self.blocking = Path(path), blocking
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock; False only when not blocking and someone else holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _lock(fd, self.blocking):
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            try:
                _unlock(self.fd)
            finally:
                os.close(self.fd)
                self.fd = None

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class WorkspaceBusyError(ConfigError):
    """Another process is writing through this workspace; nothing was done.

    Attributes:
        holder: the note the holder left (command, pid, host, since), when readable.
    """

    def __init__(self, message: str, holder: dict | None = None):
        self.holder = holder or {}
        super().__init__(message)


class WriterLock:
    """The workspace's one-writer lock (``WS/.writer.lock``, with a note in ``WS/.writer.json``).

    Args:
        root: the workspace folder.
        command: what the holder is doing (``migrate``), named in a refusal.

    Attributes:
        stale: the note of a holder that died without releasing (its process is gone), or None.
    """

    LOCK, NOTE = ".writer.lock", ".writer.json"

    def __init__(self, root: str | Path, command: str):
        self.root, self.command = Path(root), command
        self._lock = FileLock(self.root / self.LOCK, blocking=False)
        self.stale: dict | None = None

    def holder(self) -> dict | None:
        try:
            return json.loads((self.root / self.NOTE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def live_holder(self) -> dict | None:
        """The note of the process holding the lock now, or None when it is free (a note left
        under a free lock belongs to a process that died)."""
        if self._lock.acquire():
            self._lock.release()
            return None
        return self.holder() or {"command": "another step"}

    def acquire(self) -> "WriterLock":
        """Take the lock or refuse.

        Raises:
            WorkspaceBusyError: another live process holds it (its command, pid and host named).
        """
        if not self._lock.acquire():
            who = self.holder() or {}
            since = f" since {who['since']}" if who.get("since") else ""
            raise WorkspaceBusyError(
                f"workspace {self.root} is in use by `{who.get('command', 'another step')}` (pid {who.get('pid', '?')} "
                f"on {who.get('host', 'this machine')}{since}): one writer at a time; wait for it to finish "
                f"or stop it, then run this again", who)
        self.stale = self.holder()  # a note left under a free lock: its holder died
        note = {"command": self.command, "pid": os.getpid(), "host": socket.gethostname(),
                "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        path = self.root / self.NOTE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(note, fh)
        return self

    def release(self) -> None:
        try:
            (self.root / self.NOTE).unlink(missing_ok=True)
        finally:
            self._lock.release()

    def __enter__(self) -> "WriterLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
