"""
What every test shares: a run that does not depend on the machine's proxy settings.
"""

from __future__ import annotations

import pytest

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_of_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The tests talk to servers on 127.0.0.1, which a proxy of the machine's environment must
    not stand between (a client honours them by default); a test that wants one sets it.
    """
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
