"""What the benchmarks share: processes on loopback, an embedded Redis, signed callbacks."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx

from callbacks.signature import compute
from core import processes
from core.embedded_redis import EmbeddedRedis

AUTH_TOKEN = "bench-auth-token"
API_TOKEN = "bench-api-token"
# An hour ago, on a whole minute (so on a boundary of the 30 s history buckets too):
# callbacks dated within a day of now, as Earpiece requires (a Timestamp further away
# is refused as nonsense).
BASE_TIME = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    """REDIS_URL when set, else a fresh embedded Redis in a temporary folder."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    folder = Path(tempfile.mkdtemp(prefix="ep-bench-", dir="/tmp"))
    server = EmbeddedRedis(folder)
    url = server.start()
    try:
        yield url
    finally:
        server.release()
        server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Service:
    url: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def source_at(revision: str) -> Iterator[str]:
    """The repository's files as at `revision` (git archive), in a folder for the run: the
    code before a change, to run beside this tree's (`callbacks_service(checkout=...)`)."""
    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="ep-before-") as folder:
        archive = subprocess.run(["git", "archive", revision], cwd=repo, check=True,
                                 capture_output=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield folder


@contextlib.contextmanager
def callbacks_service(
    redis: str, namespace: str, port: str | None = None, module: str = "earpiece.cli",
    workers: int = 1, checkout: str | None = None, settings: Mapping[str, str] | None = None,
    **extra: str,
) -> Iterator[Service]:  # fmt: skip
    """`checkout`: run the service of another checkout (its code before a change), from it.
    `settings` and `extra`: environment variables for it (a mapping, or as keywords)."""
    number = int(port) if port else free_port()
    env = dict(os.environ)
    env.update(
        REDIS_URL=redis,
        EARPIECE_NAMESPACE=namespace,
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{number}",
        EARPIECE_API_TOKEN=API_TOKEN,
        EARPIECE_DEMO="true",  # the demo roster
        EARPIECE_ARCHIVE_URL=f"sqlite:///{tempfile.gettempdir()}/ep-bench-{namespace}.sqlite3",
        **(settings or {}),
        **extra,
    )
    if checkout is not None:
        env["PYTHONPATH"] = f"{checkout}:{checkout}/sim"
    # `module` runs the service's command line (bench/old_masking.py: with the old masking).
    cmd = [sys.executable, "-m", module, "callbacks", "--port", str(number)]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    with process(cmd, env, f"http://127.0.0.1:{number}", "/healthz", cwd=checkout) as service:
        yield service


@contextlib.contextmanager
def bare_service() -> Iterator[Service]:
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with process(cmd, dict(os.environ), f"http://127.0.0.1:{port}", "/ready") as service:
        yield service


@contextlib.contextmanager
def signed_write_service(redis: str, public_base_url: str) -> Iterator[Service]:
    """bench/signed_write_app.py: the signature check and one pipelined write a request."""
    port = free_port()
    env = dict(os.environ, REDIS_URL=redis, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
               PUBLIC_BASE_URL=public_base_url)  # fmt: skip
    cmd = [
        sys.executable, "-m", "uvicorn", "bench.signed_write_app:app", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with process(cmd, env, f"http://127.0.0.1:{port}", "/ready") as service:
        yield service


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it (uvicorn's workers)."""
    return processes.tree(pid)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds these processes have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


@contextlib.contextmanager
def process(
    cmd: list[str], env: dict[str, str], url: str, probe: str, cwd: str | None = None
) -> Iterator[Service]:
    # stderr to a file, not a pipe: an unread pipe that fills up blocks the child.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(url + probe, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise SystemExit(f"could not start {cmd}: {log.read().decode()[-500:]}")
                time.sleep(0.05)
            yield Service(url, process)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


class Floor:
    """Distinct, validly signed conference callbacks, in Twilio's shape."""

    def __init__(
        self, base_url: str, path: str = "/twilio/conference-events", start: datetime | None = None
    ) -> None:
        """`start`: when every conference begins (its events a second apart after it);
        BASE_TIME, an hour ago, unless given."""
        self.url = base_url + path
        self.token = AUTH_TOKEN.encode()
        self.start = start or BASE_TIME
        # Distinct across Floors and runs: a repeated SID would be (rightly)
        # taken as a duplicate by the service.
        self.counter = uuid.uuid4().int >> 64 << 32

    def _sid(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:032x}"

    @staticmethod
    def event(cf: str, name: str, seq: int, at: datetime) -> dict[str, str]:
        """A conference status callback's own parameters (a participant's are added to it)."""
        return {
            "AccountSid": "AC" + "0" * 32, "ConferenceSid": cf, "FriendlyName": f"WT{cf[-8:]}",
            "StatusCallbackEvent": name, "SequenceNumber": str(seq),
            "Timestamp": format_datetime(at),
        }  # fmt: skip

    def conference(
        self, participants: int = 2, speech_pairs: int = 0, end: bool = True
    ) -> list[dict[str, str]]:
        cf = self._sid("CF")
        seq = 0
        events: list[dict[str, str]] = []

        def add(name: str, call: str | None = None, **extra: str) -> None:
            nonlocal seq
            seq += 1
            params = self.event(cf, name, seq, self.start + timedelta(seconds=seq))
            if call:
                params.update(
                    CallSid=call, Muted="false", Hold="false", Coaching="false",
                    EndConferenceOnExit="false", StartConferenceOnEnter="true",
                )  # fmt: skip
            params.update(extra)
            events.append(params)

        calls = [self._sid("CA") for _ in range(participants)]
        labels = ["customer", "agent:bob", "supervisor:ana", "agent:carol"]
        add("participant-join", calls[0], ParticipantLabel="customer", EndConferenceOnExit="true")
        add("conference-start")
        for i, call in enumerate(calls[1:], start=1):
            add("participant-join", call, ParticipantLabel=labels[i % len(labels)])
        for i in range(speech_pairs):
            who = calls[i % len(calls)]
            add("participant-speech-start", who)
            add("participant-speech-stop", who)
        if end:
            add("participant-leave", calls[0], ParticipantLabel="customer")
            add("conference-end")
        return events

    def signed(self, params: dict[str, str]) -> tuple[str, str]:
        """(signature, form body) for one callback."""
        return compute(self.token, self.url, params.items()), urlencode(params)


def interleaved(conferences: Iterable[list[dict[str, str]]], live: int) -> Iterator[dict[str, str]]:
    """The conferences' callbacks as a floor of `live` calls at once sends them: one event
    of each live call in turn, each call's events in their order, a new call taking the
    place of one that ended. `live=1` is one conference after the other, the order the
    benches used before: a batch of callbacks then holds few documents, each decoded once
    for several events; on a real floor a batch's events come from as many calls (issue
    29's "the bench flatters the script")."""
    if live < 1:
        raise ValueError(f"live conferences must be 1 or more, not {live}")
    source = iter(conferences)
    calls: list[Iterator[dict[str, str]]] = []
    for conference in source:
        calls.append(iter(conference))
        if len(calls) == live:
            break
    while calls:
        still: list[Iterator[dict[str, str]]] = []
        for call in calls:
            event = next(call, None)
            if event is not None:
                yield event
                still.append(call)
                continue
            new = next(source, None)
            if new is not None:
                call = iter(new)
                yield next(call)
                still.append(call)
        calls = still


def personal_key(redis: str, namespace: str, owner: str, roster_path: Path | None = None,
                 kind: str = "supervisor") -> str:  # fmt: skip
    """A personal API key for a roster supervisor (or agent), stored as `earpiece api-key`
    stores one: acting takes a person's credential, never the service token."""
    from access import api_keys
    from core.redis_client import RedisTarget, sync_client
    from live.roster import load as load_roster

    key, key_id, record = api_keys.new_key(load_roster(roster_path), owner, kind, "bench")
    client = sync_client(RedisTarget(redis, False, None))
    try:
        client.hset(api_keys.hash_key(namespace), key_id, record)
    finally:
        client.close()
    return key


def signin_query(redis: str, namespace: str, supervisor: str) -> str:
    """`signin=CODE` for a dashboard URL: a one-time sign-in link's query, for one page."""
    import secrets

    from access import signin_links
    from core.redis_client import RedisTarget, sync_client

    code = secrets.token_urlsafe(signin_links.CODE_BYTES)
    client = sync_client(RedisTarget(redis, False, None))
    try:
        client.set(signin_links.key(namespace, code), supervisor, ex=3600)
    finally:
        client.close()
    return f"signin={code}"
