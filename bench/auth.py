"""What identity costs (issue 13), measured side by side in one run.

1. An API call with each credential, against one service process on one floor, in
   interleaved rounds: the service token (a constant-time compare, what every call paid
   before this change), a personal API key (one Redis read and a SHA-256) and an OIDC
   access token (an RS256 signature with cached keys). Prints p50 / p95 per credential and
   what each adds at p95 over the service token (target: < 1 ms).
2. The webhook path: signed conference callbacks with wrk, against this revision and the
   landed one before identity (`--before`, from git archive), in alternating rounds on the
   same Redis (target: nothing measurable).
3. A sign-in flood against `access.signin.SignIn` on a real Redis, with real argon2id:
   one account from many addresses, many accounts from one address, and a spray where
   nothing repeats. Prints the attempts that were hashed, refused while locked or told
   "busy", and the CPU the process spent (bounded: at most HASHING_AT_ONCE hashes at once,
   none for a locked ID or address).

    python -m bench.auth [--calls 3000] [--seconds 8] [--before 8a7d0f5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from access.signin import HASHING_AT_ONCE, SignIn
from bench.common import (
    API_TOKEN,
    AUTH_TOKEN,
    Floor,
    Service,
    callbacks_service,
    free_port,
    percentile,
    personal_key,
    process,
    redis_url,
    source_at,
)
from bench.ingest import write_requests, wrk
from core.audit import Audit
from core.keys import Keys
from core.passwords import hash_password
from core.redis_client import RedisTarget, async_client
from live.roster import Roster, Supervisor
from live.roster import load as load_roster

REPO = Path(__file__).resolve().parent.parent
ROUNDS = 6


# -- 1. an API call, per credential -------------------------------------------------------


def api_calls(calls: int) -> None:
    from tests.oidc_issuer import AUDIENCE, start_issuer

    issuer = start_issuer()
    try:
        with redis_url() as redis:
            namespace = "ba" + uuid.uuid4().hex[:6]
            with callbacks_service(redis, namespace, EARPIECE_OIDC_ISSUER=issuer.url,
                                   EARPIECE_OIDC_AUDIENCE=AUDIENCE) as service:  # fmt: skip
                floor = Floor(service.url)
                with httpx.Client(base_url=service.url) as http:
                    sid = ""
                    for params in floor.conference(participants=2, speech_pairs=0):
                        signature, body = floor.signed(params)
                        http.post("/twilio/conference-events", content=body, headers={
                            "X-Twilio-Signature": signature,
                            "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
                        sid = params["ConferenceSid"]
                credentials = {
                    "service token (before: every call)": API_TOKEN,
                    "personal API key": personal_key(redis, namespace, "mina"),
                    "OIDC access token (RS256)": issuer.token("mina@demo.earpiece.example",
                                                              exp=int(time.time()) + 3600),
                }  # fmt: skip
                timings: dict[str, list[float]] = {name: [] for name in credentials}
                per_round = max(1, calls // ROUNDS)
                with httpx.Client(base_url=service.url) as http:
                    for token in credentials.values():  # warm: keys fetched, paths hot
                        for _ in range(50):
                            http.get(f"/api/conferences/{sid}",
                                     headers={"Authorization": f"Bearer {token}"})  # fmt: skip
                    for _ in range(ROUNDS):
                        for name, token in credentials.items():
                            headers = {"Authorization": f"Bearer {token}"}
                            for _ in range(per_round):
                                started = time.perf_counter()
                                answer = http.get(f"/api/conferences/{sid}", headers=headers)
                                timings[name].append((time.perf_counter() - started) * 1000)
                                assert answer.status_code == 200, answer.text
    finally:
        assert issuer.thread is not None
        issuer.thread.stop()
    base = percentile(timings["service token (before: every call)"], 95)
    print(f"1. GET /api/conferences/{{sid}}: {ROUNDS} interleaved rounds of {per_round} calls "
          "per credential, one client, one uvicorn worker")  # fmt: skip
    print(f"   {'credential':<38}{'p50 ms':>9}{'p95 ms':>9}{'adds at p95':>13}")
    for name, values in timings.items():
        p95 = percentile(values, 95)
        print(f"   {name:<38}{percentile(values, 50):>9.3f}{p95:>9.3f}{p95 - base:>+12.3f} ms")
    print()


# -- 2. the webhook path, this revision against the one before ---------------------------


@contextlib.contextmanager
def service_at(revision: str, redis: str, namespace: str) -> Iterator[Service]:
    """`earpiece callbacks` as it was at `revision` (git archive), on the same Redis."""
    with source_at(revision) as folder:
        port = free_port()
        env = {"REDIS_URL": redis, "EARPIECE_NAMESPACE": namespace, "PATH": "/usr/bin:/bin",
               "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
               "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "EARPIECE_API_TOKEN": API_TOKEN,
               "PYTHONPATH": folder}  # fmt: skip
        cmd = [sys.executable, "-m", "earpiece.cli", "callbacks", "--port", str(port)]
        with process(cmd, env, f"http://127.0.0.1:{port}", "/healthz", cwd=folder) as running:
            yield running


def webhooks(seconds: int, before: str, rounds: int = 4) -> None:
    folder = Path(tempfile.mkdtemp(prefix="ep-bench-"))
    results: dict[str, list[float]] = {"before (" + before + ")": [], "now": []}
    try:
        with redis_url() as redis:
            for n in range(rounds):
                order = list(results) if n % 2 == 0 else list(reversed(results))
                for name in order:
                    namespace = "bw" + uuid.uuid4().hex[:6]
                    starter = (service_at(before, redis, namespace) if name != "now"
                               else callbacks_service(redis, namespace))  # fmt: skip
                    with starter as service:
                        requests = write_requests(service.url, 120_000, folder)
                        got = wrk(service.url, requests, seconds, 32)
                        if got["errors_status"]:
                            raise SystemExit(f"{name} answered non-2xx")
                        results[name].append(got["rps"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"2. signed conference callbacks, wrk -t1 -c32, {seconds} s a round, "
          f"{rounds} rounds each (alternating which goes first)")  # fmt: skip
    for name, values in results.items():
        print(f"   {name:<38}{' / '.join(f'{v:,.0f}' for v in values)} req/s   "
              f"mean {sum(values) / len(values):,.0f}")  # fmt: skip
    now, old = (sum(v) / len(v) for v in (results["now"], results[next(iter(results))]))
    print(f"   now / before: {now / old:.0%}")
    print()


# -- 3. a sign-in flood -------------------------------------------------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def flood(redis_url_: str, kind: str, attempts: int) -> dict[str, float]:
    redis = async_client(RedisTarget(redis_url_, False, None))
    namespace = "bf" + uuid.uuid4().hex[:6]
    base = load_roster(None)
    victim = Supervisor("zoe", "Zoe", "manager", (), "client:zoe", hash_password("correct horse"))
    roster = Roster(base.teams, {**base.supervisors, "zoe": victim}, base.team_of_agent)
    signin = SignIn(redis, namespace, roster, Audit(redis, Keys(namespace), 1),
                    max_failures=5, lock_seconds=30)  # fmt: skip
    hashing = 0
    most = 0
    original = asyncio.to_thread

    async def counted(func, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal hashing, most
        hashing += 1
        most = max(most, hashing)
        try:
            return await original(func, *args, **kwargs)
        finally:
            hashing -= 1

    asyncio.to_thread = counted  # type: ignore[assignment,unused-ignore]
    try:

        def who(n: int) -> tuple[str, str]:
            if kind == "one account, many addresses":
                return "zoe", f"10.1.{n // 250}.{n % 250}"
            if kind == "many accounts, one address":
                return f"user{n}", "10.2.0.1"
            return f"user{n}", f"10.3.{n // 250}.{n % 250}"  # a spray: nothing repeats

        cpu, wall = _cpu(), time.perf_counter()
        outcomes = await asyncio.gather(*(signin.attempt(*who(n)[:1], "guess", who(n)[1])
                                          for n in range(attempts)))  # fmt: skip
        cpu, wall = _cpu() - cpu, time.perf_counter() - wall
    finally:
        asyncio.to_thread = original  # type: ignore[assignment,unused-ignore]
        await redis.aclose()
    locked = sum(o.locked for o in outcomes)
    busy = sum("busy" in o.message for o in outcomes)
    return {"attempts": attempts, "hashed": attempts - locked - busy, "locked": locked,
            "busy": busy, "cpu": cpu, "wall": wall, "most": most}  # fmt: skip


def signins(attempts: int) -> None:
    print(f"3. a sign-in flood: {attempts} attempts at once, argon2id (19 MiB, t=2), "
          f"at most {HASHING_AT_ONCE} hashes at a time; backoff after 5 failures of an account "
          "at an address, 50 of an address, 10 of an account from new addresses")  # fmt: skip
    print(f"   {'flood':<30}{'hashed':>8}{'locked':>8}{'busy':>6}{'CPU s':>8}{'wall s':>8}"
          f"{'CPU ms/attempt':>16}{'cores':>7}")  # fmt: skip
    with redis_url() as redis:
        for kind in ("one account, many addresses", "many accounts, one address",
                     "a spray (nothing repeats)"):  # fmt: skip
            r = asyncio.run(flood(redis, kind, attempts))
            print(f"   {kind:<30}{r['hashed']:>8.0f}{r['locked']:>8.0f}{r['busy']:>6.0f}"
                  f"{r['cpu']:>8.2f}{r['wall']:>8.2f}{r['cpu'] * 1000 / attempts:>16.1f}"
                  f"{r['cpu'] / r['wall']:>7.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3000, help="API calls per credential")
    parser.add_argument("--seconds", type=int, default=8, help="wrk seconds per round")
    parser.add_argument("--attempts", type=int, default=300, help="sign-in attempts per flood")
    parser.add_argument("--before", default="8a7d0f5", help="the revision to compare with")
    parser.add_argument("--skip", nargs="*", default=[], choices=["api", "webhooks", "signin"])
    args = parser.parse_args()
    if "api" not in args.skip:
        api_calls(args.calls)
    if "webhooks" not in args.skip:
        webhooks(args.seconds, args.before)
    if "signin" not in args.skip:
        signins(args.attempts)


if __name__ == "__main__":
    main()
