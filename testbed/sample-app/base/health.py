"""GET /health: which release runs, and whether its database answers."""
import config
import store


def check():
    """Returns (HTTP status, JSON-able body)."""
    body = {"status": "ok", "version": config.VERSION, "commit": config.COMMIT}
    try:
        conn = store.connect()
        try:
            body["schema"] = store.schema_version(conn)
        finally:
            conn.close()
        body["database"] = "ok"
        return 200, body
    except Exception as exc:  # any database trouble makes the instance unhealthy
        body["status"] = "unhealthy"
        body["database"] = type(exc).__name__
        return 503, body
