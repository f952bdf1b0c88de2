"""One independent web process of the topology test: ``python -m tests.cluster.web PORT``.

The application is the one ``otklik serve`` runs (``otklik.app:app_from_environment``, settings
from the environment), served by uvicorn on a socket bound with ``SO_REUSEPORT``: several such
processes, started separately, share one port and the kernel spreads the connections over
them, as it would over hosts behind a proxy. Each response carries ``X-Cluster-Pid`` so the test
can tell which process served it.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

import uvicorn

PID = str(os.getpid()).encode()


def with_pid(app: Any) -> Any:
    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def tagged(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"x-cluster-pid", PID)]}
            await send(message)

        await app(scope, receive, tagged)

    return wrapped


def main(port: int) -> None:
    from otklik.app import app_from_environment

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    config = uvicorn.Config(
        with_pid(app_from_environment()),
        log_level="warning",
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(int(sys.argv[1]))
