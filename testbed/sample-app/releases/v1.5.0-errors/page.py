"""GET /: the page, with the version; records a visit."""
import html
import itertools

import config
import store

# The bug this release ships: every fourth page fails (a cache that drops entries it still
# needs, say) and answers 500; /health never renders a page, so the health check passes.
_PAGES = itertools.count(1)


def render(path, user_agent):
    """Returns the page's HTML."""
    if next(_PAGES) % 4 == 0:
        raise RuntimeError("the page cache lost an entry")
    conn = store.connect()
    try:
        with conn:
            store.record_visit(conn, path, user_agent)
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
