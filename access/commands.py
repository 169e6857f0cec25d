"""`earpiece api-key create|list|revoke`, `earpiece signin-link` and `earpiece oidc-unbind`:
credentials made (or unbound) on the command line, on the same Redis as the service, each
one audited."""

from __future__ import annotations

import argparse
import asyncio

from access import api_keys, signin_links
from access.oidc_identity import Identities
from access.principal import AGENT, SUPERVISOR
from core.audit import Audit
from core.demo_env import load_beside_demo
from core.keys import Keys
from core.redis_client import async_client, resolve
from core.settings import SettingError
from core.terminal_columns import pad
from live import roster as roster_module


async def _keys(args: argparse.Namespace) -> int:
    settings = load_beside_demo()
    roster = roster_module.for_settings(settings)
    target = resolve(settings)
    redis = async_client(target, max_connections=2)
    audit = Audit(redis, Keys(settings.namespace), settings.audit_retention_days)
    try:
        if args.action == "create":
            kind = AGENT if args.agent else SUPERVISOR
            try:
                key, key_id = await api_keys.create(
                    redis, audit, settings.namespace, roster, args.owner, kind, args.label or ""
                )
            except api_keys.NoSuchOwner as exc:
                raise SettingError(str(exc)) from None
            print(key)
            print(
                f"(key {key_id} for {kind} {args.owner}: shown once, stored hashed; "
                f"revoke with `earpiece api-key revoke {key_id}`)",
                flush=True,
            )
        elif args.action == "list":
            for record in await api_keys.listing(redis, settings.namespace):
                j = record.json()
                owner = pad(j["owner"], 16)
                print(f"{j['id']}  {j['kind']:<10}  {owner}  {j['created_at']}  {j['label']}")
        else:
            gone = await api_keys.revoke(redis, settings.namespace, args.owner)
            if not gone:
                raise SettingError(f"no API key has the id or owner {args.owner!r}")
            for record in gone:
                await audit.record(
                    "api-key-revoked",
                    record.owner if record.kind == SUPERVISOR else "",
                    "",
                    agent=record.owner if record.kind == AGENT else "",
                    detail=f"{record.kind} key {record.key_id}",
                )
                print(f"revoked {record.key_id} ({record.kind} {record.owner})")
        return 0
    finally:
        await redis.aclose()
        if target.embedded is not None:
            target.embedded.release()


def api_key(args: argparse.Namespace) -> int:
    return asyncio.run(_keys(args))


async def _link(args: argparse.Namespace) -> int:
    settings = load_beside_demo()
    roster = roster_module.for_settings(settings)
    if args.supervisor not in roster.supervisors:
        known = ", ".join(sorted(roster.supervisors)) or "none"
        raise SettingError(
            f"{args.supervisor!r} is not a supervisor in the roster (known: {known})"
        )
    target = resolve(settings)
    redis = async_client(target, max_connections=2)
    try:
        print(await signin_links.link(redis, settings, args.supervisor))
    finally:
        await redis.aclose()
        if target.embedded is not None:
            target.embedded.release()
    return 0


def signin_link(args: argparse.Namespace) -> int:
    return asyncio.run(_link(args))


async def _unbind(args: argparse.Namespace) -> int:
    settings = load_beside_demo()
    if not settings.oidc_issuer:
        raise SettingError("EARPIECE_OIDC_ISSUER is not set: there is no OIDC binding to forget")
    roster = roster_module.for_settings(settings)
    target = resolve(settings)
    redis = async_client(target, max_connections=2)
    try:
        identities = Identities(redis, settings.namespace, roster, settings.oidc_claim)
        if not await identities.unbind(settings.oidc_issuer, args.supervisor):
            raise SettingError(
                f"no account of {settings.oidc_issuer} is bound to {args.supervisor!r}"
            )
        audit = Audit(redis, Keys(settings.namespace), settings.audit_retention_days)
        await audit.record("oidc-unbound", args.supervisor, "", detail=settings.oidc_issuer)
        print(
            f"{args.supervisor}: the binding to an account of {settings.oidc_issuer} is "
            "forgotten; their next sign-in binds one by its verified email"
        )
    finally:
        await redis.aclose()
        if target.embedded is not None:
            target.embedded.release()
    return 0


def oidc_unbind(args: argparse.Namespace) -> int:
    return asyncio.run(_unbind(args))


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("api-key", help="personal API keys: create (shown once), list, revoke")
    keys.add_argument("action", choices=("create", "list", "revoke"))
    keys.add_argument(
        "owner",
        nargs="?",
        default="",
        help="create: the roster supervisor (or --agent) it is for; "
        "revoke: a key id, or an owner to revoke all of theirs",
    )
    keys.add_argument("--agent", action="store_true", help="a key for an agent's softphone")
    keys.add_argument("--label", default="", help="what the key is for (shown by list)")
    keys.set_defaults(run=_checked_keys)
    link = sub.add_parser(
        "signin-link", help="print a one-time link that signs a supervisor in to the dashboard"
    )
    link.add_argument("supervisor")
    link.set_defaults(run=signin_link)
    unbind = sub.add_parser(
        "oidc-unbind",
        help="forget which account of the OIDC issuer a supervisor is (after the provider "
        "gave them a new one)",
    )
    unbind.add_argument("supervisor")
    unbind.set_defaults(run=oidc_unbind)


def _checked_keys(args: argparse.Namespace) -> int:
    if args.action != "list" and not args.owner:
        raise SettingError(f"earpiece api-key {args.action} needs the owner (or a key id)")
    return api_key(args)
