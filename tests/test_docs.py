"""
Every code example of the documentation runs, against the fake server.

What runs:

- Every ```python block of `docs/**/*.md` and `README.md`, in order, as a script
  (`__name__ == "__main__"`) whose namespace goes on from the page's earlier blocks (so a
  page reads as one session), top-level `await` allowed, with `$AELYST_TOKEN` and
  `$AELYST_BASE_URL` pointing at a fake server that holds the identifiers the examples use.
  A fragment may also use `identifiers`, a list of three identifiers.
- The blocks of a page titled with a file name (```python title="conftest.py"```,
  `test_*.py`, `pyproject.toml`) are written to a fresh directory and run as one pytest
  session, which must pass.
- Every `$ aelyst ...` command of a ```console block, through the command line in-process;
  it must exit with 0. Lines without `$ ` are its output, shown and not compared.
- Every ```python example in the docstrings the reference renders, with a namespace that
  gives the fragments what they name (`client`, `token`, `identifiers`, ...) and a
  `contacts.txt` in the working directory.

`<!-- docs-test: skip -->` on the line before a block leaves it out; it is for the rare block
that cannot run (a server that runs until Ctrl-C), and `test_skips_are_rare` keeps it so.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import io
import re
import shlex
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
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
    Contact,
    Dataset,
    FakeAelystServer,
    RateLimitConfig,
    ServerOptions,
)

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]
TOKEN = "test-token"
SKIP = "<!-- docs-test: skip -->"
RUN_LANGUAGES = frozenset({"python", "py", "console"})
FILE_TITLE = re.compile(r"(conftest\.py|test_\w+\.py|pyproject\.toml)")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,})(?P<info>[^`]*)$")
MAX_SKIPS = 4

# The identifiers the examples use, as the real API would know them, mapped to contacts of
# the fake dataset (the same as `aelyst mock-server`'s, whose `id:N` need no mapping).
ALIASES: Mapping[str, str] = {
    "email:abdc@gmail.com": "id:3",
    "phone:+60121233112": "id:6",
}


@attrs.frozen(kw_only=True)
class DocsDataset(Dataset):
    """
    `aelyst mock-server`'s dataset, plus the example identifiers of `ALIASES`.
    """

    def find(self, identifier: str) -> Contact | None:
        return super().find(ALIASES.get(identifier, identifier))


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
            )
        )
    return blocks


ALL_BLOCKS = [block for page in PAGES for block in parse_blocks(page, page.read_text("utf-8"))]
RUNNABLE = [b for b in ALL_BLOCKS if b.language in RUN_LANGUAGES and not b.skipped]
SCRIPTS = [b for b in RUNNABLE if b.language != "console" and not b.is_test_file]
COMMANDS = [b for b in RUNNABLE if b.language == "console"]
PYTEST_PAGES = sorted({b.path for b in ALL_BLOCKS if b.is_test_file})


class ServerThread:
    """
    A fake server on its own event loop in a thread, so that every example can run its own
    `asyncio.run()` (and the command line its own loop) in the test's thread.
    """

    def __init__(self, options: ServerOptions) -> None:
        self._options = options
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self.server: FakeAelystServer | None = None

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with FakeAelystServer(self._options) as server:
            self.server = server
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> FakeAelystServer:
        self._thread.start()
        if not self._ready.wait(timeout=10) or self.server is None:
            raise RuntimeError("the fake server did not start")
        return self.server

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def docs_server() -> Iterator[FakeAelystServer]:
    options = ServerOptions(
        token=TOKEN,
        dataset=DocsDataset(seed=0, contacts=1000, messages=(0, 100)),
        rate_limit=RateLimitConfig(requests=1000, window=1.0),
    )
    with ServerThread(options) as server:
        yield server


@pytest.fixture
def docs_env(
    docs_server: FakeAelystServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> FakeAelystServer:
    """
    The environment of an example: the fake server's token and URL, and an empty working
    directory.
    """
    monkeypatch.setenv("AELYST_TOKEN", TOKEN)
    monkeypatch.setenv("AELYST_BASE_URL", docs_server.url)
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


@pytest.mark.parametrize("page", SCRIPT_PAGES, ids=[str(p.relative_to(ROOT)) for p in SCRIPT_PAGES])
def test_python_examples_run(page: Path, docs_env: FakeAelystServer) -> None:
    """The Python examples of a page run to the end, in order, against the fake server."""
    write_page_files(page, Path.cwd())
    namespace: dict[str, Any] = {"__name__": "__main__", "identifiers": ["id:1", "id:2", "id:3"]}
    for block in (b for b in SCRIPTS if b.path == page):
        run_script(block.code, block.id, namespace)


def commands(block: Block) -> Iterator[list[str]]:
    """
    The `$ ...` commands of a console block, `\\` continuations joined.
    """
    pending = ""
    for line in block.code.splitlines():
        if pending:
            pending += " " + line.strip()
        elif line.startswith("$ "):
            pending = line[2:].strip()
        else:
            continue
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        yield shlex.split(pending, comments=True)
        pending = ""


@pytest.mark.parametrize("block", COMMANDS, ids=[b.id for b in COMMANDS])
def test_command_line_example_runs(block: Block, docs_env: FakeAelystServer) -> None:
    """Every `aelyst` command of a console block exits with 0."""
    from click.testing import CliRunner

    from aelyst_async._cli import build_cli

    write_page_files(block.path, Path.cwd())
    ran = 0
    for argv in commands(block):
        assert "aelyst" == argv[0], f"only aelyst commands run in a console block: {argv}"
        result = CliRunner().invoke(build_cli(), argv[1:], catch_exceptions=False)
        assert 0 == result.exit_code, f"{shlex.join(argv)}\n{result.output}"
        ran += 1
    assert ran, "a console block without a `$ aelyst` command"


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
