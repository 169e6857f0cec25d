"""A demo run starts on a fresh floor: what the last run's simulated Twilio left is forgotten.

`earpiece demo` starts a new Twilio simulator each run, with a new account: the calls,
workers and queues the last run's simulator had are of a Twilio that no longer exists.
Kept, they showed on the new board as live calls beside the new ones (the same agent on two
calls at once), TaskRouter workers and queues twice, and some minutes later the repair ended
the old calls as "Twilio does not know it", with an end time of that moment, into the
archive (a trial restarted the demo to set the floor's clock, as the demo's banner says to).

So, on its own embedded Redis only (never on a `REDIS_URL`, which may be anyone's), the
demo forgets every key of its namespace but what belongs to people rather than to the
floor: the audit (who did what, kept), supervisors' preferences and their personal API
keys and sign-in identities. The archive (its own file) keeps every call that ended.
"""

from __future__ import annotations

from core.redis_client import AsyncRedis

# What is a person's, not the floor's: kept across runs (each after the namespace's tag).
KEPT = (":audit", ":prefs:", ":apikeys", ":oidc-")
BATCH = 500


async def forget_last_floor(redis: AsyncRedis, namespace: str) -> int:
    """UNLINK the namespace's floor keys; how many went."""
    tag = "{" + namespace + "}"
    pattern = "".join("\\" + ch if ch in "*?[]\\" else ch for ch in tag) + ":*"
    gone = 0
    pending: list[bytes | str] = []
    async for key in redis.scan_iter(match=pattern, count=BATCH):
        name = key.decode() if isinstance(key, bytes) else str(key)
        if name[len(tag) :].startswith(KEPT):
            continue
        pending.append(key)
        if len(pending) >= BATCH:
            gone += int(await redis.unlink(*pending))
            pending = []
    if pending:
        gone += int(await redis.unlink(*pending))
    return gone
