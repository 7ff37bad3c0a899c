"""
`aelyst mock-server`: the fake Aelyst server, until Ctrl-C.
"""

from __future__ import annotations

import errno
import os
import sys

import click

from .._client import BASE_URL_ENV, TOKEN_ENV
from .._exceptions import AelystError
from ..testing import Dataset, FakeAelystServer, RateLimitConfig, run_server
from ..testing._data import MAX_CONTACTS
from ..testing._faults import describe_faults, parse_faults
from ..testing._options import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_TOKEN
from ._errors import Failure, one_line
from ._shared import count_option, messages_option, reports_errors
from ._verbose import verbose_option, verbosity

__all__ = ["mock_server"]


def _faults_value(ctx: click.Context, param: click.Parameter, text: str | None) -> str | None:
    """
    `--faults`, checked as the fake server reads it: a usage error (exit status 2) when it
    cannot be read.
    """
    if text:
        try:
            parse_faults(text)
        except (ValueError, AelystError) as error:
            raise click.BadParameter(one_line(error)) from None
    return text


def _token_value(ctx: click.Context, param: click.Parameter, text: str) -> str:
    """
    `--token`: one word, as a bearer token is sent.
    """
    if not text or text.split() != [text]:
        raise click.BadParameter(f"{text!r} is not a token: give one word, without spaces")
    return text


@click.command("mock-server")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="The address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="0: any free port.",
)
@count_option(
    "--contacts",
    low=0,
    high=MAX_CONTACTS,
    default=1000,
    metavar=None,
    help="Contacts id:1 to id:N.",
)
@messages_option
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Another seed, other messages."
)
@count_option(
    "--rate-limit", low=0, default=10, metavar="R", help="Requests per second (0: unlimited)."
)
@click.option(
    "--faults",
    callback=_faults_value,
    metavar="RATE[:KIND,...]",
    help="Answer about RATE of requests badly, e.g. 0.1 or 0.05:503,drop.",
)
@click.option(
    "--token",
    default=DEFAULT_TOKEN,
    show_default=True,
    callback=_token_value,
    help="The token the server accepts.",
)
@verbose_option
@reports_errors
def mock_server(
    host: str,
    port: int,
    contacts: int,
    messages: int | tuple[int, int],
    seed: int,
    rate_limit: int,
    faults: str | None,
    token: str,
) -> None:
    """
    Run a fake Aelyst server until Ctrl-C, for trying the SDK and the CLI locally.
    """
    dataset = Dataset(seed=seed, contacts=contacts, messages=messages)

    def ready(server: FakeAelystServer) -> None:
        click.echo(f"Fake Aelyst server on {server.url} (Ctrl-C to stop)")
        click.echo(f"  token: {token}")
        click.echo(f"  contacts: id:1 to id:{contacts}, {dataset.total_messages:,} messages")
        limit = f"{rate_limit:,} requests/s per token" if rate_limit else "none"
        click.echo(f"  rate limit: {limit}")
        click.echo(f"  faults: {describe_faults(faults)}")
        click.echo(f"  export {BASE_URL_ENV}={server.url} {TOKEN_ENV}={token}")
        sys.stdout.flush()

    try:
        run_server(
            host,
            port,
            token=token,
            dataset=dataset,
            rate_limit=RateLimitConfig(requests=rate_limit) if rate_limit else None,
            faults=parse_faults(faults) if faults else None,
            log_requests=verbosity() > 0,
            on_ready=ready,
        )
    except OSError as error:  # the address is taken, or is not one of this machine's
        number = error.errno or 0  # getaddrinfo's are negative
        reason = os.strerror(number).lower() if number > 0 else one_line(error)
        taken = error.errno == errno.EADDRINUSE
        hint = " (another server?): choose another --port, or --port 0" if taken else ""
        raise Failure(f"cannot listen on {host}:{port}: {reason}{hint}") from None
