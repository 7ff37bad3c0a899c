"""
Page decoding, with the converter module imported on the first call.

Rule: importing the SDK imports no cattrs and builds no converter: together they cost more
than the rest of the import, and a program pays for them once, when it decodes its first page
(the export and `to_wire` import the converter when first used too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._http import Response
    from ._models import Page, RateLimit

__all__ = ["decode_page"]


def decode_page(response: Response, rate_limit: RateLimit) -> Page:
    """
    `_converter.decode_page`: a 2xx list response as a `Page`.

    Raises:
        APIResponseDecodeError: When the body is not JSON or not the documented shape.
    """
    from ._converter import decode_page as decode

    return decode(response, rate_limit)
