"""Every setting Earpiece reads, in one place.

Settings come from the environment, and from a `.env` file in the working
directory for anything the environment does not set (starlette's Config). A
missing or malformed setting raises `SettingError`, whose message is one line
naming the setting; the command line prints that line and exits, never a
traceback.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.config import Config

from core.languages import DEFAULT_LANGUAGE, is_offered

T = TypeVar("T")


class SettingError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


def _positive(name: str, kind: Callable[[str], T], what: str) -> Callable[[str], T]:
    def cast(raw: str) -> T:
        try:
            value = kind(raw)
        except ValueError:
            raise SettingError(f"{name} must be {what}, got {raw!r}") from None
        if value <= 0:  # type: ignore[operator]
            raise SettingError(f"{name} must be greater than 0, got {raw!r}")
        return value

    return cast


def _positive_float(name: str) -> Callable[[str], float]:
    return _positive(name, float, "a number")


def _positive_int(name: str) -> Callable[[str], int]:
    return _positive(name, int, "a whole number")


def _http_url(name: str) -> Callable[[str], str]:
    def cast(raw: str) -> str:
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingError(f"{name} must be an http(s) URL, got {raw!r}")
        return raw.rstrip("/")

    return cast


def _boolean(name: str) -> Callable[[str], bool]:
    def cast(raw: str) -> bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingError(f"{name} must be true or false, got {raw!r}")

    return cast


def _redis_url(raw: str) -> str:
    if urlsplit(raw).scheme not in ("redis", "rediss", "unix"):
        raise SettingError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {raw!r}")
    return raw


def _share(name: str) -> Callable[[str], float]:
    def cast(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0.0 <= value <= 1.0:
            raise SettingError(f"{name} must be a share between 0 and 1, got {raw!r}")
        return value

    return cast


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(
            f"EARPIECE_TIMEZONE must be an IANA time zone such as Asia/Tokyo, got {raw!r}"
        ) from None
    return raw


LANGUAGES = ("en", "ja")


def _language(raw: str) -> str:
    if raw not in LANGUAGES:
        raise SettingError(f"EARPIECE_LANGUAGE must be one of {', '.join(LANGUAGES)}, got {raw!r}")
    return raw


def _country(raw: str) -> str:
    # Lazily: phonenumbers' tables are only needed once a country is named.
    import phonenumbers

    code = raw.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise SettingError(
            f"EARPIECE_COUNTRY must be an ISO 3166 country code such as JP or US, got {raw!r}"
        )
    return code


MIN_SECRET_BYTES = 32


def _session_secret(raw: str) -> str:
    # Signs and hashes the dashboard's sessions: a guessable one would let anyone mint a
    # session cookie, so it must be long and is never derived from another secret.
    if len(raw.encode()) < MIN_SECRET_BYTES:
        raise SettingError(
            f"EARPIECE_SESSION_SECRET must be at least {MIN_SECRET_BYTES} random bytes "
            "(make one: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return raw


def _shared_keys(raw: str) -> Mapping[str, str]:
    keys: dict[str, str] = {}
    for part in raw.split(","):
        key_id, sep, secret = part.strip().partition("=")
        if not sep or not key_id or not secret:
            raise SettingError(
                "TWILIO_WEBHOOK_SHARED_KEYS must be KEY_ID=SECRET pairs separated by commas"
            )
        keys[key_id] = secret
    return MappingProxyType(keys)


def _networks(raw: str) -> tuple[str, ...]:
    """EARPIECE_TRUSTED_PROXIES: addresses or CIDRs, comma-separated, each checked."""
    out = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            out.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise SettingError(
                f"EARPIECE_TRUSTED_PROXIES: {part[:60]!r} is not an address or CIDR "
                "(e.g. 10.0.0.0/8,192.0.2.7)"
            ) from None
    return tuple(out)


def _namespace(raw: str) -> str:
    if not raw or any(c in raw for c in "{}: \t"):
        raise SettingError(
            f"EARPIECE_NAMESPACE must be a plain word without {{}}: or spaces, got {raw!r}"
        )
    return raw


def _text(raw: str) -> str:
    return raw


def _roster(raw: str) -> Path:
    if not Path(raw).is_file():
        raise SettingError(f"EARPIECE_ROSTER names {raw!r}, which is not a readable file")
    return Path(raw)


def _transcription_language(raw: str) -> str:
    """A code Twilio's Real-Time Transcription offers (core/languages.py), as written."""
    if not is_offered(raw):
        raise SettingError(
            f"EARPIECE_TRANSCRIPTION_LANGUAGE {raw[:40]!r} is not a language Twilio's real-time "
            "transcription offers (BCP 47 as Twilio spells it, e.g. ja-JP, en-US)"
        )
    return raw


# -- the table ------------------------------------------------------------------------------
#
# Every setting is one field of `Settings` below, declared once with `setting()`: its type
# (the annotation), its environment name, how the text is read and checked, its default,
# what README's table shows as the default when that is not the value itself, what it does,
# and a valid value other than the default (README's example, and the sample the test that
# every setting takes effect sets). `load()` and README's settings table (`earpiece
# settings --markdown`, checked equal by tests/core/test_settings_documented.py) are built from
# it, so a setting cannot be documented and never read, or read and never documented
# (issue 24: five documented settings were never read when each was written in five places).


@dataclass(frozen=True)
class Spec:
    """One setting: how `load()` reads it and how README describes it."""

    env: str
    cast: Callable[[str], Any]
    meaning: str
    example: str
    shown_default: str | None  # README's default column; None: the default itself
    required: str | None  # the one line's end when a command needs it and it is unset
    internal: bool  # read, but not for operators (not in README's table)


def setting(
    env: str,
    cast: Callable[[str], T],
    default: T,
    meaning: str,
    *,
    example: str,
    shown: str | None = None,
    required: str | None = None,
    internal: bool = False,
) -> T:
    """A `Settings` field read from `env` (the default when unset or empty)."""
    spec = Spec(env, cast, meaning, example, shown, required, internal)
    if isinstance(default, Mapping):  # a mutable default is made afresh (dataclasses' rule)
        empty: T = field(default_factory=lambda: default, metadata={"spec": spec})
        return empty
    made: T = field(default=default, metadata={"spec": spec})
    return made


def _secs(env: str) -> Callable[[str], float]:
    return _positive_float(env)


def _count(env: str) -> Callable[[str], int]:
    return _positive_int(env)


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = setting(
        "REDIS_URL",
        _redis_url,
        None,
        "any Redis >= 6.2 (`redis://`, `rediss://`, `unix://`), or any node of a Redis Cluster "
        "(detected by itself)",
        example="redis://127.0.0.1:6390/0",
        shown="embedded",
    )
    data_dir: Path = setting(
        "EARPIECE_DATA_DIR",
        Path,
        Path(".earpiece"),
        "the embedded Redis's files (append-only, kept across restarts); processes sharing it "
        "share one server. Made 0700, its files 0600 (Redis's, the SQLite archive and its "
        "`-wal`/`-shm`): readable by Earpiece's user only",
        example="/tmp/earpiece-elsewhere",
        shown="`./.earpiece`",
    )
    namespace: str = setting(
        "EARPIECE_NAMESPACE",
        _namespace,
        "ep",
        "the floor's Redis hash tag: several floors can share one Redis or Cluster",
        example="floor2",
    )
    twilio_account_sid: str | None = setting(
        "TWILIO_ACCOUNT_SID",
        _text,
        None,
        "the Twilio account SID (`AC…`)",
        example="AC" + "1" * 32,
        required="the Twilio account SID (AC...)",
    )
    twilio_auth_token: str | None = setting(
        "TWILIO_AUTH_TOKEN",
        _text,
        None,
        "the Twilio account's auth token; it also checks webhook signatures",
        example="another-token",
        required="the Twilio auth token; it also validates webhook signatures",
    )
    twilio_api_base_url: str | None = setting(
        "TWILIO_API_BASE_URL",
        _http_url("TWILIO_API_BASE_URL"),
        None,
        "send every REST call here instead (the simulator)",
        example="http://127.0.0.1:8700",
        shown="real Twilio",
    )
    twilio_region: str | None = setting(
        "TWILIO_REGION",
        _text,
        None,
        "for real Twilio, e.g. `jp1`: every REST call, recordings' media too, goes to the "
        "region's host (`api.tokyo.jp1.twilio.com`); a region alone takes its own edge "
        "(`jp1` → `tokyo`)",
        example="jp1",
    )
    twilio_edge: str | None = setting(
        "TWILIO_EDGE", _text, None, "the edge with `TWILIO_REGION`, e.g. `tokyo`", example="tokyo"
    )
    # Twilio's shared webhook signing keys (public beta), by key id: key_id=secret,...
    webhook_shared_keys: Mapping[str, str] = setting(
        "TWILIO_WEBHOOK_SHARED_KEYS",
        _shared_keys,
        MappingProxyType({}),
        "`KEY_ID=SECRET,…`: Twilio's shared webhook signing keys (public beta): a callback whose "
        "`X-Twilio-Webhooks-Signature-Settings` names one of them is checked with its secret "
        "and algorithm (HMAC-SHA256); one without that header, with the auth token",
        example="key1=secret1",
    )
    public_base_url: str | None = setting(
        "PUBLIC_BASE_URL",
        _http_url("PUBLIC_BASE_URL"),
        None,
        "the URL at which Twilio reaches the callback service; signatures are checked against it",
        example="https://earpiece.example",
        required="the URL at which Twilio reaches the callback service",
    )
    api_token: str | None = setting(
        "EARPIECE_API_TOKEN",
        _text,
        None,
        "the service token for wallboards and integrations: reads `/api/*` and `/events`, "
        "never acts as a person",
        example="a-service-token",
        required="the service token for wallboards and integrations (read-only)",
    )
    roster_path: Path | None = setting(
        "EARPIECE_ROSTER",
        _roster,
        None,
        "teams, agents, supervisors (TOML; `earpiece/demo_roster.toml` is an example); a "
        "process started without one stops with one line",
        example="earpiece/demo_roster.toml",
        shown="— (required; `earpiece demo` uses the demo roster)",
    )
    session_secret: str | None = setting(
        "EARPIECE_SESSION_SECRET",
        _session_secret,
        None,
        "at least 32 random bytes (`python -c 'import secrets; "
        "print(secrets.token_urlsafe(32))'`): Redis keeps dashboard sessions under its HMAC; "
        "never derived from another secret",
        example="s" * 40,
        shown="— (required by the dashboard; `earpiece demo` makes one)",
        required="at least 32 random bytes that sign the dashboard's sessions "
        "(make one: python -c 'import secrets; print(secrets.token_urlsafe(32))')",
    )
    session_hours: float = setting(
        "EARPIECE_SESSION_HOURS",
        _secs("EARPIECE_SESSION_HOURS"),
        12.0,
        "a dashboard session's hard maximum age, enforced by the server",
        example="3",
    )
    signin_link_minutes: float = setting(
        "EARPIECE_SIGNIN_LINK_MINUTES",
        _secs("EARPIECE_SIGNIN_LINK_MINUTES"),
        15.0,
        "how long a one-time sign-in link (`earpiece signin-link`) is good",
        example="5",
    )
    signin_max_failures: int = setting(
        "EARPIECE_SIGNIN_MAX_FAILURES",
        _count("EARPIECE_SIGNIN_MAX_FAILURES"),
        5,
        "after this many failed sign-ins for one ID *from one address*, each further attempt "
        "there waits twice as long as the last (from `EARPIECE_SIGNIN_LOCK_SECONDS`, at most "
        "an hour), refused without hashing meanwhile; an address alone after ten times as "
        "many; an ID from addresses it never signed in from after twice as many (see "
        "Passwords)",
        example="9",
    )
    signin_lock_seconds: float = setting(
        "EARPIECE_SIGNIN_LOCK_SECONDS",
        _secs("EARPIECE_SIGNIN_LOCK_SECONDS"),
        30.0,
        "the first wait after `EARPIECE_SIGNIN_MAX_FAILURES` failures",
        example="7",
    )
    trusted_proxies: tuple[str, ...] = setting(
        "EARPIECE_TRUSTED_PROXIES",
        _networks,
        (),
        "addresses or CIDRs (comma-separated, e.g. `10.0.0.0/8`) of your proxies: their "
        "`X-Forwarded-For` gives the client's address (the last one before them), for both "
        "services. Unset: nobody's is believed, the connection's own address counts",
        example="10.0.0.0/8",
    )
    # OIDC: access tokens of this issuer (for this audience) are accepted on the API, and
    # the dashboard offers single sign-on through it (st.login).
    oidc_issuer: str | None = setting(
        "EARPIECE_OIDC_ISSUER",
        _http_url("EARPIECE_OIDC_ISSUER"),
        None,
        "accept the issuer's OIDC access tokens (JWT, checked against its published keys) "
        "for `EARPIECE_OIDC_AUDIENCE` on the API; the person is the issuer's `sub`, found the "
        "first time by `EARPIECE_OIDC_CLAIM`",
        example="https://login.example",
    )
    oidc_audience: str | None = setting(
        "EARPIECE_OIDC_AUDIENCE",
        _text,
        None,
        "the audience (`aud`) Earpiece's access tokens carry (required with the issuer)",
        example="earpiece-api",
    )
    oidc_claim: str = setting(
        "EARPIECE_OIDC_CLAIM",
        _text,
        "email",
        "the claim that finds a person the first time (a *verified* `email`)",
        example="preferred_username",
    )
    oidc_client_id: str | None = setting(
        "EARPIECE_OIDC_CLIENT_ID",
        _text,
        None,
        "with the issuer and the secret: single sign-on on the dashboard (Streamlit's `st.login`)",
        example="earpiece-dashboard",
    )
    oidc_client_secret: str | None = setting(
        "EARPIECE_OIDC_CLIENT_SECRET",
        _text,
        None,
        "the dashboard's OIDC client secret",
        example="client-secret",
    )
    # Such a token cannot be revoked, so a stolen one is good until it expires.
    oidc_max_token_seconds: float = setting(
        "EARPIECE_OIDC_MAX_TOKEN_SECONDS",
        _secs("EARPIECE_OIDC_MAX_TOKEN_SECONDS"),
        7200.0,
        "the longest an OIDC access token may live (`exp - iat`) to be accepted: it cannot be "
        "revoked, so a stolen one works until it expires. Two hours takes Entra ID's default "
        "(a random 60 to 90 minutes) and Okta's (one hour); lower the provider's lifetime rather "
        "than raise this",
        example="600",
    )
    # Limits and retention: each one a named setting with a default.
    api_max_body_bytes: int = setting(
        "EARPIECE_API_MAX_BODY_BYTES",
        _count("EARPIECE_API_MAX_BODY_BYTES"),
        16 * 1024,
        "a larger JSON body gets 413, unread",
        example="1000",
    )
    max_body_bytes: int = setting(
        "EARPIECE_MAX_BODY_BYTES",
        _count("EARPIECE_MAX_BODY_BYTES"),
        64 * 1024,
        "a larger webhook body gets 413",
        example="1000",
    )
    event_skew_seconds: float = setting(
        "EARPIECE_EVENT_SKEW_SECONDS",
        _secs("EARPIECE_EVENT_SKEW_SECONDS"),
        24 * 3600.0,
        "a signed callback dated further than this from now is refused (400)",
        example="600",
    )
    history_seconds: int = setting(
        "EARPIECE_HISTORY_SECONDS",
        _count("EARPIECE_HISTORY_SECONDS"),
        24 * 3600,
        "how long an ended conference is kept",
        example="60",
    )
    feed_maxlen: int = setting(
        "EARPIECE_FEED_MAXLEN",
        _count("EARPIECE_FEED_MAXLEN"),
        20_000,
        "change-feed entries kept for `Last-Event-ID` resumption",
        example="10",
    )
    feed_max_age_seconds: int = setting(
        "EARPIECE_FEED_MAX_AGE_SECONDS",
        _count("EARPIECE_FEED_MAX_AGE_SECONDS"),
        3600,
        "change-feed entries older than this are dropped (besides `EARPIECE_FEED_MAXLEN`)",
        example="60",
    )
    sse_ping_seconds: float = setting(
        "EARPIECE_SSE_PING_SECONDS",
        _secs("EARPIECE_SSE_PING_SECONDS"),
        15.0,
        "SSE keep-alive: a comment this often on an idle stream",
        example="3",
    )
    sse_send_timeout_seconds: float = setting(
        "EARPIECE_SSE_SEND_TIMEOUT_SECONDS",
        _secs("EARPIECE_SSE_SEND_TIMEOUT_SECONDS"),
        10.0,
        "a stream whose client takes longer than this to take a message is closed",
        example="3",
    )
    sse_max_clients: int = setting(
        "EARPIECE_SSE_MAX_CLIENTS",
        _count("EARPIECE_SSE_MAX_CLIENTS"),
        500,
        "open streams one process serves; the next is 503",
        example="3",
    )
    sse_queue_size: int = setting(
        "EARPIECE_SSE_QUEUE_SIZE",
        _count("EARPIECE_SSE_QUEUE_SIZE"),
        1000,
        "messages queued for one slow stream before it is closed (it resumes by `Last-Event-ID`)",
        example="3",
    )
    # Fair shares (issue 22): one person (whatever credential: the service token is one too).
    streams_per_person: int = setting(
        "EARPIECE_STREAMS_PER_PERSON",
        _count("EARPIECE_STREAMS_PER_PERSON"),
        20,
        "one person's fair share of a process's streams (`/events`, `/events/board`, "
        "`/events/transcript` together; the service token counts as one person): the next is "
        "429 with the reason",
        example="3",
    )
    board_views_per_person: int = setting(
        "EARPIECE_BOARD_VIEWS_PER_PERSON",
        _count("EARPIECE_BOARD_VIEWS_PER_PERSON"),
        8,
        "distinct board views (sets of filters) one person may watch in a process: the next "
        "new one is 429",
        example="3",
    )
    tickets_per_minute: int = setting(
        "EARPIECE_TICKETS_PER_MINUTE",
        _count("EARPIECE_TICKETS_PER_MINUTE"),
        60,
        "one-time stream tickets one person may be given a minute, on all processes "
        "together: the next is 429 (`Retry-After`)",
        example="3",
    )
    call_wait_max_seconds: float = setting(
        "EARPIECE_CALL_WAIT_MAX_SECONDS",
        _secs("EARPIECE_CALL_WAIT_MAX_SECONDS"),
        30.0,
        "longest `?wait=` on `GET /api/calls/{sid}`",
        example="3",
    )
    long_hold_seconds: float = setting(
        "EARPIECE_LONG_HOLD_SECONDS",
        _secs("EARPIECE_LONG_HOLD_SECONDS"),
        60.0,
        "when the `long-hold` alert appears",
        example="3",
    )
    long_call_seconds: float = setting(
        "EARPIECE_LONG_CALL_SECONDS",
        _secs("EARPIECE_LONG_CALL_SECONDS"),
        600.0,
        "when the `long-call` alert appears",
        example="3",
    )
    dead_air_seconds: float = setting(
        "EARPIECE_DEAD_AIR_SECONDS",
        _secs("EARPIECE_DEAD_AIR_SECONDS"),
        15.0,
        "when `dead-air` appears (nobody speaking while customer and agent are on, on a call "
        "that has sent speech events)",
        example="3",
    )
    overtalk_seconds: float = setting(
        "EARPIECE_OVERTALK_SECONDS",
        _secs("EARPIECE_OVERTALK_SECONDS"),
        3.0,
        "when `overtalk` (both speaking) appears",
        example="7",
    )
    # Supervisor legs: the caller ID Twilio shows, how long a leg may ring before it is
    # given up, and Twilio 429 retries.
    caller_id: str = setting(
        "EARPIECE_CALLER_ID",
        _text,
        "+15005550006",
        "the `From` of the legs that ring supervisors",
        example="+815012345678",
    )
    dialing_timeout_seconds: float = setting(
        "EARPIECE_DIALING_TIMEOUT_SECONDS",
        _secs("EARPIECE_DIALING_TIMEOUT_SECONDS"),
        45.0,
        "a supervisor leg still ringing after this is hung up",
        example="3",
    )
    sweep_seconds: float = setting(
        "EARPIECE_SWEEP_SECONDS",
        _secs("EARPIECE_SWEEP_SECONDS"),
        5.0,
        "how often ringing supervisor legs are checked",
        example="3",
    )
    twilio_retries: int = setting(
        "EARPIECE_TWILIO_RETRIES",
        _count("EARPIECE_TWILIO_RETRIES"),
        3,
        "retries of a Twilio request answered 429, with backoff and jitter",
        example="7",
    )
    audit_retention_days: int = setting(
        "EARPIECE_AUDIT_RETENTION_DAYS",
        _count("EARPIECE_AUDIT_RETENTION_DAYS"),
        90,
        "how long the audit trail is kept",
        example="3",
    )
    dashboard_refresh_seconds: float = setting(
        "EARPIECE_DASHBOARD_REFRESH_SECONDS",
        _secs("EARPIECE_DASHBOARD_REFRESH_SECONDS"),
        0.5,
        "the live board's pace: a change is pushed to the dashboards at most this often (and "
        "at least once a second while anyone watches)",
        example="3",
    )
    mask_customer_numbers: bool = setting(
        "EARPIECE_MASK_CUSTOMER_NUMBERS",
        _boolean("EARPIECE_MASK_CUSTOMER_NUMBERS"),
        True,
        "`false`: every role sees customers' numbers whole where one person reads them (as if "
        "`[access] full_numbers` named every role); the board stream and wallboard stay "
        'masked ("The floor\'s clock, numbers and names")',
        example="false",
    )
    # `earpiece demo` only: the demo roster may be used when EARPIECE_ROSTER is unset.
    demo: bool = setting(
        "EARPIECE_DEMO",
        _boolean("EARPIECE_DEMO"),
        False,
        "set by `earpiece demo` for its processes: the demo roster stands in for `EARPIECE_ROSTER`",
        example="true",
        internal=True,
    )
    dashboard_url: str = setting(
        "EARPIECE_DASHBOARD_URL",
        _http_url("EARPIECE_DASHBOARD_URL"),
        "http://127.0.0.1:8501",
        "where the dashboard is served, for `earpiece signin-link`",
        example="https://dashboard.example",
    )
    feed_url: str | None = setting(
        "EARPIECE_FEED_URL",
        _http_url("EARPIECE_FEED_URL"),
        None,
        "where supervisors' browsers reach the callback service for the live board "
        "(`/events/board`)",
        example="https://feed.example",
        shown="`PUBLIC_BASE_URL`",
    )
    api_url: str | None = setting(
        "EARPIECE_API_URL",
        _http_url("EARPIECE_API_URL"),
        None,
        "where the dashboard's server reaches the callback service's JSON API: every "
        "supervisor's action goes there, with that supervisor's session as the credential",
        example="http://callbacks.internal:8000",
        shown="`PUBLIC_BASE_URL`",
    )
    # TaskRouter (issue 12).
    workspace_sid: str | None = setting(
        "TWILIO_WORKSPACE_SID",
        _text,
        None,
        "the TaskRouter Workspace followed: others' events are ignored, and the reconciler "
        "repairs queues and agents from it",
        example="WS" + "1" * 32,
    )
    timezone: str = setting(
        "EARPIECE_TIMEZONE",
        _timezone,
        "UTC",
        'the floor\'s clock (an IANA zone, e.g. `Asia/Tokyo`): where "today" starts for '
        "queue counts and the Calls page, the zone of every time a person reads, and of API "
        "dates given without an offset",
        example="Asia/Tokyo",
    )
    # How people read times, numbers and names (issue 25).
    language: str = setting(
        "EARPIECE_LANGUAGE",
        _language,
        "en",
        "`en` or `ja`: the dashboard's words and times for a supervisor without a roster "
        "`language` whose browser asks for neither",
        example="ja",
    )
    country: str | None = setting(
        "EARPIECE_COUNTRY",
        _country,
        None,
        "ISO 3166 code (`JP`): its numbers are written the national way (`03-1234-5678`), "
        "others the international way",
        example="US",
        shown="the country of `EARPIECE_TIMEZONE` (none for `UTC`)",
    )
    service_level_seconds: float = setting(
        "EARPIECE_SERVICE_LEVEL_SECONDS",
        _secs("EARPIECE_SERVICE_LEVEL_SECONDS"),
        20.0,
        "a caller answered within this counts toward the service level (a queue's own in the "
        "roster: `[queues.sales] service_level_seconds = 30`, and `wait_alert_seconds`)",
        example="30",
    )
    service_level_target: float = setting(
        "EARPIECE_SERVICE_LEVEL_TARGET",
        _share("EARPIECE_SERVICE_LEVEL_TARGET"),
        0.8,
        "a queue under this service level (a share from 0 to 1) gets the `service-level` "
        "alert and shows red",
        example="0.9",
    )
    queue_wait_alert_seconds: float = setting(
        "EARPIECE_QUEUE_WAIT_ALERT_SECONDS",
        _secs("EARPIECE_QUEUE_WAIT_ALERT_SECONDS"),
        60.0,
        "`long-wait`: a caller waiting this long (in a queue, or in a live conference no agent "
        "has joined yet; a waiting call ranks by its wait against this)",
        example="5",
    )
    routing_stuck_seconds: float = setting(
        "EARPIECE_ROUTING_STUCK_SECONDS",
        _secs("EARPIECE_ROUTING_STUCK_SECONDS"),
        15.0,
        "`routing-stuck`: callers waiting this long while an agent of the queue is available",
        example="5",
    )
    wrapup_alert_seconds: float = setting(
        "EARPIECE_WRAPUP_ALERT_SECONDS",
        _secs("EARPIECE_WRAPUP_ALERT_SECONDS"),
        120.0,
        "an agent's `long-wrap-up`",
        example="5",
    )
    away_alert_seconds: float = setting(
        "EARPIECE_AWAY_ALERT_SECONDS",
        _secs("EARPIECE_AWAY_ALERT_SECONDS"),
        900.0,
        "an agent's `long-away` (unavailable, not on a call)",
        example="5",
    )
    # Never wrong for long: reconciliation with Twilio, and ending orphaned (FIELD-NOTES 2)
    # and duplicate (FIELD-NOTES 4) conferences.
    reconcile_seconds: float = setting(
        "EARPIECE_RECONCILE_SECONDS",
        _secs("EARPIECE_RECONCILE_SECONDS"),
        30.0,
        "how often one process repairs the floor from Twilio's own list of live conferences",
        example="3",
    )
    orphan_seconds: float = setting(
        "EARPIECE_ORPHAN_SECONDS",
        _secs("EARPIECE_ORPHAN_SECONDS"),
        20.0,
        "a customer left alone (the agent hung up) or an agent alone (no customer) for this "
        "long gets the conference ended through Twilio's API (with `EARPIECE_END_ORPHANS`)",
        example="3",
    )
    end_orphans: bool = setting(
        "EARPIECE_END_ORPHANS",
        _boolean("EARPIECE_END_ORPHANS"),
        True,
        "`false`: orphaned conferences are shown, not ended",
        example="false",
    )
    duplicate_seconds: float = setting(
        "EARPIECE_DUPLICATE_SECONDS",
        _secs("EARPIECE_DUPLICATE_SECONDS"),
        5.0,
        "the lone half of a FriendlyName live twice is ended after this long (with "
        "`EARPIECE_END_DUPLICATES`)",
        example="3",
    )
    end_duplicates: bool = setting(
        "EARPIECE_END_DUPLICATES",
        _boolean("EARPIECE_END_DUPLICATES"),
        True,
        "`false`: duplicate conferences are shown, not ended",
        example="false",
    )
    # The <Conference region> of the TwiML endpoints (TWILIO_REGION when unset: load()).
    conference_region: str | None = setting(
        "EARPIECE_CONFERENCE_REGION",
        _text,
        None,
        "the `region` of the conferences the TwiML endpoints create (e.g. `jp1`)",
        example="ie1",
        shown="`TWILIO_REGION`",
    )
    # Live transcripts (issue 15).
    transcription_language: str = setting(
        "EARPIECE_TRANSCRIPTION_LANGUAGE",
        _transcription_language,
        DEFAULT_LANGUAGE,
        "the language Twilio's Real-Time Transcription listens for (BCP 47, as Twilio's "
        "`LanguageCode` takes it: `ja-JP`), for teams whose roster entry has no `language`; "
        "checked at start against what Twilio offers",
        example="ja-JP",
    )
    transcription_grace_seconds: float = setting(
        "EARPIECE_TRANSCRIPTION_GRACE_SECONDS",
        _secs("EARPIECE_TRANSCRIPTION_GRACE_SECONDS"),
        30.0,
        "a `monitored` team's call stays transcribed this long after its last supervisor left "
        "or closed its page",
        example="3",
    )
    # Listening in the browser (issue 26).
    listen_grace_seconds: float = setting(
        "EARPIECE_LISTEN_GRACE_SECONDS",
        _secs("EARPIECE_LISTEN_GRACE_SECONDS"),
        10.0,
        "a call's Media Stream (Listen in browser) stops this long after the last browser "
        "hearing it closed (a supervisor who reloads does not restart it)",
        example="4",
    )
    # The archive of ended calls (issue 16).
    archive_url: str | None = setting(
        "EARPIECE_ARCHIVE_URL",
        _text,
        None,
        "where ended calls are kept: `sqlite:///PATH` or `postgresql://user:pass@host/db`",
        example="sqlite:////tmp/earpiece-elsewhere.sqlite3",
        shown="SQLite in `EARPIECE_DATA_DIR`",
    )
    archive_retention_days: int = setting(
        "EARPIECE_ARCHIVE_RETENTION_DAYS",
        _count("EARPIECE_ARCHIVE_RETENTION_DAYS"),
        90,
        "ended calls, their reviews and recordings are deleted after this",
        example="3",
    )
    archive_settle_seconds: float = setting(
        "EARPIECE_ARCHIVE_SETTLE_SECONDS",
        _secs("EARPIECE_ARCHIVE_SETTLE_SECONDS"),
        5.0,
        "a call is archived this long after it ended (its last callbacks land first)",
        example="3",
    )

    def require(self, *names: str) -> None:
        """Raise SettingError naming the first of `names` that is unset."""
        for name in names:
            spec_field = _BY_ENV[name]
            spec = _spec(spec_field)
            if not getattr(self, spec_field.name):
                raise SettingError(f"{name} is not set: {spec.required or spec.meaning}")

    @property
    def auth_token(self) -> str:
        self.require("TWILIO_AUTH_TOKEN")
        assert self.twilio_auth_token is not None
        return self.twilio_auth_token

    @property
    def base_url(self) -> str:
        self.require("PUBLIC_BASE_URL")
        assert self.public_base_url is not None
        return self.public_base_url

    @property
    def board_feed_url(self) -> str:
        return (self.feed_url or self.base_url).rstrip("/")

    @property
    def service_api_url(self) -> str:
        """Where the dashboard sends its actions (the callback service's API)."""
        return (self.api_url or self.base_url).rstrip("/")

    @property
    def forwarded_allow_ips(self) -> str:
        """For uvicorn (`forwarded_allow_ips`, or FORWARDED_ALLOW_IPS for Streamlit's server):
        whose X-Forwarded-For to believe. Empty: nobody's, whatever uvicorn's default
        (which trusts 127.0.0.1, so any local process could forge an address)."""
        return ",".join(self.trusted_proxies)

    @property
    def bearer_token(self) -> str:
        self.require("EARPIECE_API_TOKEN")
        assert self.api_token is not None
        return self.api_token


def _spec(item: Field[Any]) -> Spec:
    spec = item.metadata["spec"]
    assert isinstance(spec, Spec)
    return spec


SETTINGS: tuple[Field[Any], ...] = fields(Settings)
_BY_ENV = {_spec(item).env: item for item in SETTINGS}


def _shown(item: Field[Any]) -> str:
    spec = _spec(item)
    if spec.shown_default is not None:
        return spec.shown_default
    factory = item.default_factory
    value = item.default if item.default is not MISSING or factory is MISSING else factory()
    if value is None or value == () or value == {}:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return f"`{value}`"
    return str(value)


def markdown_table() -> str:
    """README's settings table, from the fields above (`earpiece settings --markdown`)."""
    rows = ["| name | default | meaning |", "|---|---|---|"]
    for item in SETTINGS:
        spec = _spec(item)
        if not spec.internal:
            rows.append(f"| `{spec.env}` | {_shown(item)} | {spec.meaning} |")
    return "\n".join(rows) + "\n"


def load(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Read the settings once, at start; everything after asks this object."""
    source = dict(os.environ if environ is None else environ)
    path = Path(env_file) if env_file is not None else None
    config = Config(path if path is not None and path.is_file() else None, environ=source)
    values: dict[str, Any] = {}
    for item in SETTINGS:
        spec = _spec(item)
        raw = config.get(spec.env, default=None)
        if raw is not None and raw != "":
            values[item.name] = spec.cast(str(raw))
    loaded = Settings(**values)
    # The defaults that come from another setting.
    if loaded.conference_region is None and loaded.twilio_region is not None:
        loaded = replace(loaded, conference_region=loaded.twilio_region)
    if loaded.country is None:
        from core.phone import country_of_zone

        loaded = replace(loaded, country=country_of_zone(loaded.timezone))
    if loaded.oidc_issuer and not loaded.oidc_audience:
        raise SettingError(
            "EARPIECE_OIDC_AUDIENCE is not set: the audience (aud) Earpiece's access tokens "
            "carry, required with EARPIECE_OIDC_ISSUER"
        )
    return loaded
