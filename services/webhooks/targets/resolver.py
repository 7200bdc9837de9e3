"""Resolving a target's host once, checking every address, and connecting only to those (see
`targets.domain`): the aiohttp resolver handed to each delivery's connector answers the checked
addresses and nothing else, so no second lookup can take the request elsewhere."""

from __future__ import annotations

import asyncio
import socket

from aiohttp.abc import AbstractResolver, ResolveResult

from services.webhooks.targets.domain import IPAddress, Target, TargetRefused, check_addresses, literal_address

RESOLVE_SECONDS = 5.0


async def resolve(host: str) -> list[IPAddress]:
    """Every address the host resolves to (the host itself when it is an address)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    # ValueError: a name the lookup cannot even IDNA-encode (a UnicodeError). `parse_target` refuses such a
    # name up front; should one get here all the same, it is refused like a name that does not resolve (an
    # answer, or a failed attempt), never an exception that escapes as a 500 or stops the worker.
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), RESOLVE_SECONDS
        )
    except (OSError, TimeoutError, ValueError) as exc:
        raise TargetRefused(f"The host {host[:100]} cannot be resolved.") from exc
    found = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = literal_address(str(sockaddr[0]))
        if address is not None:
            found.append(address)
    return found


async def checked_addresses(target: Target, allow_private: bool) -> list[IPAddress]:
    """The target's addresses, every one allowed; TargetRefused otherwise."""
    return check_addresses(target.host, await resolve(target.host), allow_private)


class PinnedResolver(AbstractResolver):
    """Answers the addresses already checked, whatever it is asked: it belongs to the connector of one
    request to one URL (redirects are not followed), so the only name it is ever asked is that URL's."""

    def __init__(self, addresses: list[IPAddress]) -> None:
        self._addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=str(address), port=port,
                          family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                          proto=0, flags=socket.AI_NUMERICHOST)
            for address in self._addresses
        ]

    async def close(self) -> None:
        return None
