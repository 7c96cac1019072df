"""GET /: the page, with the version; records a visit."""
import html
import time

import config
import store


def render(path, user_agent):
    """Returns the page's HTML."""
    started = time.monotonic()
    conn = store.connect()
    try:
        with conn:
            store.record_visit(conn, path, user_agent)
            data = store.summary(conn)
    finally:
        conn.close()
    # The bug this release ships: a query per item where one did (N+1), modelled as a wait of
    # 250 ms plus nine times the work itself, so a page takes at least 10 times what it took
    # before, however busy the machine; /health renders no page and stays fast.
    time.sleep(0.25 + 9 * (time.monotonic() - started))
    items = "".join("<li>%s</li>" % html.escape(name) for name in data["items"])
    return (
        "<!doctype html><html><head><title>Sample app %(v)s</title></head><body>"
        "<h1>Sample app</h1><p>version <b id=\"version\">%(v)s</b>, commit <code>%(c)s</code></p>"
        "<p>%(n)d visits</p><ul>%(items)s</ul></body></html>\n"
    ) % {"v": html.escape(config.VERSION), "c": html.escape(config.COMMIT),
         "n": data["visits"], "items": items}
