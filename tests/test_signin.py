"""Roster password hashes, signed dashboard sessions, and the commands that make them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from earpiece import sessions
from earpiece.passwords import hash_password, verify_password
from earpiece.roster import load as load_roster
from earpiece.settings import load

ENV = {"TWILIO_AUTH_TOKEN": "a" * 32, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32}
ROSTER = load_roster(None)


def test_password_hashes_verify_and_differ_by_salt() -> None:
    first, second = hash_password("s3cret pass"), hash_password("s3cret pass")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("s3cret pass", first) and verify_password("s3cret pass", second)
    assert not verify_password("s3cret pasS", first)
    for broken in (None, "", "md5$x", "scrypt$1$2", "scrypt$16384$8$1$zz$zz"):
        assert not verify_password("s3cret pass", broken)


def test_a_session_signs_in_its_supervisor_until_it_expires() -> None:
    settings = load(ENV, env_file=None)
    token = sessions.issue(settings, "mina", now=1000.0)
    assert sessions.check(settings, ROSTER, token, now=1001.0).id == "mina"
    with pytest.raises(sessions.BadSession, match="expired"):
        sessions.check(settings, ROSTER, token, now=1000.0 + 12 * 3600 + 1)


def test_a_forged_or_foreign_session_is_refused() -> None:
    settings = load(ENV, env_file=None)
    token = sessions.issue(settings, "quincy")
    _payload, signature = token.split(".")
    # Claiming to be the manager with QA's signature:
    mina = sessions.issue(settings, "mina").split(".")[0]
    with pytest.raises(sessions.BadSession, match="not valid"):
        sessions.check(settings, ROSTER, f"{mina}.{signature}")
    other = load({**ENV, "EARPIECE_SESSION_SECRET": "another secret"}, env_file=None)
    with pytest.raises(sessions.BadSession, match="not valid"):
        sessions.check(other, ROSTER, token)
    for junk in ("", "abc", "a.b.c", "!!.??"):
        with pytest.raises(sessions.BadSession, match="malformed"):
            sessions.check(settings, ROSTER, junk)
    gone = sessions.issue(settings, "nobody")
    with pytest.raises(sessions.BadSession, match="no longer on the roster"):
        sessions.check(settings, ROSTER, gone)


def earpiece(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("REDIS_URL", "TWILIO_", "EARPIECE_", "PUBLIC_"))}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "earpiece.cli", *args], input=stdin, capture_output=True,
        text=True, env={**clean, **env}, timeout=60,
    )  # fmt: skip


def test_hash_password_prints_a_hash_that_verifies() -> None:
    done = earpiece("hash-password", stdin="correct horse battery\n")
    assert done.returncode == 0, done.stderr
    assert verify_password("correct horse battery", done.stdout.strip())
    short = earpiece("hash-password", stdin="short\n")
    assert short.returncode == 1 and "at least 8" in short.stderr


def test_signin_link_names_a_roster_supervisor() -> None:
    done = earpiece("signin-link", "ana", **ENV, EARPIECE_DASHBOARD_URL="http://floor.example:8501")
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert url.startswith("http://floor.example:8501/?session=")
    token = url.split("session=")[1]
    assert sessions.check(load(ENV, env_file=None), ROSTER, token).id == "ana"
    unknown = earpiece("signin-link", "zed", **ENV)
    assert unknown.returncode == 2
    assert unknown.stderr.count("\n") == 1 and "'zed' is not a supervisor" in unknown.stderr


def test_dashboard_without_a_setting_says_which_in_one_line() -> None:
    done = earpiece("dashboard", "--port", "0", TWILIO_ACCOUNT_SID="AC" + "0" * 32)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "TWILIO_AUTH_TOKEN is not set" in done.stderr
    assert "Traceback" not in done.stderr
