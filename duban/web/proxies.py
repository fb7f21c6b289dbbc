"""Who is on the other end of a request: the connection's address, unless it is a reverse proxy named in
DUBAN_TRUSTED_PROXIES, whose X-Forwarded-For and X-Forwarded-Proto are then believed.

Anyone can send an X-Forwarded-For header. Believed from everyone (uvicorn believes it from any loopback client
by default), a guesser rotating it got a fresh lockout for every guess and wrote made-up addresses into the audit
log. So the header counts only when the connection comes from a trusted proxy, and then it is read from the right:
each trusted proxy appends the address it saw, so the rightmost address that is not itself a trusted proxy is the
client; whatever the client wrote further left is ignored. A malformed entry ends the reading there.
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send


class TrustedProxies:
    """ASGI middleware: sets the request's client address (and scheme) from a trusted proxy's headers."""

    def __init__(self, app: ASGIApp, networks: list) -> None:
        self.app = app
        self.networks = networks

    def trusted(self, host: str | None) -> bool:
        try:
            address = ipaddress.ip_address(host or "")
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks:
            peer = scope.get("client")
            if peer and self.trusted(peer[0]):
                headers = dict(scope["headers"])
                forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
                client = self.client_from(peer[0], forwarded)
                scope = {**scope, "client": (client, 0 if client != peer[0] else peer[1])}
                proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").split(",")[-1].strip().lower()
                if proto in ("http", "https"):
                    scope["scheme"] = proto
        await self.app(scope, receive, send)

    def client_from(self, peer: str, forwarded: str) -> str:
        """The rightmost address of X-Forwarded-For that is not a trusted proxy (the peer when there is none)."""
        client = peer
        for part in reversed([p.strip() for p in forwarded.split(",") if p.strip()]):
            try:
                address = str(ipaddress.ip_address(part))
            except ValueError:
                break
            client = address
            if not self.trusted(address):
                break
        return client
