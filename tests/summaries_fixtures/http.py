"""What the two local API servers of the summaries tests share: a threaded HTTP server on
127.0.0.1 (a free port), every request recorded, JSON answers, clean shutdown."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    body: dict
    headers: dict[str, str]  # lower-case names

    @property
    def text(self) -> str:
        """All text the request carried (system, messages, tool results)."""
        return json.dumps(self.body, ensure_ascii=False)

    @property
    def is_merge(self) -> bool:
        return "Merge them into one summary" in self.text


class LocalServer:
    """Subclasses answer in ``respond(handler, recorded)``; a body that is not JSON reaches it as
    ``None``. ``url`` is ``http://127.0.0.1:PORT`` plus ``prefix``."""

    prefix = ""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                rec = Recorded(self.command, self.path.split("?")[0], body if isinstance(body, dict) else {},
                               {k.lower(): v for k, v in self.headers.items()})
                with outer._lock:
                    outer.requests.append(rec)
                try:
                    outer.respond(self, rec if body is not None else None)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def respond(self, h: BaseHTTPRequestHandler, rec: Recorded | None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def send(h, code: int, payload, headers: tuple[tuple[str, str], ...] = ()) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        h.send_response(code)
        h.send_header("content-type", "application/json")
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("content-length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def begin_events(h) -> None:
        """Start a server-sent-events answer (the connection closes after it)."""
        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        h.send_header("cache-control", "no-cache")
        h.send_header("connection", "close")
        h.end_headers()
        h.close_connection = True
