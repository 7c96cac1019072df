"""Everything the app asks of its database."""
import psycopg2

from config import setting


def connect():
    url = setting("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set (environment or .env)")
    return psycopg2.connect(url, connect_timeout=3, application_name="sample-app")


def schema_version(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT max(version) FROM schema_migrations")
        return cur.fetchone()[0]


def record_visit(conn, path, user_agent):
    with conn.cursor() as cur:
        cur.execute("INSERT INTO visits (path, user_agent) VALUES (%s, %s)", (path, user_agent or "unknown"))


def summary(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM visits")
        visits = cur.fetchone()[0]
        cur.execute("SELECT name FROM items ORDER BY id")
        items = [row[0] for row in cur.fetchall()]
    return {"visits": visits, "items": items}
