"""Settings: the process environment first, then the .env file beside the code.

The .env file (mode 0600, never in git) is written by whoever deploys the app; it holds
DATABASE_URL with its password, so nothing here ever prints a setting's value.
"""
import os
import subprocess

APP_DIR = os.path.dirname(os.path.abspath(__file__))


def _read_env_file(path):
    values = {}
    try:
        with open(path, encoding="utf-8") as env_file:
            for line in env_file:
                line = line.strip()
                if not line or line.startswith("#") or "=" not in line:
                    continue
                key, _, value = line.partition("=")
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                values[key.strip()] = value
    except FileNotFoundError:
        pass
    return values


_FILE_VALUES = _read_env_file(os.path.join(APP_DIR, ".env"))


def setting(name, default=None):
    return os.environ.get(name) or _FILE_VALUES.get(name) or default


def _read_version():
    with open(os.path.join(APP_DIR, "VERSION"), encoding="utf-8") as version_file:
        return version_file.read().strip()


def _read_commit():
    # The commit the code was checked out at is what a deploy is identified by.
    if setting("APP_COMMIT"):
        return setting("APP_COMMIT")
    try:
        out = subprocess.run(
            # The checkout may belong to another user than the app's (root deploys it).
            ["git", "-c", "safe.directory=" + APP_DIR, "-C", APP_DIR, "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


VERSION = _read_version()
COMMIT = _read_commit()
