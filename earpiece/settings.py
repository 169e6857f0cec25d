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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.config import Config

from earpiece.languages import DEFAULT_LANGUAGE, is_offered

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


def _shared_keys(raw: str) -> dict[str, str]:
    keys = {}
    for part in raw.split(","):
        key_id, sep, secret = part.strip().partition("=")
        if not sep or not key_id or not secret:
            raise SettingError(
                "TWILIO_WEBHOOK_SHARED_KEYS must be KEY_ID=SECRET pairs separated by commas"
            )
        keys[key_id] = secret
    return keys


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


# What each setting is for, quoted in the "missing" message so the one line
# tells an operator what to supply.
_PURPOSE = {
    "TWILIO_ACCOUNT_SID": "the Twilio account SID (AC...)",
    "TWILIO_AUTH_TOKEN": "the Twilio auth token; it also validates webhook signatures",
    "PUBLIC_BASE_URL": "the URL at which Twilio reaches the callback service",
    "EARPIECE_API_TOKEN": "the service token for wallboards and integrations (read-only)",
    "EARPIECE_SESSION_SECRET": "at least 32 random bytes that sign the dashboard's sessions "
    "(make one: python -c 'import secrets; print(secrets.token_urlsafe(32))')",
}


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    data_dir: Path = Path(".earpiece")
    namespace: str = "ep"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_base_url: str | None = None
    twilio_region: str | None = None
    twilio_edge: str | None = None
    # Twilio's shared webhook signing keys (public beta), by key id: key_id=secret,...
    webhook_shared_keys: dict[str, str] = field(default_factory=dict)
    public_base_url: str | None = None
    api_token: str | None = None
    roster_path: Path | None = None
    # Limits and retention: each one a named setting with a default.
    max_body_bytes: int = 64 * 1024
    history_seconds: int = 24 * 3600
    feed_maxlen: int = 20_000
    sse_ping_seconds: float = 15.0
    sse_send_timeout_seconds: float = 10.0
    sse_max_clients: int = 500
    sse_queue_size: int = 1000
    # Fair shares (issue 22): one person (whatever credential: the service token is one too)
    # holds at most this many open streams and distinct board views in one process, and is
    # given at most this many one-time tickets a minute (all processes together).
    streams_per_person: int = 20
    board_views_per_person: int = 8
    tickets_per_minute: int = 60
    call_wait_max_seconds: float = 30.0
    long_hold_seconds: float = 60.0
    long_call_seconds: float = 600.0
    dead_air_seconds: float = 15.0
    overtalk_seconds: float = 3.0
    # Supervisor legs: the caller ID Twilio shows, how long a leg may ring
    # before it is given up, and Twilio 429 retries.
    caller_id: str = "+15005550006"
    dialing_timeout_seconds: float = 45.0
    sweep_seconds: float = 5.0
    twilio_retries: int = 3
    audit_retention_days: int = 90
    # The dashboard: how often it refreshes, whether customer numbers are
    # masked, and its sign-in sessions (signed with the session secret, or a
    # key derived from the Twilio auth token when none is set).
    dashboard_refresh_seconds: float = 0.5
    mask_customer_numbers: bool = True
    session_secret: str | None = None
    session_hours: float = 12.0  # a session's hard maximum age, enforced by the server
    # A one-time sign-in link (`earpiece signin-link`) is good this long.
    signin_link_minutes: float = 15.0
    # Sign-in throttling: after this many failures for one ID or one address, each further
    # attempt waits twice as long as the one before (from signin_lock_seconds).
    signin_max_failures: int = 5
    signin_lock_seconds: float = 30.0
    # The proxies (addresses or CIDRs) whose X-Forwarded-For is believed: a sign-in's address
    # is the last one before them. None by default: the connection's own address.
    trusted_proxies: tuple[str, ...] = ()
    # `earpiece demo` only: the demo roster may be used when EARPIECE_ROSTER is unset.
    demo: bool = False
    # OIDC: access tokens of this issuer (for this audience) are accepted on the API, and
    # the dashboard offers single sign-on through it (st.login).
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_claim: str = "email"
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    # The longest an OIDC token may live (exp - iat) to be accepted (access/oidc.py): such a
    # token cannot be revoked, so a stolen one is good until it expires. Two hours accepts
    # Entra ID's default (a random 60-90 minutes) and Okta's (one hour); a provider issuing
    # day-long tokens must be told to issue shorter ones, or this raised knowingly.
    oidc_max_token_seconds: float = 7200.0
    # JSON API bodies larger than this are refused (413) before they are parsed.
    api_max_body_bytes: int = 16 * 1024
    # A signed callback dated further than this from now is nonsense (400).
    event_skew_seconds: float = 24 * 3600.0
    # The change feed keeps entries this long (and at most EARPIECE_FEED_MAXLEN of them).
    feed_max_age_seconds: int = 3600
    dashboard_url: str = "http://127.0.0.1:8501"
    # Where supervisors' browsers reach the callback service's live board stream
    # (/events/board); PUBLIC_BASE_URL when unset.
    feed_url: str | None = None
    # TaskRouter (issue 12): the Workspace followed (events of another are ignored, and
    # the reconciler repairs from this one), "today" for queue counts, and the service
    # level's threshold.
    workspace_sid: str | None = None
    timezone: str = "UTC"
    # How people read times, numbers and names (issue 25): the language of a supervisor
    # without one in the roster, and the floor's country (its numbers are written the
    # national way; unset: the country of EARPIECE_TIMEZONE when that zone is in one).
    language: str = "en"
    country: str | None = None
    service_level_seconds: float = 20.0
    # Wallboard colours: a queue whose longest wait passes this, or whose service level
    # falls under the target, shows red.
    queue_wait_alert_seconds: float = 60.0
    service_level_target: float = 0.8
    routing_stuck_seconds: float = 15.0
    wrapup_alert_seconds: float = 120.0
    away_alert_seconds: float = 900.0
    # Never wrong for long: reconciliation with Twilio, and ending orphaned
    # (FIELD-NOTES 2) and duplicate (FIELD-NOTES 4) conferences.
    reconcile_seconds: float = 30.0
    orphan_seconds: float = 20.0
    end_orphans: bool = True
    duplicate_seconds: float = 5.0
    end_duplicates: bool = True
    # The <Conference region> of the TwiML endpoints (TWILIO_REGION when unset).
    conference_region: str | None = None
    # Live transcripts (issue 15): the language Twilio transcribes (BCP-47), and how long a
    # monitored call keeps its transcription after its last watcher.
    transcription_language: str = "en-US"
    transcription_grace_seconds: float = 30.0
    # Listening in the browser (issue 26): a call's Media Stream stops this long after the
    # last browser hearing it closed (a supervisor who reloads does not restart it).
    listen_grace_seconds: float = 10.0
    # The archive of ended calls (issue 16): where (unset: SQLite in data_dir), how long.
    archive_url: str | None = None
    archive_retention_days: int = 90
    archive_settle_seconds: float = 5.0

    def require(self, *names: str) -> None:
        """Raise SettingError naming the first of `names` that is unset."""
        attrs = {
            "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "PUBLIC_BASE_URL": self.public_base_url,
            "EARPIECE_API_TOKEN": self.api_token,
            "EARPIECE_SESSION_SECRET": self.session_secret,
        }
        for name in names:
            if not attrs[name]:
                raise SettingError(f"{name} is not set: {_PURPOSE[name]}")

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


def _transcription_language(raw: str) -> str:
    """A code Twilio's Real-Time Transcription offers (earpiece/languages.py), as written."""
    if not is_offered(raw):
        raise SettingError(
            f"EARPIECE_TRANSCRIPTION_LANGUAGE {raw[:40]!r} is not a language Twilio's real-time "
            "transcription offers (BCP 47 as Twilio spells it, e.g. ja-JP, en-US)"
        )
    return raw


def load(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Read the settings once, at start; everything after asks this object."""
    source = dict(os.environ if environ is None else environ)
    path = Path(env_file) if env_file is not None else None
    config = Config(path if path is not None and path.is_file() else None, environ=source)

    def get(name: str, cast: Callable[[str], T], default: T) -> T:
        raw = config.get(name, default=None)
        if raw is None or raw == "":
            return default
        return cast(str(raw))

    def text(name: str) -> str | None:
        raw = config.get(name, default=None)
        return str(raw) if raw not in (None, "") else None

    roster = text("EARPIECE_ROSTER")
    if roster is not None and not Path(roster).is_file():
        raise SettingError(f"EARPIECE_ROSTER names {roster!r}, which is not a readable file")

    loaded = Settings(
        redis_url=get("REDIS_URL", _redis_url, None),
        data_dir=Path(text("EARPIECE_DATA_DIR") or ".earpiece"),
        namespace=get("EARPIECE_NAMESPACE", _namespace, "ep"),
        twilio_account_sid=text("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=text("TWILIO_AUTH_TOKEN"),
        twilio_api_base_url=get("TWILIO_API_BASE_URL", _http_url("TWILIO_API_BASE_URL"), None),
        twilio_region=text("TWILIO_REGION"),
        twilio_edge=text("TWILIO_EDGE"),
        webhook_shared_keys=get("TWILIO_WEBHOOK_SHARED_KEYS", _shared_keys, {}),
        public_base_url=get("PUBLIC_BASE_URL", _http_url("PUBLIC_BASE_URL"), None),
        api_token=text("EARPIECE_API_TOKEN"),
        roster_path=Path(roster) if roster else None,
        max_body_bytes=get(
            "EARPIECE_MAX_BODY_BYTES", _positive_int("EARPIECE_MAX_BODY_BYTES"), 64 * 1024
        ),
        history_seconds=get(
            "EARPIECE_HISTORY_SECONDS", _positive_int("EARPIECE_HISTORY_SECONDS"), 24 * 3600
        ),
        feed_maxlen=get("EARPIECE_FEED_MAXLEN", _positive_int("EARPIECE_FEED_MAXLEN"), 20_000),
        sse_ping_seconds=get(
            "EARPIECE_SSE_PING_SECONDS", _positive_float("EARPIECE_SSE_PING_SECONDS"), 15.0
        ),
        sse_send_timeout_seconds=get(
            "EARPIECE_SSE_SEND_TIMEOUT_SECONDS",
            _positive_float("EARPIECE_SSE_SEND_TIMEOUT_SECONDS"),
            10.0,
        ),
        sse_max_clients=get(
            "EARPIECE_SSE_MAX_CLIENTS", _positive_int("EARPIECE_SSE_MAX_CLIENTS"), 500
        ),
        sse_queue_size=get(
            "EARPIECE_SSE_QUEUE_SIZE", _positive_int("EARPIECE_SSE_QUEUE_SIZE"), 1000
        ),
        streams_per_person=get(
            "EARPIECE_STREAMS_PER_PERSON", _positive_int("EARPIECE_STREAMS_PER_PERSON"), 20
        ),
        board_views_per_person=get(
            "EARPIECE_BOARD_VIEWS_PER_PERSON", _positive_int("EARPIECE_BOARD_VIEWS_PER_PERSON"), 8
        ),
        tickets_per_minute=get(
            "EARPIECE_TICKETS_PER_MINUTE", _positive_int("EARPIECE_TICKETS_PER_MINUTE"), 60
        ),
        long_hold_seconds=get(
            "EARPIECE_LONG_HOLD_SECONDS", _positive_float("EARPIECE_LONG_HOLD_SECONDS"), 60.0
        ),
        long_call_seconds=get(
            "EARPIECE_LONG_CALL_SECONDS", _positive_float("EARPIECE_LONG_CALL_SECONDS"), 600.0
        ),
        dead_air_seconds=get(
            "EARPIECE_DEAD_AIR_SECONDS", _positive_float("EARPIECE_DEAD_AIR_SECONDS"), 15.0
        ),
        overtalk_seconds=get(
            "EARPIECE_OVERTALK_SECONDS", _positive_float("EARPIECE_OVERTALK_SECONDS"), 3.0
        ),
        caller_id=text("EARPIECE_CALLER_ID") or "+15005550006",
        dialing_timeout_seconds=get(
            "EARPIECE_DIALING_TIMEOUT_SECONDS",
            _positive_float("EARPIECE_DIALING_TIMEOUT_SECONDS"),
            45.0,
        ),
        sweep_seconds=get("EARPIECE_SWEEP_SECONDS", _positive_float("EARPIECE_SWEEP_SECONDS"), 5.0),
        twilio_retries=get("EARPIECE_TWILIO_RETRIES", _positive_int("EARPIECE_TWILIO_RETRIES"), 3),
        audit_retention_days=get(
            "EARPIECE_AUDIT_RETENTION_DAYS", _positive_int("EARPIECE_AUDIT_RETENTION_DAYS"), 90
        ),
        call_wait_max_seconds=get(
            "EARPIECE_CALL_WAIT_MAX_SECONDS",
            _positive_float("EARPIECE_CALL_WAIT_MAX_SECONDS"),
            30.0,
        ),
        dashboard_refresh_seconds=get(
            "EARPIECE_DASHBOARD_REFRESH_SECONDS",
            _positive_float("EARPIECE_DASHBOARD_REFRESH_SECONDS"),
            0.5,
        ),
        mask_customer_numbers=get(
            "EARPIECE_MASK_CUSTOMER_NUMBERS", _boolean("EARPIECE_MASK_CUSTOMER_NUMBERS"), True
        ),
        session_secret=get("EARPIECE_SESSION_SECRET", _session_secret, None),
        signin_link_minutes=get(
            "EARPIECE_SIGNIN_LINK_MINUTES", _positive_float("EARPIECE_SIGNIN_LINK_MINUTES"), 15.0
        ),
        signin_max_failures=get(
            "EARPIECE_SIGNIN_MAX_FAILURES", _positive_int("EARPIECE_SIGNIN_MAX_FAILURES"), 5
        ),
        signin_lock_seconds=get(
            "EARPIECE_SIGNIN_LOCK_SECONDS", _positive_float("EARPIECE_SIGNIN_LOCK_SECONDS"), 30.0
        ),
        trusted_proxies=get("EARPIECE_TRUSTED_PROXIES", _networks, ()),
        demo=get("EARPIECE_DEMO", _boolean("EARPIECE_DEMO"), False),
        oidc_issuer=get("EARPIECE_OIDC_ISSUER", _http_url("EARPIECE_OIDC_ISSUER"), None),
        oidc_audience=text("EARPIECE_OIDC_AUDIENCE"),
        oidc_claim=text("EARPIECE_OIDC_CLAIM") or "email",
        oidc_client_id=text("EARPIECE_OIDC_CLIENT_ID"),
        oidc_client_secret=text("EARPIECE_OIDC_CLIENT_SECRET"),
        oidc_max_token_seconds=get(
            "EARPIECE_OIDC_MAX_TOKEN_SECONDS",
            _positive_float("EARPIECE_OIDC_MAX_TOKEN_SECONDS"),
            7200.0,
        ),
        api_max_body_bytes=get(
            "EARPIECE_API_MAX_BODY_BYTES", _positive_int("EARPIECE_API_MAX_BODY_BYTES"), 16 * 1024
        ),
        event_skew_seconds=get(
            "EARPIECE_EVENT_SKEW_SECONDS",
            _positive_float("EARPIECE_EVENT_SKEW_SECONDS"),
            24 * 3600.0,
        ),
        feed_max_age_seconds=get(
            "EARPIECE_FEED_MAX_AGE_SECONDS", _positive_int("EARPIECE_FEED_MAX_AGE_SECONDS"), 3600
        ),
        session_hours=get(
            "EARPIECE_SESSION_HOURS", _positive_float("EARPIECE_SESSION_HOURS"), 12.0
        ),
        reconcile_seconds=get(
            "EARPIECE_RECONCILE_SECONDS", _positive_float("EARPIECE_RECONCILE_SECONDS"), 30.0
        ),
        orphan_seconds=get(
            "EARPIECE_ORPHAN_SECONDS", _positive_float("EARPIECE_ORPHAN_SECONDS"), 20.0
        ),
        end_orphans=get("EARPIECE_END_ORPHANS", _boolean("EARPIECE_END_ORPHANS"), True),
        duplicate_seconds=get(
            "EARPIECE_DUPLICATE_SECONDS", _positive_float("EARPIECE_DUPLICATE_SECONDS"), 5.0
        ),
        end_duplicates=get("EARPIECE_END_DUPLICATES", _boolean("EARPIECE_END_DUPLICATES"), True),
        conference_region=text("EARPIECE_CONFERENCE_REGION") or text("TWILIO_REGION"),
        transcription_language=get(
            "EARPIECE_TRANSCRIPTION_LANGUAGE", _transcription_language, DEFAULT_LANGUAGE
        ),
        archive_url=text("EARPIECE_ARCHIVE_URL"),
        archive_retention_days=get(
            "EARPIECE_ARCHIVE_RETENTION_DAYS",
            _positive_int("EARPIECE_ARCHIVE_RETENTION_DAYS"),
            90,
        ),
        archive_settle_seconds=get(
            "EARPIECE_ARCHIVE_SETTLE_SECONDS",
            _positive_float("EARPIECE_ARCHIVE_SETTLE_SECONDS"),
            5.0,
        ),
        listen_grace_seconds=get(
            "EARPIECE_LISTEN_GRACE_SECONDS", _positive_float("EARPIECE_LISTEN_GRACE_SECONDS"), 10.0
        ),
        transcription_grace_seconds=get(
            "EARPIECE_TRANSCRIPTION_GRACE_SECONDS",
            _positive_float("EARPIECE_TRANSCRIPTION_GRACE_SECONDS"),
            30.0,
        ),
        dashboard_url=get(
            "EARPIECE_DASHBOARD_URL", _http_url("EARPIECE_DASHBOARD_URL"), "http://127.0.0.1:8501"
        ),
        feed_url=get("EARPIECE_FEED_URL", _http_url("EARPIECE_FEED_URL"), None),
        workspace_sid=text("TWILIO_WORKSPACE_SID"),
        timezone=get("EARPIECE_TIMEZONE", _timezone, "UTC"),
        language=get("EARPIECE_LANGUAGE", _language, "en"),
        country=get("EARPIECE_COUNTRY", _country, None),
        service_level_seconds=get(
            "EARPIECE_SERVICE_LEVEL_SECONDS",
            _positive_float("EARPIECE_SERVICE_LEVEL_SECONDS"),
            20.0,
        ),
        # The wallboard's and the Agents table's alerts (README's settings table): declared
        # and documented, but not read here until issue 21, so setting them changed nothing.
        service_level_target=get(
            "EARPIECE_SERVICE_LEVEL_TARGET", _share("EARPIECE_SERVICE_LEVEL_TARGET"), 0.8
        ),
        queue_wait_alert_seconds=get(
            "EARPIECE_QUEUE_WAIT_ALERT_SECONDS",
            _positive_float("EARPIECE_QUEUE_WAIT_ALERT_SECONDS"),
            60.0,
        ),
        routing_stuck_seconds=get(
            "EARPIECE_ROUTING_STUCK_SECONDS",
            _positive_float("EARPIECE_ROUTING_STUCK_SECONDS"),
            15.0,
        ),
        wrapup_alert_seconds=get(
            "EARPIECE_WRAPUP_ALERT_SECONDS",
            _positive_float("EARPIECE_WRAPUP_ALERT_SECONDS"),
            120.0,
        ),
        away_alert_seconds=get(
            "EARPIECE_AWAY_ALERT_SECONDS", _positive_float("EARPIECE_AWAY_ALERT_SECONDS"), 900.0
        ),
    )
    if loaded.country is None:
        from live.phone import country_of_zone

        loaded = replace(loaded, country=country_of_zone(loaded.timezone))
    if loaded.oidc_issuer and not loaded.oidc_audience:
        raise SettingError(
            "EARPIECE_OIDC_AUDIENCE is not set: the audience (aud) Earpiece's access tokens "
            "carry, required with EARPIECE_OIDC_ISSUER"
        )
    return loaded
