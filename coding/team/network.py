"""Where a request comes from, decided from the connection rather than from what the
client says: which address a sign-in counts against, and whether a request was made on
this computer (local single-user mode). Pure; the web layer (``app_pages/server.py``)
reads the connection and hands these functions its addresses.

Forwarding headers are believed only from the proxies the operator lists in
``CODING_TRUSTED_PROXIES`` (addresses or networks; none by default): any client can
write ``X-Forwarded-For``, only a proxy in front of the app can append to it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable

from coding.errors import CodingError

TRUSTED_PROXIES_ENV = "CODING_TRUSTED_PROXIES"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it (bare, ``[v6]``, ``v4:port``, ``[v6]:port``), IPv4-mapped
    IPv6 as IPv4; None for anything else."""
    text = (text or "").strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_loopback(address: str | None) -> bool:
    """Whether an address is this computer's own (``localhost``, 127.0.0.0/8, ``::1``).
    None or empty (for a server address: every interface) is not."""
    if address and address.strip().lower() == "localhost":
        return True
    ip = _ip(address)
    return ip is not None and ip.is_loopback


def trusted_proxies(raw: str | None = None) -> tuple[Network, ...]:
    """The operator's proxies: ``CODING_TRUSTED_PROXIES`` (or ``raw``), addresses or networks
    separated by commas or spaces. Empty (the default): no forwarding header is believed."""
    raw = os.environ.get(TRUSTED_PROXIES_ENV, "") if raw is None else raw
    nets = []
    for item in re.split(r"[\s,]+", raw.strip()):
        if not item:
            continue
        try:
            net = ipaddress.ip_network(item.strip("[]"), strict=False)
        except ValueError:
            raise CodingError(f"{TRUSTED_PROXIES_ENV}: {item!r} is not an IP address or network: list the "
                              "addresses of your reverse proxies, e.g. '127.0.0.1' or '10.0.0.0/8', or unset it"
                              ) from None
        nets.append(net)
    return tuple(nets)


def _trusted(ip, trusted: Iterable[Network]) -> bool:
    return ip is not None and any(ip.version == n.version and ip in n for n in trusted)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Iterable[Network]) -> str:
    """The address a request counts against: the connection's peer, unless the peer is a
    listed proxy; then the right-most ``X-Forwarded-For`` entry that is not a listed proxy
    (what the first listed proxy saw; anything left of it the client may have written).
    ``forwarded_for`` holds the header's values in order. "unknown" when there is no peer."""
    trusted = tuple(trusted)
    peer_ip = _ip(peer)
    if not peer:
        return "unknown"
    if not _trusted(peer_ip, trusted):
        return str(peer_ip) if peer_ip is not None else peer[:64]
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _ip(hop)
        if not _trusted(ip, trusted):
            return str(ip) if ip is not None else hop[:64]
    return str(_ip(hops[0])) if hops else str(peer_ip)


def local_connection_problem(peer: str | None, local: str | None, *, forwarded: bool) -> str | None:
    """Why a request may not use local single-user mode (no passwords), or None: it must
    come from this computer (``peer``) to a loopback address of it (``local``, the address
    the connection was made to), with no proxy in between (``forwarded``: the request
    carried a forwarding header, so something relayed it)."""
    if forwarded:
        return "this request came through a proxy"
    if not is_loopback(peer):
        return f"this request came from {peer or 'an unknown address'}, not from this computer"
    if not is_loopback(local):
        return f"this request came to {local or 'an unknown address'}, an address other computers can reach"
    return None
