"""The dashboard's one way to act (issue 24): the callback service's JSON API, with the
signed-in supervisor's own session as the credential (`Authorization: Session <token>`),
like any other client.

The service decides who may (access/policy.py, coach/), audits under the supervisor's
name, and talks to Twilio; this process holds no Twilio credential and no copy of those
rules to enforce (the pages still grey out what access/modes.py says is not theirs). A
refusal comes back as `Refused` with the API's status, code and message, which
dashboard/words.py says in the reader's words, as it said coach/'s refusals before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from core import tls

# A join waits for Twilio's participant create and its check (core/twilio_calls.py retries a
# 429 with backoff): the service answers well within this, or says why.
TIMEOUT_SECONDS = 20.0
SCHEME = "Session"  # callbacks/auth.py: a dashboard session as a credential


class Refused(Exception):
    """The API refused the action (or could not be reached): `code` and `message` as the
    API's error answer gave them."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _segment(value: str) -> str:
    return quote(value, safe="")


class Service:
    """The process's one HTTP client of the API (a connection pool every session's script
    thread shares; httpx's client is safe to share between threads)."""

    def __init__(self, base_url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            headers={"User-Agent": "earpiece-dashboard"},
            verify=tls.context(),
        )

    def close(self) -> None:
        self._http.close()

    def request(
        self, token: str | None, method: str, path: str, body: Any = None, *, text: bool = False
    ) -> Any:
        """The API's answer to one request made with the session `token`: its JSON (None for
        204), or with `text` its body as text (a CSV)."""
        if not token:
            raise Refused(401, "unauthorized", "no session: sign in again")
        try:
            response = self._http.request(
                method, path, json=body, headers={"Authorization": f"{SCHEME} {token}"}
            )
        except httpx.HTTPError as exc:
            raise Refused(
                503,
                "service-unreachable",
                f"the Earpiece service at {self.base_url} did not answer ({type(exc).__name__})",
            ) from None
        if response.status_code >= 400:
            raise refusal(response)
        if text:
            return response.text
        return response.json() if response.content else None


def refusal(response: httpx.Response) -> Refused:
    """The API's error answer (`{"error": {"code", "message"}}`) as a `Refused`."""
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = (
            f"http-{response.status_code}",
            response.text[:200] or response.reason_phrase,
        )
    return Refused(response.status_code, code, message)


@dataclass(frozen=True)
class Acting:
    """The API's actions, as the supervisor `who` whose session `token` is."""

    service: Service
    token: str | None
    who: str

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        return self.service.request(self.token, method, path, body)

    # -- listen, whisper, barge (callbacks/monitors.py) ----------------------------------

    def join(self, sid: str, mode: str, takeover: bool = False) -> Any:
        body = {"mode": mode, "takeover": takeover}
        return self._call("POST", f"/api/conferences/{_segment(sid)}/monitors", body)

    def switch(self, sid: str, mode: str, takeover: bool = False) -> Any:
        path = f"/api/conferences/{_segment(sid)}/monitors/{_segment(self.who)}"
        return self._call("PATCH", path, {"mode": mode, "takeover": takeover})

    def leave(self, sid: str) -> None:
        self._call("DELETE", f"/api/conferences/{_segment(sid)}/monitors/{_segment(self.who)}")

    # -- cards and follow (callbacks/assist.py) ------------------------------------------

    def send_card(self, call_sid: str, text: str) -> Any:
        return self._call("POST", f"/api/calls/{_segment(call_sid)}/cards", {"text": text})

    def follow(self, agent: str | None) -> None:
        path = f"/api/supervisors/{_segment(self.who)}/follow"
        if agent is None:
            self._call("DELETE", path)
        else:
            self._call("PUT", path, {"agent": agent})

    # -- the live transcript (callbacks/transcripts.py) ----------------------------------

    def pause_transcript(self, sid: str) -> Any:
        return self._call("POST", f"/api/conferences/{_segment(sid)}/transcript/pause")

    def resume_transcript(self, sid: str) -> Any:
        return self._call("DELETE", f"/api/conferences/{_segment(sid)}/transcript/pause")

    def mute_phrases(self, sid: str) -> Any:
        return self._call("POST", f"/api/conferences/{_segment(sid)}/phrases/mute")

    # -- the archive (callbacks/history_api.py) -----------------------------------------

    def review(self, sid: str, score: float, notes: str, criteria: dict[str, bool | None]) -> Any:
        """Save the supervisor's review of an ended call (saving again edits it)."""
        body = {"score": score, "notes": notes, "criteria": criteria}
        return self._call("POST", f"/api/history/{_segment(sid)}/reviews", body)

    def reviews_csv(self) -> str:
        """Every review this supervisor may read as CSV (a lead: their teams); the service
        audits the export."""
        return str(self.service.request(self.token, "GET", "/api/reviews.csv", text=True))

    # -- running the floor (callbacks/floor_ops.py) --------------------------------------

    def activities(self) -> list[str]:
        """The Workspace's activity names (TaskRouter's, read by the service)."""
        answer = self._call("GET", "/api/activities")
        return [str(a["name"]) for a in answer.get("activities") or ()]

    def set_activity(self, agent: str, activity: str, when: str, reason: str | None) -> Any:
        body = {"activity": activity, "when": when, "reason": reason or None}
        return self._call("PUT", f"/api/agents/{_segment(agent)}/activity", body)

    def cancel_pending(self, agent: str) -> None:
        self._call("DELETE", f"/api/agents/{_segment(agent)}/activity/pending")

    def complete_wrap_up(self, agent: str, reason: str, task_sid: str | None) -> Any:
        body = {"reason": reason, "task_sid": task_sid}
        return self._call("POST", f"/api/agents/{_segment(agent)}/wrap-up/complete", body)

    def end_call(self, sid: str) -> Any:
        return self._call("POST", f"/api/conferences/{_segment(sid)}/end", {"confirm": True})

    def remove_leg(self, sid: str, call_sid: str) -> Any:
        path = f"/api/conferences/{_segment(sid)}/participants/{_segment(call_sid)}"
        return self._call("DELETE", path)
