"""What a running `earpiece demo` tells the commands typed beside it.

`earpiece signin-link ken` in a second terminal, in the demo's folder, failed with
`EARPIECE_ROSTER is not set` (issue 28): the demo's settings (its Redis, the demo
roster, its dashboard's port) lived only in its children's environments. The demo
now writes them to `DATA_DIR/demo.env` (0600, in the 0700 data folder: it names the
embedded Redis) with its process id, and removes the file
when it stops. A one-shot command (`signin-link`, `api-key`, `oidc-unbind`) run
where no roster is set reads it while that process is alive; a process with
EARPIECE_ROSTER set (any real deployment) never does. JSON and the standard
library: nothing to add.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from core.private_files import FILE_MODE, private_dir
from core.processes import alive
from core.settings import Settings, load

FILE_NAME = "demo.env"
# The settings a command beside the demo needs to act on the demo's floor, and no more
# (no Twilio credentials, no session secret: a sign-in link or a key is made in Redis).
SHARED = ("REDIS_URL", "EARPIECE_DEMO", "EARPIECE_DASHBOARD_URL", "PUBLIC_BASE_URL")


def path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def write(data_dir: Path, env: Mapping[str, str], pid: int) -> Path:
    private_dir(data_dir)
    target = path(data_dir)
    body = json.dumps({"pid": pid, "env": {k: env[k] for k in SHARED if k in env}})
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(body)
    return target


def remove(data_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path(data_dir).unlink()


def running(data_dir: Path) -> dict[str, str] | None:
    """The running demo's settings in `data_dir`, or None (no demo, or it stopped)."""
    try:
        saved = json.loads(path(data_dir).read_text(encoding="utf-8"))
        pid, env = int(saved["pid"]), dict(saved["env"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid <= 0 or not alive(pid):
        return None
    return {str(k): str(v) for k, v in env.items()}


def load_beside_demo() -> Settings:
    """The settings of a one-shot command: its own, or, with no roster set and a demo
    running in the same data folder, that demo's (which then wins: it is what is addressed)."""
    settings = load()
    if settings.roster_path is not None:
        return settings
    demo = running(settings.data_dir)
    if demo is None:
        return settings
    return load({**os.environ, **demo})
