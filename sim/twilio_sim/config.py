"""The simulator's knobs: timings, endpoint behaviour, and unreliability on purpose."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Reliability:
    """Shares (0..1) of callbacks delivered badly, to test that Earpiece copes."""

    drop: float = 0.0  # never delivered
    duplicate: float = 0.0  # delivered twice
    reorder: float = 0.0  # held back and delivered after the next one
    late: float = 0.0  # delivered `late_seconds` later
    late_seconds: float = 2.0


@dataclass
class Endpoint:
    """How a dialed `To` answers: `answer` after `delay`, or `busy`, `no-answer`, `failed`."""

    outcome: str = "answer"
    delay: float = 0.2


@dataclass
class SimConfig:
    account_sid: str
    auth_token: str
    callback_url: str | None = None
    region: str = "us1"
    reliability: Reliability = field(default_factory=Reliability)
    default_endpoint: Endpoint = field(default_factory=Endpoint)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    # Twilio queues participant creates beyond 1/s by default; off unless set.
    participant_creates_per_second: float | None = None
    # A share of REST requests answered 429 (error 20429), to test retries.
    rest_429_share: float = 0.0
    # The next N REST requests answer 429, whatever the share (deterministic tests).
    rest_429_next: int = 0
    # ... only of this method ("" any): a test refuses a POST while a reconciler's GETs go on
    rest_429_method: str = ""
    # Seconds a no-answer call rings before giving up (Twilio: Timeout + 5 s).
    no_answer_seconds: float = 1.0
    max_participants: int = 250
    # How long a dialled leg is `connecting` (after any queueing) before it rings.
    connecting_seconds: float = 0.02
    seed: int | None = None
    # How fast simulated people speak (real-time transcription's partials and finals).
    words_per_second: float = 2.5
    # Sign callbacks with a SharedKey (key id, secret) and HMAC-SHA256, as an account with a
    # Webhook Rule does, instead of the auth token and HMAC-SHA1.
    shared_key: tuple[str, str] | None = None
    # A recording is `processing` this long after it stopped (its call ended) before it is
    # `completed` with its duration: Twilio post-processes recordings, so `completed` may
    # come well after the call ended (https://support.twilio.com/hc/en-us/articles/360014251313).
    recording_processing_seconds: float = 1.0
