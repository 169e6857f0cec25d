"""Issue 28: the simulator's TaskRouter calls talk. The conference the Conference
instruction makes is subscribed to every event group, `speaker` too, so Twilio sends each
turn's participant-speech-start and -stop; without them Earpiece could not tell silence
(and now shows no dead air where none flow: tests/scenarios/test_who_needs_me.py). With a
transcription running, a routed call's turns are words, as the other traffic's are."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.helpers import Receiver, ServerThread


@contextmanager
def routed_floor(
    receiver: Receiver, seed: int, talk_seconds: tuple[float, float]
) -> Iterator[ServerThread]:
    """The simulator with TaskRouter traffic to one worker, bob, in hurried time (a caller
    a second or so, patient, talking `talk_seconds` of simulated time)."""
    from twilio_sim.app import create_app
    from twilio_sim.config import Endpoint, SimConfig
    from twilio_sim.taskrouter.traffic import TaskRouterTraffic
    from twilio_sim.taskrouter.workspace import WorkspaceConfig

    config = SimConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                       callback_url=receiver.url + "/conference-events",
                       default_endpoint=Endpoint("answer", 0.05), seed=seed)  # fmt: skip
    workspace = WorkspaceConfig(receiver.url + "/taskrouter-events", accept_seconds=0.05,
                                wrapup_seconds=0.1)  # fmt: skip
    traffic = TaskRouterTraffic(calls_per_minute=6.0, time_scale=10.0,
                                talk_seconds=talk_seconds, patience_seconds=(600.0, 900.0),
                                breaks_per_hour_per_agent=0.0)  # fmt: skip
    app = create_app(config, workspace=workspace, workers={"bob": ("sales",)},
                     queue_traffic=traffic)  # fmt: skip
    thread = ServerThread(app, ServerThread.free_port(), None)
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


def test_routed_callers_and_agents_take_speech_turns(receiver: Receiver) -> None:
    with routed_floor(receiver, 5, (20.0, 40.0)):

        def spoken() -> list[dict[str, str]]:
            return [e for e in receiver.events()
                    if e.get("StatusCallbackEvent") == "participant-speech-start"
                    and e.get("FriendlyName", "").startswith("WT")]  # fmt: skip

        receiver.wait_for(lambda: len(spoken()) >= 2, 30)
        said = spoken()
        # Turns come from the call's legs (the caller's and the agent's), signed as Twilio's.
        joined = {e["CallSid"] for e in receiver.events(said[0]["ConferenceSid"])
                  if e.get("StatusCallbackEvent") == "participant-join"}  # fmt: skip
        first = said[0]["ConferenceSid"]
        assert {e["CallSid"] for e in said if e["ConferenceSid"] == first} <= joined
        assert all(r.valid for r in receiver.received)


def test_a_transcribed_routed_call_says_words(receiver: Receiver) -> None:
    """A routed call with a transcription running talks in a dialogue's lines, as the other
    generator's calls do: a trial found every TaskRouter call of a transcribed team archived
    with no words, its speech events alone reaching Earpiece."""
    from core.settings import load
    from core.twilio_client import make_client

    with routed_floor(receiver, 7, (200.0, 300.0)) as thread:

        def routed_joins() -> list[dict[str, str]]:
            return [e for e in receiver.events()
                    if e.get("StatusCallbackEvent") == "participant-join"
                    and e.get("FriendlyName", "").startswith("WT")]  # fmt: skip

        # The caller's join starts the conference (the worker's leg joins first).
        receiver.wait_for(lambda: len(routed_joins()) >= 2, 30)
        caller = routed_joins()[1]["CallSid"]
        # As Earpiece starts one (coach/transcription.py), through the twilio SDK.
        client = make_client(load({"TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                                   "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                                   "TWILIO_API_BASE_URL": thread.url}, env_file=None))  # fmt: skip
        client.calls(caller).transcriptions.create(
            status_callback_url=receiver.url + "/transcripts", track="both_tracks",
            inbound_track_label="customer", outbound_track_label="agent",
        )  # fmt: skip

        def finals() -> list[str]:
            return [json.loads(r.params["TranscriptionData"])["transcript"]
                    for r in receiver.received if r.path.endswith("/transcripts")
                    and r.params.get("Final") == "true"]  # fmt: skip

        receiver.wait_for(lambda: len(finals()) >= 2, 30)
        assert all(text.strip() for text in finals())
        assert all(r.valid for r in receiver.received)
