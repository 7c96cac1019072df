#!/usr/bin/env python3
"""The sample application the runbooks deploy: a page, and a health check.

Listens on APP_BIND (default 0.0.0.0) : APP_PORT (default 8000).
"""
import html
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import config
import health
import store


class Handler(BaseHTTPRequestHandler):
    server_version = "sample-app/" + config.VERSION

    def do_GET(self):
        try:
            if self.path == "/health":
                status, body = health.check()
                self._send(status, "application/json", json.dumps(body) + "\n")
            elif self.path == "/":
                self._send(200, "text/html; charset=utf-8", self._page())
            else:
                self._send(404, "text/plain; charset=utf-8", "not found\n")
        except Exception as exc:
            # An unexpected error is a 500 that still says which release answered.
            self.log_error("%s on %s: %s", type(exc).__name__, self.path, exc)
            body = {"status": "error", "version": config.VERSION, "commit": config.COMMIT,
                    "error": type(exc).__name__}
            self._send(500, "application/json", json.dumps(body) + "\n")

    def _page(self):
        conn = store.connect()
        try:
            with conn:
                store.record_visit(conn, self.path, self.headers.get("User-Agent", ""))
                data = store.summary(conn)
        finally:
            conn.close()
        items = "".join("<li>%s</li>" % html.escape(name) for name in data["items"])
        return (
            "<!doctype html><html><head><title>Sample app %(v)s</title></head><body>"
            "<h1>Sample app</h1><p>version <b id=\"version\">%(v)s</b>, commit <code>%(c)s</code></p>"
            "<p>%(n)d visits</p><ul>%(items)s</ul></body></html>\n"
        ) % {"v": html.escape(config.VERSION), "c": html.escape(config.COMMIT),
             "n": data["visits"], "items": items}

    def _send(self, status, content_type, text):
        payload = text.encode("utf-8")
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
