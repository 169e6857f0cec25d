"""Every personal API key made is in the audit: by `earpiece api-key create` and by the
demo alike (a newcomer found the demo's key for its manager missing from the audit the
README says keys are in). The entry says whose key it is and its id, never the key."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from access import api_keys
from access.principal import AGENT, SUPERVISOR
from core.audit import Audit, AuditFilter
from core.keys import Keys
from core.redis_client import RedisTarget, async_client
from live.roster import load as load_roster
from tests.conftest import DEMO_ROSTER


def test_a_key_made_for_a_supervisor_or_an_agent_is_audited_without_the_key(
    redis_target: RedisTarget,
) -> None:
    async def run() -> None:
        redis = async_client(redis_target)
        namespace = "k" + uuid.uuid4().hex[:10]
        audit = Audit(redis, Keys(namespace), 30)
        roster = load_roster(Path(DEMO_ROSTER))
        try:
            key, key_id = await api_keys.create(
                redis, audit, namespace, roster, "mina", SUPERVISOR, "earpiece demo"
            )
            agent_key, agent_key_id = await api_keys.create(
                redis, audit, namespace, roster, "bob", AGENT
            )
            made = await audit.entries(AuditFilter())
            assert [(e["action"], e["supervisor"], e["agent"], e["detail"]) for e in made] == [
                ("api-key-created", "", "bob", f"agent key {agent_key_id}"),
                ("api-key-created", "mina", "", f"supervisor key {key_id}"),
            ]
            assert not any(k in str(e) for e in made for k in (key, agent_key))
            # ...and the keys work: the store holds them as created.
            owners = {r.owner for r in await api_keys.listing(redis, namespace)}
            assert owners == {"mina", "bob"}
        finally:
            await redis.aclose()

    asyncio.run(run())
