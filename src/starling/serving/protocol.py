"""uvicorn's HTTP protocol, changed in one respect: how a draining worker treats keep-alive connections.

uvicorn closes every idle keep-alive connection the moment shutdown starts. A client that sends its
next request on such a connection at that moment gets "server disconnected without a response": the
request was neither refused nor answered, and a load test counts a failure for every busy connection
of every retiring worker. Here an idle connection stays open during the drain: its next request is
answered normally with ``Connection: close``, so the client opens a new connection (to a new worker)
for the one after; a connection that stays idle is closed by the usual keep-alive timeout.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class DrainingHttpToolsProtocol(HttpToolsProtocol):
    _draining = False

    def shutdown(self) -> None:
        self._draining = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
            return
        if self.timeout_keep_alive_task is None and not self.transport.is_closing():
            # Accepted but no request yet: give it the keep-alive time to send one.
            loop = asyncio.get_running_loop()
            self.timeout_keep_alive_task = loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self._draining and self.cycle is not None:
            self.cycle.keep_alive = False
