"""The real client behind a reverse proxy: ``X-Forwarded-For`` / ``X-Forwarded-Proto`` honoured
only when the connection comes from an address in ``OTKLIK_TRUSTED_PROXIES``.

The client is the right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy
(each proxy appends the address it saw, so everything left of that may be forged by the
client). Nothing trusted (the default): the headers are ignored and the peer address is the
client, so a client cannot choose its own rate-limit bucket by sending the header.
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

from otklik.config import Network


def in_networks(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


class TrustedProxies:
    def __init__(self, app: ASGIApp, *, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks:
            peer = scope.get("client")
            if peer and in_networks(peer[0], self.networks):
                self._rewrite(scope, peer)
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Scope, peer: tuple[str, int]) -> None:
        forwarded: list[str] = []
        proto = None
        for key, value in scope.get("headers", ()):
            if key == b"x-forwarded-for":
                forwarded += [x.strip() for x in value.decode("latin-1").split(",")]
            elif key == b"x-forwarded-proto":
                proto = value.decode("latin-1").split(",")[-1].strip().lower()
        client = None
        for address in reversed(forwarded):
            if not address:
                continue
            client = address
            if not in_networks(address, self.networks):
                break
        if client is not None:
            try:
                ipaddress.ip_address(client)
            except ValueError:
                client = None
        if client is not None:
            scope["client"] = (client, 0)
        if proto in ("http", "https"):
            scope["scheme"] = proto
