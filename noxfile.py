"""
The one entry point for lint, type checks, tests, docs, packaging and benchmarks.

`nox` alone runs what CI runs: lint, types, tests, docs and the tests against the built wheel.
"""

from __future__ import annotations

import pathlib
import shutil

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
    mypy --strict over the package, the tests (typing tests included) and the benchmarks.
    """
    session.install("-e", ".", *group("types"))
    session.run("mypy")


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
    Build the sdist and the wheel into dist/.
    """
    session.install("build")
    shutil.rmtree(ROOT / "dist", ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", "dist")


@nox.session
def wheel_tests(session: nox.Session) -> None:
    """
    The test suite against the installed wheel, not the source tree.
    """
    session.install("build")
    wheel_dir = pathlib.Path(session.create_tmp()) / "wheel"
    shutil.rmtree(wheel_dir, ignore_errors=True)
    session.run("python", "-m", "build", "--wheel", "--outdir", str(wheel_dir))
    wheel = next(wheel_dir.glob("aelyst_async-*.whl"))
    session.install(f"{wheel}[cli]", *group("test"))
    # Run from a copy of the tests outside the tree, so `import aelyst_async` finds the wheel.
    tests_copy = pathlib.Path(session.create_tmp()) / "tests"
    shutil.rmtree(tests_copy, ignore_errors=True)
    shutil.copytree(ROOT / "tests", tests_copy)
    shutil.copy(ROOT / "pyproject.toml", tests_copy.parent / "pyproject.toml")
    with session.chdir(tests_copy.parent):
        session.run(
            "python",
            "-c",
            "import aelyst_async as a; assert 'site-packages' in a.__file__, a.__file__",
        )
        session.run("pytest", "-p", "no:cacheprovider", "tests", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """
    Build the documentation site with `mkdocs build --strict`.
    """
    session.install("-e", ".", *group("docs"))
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        str(pathlib.Path(session.create_tmp()) / "site"),
    )


@nox.session
def bench(session: nox.Session) -> None:
    """
    The benchmarks: writes bench/RESULTS.md. `nox -s bench -- --quick` for a short run.
    """
    session.install("-e", ".[cli]", *group("bench"))
    session.run("python", "-m", "bench", *session.posargs)
