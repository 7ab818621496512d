"""``per_page``/``page`` slicing with GitHub's ``Link`` header."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request, Response

T = TypeVar("T")


def paginate(request: Request, response: Response, items: list[T]) -> list[T]:
    """The requested page of ``items``; sets ``Link`` (first, prev, next, last) as GitHub."""
    try:
        per_page = max(1, min(100, int(request.query_params.get("per_page", 30))))
        page = max(1, int(request.query_params.get("page", 1)))
    except ValueError:
        per_page, page = 30, 1
    last = max(1, -(-len(items) // per_page))
    links = []
    url = request.url

    def link(number: int, rel: str) -> str:
        target = url.include_query_params(page=number, per_page=per_page)
        return f'<{target}>; rel="{rel}"'

    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if links:
        response.headers["Link"] = ", ".join(links)
    return items[(page - 1) * per_page : page * per_page]
