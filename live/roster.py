"""The roster: teams, their agents, and the supervisors with their roles.

Read once from EARPIECE_ROSTER (TOML, see CONTRACT.md); with no roster set,
the demo roster shipped with the package is used, so that a fresh install
shows a believable floor.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from core.languages import DEFAULT_LANGUAGE, is_offered
from core.settings import SettingError, Settings
from live.names import Person
from live.phrases import BadPhrase, Phrase

ROLES = ("lead", "manager", "qa")
# always: every call; monitored: while a supervisor is on the call or has its page open.
TRANSCRIBE_MODES = ("always", "monitored", "off")


# A team's own alert thresholds ([teams.NAME.alerts] in the roster), by roster key.
ALERT_KEYS = {
    "long_hold_seconds": "long_hold",
    "long_call_seconds": "long_call",
    "dead_air_seconds": "dead_air",
    "overtalk_seconds": "overtalk",
}


@dataclass(frozen=True)
class Team:
    name: str
    queue: str
    agents: tuple[str, ...]
    alerts: dict[str, float] = field(default_factory=dict)  # Thresholds field -> seconds
    # Live transcript (issue 15): when its calls are transcribed (TRANSCRIBE_MODES; it costs
    # money per minute), and the phrases that raise the `phrase` alert (live/phrases.py).
    transcribe: str = "off"
    phrases: tuple[str, ...] = ()
    # QA after the call (issue 16): whether its calls are recorded, and the criteria a
    # review scores (each pass / fail).
    record: bool = False
    review: tuple[str, ...] = ()
    # Issue 23: the language its calls are transcribed in (BCP 47, as Twilio's LanguageCode
    # takes it; EARPIECE_TRANSCRIPTION_LANGUAGE when the roster says none), and the words
    # that keep a phrase from raising inside them (`クレームブリュレ` for `クレーム`).
    language: str = DEFAULT_LANGUAGE
    not_phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Supervisor:
    id: str
    name: str
    role: str
    teams: tuple[str, ...]
    endpoint: str
    password_hash: str | None = None
    # How the organisation's identity provider names them (OIDC `email` claim): SSO on the
    # dashboard and OIDC access tokens on the API map to this supervisor by it.
    email: str | None = None
    # The language they read Earpiece in ("en" or "ja"); None: EARPIECE_LANGUAGE.
    language: str | None = None


# Per TaskQueue, by its name (issue 12): [queues.sales] service_level_seconds = 30
QUEUE_KEYS = ("service_level_seconds", "wait_alert_seconds")


@dataclass(frozen=True)
class Roster:
    teams: dict[str, Team] = field(default_factory=dict)
    supervisors: dict[str, Supervisor] = field(default_factory=dict)
    team_of_agent: dict[str, str] = field(default_factory=dict)
    # TaskQueue name -> its own thresholds (QUEUE_KEYS), over the settings' defaults
    queues: dict[str, dict[str, float]] = field(default_factory=dict)
    # Roles that see customers' full numbers in the API and on the dashboard
    # ([access] full_numbers = ["manager"]); everyone else sees them masked.
    full_number_roles: tuple[str, ...] = ()
    # Agents' display names and readings ([agents.ID] name / reading), by agent ID.
    agent_names: dict[str, Person] = field(default_factory=dict)

    def team_for(self, agent: str | None) -> Team | None:
        if agent is None:
            return None
        name = self.team_of_agent.get(agent)
        return self.teams.get(name) if name else None

    @property
    def agents(self) -> list[str]:
        return list(self.team_of_agent)


# A participant label: Twilio refuses one longer than 128 characters, with a "/" (even
# written %2F), or shaped like a CallSid (error 16023 in TwiML, 16024 on a participant
# create: https://www.twilio.com/docs/api/errors/16024). Roster ids become `agent:<id>` /
# `supervisor:<id>`.
MAX_LABEL_CHARS = 128


def _labelable(ident: str, kind: str, source: str) -> None:
    label = f"{kind}:{ident}"
    slash = "/" in ident or "%2f" in ident.lower()
    if not ident or ident != ident.strip() or slash or len(label) > MAX_LABEL_CHARS:
        raise SettingError(
            f"{source}: {kind} id {ident[:40]!r} cannot be a Twilio participant label "
            f"({label[:20]}…: at most {MAX_LABEL_CHARS} characters, no '/' nor %2F, "
            "no edge spaces)"
        )


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingError(f"EARPIECE_ROSTER: {where} must be a list of strings")
    return tuple(value)


def _alerts(raw: Any, where: str) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise SettingError(f"{where} must be a table")
    out: dict[str, float] = {}
    for key, value in raw.items():
        if key not in ALERT_KEYS:
            raise SettingError(f"{where}.{key} is not one of {', '.join(ALERT_KEYS)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise SettingError(f"{where}.{key} must be a number of seconds above 0")
        out[ALERT_KEYS[key]] = float(value)
    return out


MAX_PHRASE_CHARS = 200
MAX_CRITERIA = 20


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SettingError(f"{where} must be true or false")
    return value


def _criteria(value: Any, where: str, source: str) -> tuple[str, ...]:
    out = _strings(value, where)
    if len(out) > MAX_CRITERIA or len(set(out)) != len(out):
        raise SettingError(f"{source}: {where} takes at most {MAX_CRITERIA} distinct criteria")
    if any(not c.strip() or len(c) > 80 for c in out):
        raise SettingError(f"{source}: {where}: a criterion has 1 to 80 characters")
    return out


def _phrases(value: Any, where: str) -> tuple[str, ...]:
    """Phrases as written; a `re:` one must compile (live/phrases.py matches them)."""
    out = _strings(value, where.partition(": ")[2] or where)
    for phrase in out:
        if not phrase.strip() or len(phrase) > MAX_PHRASE_CHARS:
            raise SettingError(
                f"{where}: {phrase[:40]!r} must have 1 to {MAX_PHRASE_CHARS} characters"
            )
        if phrase.startswith("re:"):
            try:
                re.compile(phrase[3:])
            except re.error as exc:
                raise SettingError(f"{where}: {phrase[:60]!r} is not a pattern: {exc}") from None
        try:  # the words it matches, as the webhook will (Japanese ones by the analyser)
            Phrase.of(phrase)
        except BadPhrase as exc:
            raise SettingError(f"{where}: {exc}") from None
    return out


def _language(value: Any, team: str, source: str) -> str:
    """A code Twilio's real-time transcription offers (core/languages.py): one line naming
    the team and the code otherwise, at load, not on a live call's first transcription."""
    if not isinstance(value, str) or not is_offered(value):
        raise SettingError(
            f"{source}: teams.{team}.language {str(value)[:40]!r} is not a "
            "language Twilio's real-time transcription offers "
            "(e.g. ja-JP, en-US)"
        )
    return value


def _not_phrases(value: Any, team: str, source: str) -> tuple[str, ...]:
    where = f"{source}: teams.{team}.not_phrases"
    out = _phrases(value, where)
    if any(p.startswith("re:") for p in out):
        raise SettingError(f"{where}: plain words only (a pattern cannot say what it excludes)")
    return out


def parse(
    text: str, source: str = "EARPIECE_ROSTER", default_language: str = DEFAULT_LANGUAGE
) -> Roster:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingError(f"{source} is not valid TOML: {exc}") from None
    teams: dict[str, Team] = {}
    team_of_agent: dict[str, str] = {}
    for name, body in (data.get("teams") or {}).items():
        if not isinstance(body, dict):
            raise SettingError(f"{source}: [teams.{name}] must be a table")
        agents = _strings(body.get("agents", []), f"teams.{name}.agents")
        transcribe = body.get("transcribe", "off")
        if transcribe not in TRANSCRIBE_MODES:
            modes = ", ".join(TRANSCRIBE_MODES)
            raise SettingError(
                f"{source}: teams.{name}.transcribe must be one of {modes}, "
                f"got {str(transcribe)[:40]!r}"
            )
        teams[name] = Team(
            name=name,
            queue=str(body.get("queue", name)),
            agents=agents,
            alerts=_alerts(body.get("alerts", {}), f"{source}: teams.{name}.alerts"),
            transcribe=transcribe,
            phrases=_phrases(body.get("phrases", []), f"{source}: teams.{name}.phrases"),
            record=_flag(body.get("record", False), f"{source}: teams.{name}.record"),
            review=_criteria(body.get("review", []), f"teams.{name}.review", source),
            language=_language(body.get("language", default_language), name, source),
            not_phrases=_not_phrases(body.get("not_phrases", []), name, source),
        )
        for agent in agents:
            _labelable(agent, "agent", source)
            team_of_agent.setdefault(agent, name)
    supervisors: dict[str, Supervisor] = {}
    for sid, body in (data.get("supervisors") or {}).items():
        if not isinstance(body, dict):
            raise SettingError(f"{source}: [supervisors.{sid}] must be a table")
        _labelable(sid, "supervisor", source)
        role = body.get("role")
        if role not in ROLES:
            raise SettingError(
                f"{source}: supervisors.{sid}.role must be one of {', '.join(ROLES)}, got {role!r}"
            )
        own = _strings(body.get("teams", []), f"supervisors.{sid}.teams")
        unknown = [t for t in own if t not in teams]
        if unknown:
            raise SettingError(
                f"{source}: supervisors.{sid}.teams names unknown team {unknown[0]!r}"
            )
        supervisors[sid] = Supervisor(
            id=sid,
            name=str(body.get("name", sid)),
            role=role,
            teams=own,
            endpoint=str(body.get("endpoint", f"client:{sid}")),
            password_hash=body.get("password_hash"),
            email=_email(body.get("email"), f"{source}: supervisors.{sid}.email"),
            language=_ui_language(body.get("language"), f"{source}: supervisors.{sid}.language"),
        )
    queues: dict[str, dict[str, float]] = {}
    for name, body in (data.get("queues") or {}).items():
        if not isinstance(body, dict):
            raise SettingError(f"{source}: [queues.{name}] must be a table")
        queues[name] = {}
        for key, value in body.items():
            if key not in QUEUE_KEYS:
                raise SettingError(
                    f"{source}: queues.{name}.{key} is not one of {', '.join(QUEUE_KEYS)}"
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise SettingError(f"{source}: queues.{name}.{key} must be seconds above 0")
            queues[name][key] = float(value)
    agent_names = _agent_names(data.get("agents") or {}, team_of_agent, source)
    access = data.get("access") or {}
    if not isinstance(access, dict) or set(access) - {"full_numbers"}:
        raise SettingError(f"{source}: [access] takes only full_numbers (a list of roles)")
    full_numbers = _strings(access.get("full_numbers", []), "access.full_numbers")
    if set(full_numbers) - set(ROLES):
        raise SettingError(f"{source}: access.full_numbers names roles, one of {', '.join(ROLES)}")
    emails = [s.email.lower() for s in supervisors.values() if s.email]
    if len(emails) != len(set(emails)):
        raise SettingError(f"{source}: two supervisors share an email (SSO must tell them apart)")
    return Roster(
        teams=teams,
        supervisors=supervisors,
        team_of_agent=team_of_agent,
        queues=queues,
        full_number_roles=full_numbers,
        agent_names=agent_names,
    )


MAX_NAME_CHARS = 100
SUPERVISOR_LANGUAGES = ("en", "ja")


def _ui_language(value: Any, where: str) -> str | None:
    """A supervisor's UI language (issue 25), not a team's transcription language."""
    if value is None:
        return None
    if value not in SUPERVISOR_LANGUAGES:
        raise SettingError(
            f"{where} must be one of {', '.join(SUPERVISOR_LANGUAGES)}, got {str(value)[:20]!r}"
        )
    return str(value)


def _agent_names(raw: Any, team_of_agent: dict[str, str], source: str) -> dict[str, Person]:
    """[agents.ID] name = "鈴木一郎", reading = "すずきいちろう": who an agent ID is. The
    agent still belongs to teams by ID ([teams.X] agents); a name for an ID no team has
    is refused, since it would name nobody on the floor."""
    if not isinstance(raw, dict):
        raise SettingError(f"{source}: [agents] must be tables of agents by ID")
    out: dict[str, Person] = {}
    for ident, body in raw.items():
        where = f"{source}: agents.{ident}"
        if not isinstance(body, dict) or set(body) - {"name", "reading"}:
            raise SettingError(f"{where} takes only name and reading")
        if ident not in team_of_agent:
            raise SettingError(f"{where} names an agent no team has")
        texts = {key: body.get(key) for key in ("name", "reading")}
        for key, value in texts.items():
            if value is not None and (
                not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_CHARS
            ):
                raise SettingError(
                    f"{where}.{key} must be text of 1 to {MAX_NAME_CHARS} characters"
                )
        out[ident] = Person(ident, texts["name"], texts["reading"])
    return out


def _email(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.count("@") != 1 or len(value) > 254:
        raise SettingError(f"{where} must be an email address")
    return value


def for_settings(settings: Settings) -> Roster:
    """The roster a process runs with: EARPIECE_ROSTER, or the demo roster under
    `earpiece demo` only (a production process without a roster would let the demo's
    manager sign in)."""
    if settings.roster_path is None and not settings.demo:
        raise SettingError(
            "EARPIECE_ROSTER is not set: the roster of teams, agents and supervisors "
            "(the demo roster is used only by `earpiece demo`)"
        )
    return with_number_rule(load(settings.roster_path, settings.transcription_language), settings)


def with_number_rule(roster: Roster, settings: Settings) -> Roster:
    """One rule for customers' numbers (issue 25): a supervisor sees them whole where
    one person reads them (the API, /events, the call and Calls pages) only when their
    role is in `[access] full_numbers`. EARPIECE_MASK_CUSTOMER_NUMBERS=false, which used
    to unmask the dashboard alone, now says the same for every surface: every role."""
    if settings.mask_customer_numbers:
        return roster
    return replace(roster, full_number_roles=ROLES)


def load(path: Path | None, default_language: str = DEFAULT_LANGUAGE) -> Roster:
    if path is None:
        text = resources.files("earpiece").joinpath("demo_roster.toml").read_text(encoding="utf-8")
        return parse(text, source="the demo roster", default_language=default_language)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingError(
            f"EARPIECE_ROSTER {str(path)!r} cannot be read: {exc.strerror}"
        ) from None
    return parse(text, default_language=default_language)
