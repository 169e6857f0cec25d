"""No module imports from a floor above its own (issue 24 §1).

The floors, bottom to top: `core/` (settings, the Redis client and keys, the clock, text
folding and numbers, the audit, the Twilio gateway), `live/` (the floor in Redis: know),
`access/` (who asks), `coach/` (act), `archive/` (remember), `callbacks/` (receive and
serve), `dashboard/` (show) and `earpiece/` (the commands, and the assembly of a process).
The simulator, `sim/twilio_sim/`, stands beside the product: a distribution of its own that
imports nothing of it, run by the commands. Every import in every module is
read with `ast` (lazy imports inside functions too); one that runs up a floor fails here
unless it is listed below with its reason (none is, now).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# earpiece/ is the top floor: the commands and each process's assembly (earpiece/service.py
# for uvicorn's workers, earpiece/dashboard_server.py for Streamlit), so callbacks/ and
# dashboard/ are handed their parts and never reach up for them.
FLOORS = ["core", "live", "access", "coach", "archive", "callbacks", "dashboard", "earpiece"]
BESIDE = "twilio_sim"
# Where each package's folder sits: the simulator is its own distribution, in sim/.
HOME = {**{floor: ROOT for floor in FLOORS}, BESIDE: ROOT / "sim"}
# Upward imports not yet removed (module -> module), each with what removing it needs.
KNOWN_UPWARD: set[tuple[str, str]] = set()  # none left; a new one needs a reason here
# The product's modules that start the simulator (lazily, and only when it is installed).
RUN_THE_SIMULATOR = {"earpiece.cli"}


def imports() -> list[tuple[str, str]]:
    found = []
    for package, home in HOME.items():
        for path in sorted((home / package).rglob("*.py")):
            module = ".".join(path.relative_to(home).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
                if isinstance(node, ast.Import):
                    found += [(module, alias.name) for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.append((module, node.module))
                    # `from core import metrics` imports the module core.metrics
                    folder = HOME.get(floor_of(node.module), ROOT) / node.module.replace(".", "/")
                    found += [
                        (module, f"{node.module}.{alias.name}")
                        for alias in node.names
                        if (folder / f"{alias.name}.py").exists()
                    ]
    return found


def floor_of(module: str) -> str:
    return module.split(".")[0]


def upward_of(pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (module, imported) pairs that run up a floor, less the known ones."""
    upward = set()
    for module, imported in pairs:
        here, there = floor_of(module), floor_of(imported)
        if here in FLOORS and there in FLOORS and FLOORS.index(there) > FLOORS.index(here):
            upward.add((module, imported))
    return {(m, i) for m, i in upward if (m, i) not in KNOWN_UPWARD}


def test_no_import_runs_up_a_floor() -> None:
    upward = upward_of(imports())
    assert upward == set(), f"imports running up a floor: {sorted(upward)}"


def test_the_ground_imports_only_itself() -> None:
    product = {*FLOORS, BESIDE} - {"core"}
    bad = sorted((m, i) for m, i in imports() if floor_of(m) == "core" and floor_of(i) in product)
    assert bad == []


def test_the_simulator_imports_nothing_of_the_product() -> None:
    """It stands in for Twilio: it knows what a Twilio client would, and nothing of Earpiece
    (it copies what it needs, as its task helper), so it installs and runs without it."""
    found = imports()
    assert any(floor_of(m) == BESIDE for m, _ in found)  # the simulator's modules were read
    used = sorted((m, i) for m, i in found if floor_of(m) == BESIDE and floor_of(i) in FLOORS)
    assert used == []


def test_only_the_commands_start_the_simulator() -> None:
    """The product's wheel holds no simulator (tests/test_wheel.py): only the commands that
    run it (`earpiece sim`, `earpiece demo`) import it, and only once it is installed."""
    starters = {m for m, i in imports() if floor_of(m) in FLOORS and floor_of(i) == BESIDE}
    assert starters == RUN_THE_SIMULATOR


def circles(pairs: list[tuple[str, str]]) -> list[list[str]]:
    """The sets of modules that import each other, round a circle (Tarjan's components)."""
    graph: dict[str, set[str]] = {}
    for module, imported in pairs:
        graph.setdefault(module, set()).add(imported)
        graph.setdefault(imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_no_modules_import_each_other() -> None:
    """archive/'s stores and the module choosing between them, and the simulator's two
    control modules, imported each other; a circle makes import order matter."""
    modules = {m for m, _ in imports()}
    assert "twilio_sim.control" in modules
    assert circles([(m, i) for m, i in imports() if i in modules]) == []
    assert circles([("a.x", "a.y"), ("a.y", "a.x"), ("a.y", "a.z")]) == [["a.x", "a.y"]]


def test_the_check_sees_an_upward_import() -> None:
    """The rule itself: live importing callbacks, or core importing live, is caught; the
    same floor and a floor below are not; aliased `from core import x` imports are read."""
    caught = upward_of([("live.store", "callbacks.app"), ("core.audit", "live.store"),
                        ("live.store", "core.keys"), ("callbacks.app", "core.times")])  # fmt: skip
    assert caught == {("live.store", "callbacks.app"), ("core.audit", "live.store")}
    found = imports()
    assert ("live.store", "core.times") in found
    assert ("twilio_sim.app", "twilio_sim.control") in found  # `from twilio_sim import control`


# Where a test lives says what it tests (issue 24 §6): a folder per floor, the simulator's,
# the whole-floor scenarios (marked `scenario`) and the pages driven in chromium.
TEST_FOLDERS = {*FLOORS, "sim", "scenarios", "chromium"}


def test_every_test_module_lives_in_the_folder_of_what_it_tests() -> None:
    tests = ROOT / "tests"
    misplaced = sorted(
        str(path.relative_to(tests))
        for path in tests.rglob("test_*.py")
        if path.parent.parent != tests or path.parent.name not in TEST_FOLDERS
    )
    assert misplaced == []
