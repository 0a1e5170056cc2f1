"""Refuse to serve on a port another process listens on.

The HTTP server binds with SO_REUSEPORT so that the workers of one server share the port; the
kernel would then also let a second, separate `timeline serve` bind it, and split the requests
between two processes (and two logs, with the embedded database) without a word. A socket
bound without SO_REUSEPORT cannot share a port with anyone: probing with one before the server
starts tells whether the port is free.
"""

from __future__ import annotations

import errno
import socket

from service.cli.failures import CommandFailed


class PortTaken(CommandFailed):
    """The address is in use (or cannot be bound); the message says which and why."""


def ensure_port_free(host: str, port: int) -> None:
    """Raise `PortTaken` unless `host:port` can be bound by this process alone."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortTaken(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            # A port left in TIME_WAIT by a server that stopped is free to use again.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise PortTaken(
                        f"port {port} on {host} is already in use (another server?); not starting"
                    ) from None
                raise PortTaken(f"cannot listen on {host}:{port}: {exc.strerror}") from None
