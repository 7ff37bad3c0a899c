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


COSTLY = [
    "cattrs",
    "orjson",
    "aelyst_async._bulk",
    "aelyst_async._converter",
    "aelyst_async._export",
    "aelyst_async._instrument",
    "aelyst_async._limiter",
    "aelyst_async._models",
    "aelyst_async._protocol",
    "aelyst_async._response",
    "aelyst_async._retry",
    "aelyst_async._sharding",
    "concurrent.futures.thread",
]
"""What `import aelyst_async`, and creating a client, leave for the first request or use."""


@pytest.mark.parametrize(
    "code",
    [
        "import aelyst_async",
        "import aelyst_async; aelyst_async.AelystClient(token='t')",
    ],
)
def test_importing_the_package_leaves_the_costly_parts_for_later(code: str) -> None:
    """
    `import aelyst_async`, and creating a client, build no converter, decode no model, make
    no limiter, import no export or sharding, read no version and start no thread pool: the
    request path waits for the first request.
    """
    probe = (
        f"import sys; {code}; "
        "print(sorted(set(sys.argv[1:]) & set(sys.modules)), "
        "'__version__' in vars(sys.modules['aelyst_async']))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe, *COSTLY], capture_output=True, text=True, check=True
    )
    assert "[] False" == ran.stdout.strip()


def test_the_names_imported_on_first_use_are_the_modules_own() -> None:
    """Each lazily imported public name is the object its module defines, asked for by name."""
    for name, module in aelyst_async._LAZY.items():
        assert getattr(importlib.import_module(f"aelyst_async.{module}"), name) is getattr(
            aelyst_async, name
        )
    assert set(aelyst_async._LAZY) <= set(aelyst_async.__all__)


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
