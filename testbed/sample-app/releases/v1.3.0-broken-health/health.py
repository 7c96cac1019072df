"""GET /health: which release runs, and whether its database answers."""
import config
import store


def check():
    """Returns (HTTP status, JSON-able body)."""
    body = {"status": "ok", "version": config.VERSION, "commit": config.COMMIT}
    conn = store.connect()
    try:
        with conn.cursor() as cur:
            # The bug this release ships: a table no migration creates, and no handler,
            # so every health check answers 500.
            cur.execute("SELECT count(*) FROM health_probes")
            body["probes"] = cur.fetchone()[0]
        body["schema"] = store.schema_version(conn)
    finally:
        conn.close()
    body["database"] = "ok"
    return 200, body
