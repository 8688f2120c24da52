"""Limits of the HTTP API: request size, and failed authentications per client address.

Request size: a body over the limit is refused with 413 before it is parsed. A declared
Content-Length over the limit is refused at once; a body streamed without one is
counted as it arrives and refused as soon as it passes the limit.

Failed authentications: after `BAD_KEYS_PER_WINDOW` bad keys (malformed, unknown,
expired or revoked) from one client address within a moving window of
`BAD_KEY_WINDOW_SECONDS`, every request of that address that needs a key is answered
429 with Retry-After, before its key is even looked up: guessing keys costs the
database nothing and gets nowhere. The count is kept in each server process's memory.
"""

from __future__ import annotations

import json
import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE

MAX_BODY_BYTES = 5 * 1024 * 1024
BAD_KEYS_PER_WINDOW = 20
BAD_KEY_WINDOW_SECONDS = 60


class FailedAuthentications:
    """Failed authentications per client address, in a moving window."""

    def __init__(
        self, failures: int = BAD_KEYS_PER_WINDOW, seconds: int = BAD_KEY_WINDOW_SECONDS
    ) -> None:
        self._limit = RateLimitItemPerSecond(failures, seconds)
        self._window = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may authenticate again; None: it may now."""
        if self._window.test(self._limit, address):
            return None
        reset = self._window.get_window_stats(self._limit, address).reset_time
        return max(1, math.ceil(reset - time.time()))

    def failed(self, address: str) -> None:
        self._window.hit(self._limit, address)


class _TooLarge(HTTPException):
    """Raised from `receive`; FastAPI lets an HTTPException through as it is."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is over the {max_bytes:,} byte limit")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "type": PROBLEM_BASE + "payload-too-large",
                "title": "Payload too large",
                "status": 413,
                "detail": f"the request body is over the {self.max_bytes:,} byte limit",
                "errors": [],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
