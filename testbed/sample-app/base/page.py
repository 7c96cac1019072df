"""GET /: the page, with the version; records a visit."""
import html

import config
import store


def render(path, user_agent):
    """Returns the page's HTML."""
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
