"""`wss://…/twilio/media-stream`: Twilio's Media Stream of a call, into the audio relay (issue 26).

Twilio opens this WebSocket for a stream coach/media.py started, and signs the upgrade
request with `X-Twilio-Signature` over the stream's URL, as it signs a webhook with no
body (https://www.twilio.com/docs/global-infrastructure/firewall-configurations/media-streams-configuration:
"configure your application to validate the X-Twilio-Signature header";
https://www.twilio.com/docs/usage/security#validating-requests). The URL Twilio was given is
`wss://` (Twilio streams only to wss, error 31910), so the signature is checked over
the wss form of PUBLIC_BASE_URL, and over the https form too (the same URL a proxy sees).
A request without a valid signature is refused before the upgrade (HTTP 403).

Messages (https://www.twilio.com/docs/voice/media-streams/websocket-messages):
`connected`, then `start` (its `customParameters.conference` names the call, set by
coach/media.py), `media` (`track` inbound | outbound, `payload` base64 μ-law, 20 ms),
and `stop`. A message that is not JSON, or a `start` naming no call Earpiece streams,
closes the socket (1008): nothing of it is kept. Nothing is written to disk: each
frame is decoded once and published to the call's channel (callbacks/audio_relay.py).
"""

from __future__ import annotations

import binascii
import contextlib
import logging
from base64 import b64decode
from collections.abc import Mapping
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect

from callbacks.audio_relay import ENDED, TRACK_KIND, AudioRelay, Publisher, frame
from callbacks.context import Context
from callbacks.signature import SignatureChecker
from coach.media import MediaStreams

log = logging.getLogger("earpiece.media_stream")

PATH = "/twilio/media-stream"
MAX_MESSAGE_BYTES = 64 * 1024  # a media message is ~300 bytes; anything this large is not Twilio


def ws_checker(auth_token: str, base_url: str, shared: Mapping[str, str]) -> SignatureChecker:
    """A checker over the wss:// form of the public base URL (what Twilio was given)."""
    ws_base = base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return SignatureChecker(auth_token, ws_base, shared)


def stream_url(base_url: str) -> str:
    return base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + PATH


async def media_stream(ws: WebSocket) -> None:
    ctx: Context = ws.app.state.ctx
    relay: AudioRelay = ws.app.state.relay
    media: MediaStreams = ws.app.state.media
    signature = ws.headers.get("x-twilio-signature", "")
    settings_header = ws.headers.get("x-twilio-webhooks-signature-settings")
    query = ws.url.query
    valid = ws.app.state.ws_signature.valid(PATH, query, [], signature, settings_header) or (
        ctx.signature.valid(PATH, query, [], signature, settings_header)
    )
    if not valid:
        await ws.close(code=1008)  # before accept: the upgrade is answered 403
        return
    await ws.accept()
    sid: str | None = None
    stream_sid = ""
    publisher: Publisher | None = None
    frames = 0
    try:
        while True:
            raw = await ws.receive_text()
            if len(raw) > MAX_MESSAGE_BYTES:
                raise ValueError("message too large")
            message: Any = orjson.loads(raw)
            event = message.get("event") if isinstance(message, dict) else None
            if event == "media" and publisher is not None:
                body = message.get("media") or {}
                kind = TRACK_KIND.get(str(body.get("track")))
                if kind is not None:
                    payload = b64decode(str(body.get("payload") or ""), validate=True)
                    if len(payload) > 0xFFFF:
                        raise ValueError("a media payload too large")
                    publisher.put(frame(kind, payload))
                    frames += 1
            elif event == "start":
                params = (message.get("start") or {}).get("customParameters") or {}
                named = str(params.get("conference") or "")
                if not (named.isalnum() and named.startswith("CF") and len(named) <= 64):
                    raise ValueError("the stream names no call")
                if await media.stream_of(named) is None:
                    raise ValueError(f"no stream of {named} was started")
                sid = named
                stream_sid = str(message.get("streamSid") or "")[:64]
                publisher = Publisher(relay, sid)
            elif event == "stop":
                break
    except WebSocketDisconnect:
        pass
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
        log.info("refused a media stream message: %s", exc)
        await ws.close(code=1008)
    except RedisError as exc:
        log.info("media stream of %s: Redis is away: %s", sid, exc)
        await ws.close(code=1011)
    finally:
        if publisher is not None:
            await publisher.close()
        if sid is not None:
            with contextlib.suppress(RedisError):
                await relay.publish(sid, ENDED, stream_sid.encode())
        log.debug("media stream of %s ended after %d frames", sid, frames)
