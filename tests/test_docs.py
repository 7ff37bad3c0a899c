"""
Every code example of the documentation runs, against the fake server.

What runs:

- Every ```python block of `docs/**/*.md` and `README.md`, in order, as a script
  (`__name__ == "__main__"`) whose namespace goes on from the page's earlier blocks (so a
  page reads as one session), top-level `await` allowed, with `$AELYST_TOKEN` and
  `$AELYST_BASE_URL` pointing at a fake server with `aelyst mock-server`'s dataset, which
  holds the identifiers the examples use, as written (`id:123`, `email:abdc@gmail.com`, ...).
  A fragment may also use `identifiers`, a list of three identifiers. A ```text block right
  after it (nothing but blank lines between) is its output: the script must print exactly
  that, where `...` stands for any text. Output shown after a sentence ("the first ones:")
  is an excerpt, and is not compared.
- The blocks of a page titled with a file name (```python title="conftest.py"```,
  `test_*.py`, `pyproject.toml`) are written to a fresh directory and run as one pytest
  session, which must pass.
- Every `$ aelyst ...` command of a ```console block, as a shell command in the page's
  directory, against a real `aelyst mock-server` process; it must exit with 0. The lines
  after it, up to the next `$ `, are its output (stdout and stderr as a terminal shows them):
  when there are any, the command must print exactly them, where `...` stands for any text
  (a port, a duration, elided fields).
- Every ```python example in the docstrings the reference renders, with a namespace that
  gives the fragments what they name (`client`, `token`, `identifiers`, ...) and a
  `contacts.txt` in the working directory.

`<!-- docs-test: skip -->` on the line before a block leaves it out; it is for the rare block
that cannot run (a server that runs until Ctrl-C), and `test_skips_are_rare` keeps it so.
"""

from __future__ import annotations

import ast
import asyncio
import doctest
import importlib
import inspect
import io
import itertools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import attrs
import pytest

import aelyst_async
import aelyst_async.otel
import aelyst_async.testing
from aelyst_async import AelystClient
from aelyst_async.testing import (
    Dataset,
    FakeAelystServer,
    RateLimitConfig,
    ServerOptions,
)

from .helpers import ServerThread
from .redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]
TOKEN = "test-token"
SKIP = "<!-- docs-test: skip -->"
RUN_LANGUAGES = frozenset({"python", "py", "console"})
FILE_TITLE = re.compile(r"(conftest\.py|test_\w+\.py|pyproject\.toml)")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,})(?P<info>[^`]*)$")
MAX_SKIPS = 4
# `aelyst mock-server`'s dataset (its default options), which the examples' outputs show.
MOCK_SERVER_DATASET = Dataset(seed=0, contacts=1000, messages=(0, 100))
COMMAND_TIMEOUT = 120.0


@attrs.frozen
class Block:
    """
    One fenced code block of a page.
    """

    path: Path
    line: int
    language: str
    title: str | None
    code: str
    skipped: bool
    follows_block: bool = False
    """Whether nothing but blank lines separates it from the block before it."""

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_test_file(self) -> bool:
        """
        Whether it is a file of a pytest session (`conftest.py`, `test_*.py`, `pyproject.toml`).
        """
        return self.title is not None and FILE_TITLE.fullmatch(self.title) is not None

    @property
    def is_data_file(self) -> bool:
        """
        Whether it is a file the page's examples read, such as `contacts.txt`.
        """
        return (
            self.title is not None and self.language not in RUN_LANGUAGES and not self.is_test_file
        )


def parse_blocks(path: Path, text: str) -> list[Block]:
    """
    The fenced code blocks of a Markdown text, indented ones (in admonitions) included.
    """
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"].strip()
        language, _, attributes = info.partition(" ")
        title = re.search(r'title="([^"]*)"', attributes)
        previous = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
        start = index
        index += 1
        body: list[str] = []
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index][len(indent) :])
            index += 1
        index += 1
        blocks.append(
            Block(
                path=path,
                line=start + 1,
                language=language.lower(),
                title=title[1] if title else None,
                code="\n".join(body) + "\n",
                skipped=previous == SKIP,
                follows_block=bool(blocks) and FENCE.match(previous) is not None,
            )
        )
    return blocks


ALL_BLOCKS = [block for page in PAGES for block in parse_blocks(page, page.read_text("utf-8"))]
RUNNABLE = [b for b in ALL_BLOCKS if b.language in RUN_LANGUAGES and not b.skipped]
SCRIPTS = [b for b in RUNNABLE if b.language != "console" and not b.is_test_file]
COMMANDS = [b for b in RUNNABLE if b.language == "console"]
PYTEST_PAGES = sorted({b.path for b in ALL_BLOCKS if b.is_test_file})


@pytest.fixture(scope="module")
def docs_server() -> Iterator[FakeAelystServer]:
    options = ServerOptions(
        token=TOKEN,
        dataset=MOCK_SERVER_DATASET,
        rate_limit=RateLimitConfig(requests=1000, window=1.0),
    )
    with ServerThread(options) as server:
        yield server


@pytest.fixture
def docs_env(
    docs_server: FakeAelystServer,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> FakeAelystServer:
    """
    The environment of an example: the fake server's token and URL, a real Redis as
    `$REDIS_URL`, and an empty working directory.
    """
    monkeypatch.setenv("AELYST_TOKEN", TOKEN)
    monkeypatch.setenv("AELYST_BASE_URL", docs_server.url)
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.chdir(tmp_path)
    return docs_server


def write_page_files(page: Path, directory: Path) -> None:
    """
    Write the files a page shows with a title (```text title="contacts.txt"```), so that its
    examples read what the reader sees; test files are for `test_pytest_example_passes`.
    """
    for block in parse_blocks(page, page.read_text("utf-8")):
        if block.is_data_file:
            assert block.title is not None
            (directory / block.title).write_text(block.code, encoding="utf-8")


def run_script(code: str, filename: str, namespace: dict[str, Any]) -> str:
    """
    Run Python source as a script, top-level `await` allowed; return what it printed.
    """
    compiled = compile(code, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    output = io.StringIO()
    with redirect_stdout(output):
        if compiled.co_flags & inspect.CO_COROUTINE:
            asyncio.run(eval(compiled, namespace))
        else:
            exec(compiled, namespace)
    return output.getvalue()


SCRIPT_PAGES = sorted({b.path for b in SCRIPTS})


def shown_outputs(blocks: list[Block]) -> dict[int, str]:
    """
    The output the docs show for their blocks, by line: an untitled ```text block right after
    a block (nothing but blank lines between).
    """
    return {
        block.line: after.code
        for block, after in itertools.pairwise(blocks)
        if after.language == "text" and after.title is None and after.follows_block
    }


@pytest.mark.parametrize("page", SCRIPT_PAGES, ids=[str(p.relative_to(ROOT)) for p in SCRIPT_PAGES])
def test_python_examples_run(page: Path, docs_env: FakeAelystServer) -> None:
    """
    The Python examples of a page run to the end, in order, against the fake server, and
    print the output shown right after them.
    """
    write_page_files(page, Path.cwd())
    namespace: dict[str, Any] = {"__name__": "__main__", "identifiers": ["id:1", "id:2", "id:3"]}
    outputs = shown_outputs([b for b in ALL_BLOCKS if b.path == page])
    for block in (b for b in SCRIPTS if b.path == page):
        printed = run_script(block.code, block.id, namespace)
        shown = outputs.get(block.line)
        if shown is not None:
            assert same_output(shown, printed), f"{block.id}\nshown:\n{shown}printed:\n{printed}"


@attrs.frozen
class Command:
    """
    One `$ ...` command of a console block, and the output shown after it.
    """

    line: str
    shown: str


def commands(block: Block) -> Iterator[Command]:
    """
    The `$ ...` commands of a console block (`\\` continuations joined), with their output.
    """
    command: list[str] = []
    shown: list[str] = []
    continued = False
    for line in [*block.code.splitlines(), "$ "]:
        if continued:
            command.append(line.strip())
        elif line.startswith("$ "):
            if command:
                yield Command(line=" ".join(command), shown="".join(s + "\n" for s in shown))
            command, shown = [line[2:].strip()], []
        else:
            shown.append(line)
            continue
        continued = command[-1].endswith("\\")
        if continued:
            command[-1] = command[-1][:-1].rstrip()


def aelyst_executable() -> str:
    """
    The `aelyst` command of the environment that runs the tests.
    """
    found = shutil.which("aelyst", path=str(Path(sys.executable).parent))
    assert found is not None, "no `aelyst` command beside the test's Python: install '.[cli]'"
    return found


@pytest.fixture(scope="module")
def mock_server_url() -> Iterator[str]:
    """
    A real `aelyst mock-server` process on a free port, without a rate limit (so that the
    examples' outputs show no 429), stopped at the end.
    """
    command = [aelyst_executable(), "mock-server", "--port", "0", "--rate-limit", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()  # printed once it listens
            url = re.search(r"on (http://\S+/v1) ", banner)
            assert url is not None, f"aelyst mock-server did not start: {banner!r}"
            yield url[1]
        finally:
            process.terminate()  # leaving the block waits for it


def run_command(line: str, base_url: str) -> subprocess.CompletedProcess[str]:
    """
    Run a docs command line in a shell, as a reader would, in the working directory.
    """
    bin_dir = str(Path(aelyst_executable()).parent)
    env = {
        **os.environ,
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
        "AELYST_BASE_URL": base_url,
        "AELYST_TOKEN": TOKEN,
        "PYTHONUNBUFFERED": "1",  # stdout and stderr interleave as on a terminal
    }
    return subprocess.run(
        line,
        shell=True,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def same_output(shown: str, printed: str) -> bool:
    """
    Whether a command printed what the docs show, `...` standing for any text.
    """
    checker = doctest.OutputChecker()
    return checker.check_output(shown, printed, doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)


@pytest.mark.slow
@pytest.mark.parametrize("block", COMMANDS, ids=[b.id for b in COMMANDS])
def test_command_line_example_runs_as_shown(
    block: Block, mock_server_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every `aelyst` command of a console block exits with 0 and prints what the docs show."""
    monkeypatch.chdir(tmp_path)
    write_page_files(block.path, tmp_path)
    ran = 0
    for command in commands(block):
        assert command.line.startswith("aelyst "), f"not an aelyst command: {command.line}"
        result = run_command(command.line, mock_server_url)
        assert 0 == result.returncode, f"$ {command.line}\n{result.stdout}"
        if command.shown:
            assert same_output(command.shown, result.stdout), (
                f"$ {command.line}\nshown:\n{command.shown}printed:\n{result.stdout}"
            )
        ran += 1
    assert ran, "a console block without a `$ aelyst` command"


def test_a_text_block_right_after_an_example_is_its_output() -> None:
    """Only a text block with nothing but blank lines before it is an example's output."""
    page = (
        "```python\nprint(1)\n```\n\n```text\n1\n```\n"
        "```python\nprint(2)\n```\nIt prints:\n```text\n2\n```\n"
        '```python\nprint(3)\n```\n```text title="data.txt"\n3\n```\n'
    )
    assert {1: "1\n"} == shown_outputs(parse_blocks(Path("x.md"), page))


def test_console_blocks_split_into_commands_and_their_output() -> None:
    """A console block is read as commands, `\\` continuations joined, each with its output."""
    code = "$ aelyst a \\\n  --b 1\nout 1\nout 2\n$ aelyst c\n"
    block = Block(Path("x.md"), 1, "console", None, code, skipped=False)
    expected = [Command("aelyst a --b 1", "out 1\nout 2\n"), Command("aelyst c", "")]
    assert expected == list(commands(block))


@pytest.mark.parametrize("page", PYTEST_PAGES, ids=[str(p.relative_to(ROOT)) for p in PYTEST_PAGES])
def test_pytest_example_passes(
    page: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test files of a page, written out, make a pytest session that passes."""
    # As in a user's session, the plugin is first imported by `pytest_plugins` (so that
    # pytest can rewrite its asserts); pytester restores sys.modules afterwards.
    monkeypatch.delitem(sys.modules, "aelyst_async.testing.pytest_plugin", raising=False)
    files = [b for b in parse_blocks(page, page.read_text("utf-8")) if b.is_test_file]
    for block in files:
        assert block.title is not None
        (pytester.path / block.title).write_text(block.code, encoding="utf-8")
    if not any(b.title == "pyproject.toml" for b in files):
        pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-W", "error"
    )
    outcomes = result.parseoutcomes()
    assert {"passed"} == set(outcomes), result.stdout.str()


def test_every_page_has_a_running_example() -> None:
    """Every page but the reference and the changelog shows code that runs."""
    exempt = {DOCS / "changelog.md"} | set((DOCS / "reference").rglob("*.md"))
    running = {b.path for b in RUNNABLE}
    assert [] == [str(p.relative_to(ROOT)) for p in PAGES if p not in running | exempt]


def test_skips_are_rare() -> None:
    """Only a few blocks are left out of the run, each for a reason a reader can see."""
    skipped = [b.id for b in ALL_BLOCKS if b.skipped]
    assert len(skipped) <= MAX_SKIPS, skipped


# -- the examples of the docstrings the reference renders --------------------------------------

DIRECTIVE = re.compile(r"^::: (aelyst_async[\w.]*)$", re.MULTILINE)


def documented_objects() -> Iterator[tuple[str, object]]:
    """
    Every object a `::: path` directive of the reference renders, with its public members.
    """
    for page in sorted((DOCS / "reference").rglob("*.md")):
        for path in DIRECTIVE.findall(page.read_text("utf-8")):
            try:
                yield path, importlib.import_module(path)
                continue
            except ModuleNotFoundError:
                module_name, _, name = path.rpartition(".")
                obj = getattr(importlib.import_module(module_name), name)
            yield path, obj
            if inspect.isclass(obj):
                for member_name, member in vars(obj).items():
                    if not member_name.startswith("_"):
                        yield f"{path}.{member_name}", member


def docstring_examples() -> Iterator[tuple[str, str]]:
    seen: set[int] = set()
    for path, obj in documented_objects():
        target = getattr(obj, "__func__", None) or getattr(obj, "fget", None) or obj
        doc = target.__doc__ if not isinstance(target, str | int | float) else None
        if not doc or id(target) in seen:
            continue
        seen.add(id(target))
        blocks = parse_blocks(Path(path), inspect.cleandoc(doc))
        for block in blocks:
            if block.language == "python":
                yield f"{path}:{block.line}", block.code


DOCSTRING_EXAMPLES = list(docstring_examples())


def docstring_namespace(server: FakeAelystServer) -> dict[str, Any]:
    """
    What docstring fragments name without defining: the public API and a few values.
    """
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for package in (aelyst_async, aelyst_async.testing, aelyst_async.otel):
        namespace.update((name, getattr(package, name)) for name in package.__all__)
    saved: list[tuple[str, int]] = []
    save: Callable[[str, Any], None] = lambda identifier, items: saved.append(  # noqa: E731
        (identifier, len(items))
    )
    namespace.update(
        token=TOKEN,
        identifiers=["id:1", "id:2", "id:3"],
        save=save,
        clock=aelyst_async.testing.FakeClock(auto_advance=True),
        base_url=server.url,
    )
    return namespace


@pytest.mark.parametrize(
    ("where", "code"), DOCSTRING_EXAMPLES, ids=[where for where, _ in DOCSTRING_EXAMPLES]
)
def test_docstring_example_runs(where: str, code: str, docs_env: FakeAelystServer) -> None:
    """An example in a docstring of the reference runs, given the names it assumes."""
    namespace = docstring_namespace(docs_env)
    Path("contacts.txt").write_text("id:1\nid:2\n", encoding="utf-8")

    async def with_client() -> None:
        async with AelystClient() as client:
            namespace["client"] = client
            compiled = compile(code, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(compiled, namespace)
            if inspect.iscoroutine(result):
                await result

    with redirect_stdout(io.StringIO()):
        asyncio.run(with_client())


def test_the_reference_has_docstring_examples() -> None:
    """The docstring examples are found (a guard against a broken extraction)."""
    assert len(DOCSTRING_EXAMPLES) >= 10


# -- the README's two commands ------------------------------------------------------------------


def readme_command(number: int) -> str:
    """
    The README's command `number`: the line after its `# <number>. ...` comment.
    """
    found = re.search(rf"^# {number}\. .*\n(.+)$", (ROOT / "README.md").read_text("utf-8"), re.M)
    assert found is not None, f"README.md has no command {number}"
    return found[1]


def test_ci_runs_the_readmes_test_command() -> None:
    """`.ci/run` runs exactly the README's command 2, the test suite."""
    script = (ROOT / ".ci" / "run").read_text("utf-8").strip().splitlines()
    assert readme_command(2) == script[-1]


@pytest.mark.parametrize("number", [1, 2])
def test_readme_commands_install_into_a_virtual_environment(number: int) -> None:
    """Both README commands make `.venv` first, so a Python that refuses `pip install` runs them."""
    command = readme_command(number)
    steps = command.split(" && ")
    assert ("python3 -m venv .venv", []) == (
        steps[0],
        [step for step in steps[1:] if not step.startswith(".venv/bin/")],
    )
