"""
The one entry point for lint, type checks, tests, docs, packaging and benchmarks.

`nox` alone runs what CI runs: lint, types, tests, docs, the fake server against the API's
description, and the tests against the built wheel.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "types", "tests", "docs", "spec", "wheel_tests"]
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


def readme_commands() -> tuple[str, str]:
    """
    The README's two commands: install and run the demo, and run the test suite.
    """
    text = (ROOT / "README.md").read_text("utf-8")
    found = [re.search(rf"^# {n}\. .*\n(.+)$", text, re.MULTILINE) for n in (1, 2)]
    if found[0] is None or found[1] is None:
        raise RuntimeError("README.md lacks its two commands, `# 1. ...` and `# 2. ...`")
    return found[0][1], found[1][1]


@nox.session(python=False)
def readme(session: nox.Session) -> None:
    """
    The README's two commands as a newcomer runs them, in a scratch clone of HEAD, where
    `python3` is a system Python that refuses `pip install` (PEP 668; Debian's
    /usr/bin/python3, with python3-venv): command 1 whole, and command 2 up to its test run
    (the test run is `nox`, which this session is part of).
    `nox -s readme -- /path/to/python3` picks the interpreter.
    """
    python = pathlib.Path(session.posargs[0] if session.posargs else "/usr/bin/python3")
    marker = session.run(str(python), "-c", EXTERNALLY_MANAGED, silent=True, external=True)
    if not isinstance(marker, str) or not pathlib.Path(marker.strip()).is_file():
        session.error(f"{python} is not an externally managed Python (PEP 668)")
    demo, tests = readme_commands()
    *install, run_tests = tests.split(" && ")
    if "nox" not in run_tests:
        session.error(f"README command 2 does not end with its test run: {tests}")
    work = pathlib.Path(tempfile.mkdtemp(prefix="aelyst-readme-"))
    try:
        shims = work / "bin"  # `python3` is the system Python, as on a fresh machine
        shims.mkdir()
        (shims / "python3").symlink_to(python)
        clone = work / "clone"
        session.run("git", "clone", "--quiet", str(ROOT), str(clone), external=True)
        env = {"PATH": os.pathsep.join([str(shims), os.environ.get("PATH", os.defpath)])}
        with session.chdir(clone):
            session.run("bash", "-c", "command -v python3", env=env, external=True)
            session.run("bash", "-c", demo, env=env, external=True)
            session.run("bash", "-c", " && ".join(install), env=env, external=True)
            session.run("bash", "-c", ".venv/bin/python -m nox --list", env=env, external=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


EXTERNALLY_MANAGED = """
import os, sysconfig
print(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
"""


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
        shutil.copytree(ROOT / ".ci", project / ".ci")
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

API_DESCRIPTION = ROOT / "docs" / "api" / "openapi.yaml"
# Checks left out, each for a reason: a well-formed identifier of no contact is a 404 and a
# cursor of no message a 400, as the API answers them, so valid-looking input is not always
# accepted; the API has one GET operation, no resources to create or delete.
SPEC_EXCLUDED_CHECKS = [
    "positive_data_acceptance",
    "use_after_free",
    "ensure_resource_availability",
    "object_level_authorization",
]


@nox.session
def spec(session: nox.Session) -> None:
    """
    schemathesis's stateless checks of a running `aelyst mock-server` against the project's
    API description, docs/api/openapi.yaml: any answer outside the description fails.
    Twice: without a rate limit, then with one low enough that 429s are checked too.
    """
    session.install(".[cli]", *group("spec"))
    aelyst = pathlib.Path(session.bin) / "aelyst"
    # In the session's directory: schemathesis keeps a cache in its working directory.
    with session.chdir(session.create_tmp()):
        for rate_limit in ("0", "5"):
            with mock_server(aelyst, "--rate-limit", rate_limit) as url:
                session.run(
                    "st",
                    "--no-color",
                    "run",
                    str(API_DESCRIPTION),
                    "--url",
                    url,
                    "--header",
                    f"Authorization: Bearer {MOCK_SERVER_TOKEN}",
                    "--checks",
                    "all",
                    "--exclude-checks",
                    ",".join(SPEC_EXCLUDED_CHECKS),
                    "--phases",
                    "examples,coverage,fuzzing",
                    "--max-examples",
                    "200",
                    "--seed",
                    "0",
                    "--workers",
                    "1",
                    *session.posargs,
                )


MOCK_SERVER_TOKEN = "test-token"


@contextlib.contextmanager
def mock_server(aelyst: pathlib.Path, *options: str) -> Iterator[str]:
    """
    A real `aelyst mock-server` process on a free port, with `options`; its base URL.
    """
    command = [str(aelyst), "mock-server", "--port", "0", *options]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()  # printed once it listens
            url = re.search(r"on (http://\S+/v1) ", banner)
            if url is None:
                raise RuntimeError(f"aelyst mock-server did not start: {banner!r}")
            yield url[1]
        finally:
            process.terminate()  # leaving the block waits for it


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
    session.install("-e", ".[cli,redis]", *group("bench"))
    session.run("python", "-m", "bench", *session.posargs)
