"""Words for the codes Earpiece keeps (issue 25): live/ and coach/ store codes (an alert's
name, a timeline event, an audit action, a participant's role); the dashboard says them in
the reader's language here, where they are shown. An unknown code is shown as it is."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from babel.lists import format_list

from access.modes import NO_AGENT
from access.signin import WRONG
from coach.actions import MAX_CARD_CHARS
from dashboard import i18n
from dashboard.i18n import N_, _
from live.model import role_of
from live.redact import CARD, DIGITS
from live.roster import Supervisor
from live.timeline import ENDED_REASONS

# A read of the call's words (callbacks/words.py): the audit keeps the credential (`mode`)
# and the endpoint read (`detail`), for the log; the timeline says what was read, in words
# (a trial found "発言を閲覧 (ticket): GET /events/transcript").
READ_VIA = {
    "session": N_("on the dashboard"), "ticket": N_("on the dashboard"),
    "api-key": N_("with an API key"), "oidc": N_("with single sign-on"),
    "service-token": N_("with the service token"),
}  # fmt: skip
READ_WHAT = {
    "GET /events/transcript": N_("the live transcript"),
    "GET /api/conferences/{sid}/transcript": N_("the transcript"),
    "GET /api/conferences/{sid}": N_("the call"),
    "GET /api/history/{sid}": N_("the archived call"),
}  # fmt: skip
READ_ANY = N_("the words")  # (a read the timeline does not name: the floor's, a search's)
ALERTS = {
    "help": N_("asked for help"), "phrase": N_("phrase said"),
    "customer-alone": N_("customer alone"), "agent-alone": N_("agent alone"),
    "duplicate": N_("duplicate conference"), "long-hold": N_("long hold"),
    "dead-air": N_("dead air"), "overtalk": N_("overtalk"), "long-call": N_("long call"),
    "long-wait": N_("long wait"), "routing-stuck": N_("routing stuck"),
    "service-level": N_("service level below target"), "long-wrap-up": N_("long wrap-up"),
    "long-away": N_("long away"),
}  # fmt: skip
STATES = {
    "waiting": N_("waiting"),
    "talking": N_("talking"),
    "hold": N_("hold"),
    "ended": N_("ended"),
    "ringing": N_("ringing"),
}
MODES = {"listen": N_("listen"), "whisper": N_("whisper"), "barge": N_("barge")}
ROLES = {"customer": N_("customer"), "agent": N_("agent"), "supervisor": N_("supervisor")}
SUPERVISOR_ROLES = {"lead": N_("lead"), "manager": N_("manager"), "qa": N_("qa")}

# Timeline events (live/timeline.py's codes), said of the participant.
_EVENTS = {
    "conference-start": N_("the call started"),
    "conference-end": N_("the call ended"),
    "participant-join": N_("{who} joined"),
    "participant-leave": N_("{who} left"),
    "participant-mute": N_("{who} was muted"),
    "participant-unmute": N_("{who} was unmuted"),
    "participant-hold": N_("{who} was put on hold"),
    "participant-unhold": N_("{who} was taken off hold"),
    "announcement-end": N_("an announcement ended"),
    "announcement-fail": N_("an announcement failed"),
    "repaired": N_("Earpiece reconciled the call with Twilio"),
}
_WHISPER_ON = N_("{who} started whispering to the agent")
_WHISPER_OFF = N_("{who} stopped whispering")
_ENDED = {
    "conference-ended-via-api": N_("ended from the API"),
    "participant-with-end-conference-on-exit-left": N_("one set to end the call left"),
    "participant-with-end-conference-on-exit-kicked": N_("one set to end the call was removed"),
    "last-participant-left": N_("the last person left"),
    "last-participant-kicked": N_("the last person was removed"),
}

# Audit actions (coach/, access/, callbacks/ write them; core/audit.py keeps them).
ACTIONS = {
    "join": N_("joined"), "switch": N_("switched mode"), "leave": N_("left"),
    "card": N_("sent a card"), "follow": N_("follows an agent"), "signin": N_("signed in"),
    "help-answered": N_("answered the agent's call for help"),
    "signout": N_("signed out"), "signin-failed": N_("sign-in failed"),
    "signin-locked": N_("sign-in locked"), "review": N_("reviewed"),
    "export": N_("exported"), "playback": N_("played a recording"),
    "end-call": N_("ended the call"), "end": N_("ended the call"),
    "remove-leg": N_("removed a leg"), "complete-task": N_("completed a wrap-up"),
    "agent-activity": N_("set an agent's activity"),
    "agent-activity-after-call": N_("set an agent's activity after the call"),
    "agent-activity-canceled": N_("canceled an agent's waiting change"),
    "transcript-paused": N_("paused the transcript"),
    "transcript-resumed": N_("resumed the transcript"), "phrase-muted": N_("muted a phrase alert"),
    "listen": N_("listened in the browser"),
    "listen-end": N_("stopped listening in the browser"), "words-read": N_("read the words"),
    "api-key-created": N_("created an API key"),
    "api-key-revoked": N_("revoked an API key"), "oidc-unbound": N_("single sign-on unbound"),
}  # fmt: skip


def word(table: dict[str, str], code: object) -> str:
    """`code` in the reader's words, or as it is when the table does not know it."""
    text = str(code or "")
    return _(table[text]) if text in table else text


def listed(items: Iterable[str]) -> str:
    """Items as a list in the reader's language ("A, B and C"; "A、B、C" in Japanese: a
    trial found "フレーズ発言, 無音")."""
    shown = list(items)
    return format_list(shown, locale=i18n.language()) if shown else ""


def alerts(codes: Iterable[str] | None, none: str = "") -> str:
    said = listed(word(ALERTS, c) for c in codes or ())
    return said or none


def who(
    label: str | None,
    agent: Callable[[str], str] | None = None,
    supervisor: Callable[[str], str] | None = None,
) -> str:
    """A participant by its label: "the customer", "agent suzuki", "supervisor mina";
    `agent` names an agent as the page does (reading.agent: "agent 鈴木 一郎 (suzuki)"),
    `supervisor` a supervisor (reading.supervisor: "supervisor 佐々木 春香")."""
    role, ident = role_of(label or None)
    if role == "customer":
        return _("the customer")
    if role == "agent" and ident and agent is not None:
        return f"{word(ROLES, role)} {agent(ident)}"
    if role == "supervisor" and ident and supervisor is not None:
        return f"{word(ROLES, role)} {supervisor(ident)}"
    if role in ("agent", "supervisor") and ident:
        return f"{word(ROLES, role)} {ident}"
    return label or _("a participant")


def timeline(
    event: str,
    label: str | None,
    english: str = "",
    coaching: bool | None = None,
    reason: str | None = None,
    agent: Callable[[str], str] | None = None,
    supervisor: Callable[[str], str] | None = None,
) -> str:
    """One timeline entry in words. An archived entry has no `coaching`/`reason` (the
    archive keeps the English text): both are read from that text then. `agent` and
    `supervisor` name people as the page does (`who`)."""
    named = who(label, agent, supervisor)
    if event == "participant-modify":
        if coaching is None:
            coaching = "started whispering" in english
        return _(_WHISPER_ON if coaching else _WHISPER_OFF).format(who=named)
    if event not in _EVENTS:
        return english or event
    said = _(_EVENTS[event]).format(who=named)
    if event == "conference-end":
        if reason is None:
            reason = next((code for code, text in ENDED_REASONS.items() if text in english), None)
        if reason:
            said += _(" ({reason})").format(reason=word(_ENDED, reason))
    return said


def mode_refusal(who: Supervisor, mode: str, team: str | None, reason: str | None) -> str | None:
    """access/policy.py's refusal of `mode` (decided there, `reason` in English) in the
    reader's words: the same cases, said again (None when it is allowed)."""
    if reason is None:
        return None
    if reason == NO_AGENT:
        return _("nobody to coach: no agent is connected to this call")
    if who.role == "qa" and mode != "listen":
        return _("{name} is QA and may only listen").format(name=who.name)
    if who.role == "lead":
        return _("{name} leads {teams}; this call is {team}").format(
            name=who.name,
            teams=", ".join(who.teams) or _("no team"),
            team=team or _("not on a team"),
        )
    return reason


def run_refusal(who: Supervisor, team: str | None, reason: str | None) -> str | None:
    """access/policy.py `may_run`'s refusal on an agent's controls, in the reader's words."""
    if reason is None:
        return None
    if who.role == "lead":
        return _("{name} leads {teams}; this agent is {team}").format(
            name=who.id,
            teams=", ".join(who.teams) or _("no team"),
            team=team or _("on no team"),
        )
    return _("{name} is {role}: only the team's lead and managers run the floor").format(
        name=who.id, role=word(SUPERVISOR_ROLES, who.role)
    )


# The API's refusals by their code (coach/'s CoachError, access/policy.py's, the API's own):
# the English message names the specifics; another language says what the code means.
ERRORS = {
    "unknown-conference": N_("This call is not on the floor (it may have ended)."),
    "bad-body": N_("Earpiece did not understand the request."),
    "not-allowed": N_("You may not do this on this call."),
    "not-monitoring": N_("You are not on this call."),
    "bad-activity": N_("TaskRouter has no such activity."),
    "conference-ended": N_("The call has ended."),
    "unknown-call": N_("No such call is on the floor."),
    "not-applied": N_("Twilio did not apply the change: try again."),
    "unknown-supervisor": N_("This supervisor is not on the roster."),
    "unknown-agent": N_("This agent is not on the roster."),
    "bad-mode": N_("No such mode."),
    "bad-card": N_("A card is 1 to {chars} characters."),
    "task-moved": N_("The agent's task changed meanwhile: look again."),
    "not-an-agent": N_("That leg is not an agent's."),
    "no-taskrouter": N_("This floor has no TaskRouter Workspace."),
    "no-task": N_("The agent holds no task to complete."),
    "no-customer": N_("No customer is on this call."),
    "no-agent": N_("No agent is on this call."),
    "media-streams-unavailable": N_("Twilio offers Media Streams only in US1, IE1 and AU1."),
    "busy-elsewhere": N_("You are on another call: leave it first."),
    "unknown-leg": N_("That leg is not on this call."),
    # The API's own answers (the dashboard acts through it: dashboard/actions.py).
    "forbidden": N_("You may not do this."),
    "unauthorized": N_("Your session has ended: sign in again."),
    "nothing-pending": N_("No change is waiting for this agent's call."),
    "service-unreachable": N_("The Earpiece service did not answer: try again in a moment."),
}
_TWILIO = N_("Twilio refused the request ({code}).")
SIGNIN = {
    WRONG: N_("Unknown supervisor or wrong password."),
    "Sign-in is busy; try again in a few seconds.": N_(
        "Sign-in is busy; try again in a few seconds."
    ),
}
_LOCKED = N_("Too many failed sign-ins: try again in a moment.")


def error(code: str, message: str) -> str:
    """A refusal of coach/ in the reader's words: in English its own message (it names the
    specifics), in another language what its code means."""
    general = ERRORS.get(code) or (_TWILIO if code.startswith("twilio-") else None)
    if general is None:
        return message
    values = {"code": code.removeprefix("twilio-"), "chars": MAX_CARD_CHARS}
    said = _(general).format(**values)
    return message if said == general.format(**values) else said


def signin(message: str, locked: bool) -> str:
    """access/signin.py's answer in the reader's words (English: as it was written)."""
    general = _LOCKED if locked else SIGNIN.get(message)
    if general is None:
        return message
    said = _(general)
    return message if said == general else said


# What the masking put in place of a number (live/redact.py's markers, kept as they are in
# the archive and on the API), in the reader's words: a trial found "[card number]" in the
# middle of a Japanese line.
MARKERS = {CARD: N_("[card number]"), DIGITS: N_("[digits]")}


def said(text: str) -> str:
    """A transcript line with the masking's markers in the reader's words."""
    for marker, word in MARKERS.items():
        if marker in text:
            text = text.replace(marker, _(word))
    return text
