"""Calls the App makes as itself (its JWT), not as an installation: its installations, and
its webhook deliveries, listed and redelivered (GitHub's "Handling failed webhook
deliveries": GitHub never redelivers a failed delivery by itself)."""

from __future__ import annotations

from typing import Any

from githubkit import AppAuthStrategy, GitHub

from bot.github.api import HookDelivery

PAGE = 100


class AppCalls:
    """Mixed into `GitHubKitApp`, which provides `_as_app`."""

    _as_app: GitHub[AppAuthStrategy]

    async def installation_ids(self) -> list[int]:
        return [
            i.id
            async for i in self._as_app.rest.paginate(
                self._as_app.rest.apps.async_list_installations, per_page=PAGE
            )
        ]

    async def hook_deliveries(self, pages: int = 3) -> list[HookDelivery]:
        """The App's latest deliveries, newest first, up to `pages` pages of 100 (GitHub pages
        this list with a cursor in the `Link` header)."""
        found: list[HookDelivery] = []
        cursor: str | None = None
        for _ in range(pages):
            if cursor is None:
                resp = await self._as_app.rest.apps.async_list_webhook_deliveries(per_page=PAGE)
            else:
                resp = await self._as_app.rest.apps.async_list_webhook_deliveries(
                    per_page=PAGE, cursor=cursor
                )
            found.extend(
                HookDelivery(
                    id=d.id,
                    guid=d.guid,
                    delivered_at=str(d.delivered_at),
                    redelivery=d.redelivery,
                    status_code=d.status_code,
                    event=d.event,
                    action=d.action,
                    status=d.status,
                )
                for d in resp.parsed_data
            )
            cursor = _next_cursor(resp.headers.get("link", ""))
            if cursor is None:
                break
        return found

    async def hook_delivery_payload(self, delivery_id: int) -> dict[str, Any]:
        """The body GitHub sent (or tried to send) in one delivery."""
        resp = await self._as_app.rest.apps.async_get_webhook_delivery(delivery_id)
        payload = resp.json().get("request", {}).get("payload")
        return payload if isinstance(payload, dict) else {}

    async def redeliver(self, delivery_id: int) -> None:
        await self._as_app.rest.apps.async_redeliver_webhook_delivery(delivery_id)


def _next_cursor(link: str) -> str | None:
    for part in link.split(","):
        if 'rel="next"' not in part:
            continue
        url = part.split(";")[0].strip().strip("<>")
        for pair in url.partition("?")[2].split("&"):
            key, _, value = pair.partition("=")
            if key == "cursor" and value:
                return value
    return None
