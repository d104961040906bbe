import socket

import pytest

from tests.conftest import NetworkGuardError


def test_non_loopback_connection_is_refused() -> None:
    with socket.socket() as sock, pytest.raises(NetworkGuardError):
        sock.connect(("192.0.2.1", 443))


def test_non_loopback_lookup_is_refused() -> None:
    with pytest.raises(NetworkGuardError):
        socket.getaddrinfo("discord.com", 443)


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())
