"""The Twilio simulator is a development tool beside the product (issue 24 §1): its own
distribution in sim/, not in Earpiece's wheel, and the commands that run it say in one line
how to install it when it is missing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a clean build reads: not what earlier builds, runs and tools left in the worktree
# (setuptools would pack a stale build/lib into the wheel).
LEFT_BEHIND = shutil.ignore_patterns(
    ".git", ".venv", ".earpiece", "build", "*.egg-info", "__pycache__", "test-artifacts",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", "node_modules",
)  # fmt: skip


def wheel_of(source: Path, tmp: Path) -> list[str]:
    """The file names in the wheel pip builds from a clean copy of `source`."""
    copy, out = tmp / "source", tmp / "wheel"
    shutil.copytree(source, copy, ignore=LEFT_BEHIND)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(copy)],
        check=True,
        timeout=300,
    )
    [built] = out.glob("*.whl")
    with zipfile.ZipFile(built) as wheel:
        return wheel.namelist()


def test_the_products_wheel_holds_no_simulator_and_the_simulators_nothing_else(
    tmp_path: Path,
) -> None:
    product = wheel_of(ROOT, tmp_path / "product")
    assert "earpiece/cli.py" in product and "core/tasks.py" in product
    assert "live/apply.lua" in product  # package data still ships
    assert [name for name in product if "twilio_sim" in name] == []

    simulator = wheel_of(ROOT / "sim", tmp_path / "simulator")
    packages = {name.split("/")[0] for name in simulator if ".dist-info/" not in name}
    assert packages == {"twilio_sim"}
    assert "twilio_sim/engine.py" in simulator and "twilio_sim/py.typed" in simulator


# Runs `earpiece demo` where no finder can find the simulator, as on a machine where only
# the product was installed.
WITHOUT_THE_SIMULATOR = """
import sys


class Without:
    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "twilio_sim":
            return None
        return self.finder.find_spec(name, path, target)


sys.meta_path[:] = [Without(finder) for finder in sys.meta_path]
from earpiece.cli import main

sys.exit(main(sys.argv[1:]))
"""


def test_the_demo_without_the_simulator_says_how_to_install_it(tmp_path: Path) -> None:
    for command in (["demo", "--no-browser"], ["sim", "--callback-url", "http://127.0.0.1:9"]):
        done = subprocess.run(
            [sys.executable, "-c", WITHOUT_THE_SIMULATOR, *command],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        lines = done.stderr.splitlines()
        assert len(lines) == 1, done.stderr  # one line, no traceback
        assert f"`earpiece {command[0]}` needs the Twilio simulator" in lines[0]
        assert "pip install -e ./sim" in lines[0]
    assert not (tmp_path / ".earpiece").exists()  # nothing started: no embedded Redis
