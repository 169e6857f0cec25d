"""What every page shares: the process's runtime, the signed-in supervisor, the
action buttons and the banners. Rules are asked of access/ and live/; nothing
here decides who may do what: every action goes to the API with the
supervisor's own session (dashboard/actions.py), which decides."""

from __future__ import annotations

import base64
import io
import math
import struct
import time
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import streamlit as st
from streamlit.errors import StreamlitAPIException

from access import cookie_handoff, signin_links
from access.modes import MODES, availability, whisperer
from access.policy import WordsScope
from access.policy import words_scope as policy_words_scope
from access.principal import of_supervisor
from core.settings import SettingError, Settings, load
from dashboard import REQUIRED, heard, session_cookie, sso, words
from dashboard.actions import Acting, Refused
from dashboard.i18n import N_, _
from dashboard.runtime import Runtime, Unavailable, make
from dashboard.text import literal
from live.roster import Supervisor

RETRY_SECONDS = 3.0

# Marked N_: translated where drawn (dashboard/i18n.py).
LABELS = {"listen": N_("Listen"), "whisper": N_("Whisper"), "barge": N_("Barge")}
NOW = {"listen": N_("Listening"), "whisper": N_("Whispering"), "barge": N_("Barging")}
# Material icons ship with Streamlit: no emoji font needed on the supervisor's machine.
ICONS = {
    "listen": ":material/hearing:",
    "whisper": ":material/record_voice_over:",
    "barge": ":material/campaign:",
}
# Keyboard shortcuts of the call controls, drawn on the buttons by Streamlit (issue 28).
# Letters, as Flex's and Genesys's agent desktops use them; "C" and "R" are Streamlit's own.
SHORTCUTS = {"listen": "L", "whisper": "W", "barge": "B", "leave": "X"}
HELP = {
    "listen": N_("Join muted: you hear the call, nobody hears you"),
    "whisper": N_("Only the agent hears you (coaching)"),
    "barge": N_("Everyone on the call hears you"),
}


PAGE_KEY = "earpiece_page"


@dataclass(frozen=True)
class Page:
    settings: Settings
    runtime: Runtime
    who: Supervisor
    session: str | None = None  # the session's key: a stream it opens ends with it
    language: str = "en"  # the reader's (dashboard/i18n.py): their words and their clock
    token: str | None = None  # the session's token: the credential every action is sent with

    @property
    def acting(self) -> Acting:
        """The API's actions, as this supervisor (dashboard/actions.py)."""
        return Acting(self.runtime.api, self.token, self.who.id)


def current() -> Page:
    """The page context app.py set for this run (settings, runtime, signed-in supervisor)."""
    page = st.session_state.get(PAGE_KEY)
    if not isinstance(page, Page):
        st.error(_("Open the dashboard from its start page to sign in."))
        st.stop()
    return page


@st.cache_resource(show_spinner=False)
def _runtime(_settings: Settings, key: str) -> Runtime:
    # `key` (the settings' repr) is what the cache keys on; a failure is not cached,
    # so a Redis that was down at start is tried again on the next run.
    return make(_settings)


def stop_with_error(message: str, retry: bool) -> NoReturn:
    st.error(literal(message), icon=":material/warning:")
    if retry:
        st.caption(_("Trying again every {seconds} s …").format(seconds=f"{RETRY_SECONDS:g}"))
        time.sleep(RETRY_SECONDS)
        st.rerun()
    st.stop()


def settings() -> Settings:
    try:
        loaded = load()
        loaded.require(*REQUIRED)
    except SettingError as exc:
        stop_with_error(str(exc), retry=False)
    return loaded


def runtime(current: Settings) -> Runtime:
    try:
        return _runtime(current, repr(current))
    except (SettingError, Unavailable) as exc:
        stop_with_error(str(exc), retry=True)


# -- sign-in ----------------------------------------------------------------------


def _end_here(message: str | None) -> None:
    state = st.session_state
    for name in ("session_token", "session_key", "session_who"):
        state.pop(name, None)
    state["cookie-forget"] = True
    if message:
        state["signin_error"] = message


def _start(rt: Runtime, who: Supervisor) -> None:
    """Signed in: this page's session now, and a one-time code the browser trades for an
    HttpOnly cookie of its own session (access/cookie_handoff.py), so a reload stays in."""
    token = rt.run(rt.sessions.create(who.id))
    st.session_state["session_token"] = token
    st.session_state["cookie-keep"] = rt.run(
        cookie_handoff.issue(rt.services.redis, rt.settings.namespace, who.id)
    )


def _from_link(rt: Runtime, current: Settings) -> None:
    """`?signin=CODE` (earpiece signin-link, the demo): traded once for a session, and taken
    off the address bar at once, so the URL holds nothing that signs anyone in."""
    code = st.query_params.get("signin")
    st.query_params.pop("signin", None)
    st.query_params.pop("session", None)  # an old-style link: never honoured
    if not code:
        return
    ident = rt.run(signin_links.redeem(rt.services.redis, current.namespace, str(code)))
    who = rt.roster.supervisors.get(ident) if ident else None
    if who is None:
        st.session_state["signin_error"] = _(
            "This sign-in link is used or expired: ask for a new one."
        )
        return
    _start(rt, who)
    rt.run(rt.services.audit.record("signin", who.id, "", detail="one-time link"))


def _from_sso(rt: Runtime, current: Settings) -> Supervisor | None:
    """A supervisor the organisation's provider signed in (st.login), with a session of ours;
    None when nobody is, or the identity is stale (then it is forgotten)."""
    if not sso.configured(current) or not st.user.is_logged_in:
        return None
    # Who it is: the provider's sub, bound once by a verified email (access/oidc_identity.py).
    who = rt.run(rt.identities.supervisor(dict(st.user.to_dict())))
    if who is None:
        # Said on the sign-in form, which offers to sign in with another account.
        st.session_state["signin_error"] = sso.refusal(st.user.to_dict())
        return None
    signed_out = rt.run(rt.sessions.signed_out_at(who.id))
    if not sso.fresh(st.user.get("iat"), signed_out, current.session_hours * 3600):
        st.logout()  # signed out since, or too old: the provider must sign them in again
        return None
    _start(rt, who)
    rt.run(rt.services.audit.record("signin", who.id, "", detail="single sign-on"))
    return who


def signed_in(current: Settings, rt: Runtime) -> Supervisor | None:
    """The supervisor this browser's session belongs to, checked against Redis on every run
    (so a sign-out elsewhere, or the session's maximum age, ends it here too)."""
    state = st.session_state
    _from_link(rt, current)
    if state.pop("cookie-forget", False):
        session_cookie.forget()
        return None
    token = state.get("session_token") or session_cookie.token()
    if not token and _from_sso(rt, current) is not None:
        token = state.get("session_token")
    if not token:
        return None
    try:
        session = rt.run(rt.sessions.check(str(token)))
    except Unavailable as exc:
        # Redis is down: a session this page already checked stays signed in (the pages say
        # Redis is unreachable, and nothing can act meanwhile); a new one must wait.
        known = rt.roster.supervisors.get(state.get("session_who", ""))
        if known is not None and state.get("session_token") == token:
            return known
        stop_with_error(str(exc), retry=True)
    who = rt.roster.supervisors.get(session.supervisor) if session else None
    if session is None or who is None:
        ended = _("Your session has ended: sign in again.")
        _end_here(ended if state.get("session_token") else None)
        if sso.configured(current) and st.user.is_logged_in:
            st.logout()  # the provider's identity must not reopen a session that ended
        return None
    state["session_token"], state["session_key"] = token, session.key
    state["session_who"] = who.id
    code = state.pop("cookie-keep", None)
    if code:
        session_cookie.keep(str(code))
    return who


def client_address() -> str:
    """The browser's address as the server resolved it: the connection's peer, or the client
    a proxy of EARPIECE_TRUSTED_PROXIES names (uvicorn applies the setting: `earpiece
    dashboard` passes it as FORWARDED_ALLOW_IPS). Never a header as the browser sent it.
    Streamlit says None for a loopback peer."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else "127.0.0.1"


def sign_in_form(current: Settings, rt: Runtime) -> Supervisor | None:
    """The sign-in form; the supervisor once they signed in (the form is then gone)."""
    place = st.empty()
    with place.container():
        st.title("Earpiece")
        st.subheader(_("Sign in"))
        error = st.session_state.pop("signin_error", None)
        if error:
            st.error(literal(error))
        if current.demo and not any(s.password_hash for s in rt.roster.supervisors.values()):
            # Issue 28: after Sign out the demo asked for a password nobody has.
            people = ", ".join(f"`{s.id}` ({s.role})" for s in rt.roster.supervisors.values())
            st.info(
                _(
                    "This is the demo: its supervisors sign in by link, with no password. In "
                    "a terminal, in the demo's folder, run `earpiece signin-link ID` and open "
                    "the link it prints. The demo's supervisors: {people}."
                ).format(people=people),
                icon=":material/link:",
            )
        elif not any(s.password_hash for s in rt.roster.supervisors.values()):
            st.info(
                _(
                    "No supervisor on this roster has a password yet: add `password_hash` "
                    "(from `earpiece hash-password`) to the roster, or open a link from "
                    "`earpiece signin-link SUPERVISOR`."
                )
            )
        if sso.configured(current):
            if st.user.is_logged_in:  # signed in at the provider, but not anyone we know
                if st.button(_("Use another account"), icon=":material/switch_account:"):
                    st.logout()
            elif st.button(
                _("Sign in with single sign-on"), type="primary", icon=":material/key:", key="sso"
            ):
                st.login()
        with st.form("signin"):
            ident = st.text_input(_("Supervisor ID"), key="signin_id", max_chars=64)
            password = st.text_input(
                _("Password"), type="password", key="signin_password", max_chars=1024
            )
            if not st.form_submit_button(_("Sign in"), type="primary"):
                return None
            outcome = rt.run(rt.signin.attempt(ident, password, client_address()), timeout=30)
            if outcome.who is None:
                st.error(words.signin(outcome.message, outcome.locked))
                return None
    place.empty()
    _start(rt, outcome.who)
    return signed_in(current, rt)


def still_signed_in(page: Page) -> None:
    """For a fragment's own rerun (which skips app.py's check): a session that ended (signed
    out in another browser, or past its maximum age) takes the whole page back to sign-in."""
    if page.session is None:
        return
    try:
        alive = page.runtime.run(page.runtime.sessions.alive(page.session))
    except Unavailable:
        return  # the page says Redis is down; checked again on the next run
    if not alive:
        _end_here(_("Your session has ended: sign in again."))
        st.rerun(scope="app")


def sign_out(rt: Runtime, who: Supervisor) -> NoReturn:
    """End every session of `who`, in every browser, and forget this one's cookie."""
    rt.run(rt.sessions.end_all(who.id))
    rt.run(rt.services.audit.record("signout", who.id, ""))
    _end_here(None)
    if sso.configured(rt.settings) and st.user.is_logged_in:
        # The provider's identity goes too. st.logout only queues the browser's redirect:
        # stop here, since a rerun would drop it.
        st.logout()
        st.stop()
    st.rerun()


# -- actions ----------------------------------------------------------------------


def own_monitor(conference: Mapping[str, Any], ident: str) -> Mapping[str, Any] | None:
    for monitor in conference.get("monitors") or ():
        if monitor.get("supervisor") == ident:
            return dict(monitor)
    return None


# How long an action's outcome stays up: through the reruns the action itself causes (a
# join redraws the floor at once, which took a message away after 0.1 s: issue 28).
FLASH_SECONDS = 6.0


def flash(kind: str, message: str, place: str = "page") -> None:
    """The outcome of an action, shown where `place` shows it (the page's controls by
    default, or beside the form that was used) for FLASH_SECONDS of runs: one way to show
    a message, where the eye is (issue 28). Its time starts when it is first shown: a run
    that comes late (a loaded machine, a slow answer from Twilio) still shows it."""
    st.session_state["flash"] = (kind, message, place, None)


def show_flash(place: str = "page") -> None:
    held = st.session_state.get("flash")
    if not held or (held[2] if len(held) > 2 else "page") != place:
        return
    until = held[3] if len(held) > 3 else None
    if until is None:
        st.session_state["flash"] = (*held[:3], time.monotonic() + FLASH_SECONDS)
    elif time.monotonic() > until:
        st.session_state.pop("flash", None)
        return
    kind, message = held[:2]
    if kind == "error":
        st.error(literal(message), icon=":material/warning:")
    elif kind == "success":
        st.success(literal(message))


def act(page: Page, done: str, work: Callable[[], Any], whole: bool = False) -> None:
    """Send one action to the API (`work`, a call of `page.acting`); its outcome shows on the
    next run, as a message: the API's refusal in the reader's words. `whole`: the next run
    redraws the whole page (the action changed something outside the live part too)."""
    try:
        work()
    except Refused as exc:
        flash("error", words.error(exc.code, exc.message))
    else:
        flash("success", done)
    page.runtime.forget_snapshot()
    if whole:
        st.rerun()
    try:
        # Redraw just the live part with the action's effect; a full run
        # (a click outside a fragment's own rerun) redraws the page instead.
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def mode_buttons(
    page: Page, conference: Mapping[str, Any], key: str, shortcuts: bool = False
) -> None:
    """Listen / Whisper / Barge / Leave for one call, as the signed-in role allows; with
    `shortcuts`, each also on its key (one set of controls a page may have them)."""
    who, sid = page.who, str(conference["sid"])
    mine = own_monitor(conference, who.id)
    modes = availability(who, conference)
    other = whisperer(conference, who.id)
    agent = conference.get("agent") or _("this call")
    columns = st.columns(len(MODES) + 1)
    for column, mode in zip(columns, MODES, strict=False):
        reason = words.mode_refusal(who, mode, conference.get("team"), modes[mode])
        current = mine is not None and mine.get("mode") == mode
        takeover = mode == "whisper" and other is not None and reason is None
        label = _(LABELS[mode])
        if takeover:
            label = _("{mode} (take over from {supervisor})").format(
                mode=label, supervisor=literal(other)
            )
        if current:
            label = _(NOW[mode])
        if reason is not None:
            column.button(
                label,
                key=f"{key}-{mode}",
                disabled=True,
                help=reason,
                icon=ICONS[mode],
                width="stretch",
            )
            continue
        # The mode you are in is drawn active (primary, enabled), not as a disabled button;
        # choosing it again changes nothing.
        clicked = column.button(
            label,
            key=f"{key}-{mode}",
            width="stretch",
            icon=ICONS[mode],
            type="primary" if current else "secondary",
            help=_("your current mode") if current else _(HELP[mode]),
            shortcut=SHORTCUTS[mode] if shortcuts else None,
        )
        if clicked and not current:
            act(
                page,
                done_message(mode, mine is not None, agent),
                switch_or_join(page, sid, mode, takeover, joined=mine is not None),
            )
    # Leave takes you off the call however you are on it: your phone leg, and the browser
    # player if it plays this call (a trial found Leave greyed out, "you are not on this
    # call", while the supervisor heard it in the browser).
    in_browser = heard.hears(sid)
    if mine and in_browser:
        leave_help = _("Hang up your leg and stop hearing this call in the browser")
    elif mine:
        leave_help = _("Hang up your leg")
    elif in_browser:
        leave_help = _("Stop hearing this call in the browser")
    else:
        leave_help = _("you are not on this call")
    on_call = mine is not None or in_browser
    if columns[-1].button(
        _("Leave"),
        key=f"{key}-leave",
        disabled=not on_call,
        width="stretch",
        help=leave_help,
        icon=":material/call_end:",
        shortcut=SHORTCUTS["leave"] if shortcuts and on_call else None,
    ):
        if in_browser:
            heard.stop(sid)  # the player is redrawn without it: the whole page reruns
        if mine is None:
            flash("success", _("Stopped hearing {agent} in the browser").format(agent=agent))
            st.rerun()
        done = _("Left {agent}").format(agent=agent)
        act(page, done, lambda: page.acting.leave(sid), whole=in_browser)


# Whole sentences per mode: a translation cannot be pieced together from a mode's name.
SWITCHED = {
    "listen": N_("Switched to listen on {agent}"),
    "whisper": N_("Switched to whisper on {agent}"),
    "barge": N_("Switched to barge on {agent}"),
}
JOINING = {
    "listen": N_("Joining {agent} to listen: your phone rings, you join muted"),
    "whisper": N_("Joining {agent} to whisper: your phone rings, you join muted"),
    "barge": N_("Joining {agent} to barge: your phone rings, you join muted"),
}
RINGING = {
    "listen": N_("Your phone is ringing: you join **muted**; listen starts when you answer."),
    "whisper": N_("Your phone is ringing: you join **muted**; whisper starts when you answer."),
    "barge": N_("Your phone is ringing: you join **muted**; barge starts when you answer."),
}


def done_message(mode: str, joined: bool, agent: str) -> str:
    if joined:
        return _(SWITCHED[mode]).format(agent=agent)
    return _(JOINING[mode]).format(agent=agent)


def switch_or_join(
    page: Page, sid: str, mode: str, takeover: bool, *, joined: bool
) -> Callable[[], Any]:
    acting = page.acting
    if joined:
        return lambda: acting.switch(sid, mode, takeover)
    return lambda: acting.join(sid, mode, takeover)


def mic_banner(conference: Mapping[str, Any], ident: str) -> None:
    """Whether the supervisor can be heard on this call, said so it cannot be missed."""
    mine = own_monitor(conference, ident)
    if mine is None:
        return
    mode, dialing = mine.get("mode"), mine.get("status") != "connected"
    agent = literal(conference.get("agent") or _("the agent"))
    if dialing:
        st.warning(
            _(RINGING.get(str(mode), RINGING["listen"])),
            icon=":material/ring_volume:",
        )
    elif mode == "whisper":
        st.error(
            _("**Your microphone is live**: whisper, only {agent} hears you.").format(agent=agent),
            icon=":material/mic:",
        )
    elif mode == "barge":
        st.error(
            _("**Your microphone is live**: barge, everyone on the call hears you."),
            icon=":material/mic:",
        )
    else:
        st.info(
            _("You are listening, muted: nobody on the call hears you."),
            icon=":material/mic_off:",
        )
    if not dialing and conference.get("state") == "waiting":
        # Supervisor legs never start a conference (coach/actions.py): on a call nobody has
        # answered yet the supervisor waits with the caller, as Twilio plays it.
        st.info(
            _(
                "This call has not started: nobody is with the customer yet. You hear the "
                "wait music with them until an agent joins, and nobody hears you until then."
            ),
            icon=":material/hourglass_top:",
        )
    if mine.get("note"):
        st.caption(_("Note: {note}").format(note=literal(mine["note"])))


def _beep() -> str:
    """A short two-tone chime as a WAV data URI (made here: no asset to ship)."""
    rate = 16_000
    frames = bytearray()
    for freq, seconds in ((880, 0.12), (1320, 0.18)):
        for n in range(int(rate * seconds)):
            fade = min(1.0, (int(rate * seconds) - n) / 400)
            frames += struct.pack("<h", int(9000 * fade * math.sin(2 * math.pi * freq * n / rate)))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return "data:audio/wav;base64," + base64.b64encode(out.getvalue()).decode()


CHIME = _beep()


def words_scope(page: Page) -> WordsScope:
    """Whose calls' words the signed-in supervisor may read: those they may listen to."""
    return policy_words_scope(of_supervisor(page.who, "session", page.session))


def phrase_text(cue: Mapping[str, Any]) -> str:
    """A phrase alert's phrase as text, or only that one fired, on a call whose words the
    reader may not have (live/words.py: the phrase is null there)."""
    phrase = cue.get("phrase")
    return _("“{phrase}”").format(phrase=literal(phrase)) if phrase else _("A phrase alert")
