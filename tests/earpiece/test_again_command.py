"""The demo's banner names the `earpiece` a second terminal can run: the README installs it
into .venv without activating it, so plain `earpiece` was "command not found" there (a
newcomer following the README)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from earpiece.demo import again_command


def _script(folder: Path) -> Path:
    script = folder / ".venv" / "bin" / "earpiece"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    return script


@pytest.mark.parametrize(
    ("on_path", "expected"),
    [(False, ".venv/bin/earpiece"), (True, "earpiece")],
    ids=["a venv not on PATH: its path from this folder", "the one on PATH: plain earpiece"],
)
def test_the_command_is_as_a_second_terminal_here_can_run_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_path: bool, expected: str
) -> None:
    script = _script(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    path = f"{script.parent}{os.pathsep}/usr/bin" if on_path else "/usr/bin:/bin"
    monkeypatch.setenv("PATH", path)
    assert again_command() == expected


def test_run_as_a_module_it_names_the_installed_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/somewhere/earpiece/cli.py", "demo"])
    assert again_command() == "earpiece"


def test_from_another_folder_it_is_the_whole_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _script(tmp_path / "checkout")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert again_command() == str(script.resolve())
