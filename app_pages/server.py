"""The ASGI layer around Streamlit (the ``st.App`` in app.py, under ``streamlit run app.py``
and ``uvicorn app:app`` alike). Two middlewares, no Streamlit import:

- :class:`FrameHeaders`: every HTTP response forbids framing by another site
  (``Content-Security-Policy: frame-ancestors 'self'`` and ``X-Frame-Options: SAMEORIGIN``);
  the app's own frames still load.
- :class:`ConnectionFacts`: every request, the page's WebSocket included, carries
  ``X-Coding-Peer`` (the address the TCP connection came from), ``X-Coding-Local`` (the
  address it was made to) and ``X-Coding-Source`` (the address a sign-in counts against,
  :func:`coding.team.network.client_address`), replacing any a client sent. Pages read them
  through ``st.context.headers`` (app_pages/common.py).

Uvicorn, which ``streamlit run`` uses too, replaces the ASGI ``client`` with the value of
``X-Forwarded-For`` whenever the peer is loopback (its default ``forwarded_allow_ips``), so
anyone on this computer could name any address. The peer is therefore read from the
connection's transport, which uvicorn's ``receive`` belongs to; a server that offers no
transport gives the ASGI ``client``, trusted only when no ``X-Forwarded-For`` came with it.
"""

from __future__ import annotations

from coding.team.network import Network, client_address, trusted_proxies

PEER, LOCAL, SOURCE = b"x-coding-peer", b"x-coding-local", b"x-coding-source"
FORWARDING = frozenset({b"x-forwarded-for", b"forwarded", b"x-real-ip"})
FRAME_ANCESTORS = "frame-ancestors 'self'"


def _host(address) -> str | None:
    """The host of a socket address: (host, port[, flow, scope]) or a Unix socket path."""
    if isinstance(address, (tuple, list)) and address:
        return str(address[0])
    return str(address) if address else None


def connection_addresses(scope: dict, receive) -> tuple[str | None, str | None]:
    """(peer, local) of the connection behind an ASGI request; None where unknown."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    extra = getattr(transport, "get_extra_info", None)
    if extra is not None and extra("peername"):
        return _host(extra("peername")), _host(extra("sockname"))
    forwarded = any(k == b"x-forwarded-for" for k, _ in scope.get("headers", ()))
    return (None if forwarded else _host(scope.get("client"))), _host(scope.get("server"))


class ConnectionFacts:
    """Add the X-Coding-* headers (see the module docstring) to HTTP and WebSocket requests."""

    def __init__(self, app, trusted: tuple[Network, ...] | None = None):
        self.app = app
        self.trusted = trusted_proxies() if trusted is None else tuple(trusted)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        peer, local = connection_addresses(scope, receive)
        headers = [(k, v) for k, v in scope.get("headers", ()) if k not in (PEER, LOCAL, SOURCE)]
        forwarded_for = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"]
        source = client_address(peer, forwarded_for, self.trusted)
        headers += [(PEER, (peer or "").encode("latin-1", "replace")),
                    (LOCAL, (local or "").encode("latin-1", "replace")),
                    (SOURCE, source.encode("latin-1", "replace"))]
        return await self.app({**scope, "headers": headers}, receive, send)


class FrameHeaders:
    """Forbid other sites to frame any page or file of the app (clickjacking)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_framed(message):
            if message["type"] == "http.response.start":
                # a policy of Streamlit's own stays (every CSP header applies); ours adds framing
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-frame-options"]
                if not any(k.lower() == b"content-security-policy" and b"frame-ancestors" in v for k, v in headers):
                    headers.append((b"content-security-policy", FRAME_ANCESTORS.encode()))
                headers.append((b"x-frame-options", b"SAMEORIGIN"))
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, send_framed)
