"""
The client's network settings, checked: the proxy, TLS, default headers and the User-Agent.

Rules:

1. The SDK's product token (`aelyst-async/<version> python/<version> <platform>`) always
   leads the User-Agent; `user_agent=` is appended after it, as slack_sdk and githubkit do.
2. `default_headers` go with every request, but never set `Authorization` (the token's) nor
   `User-Agent` (rule 1): either raises at once.
3. The proxy is `proxy=` when given; otherwise, with `trust_env`, the one the environment
   names for the base URL's scheme (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, any case) unless
   `NO_PROXY` covers its host (`_bypassed`: hosts, domains, `*`, networks, as requests reads
   it), read once when the client is created (as httpx does). Every request goes to the same
   host, so one decision serves them all.
4. A proxy's credentials never show: error messages print the proxy without them.
"""

from __future__ import annotations

import ipaddress
import platform
import re
import ssl as _ssl
import sys
import urllib.request
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Final

import yarl

from ._exceptions import InvalidArgumentError

__all__ = ["check_ssl", "proxy_for", "request_headers", "sdk_user_agent"]

_RESERVED: Final = {
    "authorization": "the token's header: pass token= instead",
    "user-agent": "pass user_agent=, which is appended to the SDK's own",
}
_TOKEN_CHARS = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_VALUE_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def sdk_user_agent() -> str:
    """
    The SDK's own product token, the start of every User-Agent it sends.
    """
    try:
        sdk = version("aelyst-async")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        sdk = "0+unknown"
    return f"aelyst-async/{sdk} python/{platform.python_version()} {sys.platform}"


def _check_header(name: object, value: object) -> tuple[str, str]:
    if not isinstance(name, str) or not _TOKEN_CHARS.fullmatch(name):
        raise InvalidArgumentError(f"default_headers: {name!r} is not a valid header name")
    reserved = _RESERVED.get(name.lower())
    if reserved is not None:
        raise InvalidArgumentError(f"default_headers may not set {name!r}: {reserved}")
    if not isinstance(value, str) or _BAD_VALUE_CHARS.search(value):
        # The value is not shown: it may be a secret of the caller's.
        raise InvalidArgumentError(
            f"default_headers: the value of {name!r} must be a str without control characters"
        )
    return name, value


def request_headers(
    default_headers: Mapping[str, str] | None, user_agent: str | None
) -> dict[str, str]:
    """
    The headers of every request but `Authorization`, checked.

    Raises:
        InvalidArgumentError: For a header module rule 2 refuses, an invalid header, or a
            `user_agent` that is not a one-line str.
    """
    if default_headers is not None and not isinstance(default_headers, Mapping):
        raise InvalidArgumentError(
            f"default_headers must be a mapping of str to str, not {default_headers!r}"
        )
    agent = sdk_user_agent()
    if user_agent is not None:
        if not isinstance(user_agent, str) or _BAD_VALUE_CHARS.search(user_agent):
            raise InvalidArgumentError(
                f"user_agent must be a str without control characters, not {user_agent!r}"
            )
        if user_agent.strip():
            agent = f"{agent} {user_agent.strip()}"
    headers = {"Accept": "application/json"}
    for name, value in (default_headers or {}).items():
        checked_name, checked_value = _check_header(name, value)
        headers[checked_name] = checked_value
    headers["User-Agent"] = agent
    return headers


def _shown(url: str) -> str:
    """
    A proxy URL as an error message may show it: without its credentials.
    """
    try:
        return str(yarl.URL(url).with_user(None))
    except (TypeError, ValueError):
        return "<unreadable URL>"


def _check_proxy(proxy: str | yarl.URL, source: str) -> yarl.URL:
    text = str(proxy)
    if "://" not in text and source != "proxy=":
        text = f"http://{text}"  # HTTPS_PROXY=host:3128 means an http:// proxy, as in requests
    try:
        url = yarl.URL(text)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{source} {_shown(text)!r} is not a URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidArgumentError(
            f"{source} {_shown(text)!r} must be an absolute http:// or https:// URL"
        )
    return url


def _bypassed(url: yarl.URL, no_proxy: str) -> bool:
    """
    Whether `NO_PROXY` covers the URL's host: `*`, the host itself (with or without the
    URL's port), a domain it is in (`example.com` or `.example.com`), or a network of its IP.
    """
    host = (url.host or "").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in (part.strip().lower() for part in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        name, _, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if port and port != str(url.port):
            continue
        name = name.strip("[]").lstrip(".").rstrip(".")
        if host == name or host.endswith(f".{name}"):
            return True
        if address is not None and "/" in name:
            try:
                if address in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                continue
    return False


def proxy_for(
    base_url: yarl.URL, *, proxy: str | yarl.URL | None, trust_env: bool
) -> yarl.URL | None:
    """
    The proxy for requests to `base_url` (module rule 3), credentials included.

    Raises:
        InvalidArgumentError: When `proxy`, or the environment's proxy, is not an http(s) URL.
    """
    if proxy is not None:
        if not isinstance(proxy, (str, yarl.URL)):
            raise InvalidArgumentError(f"proxy must be a URL (str or yarl.URL), not {proxy!r}")
        return _check_proxy(proxy, "proxy=")
    if not trust_env:
        return None
    proxies = urllib.request.getproxies_environment()
    if _bypassed(base_url, proxies.get("no", "")):
        return None
    for scheme in (base_url.scheme, "all"):
        value = proxies.get(scheme)
        if value:
            return _check_proxy(value, f"${scheme.upper()}_PROXY")
    return None


def check_ssl(value: object) -> _ssl.SSLContext | bool:
    """
    `ssl=`: `True` (verify with the system's CAs), `False` (do not verify), or an
    `ssl.SSLContext`.

    Raises:
        InvalidArgumentError: For anything else.
    """
    if isinstance(value, (bool, _ssl.SSLContext)):
        return value
    raise InvalidArgumentError(f"ssl must be True, False or an ssl.SSLContext, not {value!r}")
