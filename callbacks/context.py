"""What one callback-service process holds: its settings and its one of each client."""

from __future__ import annotations

from dataclasses import dataclass

from access.liveness import Liveness
from access.oidc import OidcVerifier
from access.sessions import SessionStore
from archive.store import Store
from callbacks.shares import Shares
from callbacks.signature import SignatureChecker
from coach.actions import Coach
from coach.agent_state import AgentState
from coach.call_control import CallControl
from coach.recording import Recording
from coach.transcription import Transcription
from core.redis_client import AsyncRedis
from core.settings import Settings
from live.board_hub import BoardHub
from live.feed import FeedHub
from live.queues import LiveQueues
from live.roster import Roster
from live.store import LiveFloor
from live.transcript import Transcripts


@dataclass
class Context:
    settings: Settings
    redis: AsyncRedis
    floor: LiveFloor
    hub: FeedHub
    board: BoardHub
    signature: SignatureChecker
    coach: Coach
    queues: LiveQueues
    roster: Roster
    transcripts: Transcripts
    transcription: Transcription
    recording: Recording
    store: Store
    liveness: Liveness
    shares: Shares
    oidc: OidcVerifier | None = None  # with EARPIECE_OIDC_ISSUER
    agent_state: AgentState | None = None  # issue 27 (earpiece/services.py builds it)
    call_control: CallControl | None = None
    # Dashboard sessions as a credential (`Authorization: Session …`), with
    # EARPIECE_SESSION_SECRET: the dashboard acts through the API with its supervisor's.
    sessions: SessionStore | None = None
