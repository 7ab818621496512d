"""``per_page``/``page`` slicing with GitHub's ``Link`` header, and the ``cursor`` pages a few
lists (webhook deliveries) use instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request, Response

from ghsim.errors import GitHubError
from ghsim.store import Doc, Store

T = TypeVar("T")


def paginate(request: Request, response: Response, items: list[T]) -> list[T]:
    """The requested page of ``items``; sets ``Link`` (first, prev, next, last) as GitHub."""
    per_page, page = _page_of(request)
    _link(request, response, per_page, page, len(items))
    return items[(page - 1) * per_page : page * per_page]


def paginate_query(
    request: Request, response: Response, store: Store, kind: str, order: str = "id", **filters: Any
) -> list[Doc]:
    """:func:`paginate` over ``store.query(kind, order, **filters)``, reading only the page."""
    per_page, page = _page_of(request)
    total, items = store.page(kind, order, per_page, (page - 1) * per_page, **filters)
    _link(request, response, per_page, page, total)
    return items


def _page_of(request: Request) -> tuple[int, int]:
    """``per_page`` (1 to 100, default 30) and ``page`` (from 1) of the query string."""
    try:
        per_page = max(1, min(100, int(request.query_params.get("per_page", 30))))
        page = max(1, int(request.query_params.get("page", 1)))
    except ValueError:
        per_page, page = 30, 1
    return per_page, page


def _link(request: Request, response: Response, per_page: int, page: int, total: int) -> None:
    last = max(1, -(-total // per_page))
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


def paginate_counted(
    request: Request,
    response: Response,
    key: str,
    items: list[T],
    shape: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """GitHub's ``{"total_count": n, key: [...]}`` lists (check runs, workflow runs...)."""
    return {"total_count": len(items), key: [shape(x) for x in paginate(request, response, items)]}


CURSOR_PREFIX = "v1_"


def paginate_cursor(
    request: Request, response: Response, store: Store, kind: str, **filters: Any
) -> list[Doc]:
    """Newest first, a page from ``cursor`` (the newest document it holds; the newest of all
    without one) with ``per_page`` documents; ``Link`` names the ``next`` and ``prev`` page
    cursors and the ``first`` page, as GitHub's ``/app/hook/deliveries`` does. ``page`` is
    not read. An unreadable cursor is a 400."""
    per_page, _ = _page_of(request)
    raw = request.query_params.get("cursor")
    start = None if raw is None else _cursor_id(raw)
    found = store.query(kind, "-id", per_page + 1, id_max=start, **filters)
    page = found[:per_page]
    url = request.url.include_query_params(per_page=per_page)

    def link(cursor: int | None, rel: str) -> str:
        target = url.remove_query_params("cursor")
        if cursor is not None:
            target = target.include_query_params(cursor=f"{CURSOR_PREFIX}{cursor}")
        return f'<{target}>; rel="{rel}"'

    links = []
    if len(found) > per_page:
        links.append(link(found[per_page]["id"], "next"))
    if start is not None:
        newest = page[0]["id"] if page else start
        newer = store.query(kind, "id", per_page, id_min=newest + 1, **filters)
        if newer:
            links.append(link(newer[-1]["id"], "prev"))
        links.append(link(None, "first"))
    if links:
        response.headers["Link"] = ", ".join(links)
    return page


def _cursor_id(raw: str) -> int:
    digits = raw[len(CURSOR_PREFIX) :] if raw.startswith(CURSOR_PREFIX) else ""
    if not digits.isdigit():
        raise GitHubError(400, "Invalid cursor")
    return int(digits)
