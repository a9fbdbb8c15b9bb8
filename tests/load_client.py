"""A load generator's client: one keep-alive HTTP/1.1 connection per simulated client.

httpx shares one connection pool among all its requests, and that pool's own
bookkeeping grows with the number in flight: at 80 concurrent requests it, not the
server, decides who waits (wrk's model, which this follows, has no such pool). Each
``Connection`` here is one socket, parsed by h11 (uvicorn's own HTTP/1.1 parser,
already installed), so latencies measure the server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import h11


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One client's connection to ``host:port``; ``get`` sends a request on it and
    reads the answer, reconnecting when the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._protocol = h11.Connection(h11.CLIENT)

    async def get(self, target: str, headers: dict[str, str] | None = None) -> Answer:
        if self._streams is None or self._protocol.our_state is not h11.IDLE:
            await self.close()
            self._streams = await asyncio.open_connection(self.host, self.port)
            self._protocol = h11.Connection(h11.CLIENT)
        reader, writer = self._streams
        request = h11.Request(
            method="GET",
            target=target,
            headers=[("Host", f"{self.host}:{self.port}"), *(headers or {}).items()],
        )
        writer.write(self._protocol.send(request) + self._protocol.send(h11.EndOfMessage()))
        answer = await self._read(reader)
        if self._protocol.our_state is h11.DONE and self._protocol.their_state is h11.DONE:
            self._protocol.start_next_cycle()
        return answer

    async def _read(self, reader: asyncio.StreamReader) -> Answer:
        status, headers, body = 0, {}, bytearray()
        while True:
            event = self._protocol.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("the server closed the connection")
                self._protocol.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
                headers = {name.decode().lower(): value.decode() for name, value in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return Answer(status, headers, bytes(body))

    async def close(self) -> None:
        if self._streams is not None:
            _, writer = self._streams
            self._streams = None
            writer.close()
