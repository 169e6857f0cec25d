"""A lean HTTP/1.1 client for posting callbacks: keep-alive connections per origin.

The simulator posts hundreds of callbacks a second (a 1,000-call floor with
speech events on); a general-purpose client spent more CPU per post than the
callback service spends applying it (bench/sim_floor.py). This one writes a
pre-built request and reads a Content-Length or chunked answer, nothing more.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit


class PostError(Exception):
    """The callback could not be delivered: `kind` is "ct" (no connection: refused, reset,
    or the connect timeout) or "rt" (connected, but no answer within the read timeout),
    the failure classes of Twilio's retry policy (`rp`)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class _Origin:
    host: str
    port: int
    tls: bool
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = field(default_factory=list)


class Poster:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._origins: dict[str, _Origin] = {}

    def _origin(self, url: str) -> tuple[_Origin, str]:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        origin = self._origins.get(key)
        if origin is None:
            tls = parts.scheme == "https"
            origin = _Origin(parts.hostname or "127.0.0.1", parts.port or (443 if tls else 80), tls)
            self._origins[key] = origin
        target = parts.path or "/"
        return origin, f"{target}?{parts.query}" if parts.query else target

    async def post(
        self,
        url: str,
        params: dict[str, str],
        headers: dict[str, str],
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> Answer:
        connect_timeout = connect_timeout or self.timeout
        read_timeout = read_timeout or self.timeout
        origin, target = self._origin(url)
        body = urlencode(params).encode()
        head = [
            f"POST {target} HTTP/1.1",
            f"Host: {urlsplit(url).netloc}",
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}",
            "Connection: keep-alive",
        ]
        head += [f"{k}: {v}" for k, v in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        # An idle kept-alive connection may have been closed by the server:
        # one failure on a reused connection is tried again on a fresh one.
        for reuse in (True, False):
            conn = origin.idle.pop() if reuse and origin.idle else None
            fresh = conn is None
            try:
                if conn is None:
                    conn = await asyncio.wait_for(
                        asyncio.open_connection(
                            origin.host,
                            origin.port,
                            ssl=_tls_context() if origin.tls else None,
                        ),
                        connect_timeout,
                    )
            except (OSError, TimeoutError) as exc:
                raise PostError("ct", repr(exc)) from None
            try:
                answer, keep = await asyncio.wait_for(self._exchange(conn, request), read_timeout)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                conn[1].close()
                if fresh:
                    raise PostError("rt", repr(exc)) from None
                continue
            if keep:
                origin.idle.append(conn)
            else:
                conn[1].close()
            return answer
        raise PostError("ct", "no connection")

    @staticmethod
    async def _exchange(
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> tuple[Answer, bool]:
        reader, writer = conn
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status_line = lines[0].split(" ", 2)
        if len(status_line) < 2 or not status_line[0].startswith("HTTP/1."):
            raise ValueError(f"not an HTTP answer: {lines[0][:40]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(data[:-2])
            body = b"".join(chunks)
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        keep = headers.get("connection", "").lower() != "close" and status_line[0] == "HTTP/1.1"
        return Answer(int(status_line[1]), headers, body), keep

    async def close(self) -> None:
        for origin in self._origins.values():
            for _, writer in origin.idle:
                writer.close()
            origin.idle.clear()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One context for every HTTPS callback: making one loads the CA bundle (~25 ms)."""
    return ssl.create_default_context()
