"""Twilio's REST paths for conferences, participants and calls, as the SDK calls them."""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twilio_sim.engine import Engine, SimError
from twilio_sim.model import API_VERSION, Conference, is_sid

PREFIX = f"/{API_VERSION}/Accounts/{{AccountSid}}"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def twilio_json(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status, media_type="application/json")


def error(exc: SimError) -> Response:
    return twilio_json(exc.json(), exc.status)


class Form:
    """Form parameters with Twilio's list forms: repeated keys, or space-separated values."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = list(pairs)
        self.single = dict(self.pairs)

    def list(self, name: str) -> list[str]:
        out: list[str] = []
        for key, value in self.pairs:
            if key == name:
                out.extend(v for v in value.replace(",", " ").split() if v)
        return out


async def read_form(request: Request) -> Form:
    body = await request.body()
    try:
        return Form(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise SimError(400, 20001, "The request body is not UTF-8 form data") from None


def _check_auth(request: Request, engine: Engine) -> None:
    check_credentials(request, engine)
    if request.path_params.get("AccountSid") != engine.config.account_sid:
        raise SimError(404, 20404, "The requested resource was not found")


def check_credentials(request: Request, engine: Engine) -> None:
    """HTTP Basic auth with the account SID and auth token, as every Twilio API takes it."""
    config = engine.config
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user = password = ""
    good = (
        scheme.lower() == "basic"
        and hmac.compare_digest(user.encode(), config.account_sid.encode())
        and hmac.compare_digest(password.encode(), config.auth_token.encode())
    )
    if not good:
        raise SimError(401, 20003, "Authenticate")


Handler = Callable[[Request, Engine], Any]


def endpoint(handler: Handler) -> Callable[[Request], Any]:
    """Auth, the 429 share, and Twilio's error shape around one REST handler."""

    async def run(request: Request) -> Response:
        engine: Engine = request.app.state.engine
        try:
            config = engine.config
            if config.rest_429_next > 0 and config.rest_429_method in ("", request.method):
                config.rest_429_next -= 1
                raise SimError(429, 20429, "Too Many Requests")
            if config.rest_429_share and engine.rng.random() < config.rest_429_share:
                raise SimError(429, 20429, "Too Many Requests")
            _check_auth(request, engine)
            result: Response = await handler(request, engine)
            return result
        except SimError as exc:
            return error(exc)

    return run


def paging(request: Request) -> tuple[int, int, list[tuple[str, str]]]:
    """A list request's PageSize, Page, and its other (filter) parameters, as every Twilio
    list takes them."""
    query = request.query_params
    try:
        size = min(int(query.get("PageSize", DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE)
        page = int(query.get("Page", 0))
    except ValueError:
        raise SimError(400, 20001, "Page and PageSize must be whole numbers") from None
    if size < 1 or page < 0:
        raise SimError(400, 20001, "Page must be >= 0 and PageSize >= 1")
    filters = [(k, v) for k, v in query.multi_items() if k not in ("Page", "PageSize", "PageToken")]
    return size, page, filters


def _page(request: Request, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    size, page, filters = paging(request)
    start = page * size
    chunk = items[start : start + size]
    base = request.url.path

    def uri(n: int) -> str:
        return f"{base}?{urlencode([*filters, ('PageSize', size), ('Page', n)])}"

    last_page = max(0, math.ceil(len(items) / size) - 1)
    return {
        key: chunk,
        "end": start + len(chunk) - 1 if chunk else start,
        "first_page_uri": uri(0),
        "next_page_uri": (uri(page + 1) + f"&PageToken=PT{page + 1}") if page < last_page else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
        "start": start,
        "uri": uri(page),
    }


# -- conferences --------------------------------------------------------------


async def list_conferences(request: Request, engine: Engine) -> Response:
    status = request.query_params.get("Status")
    name = request.query_params.get("FriendlyName")
    found = sorted(engine.conferences.values(), key=lambda c: c.created)
    if status:
        found = [c for c in found if c.status == status]
    if name:
        found = [c for c in found if c.friendly_name == name]
    return twilio_json(_page(request, "conferences", [c.json() for c in found]))


def by_sid(engine: Engine, ref: str) -> Conference:
    """A conference on a path whose schema requires its SID (^CF[0-9a-fA-F]{32}$): a
    FriendlyName there is a resource Twilio does not have (404). Only creating a
    participant takes a FriendlyName (and makes that conference)."""
    if not is_sid(ref, "CF"):
        raise SimError(404, 20404, f"The requested resource /Conferences/{ref}.json was not found")
    return engine.conference(ref)


async def conference(request: Request, engine: Engine) -> Response:
    ref = request.path_params["Sid"]
    conf = by_sid(engine, ref) if request.method == "GET" else engine.conference(ref)
    if request.method == "POST":
        engine.update_conference(conf, (await read_form(request)).single)
    return twilio_json(conf.json())


# -- participants ---------------------------------------------------------------


async def participants(request: Request, engine: Engine) -> Response:
    ref = request.path_params["ConferenceSid"]
    if request.method == "POST":
        form = await read_form(request)
        p = engine.create_participant(
            ref,
            form.single,
            form.list("StatusCallbackEvent"),
            form.list("ConferenceStatusCallbackEvent"),
        )
        return twilio_json(p.json(), 201)
    conf = by_sid(engine, ref)
    people = [p for p in conf.participants.values() if p.status not in ("complete", "failed")]
    for name, attr in (("Muted", "muted"), ("Hold", "hold"), ("Coaching", "coaching")):
        wanted = request.query_params.get(name)
        if wanted is not None:
            people = [p for p in people if getattr(p, attr) == (wanted.lower() == "true")]
    people.sort(key=lambda p: p.created)
    return twilio_json(_page(request, "participants", [p.json() for p in people]))


async def participant(request: Request, engine: Engine) -> Response:
    conf = by_sid(engine, request.path_params["ConferenceSid"])
    p = engine.participant(conf, request.path_params["CallSid"])
    if request.method == "DELETE":
        engine.kick(conf, p)
        return Response(status_code=204)
    if p.status in ("complete", "failed"):
        raise SimError(
            404, 20404, f"The requested resource /Participants/{p.call_sid}.json was not found"
        )
    if request.method == "POST":
        engine.update_participant(conf, p, (await read_form(request)).single)
    return twilio_json(p.json())


# -- calls --------------------------------------------------------------------------


async def call(request: Request, engine: Engine) -> Response:
    found = engine.call(request.path_params["Sid"])
    if request.method == "POST":
        engine.update_call(found, (await read_form(request)).single)
    return twilio_json(found.json())


def routes() -> list[Route]:
    return [
        Route(f"{PREFIX}/Conferences.json", endpoint(list_conferences), methods=["GET"]),
        Route(f"{PREFIX}/Conferences/{{Sid}}.json", endpoint(conference), methods=["GET", "POST"]),
        Route(
            f"{PREFIX}/Conferences/{{ConferenceSid}}/Participants.json",
            endpoint(participants),
            methods=["GET", "POST"],
        ),
        Route(
            f"{PREFIX}/Conferences/{{ConferenceSid}}/Participants/{{CallSid}}.json",
            endpoint(participant),
            methods=["GET", "POST", "DELETE"],
        ),
        Route(f"{PREFIX}/Calls/{{Sid}}.json", endpoint(call), methods=["GET", "POST"]),
    ]
