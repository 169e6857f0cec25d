"""Issue 28: the README's demo examples run as pasted, with the variables from the
demo's own `export` line and the ports it printed, and `earpiece signin-link ken`
works in a second terminal beside the demo (it failed: `EARPIECE_ROSTER is not set`)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.helpers import start_demo

README = Path(__file__).resolve().parents[2] / "README.md"


def second_terminal(folder: Path) -> dict[str, str]:
    """A fresh terminal in the demo's folder: none of the demo's settings inherited, the
    data folder the same as the demo's (start_demo sets it as a user's profile would)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_URL", "TWILIO_", "EARPIECE_"))}  # fmt: skip
    env["EARPIECE_DATA_DIR"] = str(folder / "data")
    return env


def demo_blocks() -> list[str]:
    """The README's `sh` blocks of the demo section, but the endless `curl -N` stream."""
    section = README.read_text(encoding="utf-8").split("## What `earpiece demo` gives you")[1]
    section = section.split("\n## ")[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 3, "the demo section lost its examples"
    return [b for b in blocks if "curl -N" not in b]


def test_readme_examples_and_signin_link_beside_the_demo() -> None:
    folder = Path(tempfile.mkdtemp(prefix="ep-readme-", dir="/tmp"))
    demo, text = start_demo(folder, "--agents", "4", "--calls-per-minute", "2")
    try:
        # What the demo leaves for commands beside it is its user's alone, and no secret.
        left = folder / "data" / "demo.env"
        assert left.stat().st_mode & 0o777 == 0o600
        assert "AUTH_TOKEN" not in left.read_text() and "SECRET" not in left.read_text()
        env = second_terminal(folder)
        link = subprocess.run([sys.executable, "-m", "earpiece.cli", "signin-link", "ken"],
                              cwd=folder, env=env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert link.returncode == 0, link.stderr
        printed = re.search(r"Dashboard\s+(http://127\.0\.0\.1:\d+)/", text)
        assert printed and link.stdout.strip().startswith(printed.group(1) + "/?signin="), text
        # A link per demo supervisor, each signing in once.
        for name in ("Ana Ito", "Ken Sato", "Quincy Adams"):
            assert re.search(rf"{name}\s+http://127\.0\.0\.1:\d+/\?signin=\S+", text), text
        export = re.search(r"^\s+(export API=\S+ SIM=\S+ TOKEN=\S+ KEY=\S+)$", text, re.M)
        assert export, text
        # Every curl of the examples must answer 2xx: -f makes an HTTP error fail the script.
        script = "\n".join([
            "set -euo pipefail",
            'curl() { command curl -sS -f "$@"; echo; }',
            export.group(1),
            *demo_blocks(),
            'echo "CF=$CF"',
        ])  # fmt: skip
        ran = subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
        assert ran.returncode == 0, ran.stdout + ran.stderr
        cf = re.search(r"CF=(CF[0-9a-f]{32})", ran.stdout)
        assert cf, ran.stdout
        assert '"whisper"' in ran.stdout  # the switch to whisper answered with its monitor
    finally:
        demo.send_signal(signal.SIGINT)
        demo.communicate(timeout=30)
    try:
        assert demo.returncode == 0
        assert not (folder / "data" / "demo.env").exists()  # the demo took its file away
        # With the demo gone, the command says so plainly (no roster), not a traceback.
        gone = subprocess.run([sys.executable, "-m", "earpiece.cli", "signin-link", "ken"],
                              cwd=folder, env=second_terminal(folder), capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert gone.returncode == 2 and "EARPIECE_ROSTER is not set" in gone.stderr
        assert "Traceback" not in gone.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)
