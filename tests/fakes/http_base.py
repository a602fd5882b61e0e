"""What every fake venue's HTTP handler shares: faults, stats, the control API, JSON out.

A dialect subclasses `VenueHandler` and supplies `route` (its REST API), `error_body` (its error
envelope), `rate_limit_body` (what it answers with 429) and `symbol_of` (for the stats).
Faults act per path, as configured on the FakeExchange: latency, timeout (sleep past the
client's timeout, then close), 429 with Retry-After, 5xx (a gateway's HTML page), malformed
JSON, reset (close without answer) and lost (execute, then close without answer).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.book import BookError

log = logging.getLogger("fake-exchange")


class ApiError(Exception):
    """An answer in the venue's error envelope: HTTP status, venue code, message, extra data."""

    def __init__(self, status: int, code, msg: str, data=None) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg, self.data = status, code, msg, data


class VenueHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    candle_paths: tuple[str, ...] = ()

    # --- what a dialect supplies ------------------------------------------------------------
    def route(self, method: str, path: str, params: dict, body: str) -> tuple[int, object]:
        raise NotImplementedError

    def error_body(self, exc: ApiError) -> object:
        raise NotImplementedError

    def rate_limit_body(self) -> object:
        raise NotImplementedError

    def book_error(self, exc: BookError) -> ApiError:
        raise NotImplementedError

    def symbol_of(self, params: dict) -> str | None:
        return params.get("symbol")

    @staticmethod
    def render_order(order) -> dict:
        raise NotImplementedError

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def fake(self):
        return self.server.fake

    @property
    def book(self):
        return self.server.fake.book

    def log_message(self, *args) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if url.path.startswith("/__fake__/"):
            return self._control(method, url.path, body)
        symbol = self.symbol_of(params) if url.path in self.candle_paths else None
        self.fake.count(method, url.path, symbol)
        if method != "GET":  # what came on the wire, faults or not (FakeExchange.posted)
            self.fake.record(method, url.path, params, body)
        fault = self.fake.take_fault(url.path)
        if fault and self._before(fault):
            return None
        try:
            try:
                status, payload = self.route(method, url.path, params, body)
            except BookError as exc:
                raise self.book_error(exc) from None
        except ApiError as exc:
            status, payload = exc.status, self.error_body(exc)
        except Exception:  # a bug in the fake: say so in the log, answer like a broken server
            log.exception("fake %s %s failed", method, self.path)
            status, payload = 500, {"error": "fake exchange bug, see the log"}
        if fault and fault["kind"] == "lost":
            return self._drop()  # the order (if any) is booked; the answer never arrives
        self._send(status, payload, malformed=bool(fault and fault["kind"] == "malformed"))
        return None

    def _before(self, fault: dict) -> bool:
        """Apply a fault that acts before routing; True if the request is answered."""
        kind = fault["kind"]
        if kind in ("latency", "timeout"):
            time.sleep(fault["seconds"] or (5.0 if kind == "timeout" else 0.2))
            return kind == "timeout" and self._drop()
        if kind == "429":
            self._send(
                429, self.rate_limit_body(), headers={"Retry-After": str(fault["retry_after"])}
            )
            return True
        if kind == "5xx":  # what a gateway in front of the exchange answers
            data = b"<html><body>503 Service Temporarily Unavailable</body></html>"
            self.send_response(503)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True
        if kind == "reset":
            return self._drop()
        return False

    def _drop(self) -> bool:
        with contextlib.suppress(OSError):  # already closed by the client: nothing to drop
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True
        return True

    def _send(
        self, status: int, payload, *, headers: dict | None = None, malformed: bool = False
    ) -> None:
        data = b'{"oops": ' if malformed else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _control(self, method: str, path: str, body: str) -> None:
        fake = self.fake
        data = json.loads(body or "{}")
        if path == "/__fake__/faults" and method == "POST":
            fake.inject(data.pop("kind"), **data)
        elif path == "/__fake__/keys" and method == "POST":
            fake.add_key(
                data["key"],
                data["secret"],
                passphrase=data.get("passphrase", ""),
                withdrawals=bool(data.get("withdrawals")),
                balances=data.get("balances"),
            )
        elif path == "/__fake__/settings" and method == "POST":
            fake.configure(**data)
        elif path == "/__fake__/reset" and method == "POST":
            fake.clear_faults()
        elif path == "/__fake__/stats":
            return self._send(
                200,
                {
                    "venue": fake.venue,
                    "requests": dict(fake.stats),
                    "klines_by_symbol": dict(fake.klines_by_symbol),
                    "orders": {k[:4]: fake.orders(k) for k in list(fake.book.orders)},
                },
            )
        return self._send(200, {"ok": True})
