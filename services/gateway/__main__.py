"""``python -m services.gateway``: serve the gateway with uvicorn on
``BYLAW_GATEWAY_HOST``:``BYLAW_GATEWAY_PORT``. SIGTERM/SIGINT stop accepting connections,
let in-flight requests finish (up to 10 s) and close the service channels."""

from __future__ import annotations

import logging
import signal

import uvicorn

from services.common.logging import configure_logging
from services.common.settings import get_settings
from services.gateway.app import create_app

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 10


def main() -> None:
    settings = get_settings()
    configure_logging("gateway", settings.log_level, settings.log_json)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,  # keep our logging configuration
        access_log=False,  # ours omits query strings on writes and client addresses
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="on",
    )
    log.info("gateway starting", extra={"host": settings.gateway_host, "port": settings.gateway_port})
    # uvicorn handles SIGTERM/SIGINT itself while serving and, once it has shut down
    # gracefully, re-raises the signal under the handlers it found. With these no-op
    # handlers the process then simply returns: a clean stop exits 0, like the services.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
