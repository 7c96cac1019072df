#!/usr/bin/env python3
"""The sample application the runbooks deploy: a page, and a health check.

Listens on APP_BIND (default 0.0.0.0) : APP_PORT (default 8000).
"""
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import config
import health
import metrics
import page


class Handler(BaseHTTPRequestHandler):
    server_version = "sample-app/" + config.VERSION

    def do_GET(self):
        started = time.monotonic()
        self._status = 0
        try:
            self._answer()
        finally:
            metrics.observe("GET", self.path, self._status, time.monotonic() - started)

    def _answer(self):
        try:
            if self.path == "/health":
                status, body = health.check()
                self._send(status, "application/json", json.dumps(body) + "\n")
            elif self.path == "/":
                self._send(200, "text/html; charset=utf-8", page.render(self.path, self.headers.get("User-Agent", "")))
            elif self.path == "/metrics":
                content_type, payload = metrics.exposition()
                self._send(200, content_type, payload)
            else:
                self._send(404, "text/plain; charset=utf-8", "not found\n")
        except Exception as exc:
            # An unexpected error is a 500 that still says which release answered.
            self.log_error("%s on %s: %s", type(exc).__name__, self.path, exc)
            body = {"status": "error", "version": config.VERSION, "commit": config.COMMIT,
                    "error": type(exc).__name__}
            self._send(500, "application/json", json.dumps(body) + "\n")

    def _send(self, status, content_type, text):
        payload = text if isinstance(text, bytes) else text.encode("utf-8")
        self._status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-App-Version", config.VERSION)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def main():
    bind = config.setting("APP_BIND", "0.0.0.0")
    port = int(config.setting("APP_PORT", "8000"))
    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True

    # supervisor stops with SIGTERM: finish the request in flight, then exit 0.
    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    sys.stderr.write("sample-app %s (%s) listening on %s:%d\n" % (config.VERSION, config.COMMIT, bind, port))
    sys.stderr.flush()
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
