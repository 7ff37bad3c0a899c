"""
The converter's entry points, with the converter module imported on their first call.

Rule: importing the SDK imports neither cattrs nor msgspec, and builds no converter: together
they cost more than the rest of the import, and a program pays for them only once it decodes
its first page (or writes its first message), once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import Page, RateLimit
    from ._protocol import Response

__all__ = ["decode_page", "unstructure"]


def decode_page(response: Response, rate_limit: RateLimit) -> Page:
    """
    `_converter.decode_page`: a 2xx list response as a `Page`.

    Raises:
        APIResponseDecodeError: When the body is not JSON or not the documented shape.
    """
    from ._converter import decode_page as decode

    return decode(response, rate_limit)


def unstructure(value: Any) -> Any:
    """
    A model back in the wire's form (camelCase keys), through the SDK's converter.
    """
    from ._converter import converter

    return converter.unstructure(value)
