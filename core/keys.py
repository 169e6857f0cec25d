"""Redis key layout of one floor.

Every key of a floor carries the same hash tag, `{<namespace>}`, so that one
Lua script may touch the conference, the live index and the change feed in a
Redis Cluster: they all live in one hash slot. One floor (one Twilio account's
contact center: thousands of live calls, not millions) fits one shard with
room to spare; several floors (namespaces) spread over a cluster's masters.
The change feed needs a single total order for `Last-Event-ID` resumption,
which a single slot gives for free.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    namespace: str

    @property
    def tag(self) -> str:
        return "{" + self.namespace + "}"

    def conference(self, sid: str) -> str:
        """The conference document (JSON), kept for history after the end."""
        return f"{self.tag}:conf:{sid}"

    def seen(self, sid: str) -> str:
        """A bitmap of the SequenceNumbers already applied to a conference."""
        return f"{self.tag}:seen:{sid}"

    def tokens(self, sid: str) -> str:
        """The I-Twilio-Idempotency-Tokens already taken for a conference."""
        return f"{self.tag}:idem:{sid}"

    def timeline(self, sid: str) -> str:
        """A conference's events for the call page: a capped list, in arrival order."""
        return f"{self.tag}:tl:{sid}"

    def transcript_index(self, sid: str) -> str:
        """A call's final transcript lines in time order (sorted set of line ids)."""
        return f"{self.tag}:txi:{sid}"

    def transcript_lines(self, sid: str) -> str:
        """A call's final transcript lines (hash line id -> line JSON, masked)."""
        return f"{self.tag}:txl:{sid}"

    def transcript_registers(self, sid: str) -> str:
        """A call's transcript registers: newest final and partial per track, card context."""
        return f"{self.tag}:txr:{sid}"

    @property
    def viewers_all(self) -> str:
        """Calls whose page is open (a transcript stream): hash ConferenceSid -> until (ms)."""
        return f"{self.tag}:viewers"

    @property
    def ended(self) -> str:
        """Ended conferences not yet archived: sorted set SID -> end (ms)."""
        return f"{self.tag}:ended"

    @property
    def left(self) -> str:
        """Hash CallSid -> "<ConferenceSid> <label>" of legs that left or whose call ended: a
        late callback still finds its call (live/late.py says for how long)."""
        return f"{self.tag}:left"

    @property
    def left_until(self) -> str:
        """Sorted set CallSid -> until when (ms) `left` keeps it (pruned as calls end)."""
        return f"{self.tag}:left:until"

    def sealed(self, sid: str) -> str:
        """Set by the archiver before it reads an ended call: what lands after goes to `late`."""
        return f"{self.tag}:sealed:{sid}"

    @property
    def late(self) -> str:
        """List of changes to calls already archived (a late line, a recording's last state),
        JSON, oldest first: the archiver writes them into the archive's records."""
        return f"{self.tag}:late"

    def raised(self, sid: str) -> str:
        """Every alert a live call had at some moment (a set): the archive keeps them."""
        return f"{self.tag}:raised:{sid}"

    def recordings(self, sid: str) -> str:
        """A call's recordings: hash RecordingSid -> JSON (status callbacks, coach)."""
        return f"{self.tag}:rec:{sid}"

    @property
    def recording_index(self) -> str:
        """Hash RecordingSid -> ConferenceSid: a recording's callbacks find their call after
        its legs have left the floor (live/recordings.py)."""
        return f"{self.tag}:recidx"

    @property
    def recording_index_until(self) -> str:
        """Sorted set RecordingSid -> until when (ms) `recording_index` keeps it (pruned as
        recordings change), as long as the call's own recordings are kept."""
        return f"{self.tag}:recidx:until"

    @property
    def history(self) -> str:
        """Stream of samples of the live calls per team (the dashboard's chart)."""
        return f"{self.tag}:history"

    def history_bucket(self, bucket: int) -> str:
        """Taken by the one process that samples a given time bucket."""
        return f"{self.tag}:sampled:{bucket}"

    def lock(self, name: str) -> str:
        """A lock one process takes for a period's job (reconcile, guard)."""
        return f"{self.tag}:lock:{name}"

    def ending(self, sid: str) -> str:
        """Claimed by the one process that ends a conference (orphan or duplicate guard)."""
        return f"{self.tag}:ending:{sid}"

    @property
    def alerts(self) -> str:
        """Hash ConferenceSid -> the alerts it was last announced with (the alert ticker)."""
        return f"{self.tag}:alerts"

    @property
    def follows(self) -> str:
        """Hash supervisor -> agent whose next calls they join in listen mode."""
        return f"{self.tag}:follows"

    @property
    def live(self) -> str:
        """Sorted set of live conference SIDs, scored by start time (ms)."""
        return f"{self.tag}:live"

    @property
    def calls(self) -> str:
        """Hash CallSid -> ConferenceSid for every participant of a live conference."""
        return f"{self.tag}:calls"

    @property
    def supervisors(self) -> str:
        """Hash supervisor -> ConferenceSid they monitor (one call at a time)."""
        return f"{self.tag}:supervisors"

    @property
    def legs(self) -> str:
        """Hash supervisor leg CallSid -> "<supervisor> <ConferenceSid>"."""
        return f"{self.tag}:legs"

    @property
    def dialing(self) -> str:
        """Sorted set of supervisor legs still dialing, by when they started (ms)."""
        return f"{self.tag}:dialing"

    @property
    def audit(self) -> str:
        """Stream of every supervisor join, mode switch and leave."""
        return f"{self.tag}:audit"

    def audit_of(self, sid: str) -> str:
        """List of the audit stream's ids about one conference (core/audit.py's index)."""
        return f"{self.tag}:audit:cf:{sid}"

    @property
    def audit_indexed(self) -> str:
        """When (ms) the audit began to be indexed by conference: reads from then on trust it."""
        return f"{self.tag}:audit:indexed"

    @property
    def feed(self) -> str:
        """The change feed: a bounded Stream of every change that took effect."""
        return f"{self.tag}:feed"
