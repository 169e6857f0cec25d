"""Who an OpenID Connect identity is: the issuer's `sub`, never the changeable `email`.

OpenID Connect Core 1.0, section 5.7 (Claim Stability,
https://openid.net/specs/openid-connect-core-1_0.html#ClaimStability): only `iss` and
`sub` together identify a person for good; an email can change, be reassigned to
someone else, or be unverified. So a person is found by email (EARPIECE_OIDC_CLAIM)
only the *first* time, and only when the provider says it verified it
(`email_verified: true`); Earpiece then binds that issuer's `sub` to the roster
supervisor, in Redis, for good:

- `{ns}:oidc-subject:<sha256(iss, sub)>` -> the supervisor's roster id, and
- `{ns}:oidc-person:<sha256(iss, supervisor)>` -> the `sub` bound to them.

From then on the `sub` alone says who it is: a changed email still maps to the
same supervisor, and another account that later gets that email does not become
them (their `sub` is bound already: refused, and logged). Removing someone from the
roster still locks them out. When the provider gives someone a new account (a new
`sub`), `earpiece oidc-unbind SUPERVISOR` forgets the old binding (audited), and
their next sign-in binds the new one by its verified email. Used by the API's access
tokens (access/oidc.py) and the dashboard's single sign-on (dashboard/sso.py) alike.
Plain Redis keys: no library does this mapping, and it is a few lines.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from core.redis_client import AsyncRedis
from live.roster import Roster, Supervisor

log = logging.getLogger("earpiece.access")

MAX_CLAIM_CHARS = 255


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_CLAIM_CHARS else None


def verified(claims: Mapping[str, Any], claim: str) -> bool:
    """Whether the provider vouches for `claim`: for the email, `email_verified` is true
    (a boolean as OIDC Core 5.1 says; the string "true", as some providers send it)."""
    if claim != "email":
        return True  # a claim the provider issues itself (a username, an employee number)
    flag = claims.get("email_verified")
    return flag is True or flag == "true"


class Identities:
    def __init__(self, redis: AsyncRedis, namespace: str, roster: Roster, claim: str) -> None:
        self.redis = redis
        self.tag = "{" + namespace + "}"
        self.roster = roster
        self.claim = claim
        self.by_claim = {s.email.lower(): s for s in roster.supervisors.values() if s.email}

    def _key(self, kind: str, issuer: str, value: str) -> str:
        digest = hashlib.sha256(f"{issuer}\n{value}".encode()).hexdigest()
        return f"{self.tag}:oidc-{kind}:{digest}"

    async def supervisor(self, claims: Mapping[str, Any]) -> Supervisor | None:
        """The roster supervisor these (verified) claims are, or None."""
        issuer, subject = _text(claims.get("iss")), _text(claims.get("sub"))
        if issuer is None or subject is None:
            return None
        bound: Any = await self.redis.get(self._key("subject", issuer, subject))
        if bound is not None:
            ident = bound.decode() if isinstance(bound, bytes) else str(bound)
            return self.roster.supervisors.get(ident)
        named = _text(claims.get(self.claim))
        if named is None or not verified(claims, self.claim):
            return None
        who = self.by_claim.get(named.strip().lower())
        if who is None:
            return None
        person = self._key("person", issuer, who.id)
        if not await self.redis.set(person, subject, nx=True):
            held: Any = await self.redis.get(person)
            held = held.decode() if isinstance(held, bytes) else held
            if held != subject:
                log.warning(
                    "an OIDC account of %s claims %s's %s, but another account of "
                    "that issuer is %s: refused",
                    issuer,
                    who.id,
                    self.claim,
                    who.id,
                )
                return None
        await self.redis.set(self._key("subject", issuer, subject), who.id)
        log.info("OIDC subject of %s bound to supervisor %s", issuer, who.id)
        return who

    async def unbind(self, issuer: str, supervisor: str) -> bool:
        """Forget which account of `issuer` is `supervisor` (both spellings of the issuer:
        with and without a trailing slash); whether there was one."""
        found = False
        for spelling in {issuer, issuer.rstrip("/"), issuer.rstrip("/") + "/"}:
            person = self._key("person", spelling, supervisor)
            subject: Any = await self.redis.getdel(person)
            if subject is None:
                continue
            subject = subject.decode() if isinstance(subject, bytes) else str(subject)
            await self.redis.delete(self._key("subject", spelling, subject))
            found = True
        return found
