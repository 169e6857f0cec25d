"""What a process holds: one of each, made once from the settings.

The callback service reads the floor and acts on calls (`build`: the Redis
client, the live floor, the twilio Client, the coach); the dashboard only
shows (`build_reading`: Redis, the floor, the queues, the archive, the audit,
and no Twilio client at all: it acts through the service's API, issue 24).
Both are made one way here, the service's from the dashboard's parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from archive.archiver import Archiver
from archive.opening import open_store
from archive.store import Store
from coach.actions import Coach
from coach.agent_state import AgentState
from coach.call_control import CallControl
from coach.guard import Guard, GuardPolicy
from coach.media import MediaStreams, media_streams_available
from coach.reconciler import Reconciler
from coach.recording import Recording
from coach.taskrouter_repair import TaskRouterRepair
from coach.transcription import Transcription
from core.audit import Audit
from core.redis_client import AsyncRedis, RedisTarget, async_client
from core.settings import Settings
from core.twilio_calls import TwilioCalls
from core.twilio_client import CONNECTION_OVERRIDES, make_client
from live.late import left_seconds
from live.model import Thresholds
from live.queues import LiveQueues, QueuePolicy
from live.roster import Roster
from live.store import LiveFloor
from live.transcript import Transcripts


@dataclass
class Reading:
    """What a process that shows the floor holds (the dashboard): no Twilio credential."""

    settings: Settings
    target: RedisTarget
    roster: Roster
    redis: AsyncRedis
    floor: LiveFloor
    queues: LiveQueues
    transcripts: Transcripts
    store: Store
    audit: Audit

    async def close(self) -> None:
        await self.store.close()
        await self.redis.aclose()
        if self.target.embedded is not None:
            self.target.embedded.release()


def build_reading(settings: Settings, target: RedisTarget, roster: Roster) -> Reading:
    """Make a showing process's clients (inside its event loop: the Redis pool binds to it)."""
    redis = async_client(target)
    floor = LiveFloor(
        redis,
        namespace=settings.namespace,
        roster=roster,
        thresholds=Thresholds(
            settings.long_hold_seconds,
            settings.long_call_seconds,
            settings.dead_air_seconds,
            settings.overtalk_seconds,
            settings.queue_wait_alert_seconds,
        ),
        feed_maxlen=settings.feed_maxlen,
        history_seconds=settings.history_seconds,
        # A leg that left is found by a late callback until its call is archived and a
        # grace after (live/late.py).
        left_seconds=left_seconds(settings.archive_settle_seconds),
    )
    queues = LiveQueues(
        redis,
        namespace=settings.namespace,
        roster=roster,
        policy=QueuePolicy(
            ZoneInfo(settings.timezone),
            settings.service_level_seconds,
            wait_alert_seconds=settings.queue_wait_alert_seconds,
            stuck_seconds=settings.routing_stuck_seconds,
            service_level_target=settings.service_level_target,
            wrapup_alert_seconds=settings.wrapup_alert_seconds,
            away_alert_seconds=settings.away_alert_seconds,
        ),
        # The Queues page and the wallboard are shared by every reader: callers' numbers
        # there are always masked (access/policy.py sees_full_numbers says why).
        mask=True,
        feed_maxlen=settings.feed_maxlen,
        country=settings.country,
    )
    transcripts = Transcripts(
        redis,
        floor,
        roster,
        feed_maxlen=settings.feed_maxlen,
        keep_seconds=settings.history_seconds,
    )
    audit = Audit(redis, floor.keys, settings.audit_retention_days)
    store = open_store(settings)
    return Reading(settings, target, roster, redis, floor, queues, transcripts, store, audit)


@dataclass
class Services:
    settings: Settings
    target: RedisTarget
    roster: Roster
    redis: AsyncRedis
    floor: LiveFloor
    coach: Coach
    reconciler: Reconciler
    guard: Guard
    queues: LiveQueues
    transcripts: Transcripts
    transcription: Transcription
    recording: Recording
    store: Store
    archiver: Archiver
    media: MediaStreams
    agent_state: AgentState  # issue 27: agents' activities, stuck wrap-ups
    call_control: CallControl  # issue 27: end a call, remove a leg

    @property
    def audit(self) -> Audit:
        return self.coach.audit

    async def close(self) -> None:
        await self.coach.stop()
        await self.transcripts.close()  # its analyser process (live/analyser.py)
        await self.store.close()
        await self.redis.aclose()
        if self.target.embedded is not None:
            self.target.embedded.release()


def build(settings: Settings, target: RedisTarget, roster: Roster) -> Services:
    """Make the process's clients (call inside its event loop: the Redis pool binds to it)."""
    reading = build_reading(settings, target, roster)
    redis, floor, queues = reading.redis, reading.floor, reading.queues
    transcripts, store = reading.transcripts, reading.store
    coach = Coach(
        floor,
        roster,
        TwilioCalls(make_client(settings), retries=settings.twilio_retries),
        reading.audit,
        caller_id=settings.caller_id,
        # With Twilio's connection overrides: without them a call-progress callback that
        # meets a 503 (Redis away) is lost; with them Twilio tries it three more times.
        call_events_url=settings.base_url + "/twilio/call-events" + CONNECTION_OVERRIDES,
        dialing_timeout_seconds=settings.dialing_timeout_seconds,
    )
    reconciler = Reconciler(floor, coach.twilio, coach, settings.reconcile_seconds)
    guard = Guard(
        floor,
        coach.twilio,
        coach.audit,
        GuardPolicy(
            end_orphans=settings.end_orphans,
            orphan_seconds=settings.orphan_seconds,
            end_duplicates=settings.end_duplicates,
            duplicate_seconds=settings.duplicate_seconds,
        ),
    )
    if settings.workspace_sid:

        async def link(task: str) -> None:
            # As the join callback does: an agent newly labelled is told to the coach.
            _, newly, sid = await queues.link(task)
            for _, label in newly:
                if sid and label.startswith("agent:"):
                    coach.agent_identified(sid, label.removeprefix("agent:"))

        reconciler.taskrouter = TaskRouterRepair(
            queues,
            coach.twilio,
            settings.workspace_sid,
            link=link,
            identified=coach.agent_identified,
        )
    recording_events = settings.base_url + "/twilio/recording-events"
    recording = Recording(floor, coach.twilio, roster, status_callback_url=recording_events)
    transcription = Transcription(
        floor,
        transcripts,
        coach.twilio,
        roster,
        coach.audit,
        # Twilio's transcription callbacks take no connection overrides that its pages
        # document; a lost line is a line, and the call's state is the conference's.
        status_callback_url=settings.base_url + "/twilio/transcription-events",
        language=settings.transcription_language,
        grace_seconds=settings.transcription_grace_seconds,
        recording=recording,
    )
    archiver = Archiver(
        floor,
        transcripts,
        coach.audit,
        store,
        roster,
        coach.twilio,
        retention_days=settings.archive_retention_days,
        settle_seconds=settings.archive_settle_seconds,
        country=settings.country,
        team_time=queues.team_time,
    )
    # Listening in the browser (issue 26): the stream's URL is the service's own WebSocket
    # (wss:// of PUBLIC_BASE_URL; callbacks/media_stream.py).
    ws_base = settings.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    media = MediaStreams(
        floor,
        coach.twilio,
        coach.audit,
        ws_base + "/twilio/media-stream",
        grace_seconds=settings.listen_grace_seconds,
        available=media_streams_available(settings.twilio_region),
    )
    agent_state = AgentState(coach.twilio, queues, coach.audit, settings.workspace_sid)
    if settings.workspace_sid:
        # An activity change waiting for an agent's call and wrap-up to end
        # (live/after_call.py) is taken by whichever applied event shows it has ended.
        queues.after_applied = agent_state.after_event
    call_control = CallControl(floor, coach, coach.audit)
    return Services(
        settings,
        target,
        roster,
        redis,
        floor,
        coach,
        reconciler,
        guard,
        queues,
        transcripts,
        transcription,
        recording,
        store,
        archiver,
        media,
        agent_state,
        call_control,
    )
