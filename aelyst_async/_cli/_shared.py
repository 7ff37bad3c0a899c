"""
What the commands share: the error wrapper, the client, and the options several commands take.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import (
    Any,
    Final,
    Literal,
    ParamSpec,
    Protocol,
    TypeVar,
    get_args,
    runtime_checkable,
)

import click
import yarl

from .._checks import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from .._client import BASE_URL_ENV, DEFAULT_BASE_URL, TOKEN_ENV, AelystClient
from .._exceptions import AelystError, InvalidArgumentError
from .._export._progress import PLAIN_PROGRESS_EVERY
from .._limiter import RateLimiter
from .._network import proxy_for
from .._routes import check_base_url
from ._errors import EXIT_BROKEN_PIPE, EXIT_ERROR, Failure, one_line, what_to_check

__all__ = [
    "ProgressMode",
    "base_url_option",
    "concurrency_option",
    "count_option",
    "file_option",
    "limiter_option",
    "make_client",
    "messages_option",
    "opened",
    "progress_options",
    "proxy_option",
    "reports_errors",
    "token_option",
]

P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])

ProgressMode = Literal["auto", "bar", "lines", "none"]


def reports_errors(command: Callable[P, None]) -> Callable[P, None]:
    """
    Turn what a command raises into one line on stderr and an exit status (the package's
    rule 2): a `Failure` as it says, an SDK or OS error with status 1.
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except BrokenPipeError:  # `| head`: the reader has all it wanted
            # Python flushes stdout once more at exit; into the void, so that it says nothing.
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
        except (Failure, AelystError, OSError) as error:
            status = error.status if isinstance(error, Failure) else EXIT_ERROR
            click.echo(f"error: {one_line(error)}{what_to_check(error)}", err=True)
            raise click.exceptions.Exit(status) from None

    return wrapper


def make_client(
    token: str | None, base_url: str | None, proxy: str | None, limiter: str | None = None
) -> AelystClient:
    """
    The client of `--token`, `--base-url`, `--proxy` (without it, the proxy environment
    variables apply, as the SDK reads them) and `--limiter` (a URL `check_limiter` accepted:
    the client then paces on a `RedisRateLimiter`, which `opened` closes).

    Raises:
        Failure: Without a token.
    """
    if not token:
        raise Failure(f"no API token: pass --token or set {TOKEN_ENV}")
    if limiter is None:
        return AelystClient(token, base_url=base_url, proxy=proxy)
    from .._redis_limiter import RedisRateLimiter

    return AelystClient(
        token, base_url=base_url, proxy=proxy, rate_limiter=RedisRateLimiter(limiter)
    )


@runtime_checkable
class _Closable(Protocol):
    async def aclose(self) -> None: ...


@contextlib.asynccontextmanager
async def opened(client: AelystClient) -> AsyncIterator[AelystClient]:
    """
    The client, closed at the end, and then its limiter when it holds connections (Redis).
    """
    try:
        async with client:
            yield client
    finally:
        limiter: RateLimiter | None = client.rate_limiter
        if isinstance(limiter, _Closable):
            await limiter.aclose()


LIMITER_ENV: Final = "AELYST_LIMITER"
LIMITER_SCHEMES: Final = ("redis", "rediss", "unix")


def _limiter_problem(value: str) -> str | None:
    """
    What is wrong with a `--limiter` URL, naming it (its password hidden), or `None`.
    """
    try:
        url = yarl.URL(value)
    except ValueError as error:  # e.g. a port that is not a number
        shown = "the URL" if "@" in value else repr(value)
        return f"{shown} is not a valid URL ({error})"
    shown = repr(str(url.with_password("***") if url.password else url))
    if url.scheme not in LIMITER_SCHEMES:
        return f"{shown} is not a Redis URL"
    if url.scheme == "unix":
        where, database = url.path.strip("/"), url.query.get("db", "")
    else:
        where, database = url.host or "", url.path.strip("/")
    if not where:
        return f"{shown} names no {'socket' if url.scheme == 'unix' else 'host'}"
    if database and not database.isdigit():
        return f"the database of {shown}, {database!r}, is not a number"
    return None


def check_limiter(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """
    `--limiter`: a Redis URL, `redis://host:port/db` (also `rediss://`, `unix:///path?db=N`),
    checked now, and the `redis` extra installed; a usage error (status 2) otherwise.
    """
    if not value:
        return None
    problem = _limiter_problem(value)
    if problem is not None:
        raise click.BadParameter(
            f"{problem}; give redis://host:port/db, e.g. redis://localhost:6379/0", ctx, param
        )
    try:
        import redis  # noqa: F401 - only checked for
    except ImportError:
        raise click.BadParameter(
            "sharing the quota through Redis needs the redis extra: "
            "pip install 'aelyst-async[redis]'",
            ctx,
            param,
        ) from None
    return value


def _messages_value(ctx: click.Context, param: click.Parameter, text: str) -> int | tuple[int, int]:
    """
    `--messages`: a number per contact (`40`) or a range each contact draws from (`0-100`).

    Raises:
        click.BadParameter: When the text is neither (a usage error: exit status 2).
    """
    # Only the commands of a fake server take it: the dataset's own check.
    from ..testing._data import MAX_MESSAGES, message_range

    low, dash, high = text.partition("-")
    with contextlib.suppress(ValueError):  # InvalidArgumentError included
        value = (int(low), int(high)) if dash else int(text)
        message_range(value)
        return value
    raise click.BadParameter(
        f"{text!r} is not N or MIN-MAX with 0 <= MIN <= MAX <= {MAX_MESSAGES:,}, e.g. 40 or 0-100"
    )


def _url_value(sdk_name: str, check: Callable[[str], object]) -> Callable[..., str | None]:
    """
    A callback that checks a URL option as the SDK will, so that a bad one is a usage error
    (exit status 2) naming the option as typed, not the SDK's argument (`sdk_name`).
    """

    def callback(ctx: click.Context, param: click.Parameter, text: str | None) -> str | None:
        if text is not None:
            try:
                check(text)
            except InvalidArgumentError as error:
                raise click.BadParameter(one_line(error).removeprefix(sdk_name).lstrip()) from None
        return text

    return callback


def _check_proxy(text: str) -> None:
    proxy_for(check_base_url(DEFAULT_BASE_URL), proxy=text, trust_env=False)


proxy_option = click.option(
    "--proxy",
    callback=_url_value("proxy=", _check_proxy),
    metavar="URL",
    help="Send every request through this proxy, e.g. http://proxy:3128 (default: from "
    "HTTPS_PROXY, HTTP_PROXY and NO_PROXY).",
)
token_option = click.option(
    "--token",
    envvar=TOKEN_ENV,
    show_envvar=True,
    show_default=False,
    metavar="TOKEN",
    help="The API token.",
)
base_url_option = click.option(
    "--base-url",
    callback=_url_value("base_url", check_base_url),
    envvar=BASE_URL_ENV,
    show_envvar=True,
    metavar="URL",
    help=f"The API's base URL (default: {DEFAULT_BASE_URL}).",
)
limiter_option = click.option(
    "--limiter",
    envvar=LIMITER_ENV,
    show_envvar=True,
    metavar="URL",
    callback=check_limiter,
    help=(
        "Share the token's quota with every process using the same Redis, e.g. "
        "redis://localhost:6379/0 (needs the redis extra). Default: paced in this process."
    ),
)
messages_option = click.option(
    "--messages",
    callback=_messages_value,
    default="0-100",
    show_default=True,
    metavar="N|MIN-MAX",
    help="Messages per contact.",
)


def file_option(*declarations: str, help: str, required: bool = False) -> Callable[[F], F]:
    """
    An option naming a file (not a directory), given to the command as a `Path`.
    """
    return click.option(
        *declarations,
        required=required,
        type=click.Path(dir_okay=False, path_type=Path),
        help=help,
    )


def count_option(
    name: str, *, low: int, high: int | None = None, default: int, metavar: str | None, help: str
) -> Callable[[F], F]:
    """
    An option of a whole number from `low` to `high`, its default shown in the help.
    """
    return click.option(
        name,
        type=click.IntRange(low, high),
        default=default,
        show_default=True,
        metavar=metavar,
        help=help,
    )


concurrency_option = count_option(
    "--concurrency",
    low=1,
    high=MAX_CONCURRENCY,
    default=DEFAULT_CONCURRENCY,
    metavar=None,
    help="Contacts at once.",
)


def progress_options(command: F) -> F:
    """
    `--progress` and `--progress-every`, for the commands that export.
    """
    command = click.option(
        "--progress-every",
        type=click.FloatRange(min=0),
        default=PLAIN_PROGRESS_EVERY,
        show_default=True,
        metavar="SECONDS",
        help="Seconds between two plain progress lines.",
    )(command)
    return click.option(
        "--progress",
        type=click.Choice(get_args(ProgressMode)),
        default="auto",
        show_default=True,
        help="A live bar on a terminal, plain lines otherwise (on stderr).",
    )(command)
