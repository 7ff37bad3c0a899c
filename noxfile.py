"""
The one entry point for lint, type checks, tests, docs, packaging and benchmarks.

`nox` alone runs what CI runs: lint, types, tests, docs and the tests against the built wheel.
"""

from __future__ import annotations

import pathlib
import shutil
import sys
import tarfile
import tempfile
import zipfile

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "types", "tests", "docs", "wheel_tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = pathlib.Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")


def group(name: str) -> list[str]:
    """
    The requirements of a dependency group of pyproject.toml.
    """
    return list(nox.project.dependency_groups(PYPROJECT, name))


@nox.session
def lint(session: nox.Session) -> None:
    """
    ruff: lint and format check.
    """
    session.install(*group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def types(session: nox.Session) -> None:
    """
    mypy --strict over the package, the tests (typing tests included) and the benchmarks;
    pyright over the package and the typing tests.
    """
    session.install("-e", ".", *group("types"))
    session.run("mypy")
    # pyright[nodejs] runs on a node from PyPI; pyright finds the packages of this session's
    # interpreter, the first `python` on PATH.
    session.run("pyright")


@nox.session
def tests(session: nox.Session) -> None:
    """
    The test suite against the source tree.
    """
    session.install("-e", ".", *group("test"))
    session.run("pytest", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """
    Build the sdist and the wheel into dist/, and check what they hold.
    """
    session.install("build", "twine")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist))
    wheel, sdist = one(dist, "aelyst_async-*.whl"), one(dist, "aelyst_async-*.tar.gz")
    session.run("twine", "check", "--strict", str(wheel), str(sdist))
    check_contents(wheel, sdist)


@nox.session
def wheel_tests(session: nox.Session) -> None:
    """
    The test suite against the built wheel installed, from a copy of the tests outside the
    source tree; then the wheel alone in a fresh virtualenv runs `aelyst demo`.
    """
    session.install("build")
    work = pathlib.Path(tempfile.mkdtemp(prefix="aelyst-wheel-tests-"))
    try:
        session.run("python", "-m", "build", "--wheel", "--outdir", str(work / "dist"))
        wheel = one(work / "dist", "aelyst_async-*.whl")
        session.install(f"{wheel}[cli]", *group("test"))
        # The version does not change between builds: force the wheel over an earlier one.
        session.install("--force-reinstall", "--no-deps", str(wheel))

        # What the tests read besides themselves: the docs examples, and pytest's settings.
        project = work / "project"
        shutil.copytree(
            ROOT / "tests", project / "tests", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copytree(ROOT / "docs", project / "docs")
        for name in ("README.md", "pyproject.toml"):
            shutil.copy(ROOT / name, project / name)
        with session.chdir(project):
            session.run("python", "-c", IMPORTED_FROM_THE_WHEEL, str(ROOT))
            session.run("pytest", "-p", "no:cacheprovider", *session.posargs)

        # A user's first steps on a fresh machine: the wheel and its dependencies, nothing more.
        fresh = work / "fresh"
        session.run("python", "-m", "venv", str(fresh))
        scripts = fresh / ("Scripts" if sys.platform == "win32" else "bin")
        session.run(
            str(scripts / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"{wheel}[cli]",
            external=True,
        )
        session.run(str(scripts / "aelyst"), "demo", "--progress", "none", external=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


IMPORTED_FROM_THE_WHEEL = """
import pathlib, sys
import aelyst_async
package = pathlib.Path(aelyst_async.__file__).resolve().parent
source = pathlib.Path(sys.argv[1]).resolve() / "aelyst_async"
assert package != source and "site-packages" in package.parts, package
print("testing", package)
"""


@nox.session
def docs(session: nox.Session) -> None:
    """
    Build the documentation site with `mkdocs build --strict` (its examples run in `tests`).
    """
    session.install("-e", ".", *group("docs"))
    site = pathlib.Path(session.create_tmp()) / "site"
    session.run("mkdocs", "build", "--strict", "--site-dir", str(site), env=QUIET_MKDOCS)


QUIET_MKDOCS = {"NO_MKDOCS_2_WARNING": "1"}


def one(directory: pathlib.Path, pattern: str) -> pathlib.Path:
    """
    The one file of `directory` that matches `pattern`.
    """
    matches = sorted(directory.glob(pattern))
    if len(matches) != 1:
        raise RuntimeError(f"expected one {pattern} in {directory}, found {matches}")
    return matches[0]


def check_contents(wheel: pathlib.Path, sdist: pathlib.Path) -> None:
    """
    The wheel holds the package, typed, and its test tools, and no tests; the sdist holds
    what it takes to test and document it.
    """
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for needed in (
        "aelyst_async/__init__.py",
        "aelyst_async/py.typed",
        "aelyst_async/testing/pytest_plugin.py",
    ):
        if needed not in names:
            raise RuntimeError(f"{wheel.name} lacks {needed}")
    strays = sorted(name for name in names if name.split("/")[0] in ("tests", "docs", "bench"))
    if strays:
        raise RuntimeError(f"{wheel.name} holds files outside the package: {strays[:5]}")
    with tarfile.open(sdist) as archive:
        top = {"/".join(name.split("/")[1:3]) for name in archive.getnames()}
    for needed in ("CHANGELOG.md", "mkdocs.yml", "docs/index.md", "tests/test_docs.py"):
        if not any(name == needed or name.startswith(needed) for name in top):
            raise RuntimeError(f"{sdist.name} lacks {needed}")


@nox.session
def bench(session: nox.Session) -> None:
    """
    The benchmarks: writes bench/RESULTS.md. `nox -s bench -- --quick` for a short run.
    """
    session.install("-e", ".[cli]", *group("bench"))
    session.run("python", "-m", "bench", *session.posargs)
