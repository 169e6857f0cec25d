"""Posting signed callbacks, as Twilio does, without ever blocking a REST answer.

Each callback is signed with the twilio SDK's own RequestValidator (not
Earpiece's checker, so that a mistake in one cannot hide a mistake in the
other), carries an I-Twilio-Idempotency-Token, and is retried exactly as its
URL's connection overrides say (twilio_sim/overrides.py: by default once, on
a connection failure only, 15 s in all).
On purpose, and only when configured, a share of callbacks is dropped,
duplicated, reordered or delayed.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections import Counter
from dataclasses import dataclass

from twilio.request_validator import RequestValidator

from twilio_sim.config import SimConfig
from twilio_sim.http_post import Answer, Poster, PostError
from twilio_sim.overrides import Overrides, split
from twilio_sim.tasks import cancel_all

log = logging.getLogger("earpiece.sim.delivery")

RETRY_BACKOFF_SECONDS = 0.25
REORDER_WAIT_SECONDS = 0.5
TIMEOUT_SECONDS = 15.0  # Twilio waits at most 15 s for a webhook


@dataclass
class Outbound:
    url: str  # as requested: without the overrides' fragment
    params: dict[str, str]
    token: str
    overrides: Overrides


class Deliverer:
    def __init__(self, config: SimConfig, rng: random.Random, concurrency: int = 16) -> None:
        self.config = config
        self.rng = rng
        self.concurrency = concurrency
        # The auth token and HMAC-SHA1; or, with a shared key, its secret and HMAC-SHA256
        # named in X-Twilio-Webhooks-Signature-Settings
        # (https://www.twilio.com/docs/usage/webhooks/webhook-shared-keys).
        key = config.shared_key
        self.validator = RequestValidator(key[1] if key else config.auth_token)
        self.algorithm = "HMAC_SHA256" if key else "HMAC_SHA1"
        self.signing = (
            {"X-Twilio-Webhooks-Signature-Settings": f"key={key[0]},algorithm=HMAC_SHA256"}
            if key
            else {}
        )
        self.stats: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self._queue: asyncio.Queue[Outbound] = asyncio.Queue()
        self._held: Outbound | None = None
        self._held_timer: asyncio.TimerHandle | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._late: set[asyncio.Task[None]] = set()
        self._poster = Poster(TIMEOUT_SECONDS)
        self._in_flight = 0

    async def start(self) -> None:
        self._workers = [asyncio.create_task(self._work()) for _ in range(self.concurrency)]

    async def stop(self) -> None:
        await cancel_all([*self._workers, *self._late])
        await self._poster.close()

    def send(self, url: str, params: dict[str, str], overrides: Overrides | None = None) -> None:
        """Queue one callback (after the configured unreliability, if any), tried again as
        its URL's connection overrides say (or `overrides`, for a callback Twilio never
        tries twice)."""
        self.stats["sent"] += 1
        requested, asked = split(url)
        outbound = Outbound(requested, params, secrets.token_hex(16), overrides or asked)
        rel = self.config.reliability
        if rel.drop and self.rng.random() < rel.drop:
            self.stats["dropped"] += 1
            # By event, so a soak can tell drops that change the floor from speech turns.
            event = params.get("StatusCallbackEvent") or params.get("CallStatus") or "other"
            self.stats[f"dropped:{event}"] += 1
            return
        copies = 2 if rel.duplicate and self.rng.random() < rel.duplicate else 1
        if copies == 2:
            self.stats["duplicated"] += 1
        for _ in range(copies):
            if rel.late and self.rng.random() < rel.late:
                self.stats["delayed"] += 1
                task = asyncio.ensure_future(self._later(outbound, rel.late_seconds))
                self._late.add(task)
                task.add_done_callback(self._late.discard)
            elif rel.reorder and self._held is None and self.rng.random() < rel.reorder:
                self.stats["reordered"] += 1
                self._hold(outbound)
            else:
                self._enqueue(outbound)

    def _hold(self, outbound: Outbound) -> None:
        self._held = outbound
        loop = asyncio.get_running_loop()
        self._held_timer = loop.call_later(REORDER_WAIT_SECONDS, self._release_held)

    def _enqueue(self, outbound: Outbound) -> None:
        self._queue.put_nowait(outbound)
        if self._held is not None:
            # The held one goes after this one: out of order.
            self._release_held()

    def _release_held(self) -> None:
        if self._held_timer is not None:
            self._held_timer.cancel()
            self._held_timer = None
        held, self._held = self._held, None
        if held is not None:
            self._queue.put_nowait(held)

    async def _later(self, outbound: Outbound, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._queue.put_nowait(outbound)

    @property
    def pending(self) -> int:
        return self._queue.qsize() + self._in_flight + len(self._late) + (self._held is not None)

    async def drain(self, seconds: float = 10.0) -> bool:
        """Wait until every queued callback was posted (tests and benches)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while self.pending:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def _work(self) -> None:
        while True:
            outbound = await self._queue.get()
            self._in_flight += 1
            try:
                await self._post(outbound)
            finally:
                self._in_flight -= 1

    async def _post(self, outbound: Outbound) -> None:
        signature = self.validator.compute_signature(outbound.url, outbound.params, self.algorithm)
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": outbound.token,
            "User-Agent": "TwilioProxy/1.1",
            **self.signing,
        }
        rules = outbound.overrides
        loop = asyncio.get_running_loop()
        deadline = loop.time() + rules.total_ms / 1000
        failure = "no attempt"
        for attempt in range(rules.retries + 1):
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                answer = await self._poster.post(
                    outbound.url,
                    outbound.params,
                    headers,
                    connect_timeout=min(rules.connect_ms / 1000, left),
                    read_timeout=min(rules.read_ms / 1000, left),
                )
            except PostError as exc:
                kind, failure = exc.kind, f"{exc.kind}: {exc}"
            else:
                kind = "5xx" if answer.status >= 500 else "4xx" if answer.status >= 400 else ""
                failure = f"status {answer.status}"
                final = not kind or not rules.retries_on(kind) or attempt == rules.retries
                if final and kind != "5xx":
                    self._answered(answer)
                    return
                if final:  # a 5xx Twilio will not try again: the callback is lost
                    self.stats[f"refused-{answer.status}"] += 1
                    break
            if not rules.retries_on(kind) or attempt == rules.retries:
                break
            self.stats["retried"] += 1
            await asyncio.sleep(
                min(RETRY_BACKOFF_SECONDS * 2**attempt, max(0.0, deadline - loop.time()))
            )
        self.stats["failed"] += 1
        log.warning(
            "callback to %s failed (%s); Twilio would not try it again", outbound.url, failure
        )

    def _answered(self, answer: Answer) -> None:
        self.stats["delivered"] += 1
        if answer.status >= 400:
            self.stats[f"refused-{answer.status}"] += 1
        outcome = answer.headers.get("x-earpiece-outcome")
        if outcome:  # Earpiece says what it did with each callback
            self.outcomes[outcome] += 1
