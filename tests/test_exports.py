"""
The public surface: what `aelyst_async` and `aelyst_async.testing` export, and nothing else.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import pkgutil
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import aelyst_async
import aelyst_async.otel
import aelyst_async.redis
import aelyst_async.testing

PACKAGES = [
    pytest.param(aelyst_async, id="aelyst_async"),
    pytest.param(aelyst_async.redis, id="aelyst_async.redis"),
    pytest.param(aelyst_async.testing, id="aelyst_async.testing"),
    pytest.param(aelyst_async.otel, id="aelyst_async.otel"),
]
# Modules a user imports by name; every other module is private (`_name`).
PUBLIC_MODULES = {
    "aelyst_async.otel",
    "aelyst_async.redis",
    "aelyst_async.testing",
    "aelyst_async.testing.pytest_plugin",
}
REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference"


def isort_key(name: str) -> tuple[int, list[str | int]]:
    """
    The order of ruff's RUF022, so that the test and the linter agree: SCREAMING_CASE
    constants, then CamelCase classes, then the rest; natural order within each.
    """
    cased = [c for c in name if c.isalpha()]
    if len(name) > 1 and cased and all(c.isupper() for c in cased):
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    return kind, [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def sdk_objects(package: types.ModuleType) -> set[str]:
    """
    The public names of a package that the SDK defines: its classes and functions, and its
    constants (classes and functions imported from elsewhere are left out).
    """
    names = set()
    for name, value in vars(package).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        imported = (inspect.isclass(value) or inspect.isfunction(value)) and not (
            value.__module__.startswith("aelyst_async")
        )
        if not imported:
            names.add(name)
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_sorted(package: types.ModuleType) -> None:
    """`__all__` is sorted as ruff sorts it, without duplicates."""
    assert sorted(set(package.__all__), key=isort_key) == package.__all__


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_what_the_package_defines(package: types.ModuleType) -> None:
    """Every public object of the package is in `__all__`, and every name there exists."""
    missing = [name for name in package.__all__ if not hasattr(package, name)]  # loads lazy ones
    exported = set(package.__all__) - {"__version__"}
    assert sdk_objects(package) == exported
    assert [] == missing


@pytest.mark.parametrize("package", PACKAGES)
def test_every_export_has_a_docstring(package: types.ModuleType) -> None:
    """Every exported class and function says what it is."""
    undocumented = [
        name
        for name in package.__all__
        if (inspect.isclass(obj := getattr(package, name)) or inspect.isfunction(obj))
        and not inspect.getdoc(obj)
    ]
    assert [] == undocumented


def test_implementation_modules_are_private() -> None:
    """Every module but the public packages and `__main__` has a name starting with `_`."""
    modules = [
        info.name
        for info in pkgutil.walk_packages(aelyst_async.__path__, prefix="aelyst_async.")
        if info.name not in PUBLIC_MODULES
    ]
    public = [name for name in modules if not name.rpartition(".")[2].startswith("_")]
    assert [] == public


def test_importing_the_package_leaves_the_costly_parts_for_later() -> None:
    """
    `import aelyst_async` builds no converter, imports no export or sharding, reads no version
    and starts no thread pool; the retry and instrumentation machinery waits for the first request.
    """
    code = (
        "import sys, aelyst_async; "
        "print(sorted(set(sys.argv[1:]) & set(sys.modules)), '__version__' in vars(aelyst_async))"
    )
    costly = [
        "cattrs",
        "aelyst_async._converter",
        "aelyst_async._export",
        "aelyst_async._sharding",
        "aelyst_async._bulk",
        "aelyst_async._instrument",
        "aelyst_async._retry",
        "concurrent.futures.thread",
    ]
    ran = subprocess.run(
        [sys.executable, "-c", code, *costly], capture_output=True, text=True, check=True
    )
    assert "[] False" == ran.stdout.strip()


def test_the_version_comes_from_the_package_metadata() -> None:
    """`__version__` is the installed distribution's version, not a literal."""
    assert importlib.metadata.version("aelyst-async") == aelyst_async.__version__
    assert "0+unknown" != aelyst_async.__version__


@pytest.mark.parametrize("package", PACKAGES)
def test_the_reference_documents_every_export(package: types.ModuleType) -> None:
    """Each exported name has its `::: package.name` entry in the reference."""
    pages = "\n".join(page.read_text("utf-8") for page in sorted(REFERENCE.glob("*.md")))
    documented = set(re.findall(r"^::: ([\w.]+)$", pages, re.MULTILINE))
    missing = [n for n in package.__all__ if f"{package.__name__}.{n}" not in documented]
    assert [] == missing


def test_the_pytest_plugin_exports_its_fixtures() -> None:
    """The plugin's `__all__` lists its fixtures, sorted."""
    plugin = importlib.import_module("aelyst_async.testing.pytest_plugin")
    fixtures = {
        name
        for name, value in vars(plugin).items()
        if name.startswith("aelyst_") and callable(value)
    }
    assert sorted(fixtures) == plugin.__all__
