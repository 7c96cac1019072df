"""GET /metrics: requests by path and status, and their latency, for Prometheus.

Debian's python3-prometheus-client. Paths are a fixed set (any other is "other"), so a
scanner's random URLs never grow the number of series.
"""
import os

# Read when the client is imported: no *_created series beside each counter and histogram.
os.environ.setdefault("PROMETHEUS_DISABLE_CREATED_SERIES", "True")

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, Info, generate_latest  # noqa: E402

import config  # noqa: E402

PATHS = ("/", "/health", "/metrics")

REQUESTS = Counter("http_requests", "HTTP requests answered, by path and status.",
                   ["method", "path", "status"])
LATENCY = Histogram("http_request_duration_seconds", "Time to answer an HTTP request, by path.",
                    ["path"],
                    # About 1.5x apart, finer than the client's default: a quantile read from them
                    # is off by at most that factor.
                    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75,
                             1, 1.5, 2, 3, 5, 7.5, 10))
# Which release answers (app_release_info 1, its labels the version and commit).
Info("app_release", "The release this process runs.").info({"version": config.VERSION, "commit": config.COMMIT})


def path_label(path):
    path = path.split("?", 1)[0]
    return path if path in PATHS else "other"


def observe(method, path, status, seconds):
    label = path_label(path)
    REQUESTS.labels(method, label, str(status)).inc()
    LATENCY.labels(label).observe(seconds)


def exposition():
    """Returns (content type, bytes) of every metric."""
    return CONTENT_TYPE_LATEST, generate_latest()
