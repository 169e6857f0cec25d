"""What the product imports is what pyproject.toml declares, and nothing declared is unused
(issue 21: `anyio` and `requests` were imported but not declared, so an install that did
not happen to pull them in through another package broke; `python-dotenv` was declared
and never imported).

The product is the packages pyproject's setuptools section ships. Every import in them
(top level or inside a function, `import x` or `from x import y`) is read with `ast`; the
standard library and the product's own packages are set aside, and each remaining module
is mapped to the distribution that provides it (importlib.metadata) and compared with
`[project] dependencies`. `tests/` and `bench/` are not shipped: their imports belong to
the `dev` extra and are not checked here.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
# Declared for what they do, not for an import: hiredis-style extras are part of their
# requirement (`redis[hiredis]`), so they need no entry here. Each entry says why.
USED_WITHOUT_IMPORT: dict[str, str] = {
    "sudachidict-core": "SudachiPy's dictionary, loaded by name (Dictionary(dict='core')) in "
    "live/japanese.py",
}


# Not a dependency: the Twilio simulator is a development tool beside the product (sim/, a
# distribution of its own), which only `earpiece sim` and `earpiece demo` import, once it is
# installed (tests/earpiece/test_layers.py).
BESIDE = {"twilio_sim"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def product_packages() -> list[str]:
    patterns = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted({p.rstrip("*") for p in patterns})


def declared() -> set[str]:
    names = set()
    for requirement in PYPROJECT["project"]["dependencies"]:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        assert match, requirement
        names.add(_normal(match.group(0)))
    return names


def imported_modules(packages: list[str]) -> dict[str, set[str]]:
    """Top-level module name -> the files that import it."""
    found: dict[str, set[str]] = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def third_party(found: dict[str, set[str]], packages: list[str]) -> dict[str, set[str]]:
    own = set(packages) | BESIDE
    return {
        name: files for name, files in found.items()
        if name not in sys.stdlib_module_names and name not in own and name != "__future__"
    }  # fmt: skip


def distributions_of(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    """Distribution (normalised) -> the modules of it the product imports."""
    providers = importlib.metadata.packages_distributions()
    out: dict[str, set[str]] = {}
    for module in modules:
        dists = providers.get(module)
        assert dists, f"{module} (imported by {sorted(modules[module])}) is not installed"
        for dist in dists:
            out.setdefault(_normal(dist), set()).add(module)
    return out


def test_every_imported_package_is_declared_and_every_declared_one_is_imported() -> None:
    packages = product_packages()
    modules = third_party(imported_modules(packages), packages)
    used = distributions_of(modules)
    undeclared = {dist: sorted(mods) for dist, mods in used.items() if dist not in declared()}
    assert undeclared == {}, f"imported but not in pyproject's dependencies: {undeclared}"
    unused = sorted(declared() - set(used) - set(USED_WITHOUT_IMPORT))
    assert unused == [], f"declared in pyproject but imported by no product package: {unused}"


def test_the_check_sees_an_undeclared_import_and_an_unused_declaration() -> None:
    """The same functions, on what the old pyproject and code said, find both faults."""
    modules = {"anyio": {"core/twilio_calls.py"}, "requests": {"core/twilio_calls.py"},
               "orjson": {"live/feed.py"}}  # fmt: skip
    used = distributions_of(modules)
    old_declared = {"orjson", "python-dotenv"}
    assert sorted(d for d in used if d not in old_declared) == ["anyio", "requests"]
    assert sorted(old_declared - set(used)) == ["python-dotenv"]


def test_lazy_imports_inside_functions_are_seen() -> None:
    found = imported_modules(["earpiece"])
    # earpiece/cli.py imports uvicorn inside the command that needs it.
    assert "uvicorn" in found
    assert "earpiece/cli.py" in found["uvicorn"]
