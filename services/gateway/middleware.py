"""Access logging that cannot leak complainant identity, and a last-resort error guard.

Request bodies and form fields are never logged; the query string is logged only for
reads (GET/HEAD), never for writes; client addresses are not logged (policy 6.3.3: collect
only the personal information needed). An exception that escapes a handler is logged by
type and stack frames only, because exception messages can quote input.
"""

from __future__ import annotations

import json
import logging
import time
import traceback

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("services.gateway.access")
error_log = logging.getLogger("services.gateway.errors")

_QUIET_PATHS = frozenset({"/livez", "/healthz"})
_READ_METHODS = frozenset({"GET", "HEAD"})


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        state = {"status": 500, "sent": False}

        async def send_and_watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["sent"] = True
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        except Exception as exc:  # noqa: BLE001 - answered with a 500, logged without its message
            frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
            error_log.error(
                "unhandled %s in %s %s", type(exc).__name__, method, path, extra={"frames": frames}
            )
            if not state["sent"]:
                body = json.dumps({"detail": "internal error"}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", b"%d" % len(body)),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                state["status"] = 500
        finally:
            target = path
            query: bytes = scope.get("query_string", b"")
            if query and method in _READ_METHODS:
                target = f"{path}?{query.decode('latin-1')}"
            status = int(state["status"])
            level = logging.DEBUG if path in _QUIET_PATHS and status < 400 else logging.INFO
            log.log(
                level,
                "%s %s %d",
                method,
                target,
                status,
                extra={"duration_ms": round((time.perf_counter() - started) * 1000, 1)},
            )
