"""How a ``Reply`` leaves: bytes as they are, a stored file by sendfile, a backend body by splice.

The server wrapper (``connector.dataplane.zerocopy``) says in the scope's extensions what it can
do; where it cannot, a file is read and a backend body relayed in large chunks, as before.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from connector.dataplane.zerocopy import SPLICE
from connector.services.dataflow import Reply, StoredFile
from connector.services.dataflow.sources import CHUNK, BackendBody


class RelayResponse(StreamingResponse):
    """A backend's body: spliced socket to socket where the server offers it, else streamed."""

    def __init__(self, body: BackendBody, status_code: int, headers: list[tuple[str, str]]) -> None:
        super().__init__(body, status_code=status_code)
        self.backend = body
        self.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        splice = (scope.get("extensions") or {}).get(SPLICE)
        handoff = (self.backend.handoff() if splice is not None and splice["free"]() and scope["method"] != "HEAD"
                   else None)
        if handoff is None:
            await super().__call__(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if handoff.buffered:
            await send({"type": "http.response.body", "body": handoff.buffered, "more_body": True})
        message: dict[str, Any] = {"type": SPLICE, "fd": handoff.fd, "count": handoff.count}
        try:
            await send(message)
        finally:  # raises SourceFailed (the consumer's body breaks) when the backend broke off
            await self.backend.handed_over(int(message.get("moved") or 0), message.get("source_error"))
        if message.get("sink_error") is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})


def reply_response(reply: Reply) -> Response:
    if isinstance(reply.body, bytes):
        return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))
    if isinstance(reply.body, StoredFile):
        # sent by the server with os.sendfile where it can; HEAD and Range as Starlette does them
        headers = {k: v for k, v in reply.headers if k.lower() not in ("content-type", "content-length")}
        file = FileResponse(reply.body.path, status_code=reply.status, headers=headers,
                            media_type=dict(reply.headers).get("content-type"), stat_result=reply.body.stat)
        file.chunk_size = CHUNK  # where it is read in chunks (a Range, or no sendfile): few, large ones
        return file
    if isinstance(reply.body, BackendBody):
        return RelayResponse(reply.body, reply.status, reply.headers)
    response = StreamingResponse(reply.body, status_code=reply.status)
    response.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
    return response
