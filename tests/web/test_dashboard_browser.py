"""The dashboard in a real browser: headless Chromium against the web app under uvicorn.

Checks what a person sees: rows, the tree, a command in the timeline, and that a run moving
on shows up without a reload. The screenshots are checked too and kept for people to look at.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import uvicorn
from playwright.async_api import Page, async_playwright, expect

from bot.core.feed import RedisRunFeed
from bot.core.settings import Settings
from bot.web.app import create_app
from tests.dashboard_support import (
    RUN_ID,
    TOKEN,
    feed_run,
    records,
    step,
    summary,
    tree,
    with_token,
)
from tests.ghsim_support import free_port
from tests.png_check import read_png
from tests.services import unavailable
from tests.webhook_support import SUBSCRIPTIONS

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1280, "height": 860}
# Never let Chromium reach out on its own: no updates, sync, QUIC or first-run pages.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIVE_TIMEOUT_MS = 10_000


@pytest.fixture
async def served(settings: Settings, redis: aioredis.Redis) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(with_token(settings), SUBSCRIPTIONS),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        unavailable("chromium")
    return CHROMIUM


@pytest.fixture
async def page(chromium: Path, tmp_path: Path) -> AsyncIterator[Page]:
    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile: nothing of another run's state
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        try:
            yield context.pages[0] if context.pages else await context.new_page()
        finally:
            await context.close()


def keep(shot: Path) -> None:
    """A copy where a person (or the CI's artefacts) can look at it."""
    for where in filter(None, [os.environ.get("PILOT_SCREENSHOT_DIR"), "/tmp/dashboard-shots"]):
        target = Path(where)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, target / shot.name)


def assert_drawn(shot: Path) -> None:
    picture = read_png(shot)
    assert (picture.width, picture.height) == (VIEWPORT["width"], VIEWPORT["height"])
    # Antialiased text alone gives a few hundred greys; the styled pages give over a thousand
    # colours. A blank page has one.
    assert picture.distinct > 500, picture.distinct
    assert 0.1 < picture.off_background < 0.95, picture.off_background


async def texts(page: Page, selector: str) -> list[str]:
    return [t.strip() for t in await page.locator(selector).all_inner_texts()]


def watch(page: Page) -> list[str]:
    """What went wrong on the page: script errors, CSP refusals, failed loads, dialogs."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    return problems


async def test_the_dashboard_shows_runs_and_follows_them_live(
    served: str, page: Page, redis: aioredis.Redis, tmp_path: Path
) -> None:
    problems = watch(page)

    now = time.time()
    feed = await feed_run(redis, now)
    await feed.publish(
        summary(
            now,
            run_id="bob__lib__issue-12",
            repo="bob/lib",
            issue=12,
            title="Retry uploads on a 503",
            phase="ready",
            headline="CI passed on `0f9e8d7`: test, lint",
            updated_at=now - 1500,
            tokens_used=48_210,
            steps=9,
            ci_attempt=1,
            tree=[{**n, "status": "done"} for n in tree()[:2]],
        )
    )

    # The token is traded for a cookie and leaves the address bar.
    await page.goto(f"{served}/dashboard?token={TOKEN}")
    assert page.url == f"{served}/dashboard"
    rows = page.locator("#runs tr")
    await expect(rows).to_have_count(2)
    assert await texts(page, "#runs .title") == [
        "Validate the repository config",
        "Retry uploads on a 503",
    ]
    assert await texts(page, "#runs .badge") == ["working", "ready for review"]
    assert await texts(page, "#runs .age") == ["just now", "25 min ago"]

    # A new run appears in the open list without a reload.
    await page.evaluate("window.stillTheSamePage = true")
    await feed.publish(
        summary(now, run_id="carol__app__issue-5", repo="carol/app", issue=5, title="Add --json")
    )
    await expect(rows).to_have_count(3, timeout=LIVE_TIMEOUT_MS)
    await expect(rows.first.locator(".title")).to_have_text("Add --json")
    assert await page.evaluate("window.stillTheSamePage") is True
    list_shot = tmp_path / "dashboard-list.png"
    await page.screenshot(path=str(list_shot))

    await page.locator(f'#runs tr[data-run="{RUN_ID}"] a').click()
    await page.wait_for_url(f"{served}/dashboard/runs/{RUN_ID}")
    assert await texts(page, "#tree .status") == ["done", "in progress", "pending"]
    assert "$ python -m pytest -q tests/test_config.py" in await texts(page, "#events .target")
    assert await texts(page, "#ci code") == ["a1b2c3d", "0f9e8d7"]

    # The run moves on while the page is open: R2 done, R3 started, a new step and a CI round.
    await page.evaluate("window.stillTheSamePage = true")
    first_action = page.locator("#events details.action").first
    await first_action.locator("summary").click()
    moved = tree()
    moved[1]["status"], moved[2]["status"] = "done", "in_progress"
    feed.event(
        RUN_ID,
        {
            "ts": now,
            "kind": "node_end",
            "node": "R2",
            "outcome": "finish",
            "summary": "Budgets are validated.",
            "steps": 2,
        },
    )
    feed.event(
        RUN_ID, {"ts": now, "kind": "node_start", "node": "R3", "title": "Document the keys"}
    )
    feed.event(RUN_ID, step("R3", 1, "grep -n max_steps README.md", "12:max_steps: 30", now))
    await feed.publish(
        summary(
            now,
            tree=moved,
            headline="Working on **R3**.",
            steps=17,
            tokens_used=161_000,
            ci_attempt=3,
            ci_history=[
                *summary(now).ci_history,
                {"sha": "77aa88bb99", "failing": 1, "names": ["docs"]},
            ],
        )
    )
    await expect(page.locator("#tree .status")).to_have_text(
        ["done", "done", "in progress"], timeout=LIVE_TIMEOUT_MS
    )
    await expect(page.locator("#events li").last.locator(".target").first).to_have_text(
        "$ grep -n max_steps README.md"
    )
    await expect(page.locator("#headline")).to_have_text("Working on R3.")
    await expect(page.locator("#f-ci")).to_have_text("3 of 3")
    await expect(page.locator("#ci tr")).to_have_count(3)
    assert await page.evaluate("window.stillTheSamePage") is True
    # Updated in place: what the person opened stays open, and no event is drawn twice.
    assert await first_action.get_attribute("open") == ""
    numbers = [await e.get_attribute("data-n") for e in await page.locator("#events li").all()]
    assert numbers == [str(n) for n in range(8)]

    await page.locator("#events details.action").last.locator("summary").click()
    run_shot = tmp_path / "dashboard-run.png"
    await page.screenshot(path=str(run_shot))

    assert problems == []  # no CSP refusals, no script errors
    for shot in (list_shot, run_shot):
        keep(shot)
        assert_drawn(shot)


async def test_hostile_text_stays_text_in_the_browser_too(
    served: str, page: Page, redis: aioredis.Redis, tmp_path: Path
) -> None:
    problems = watch(page)
    now = time.time()
    feed = RedisRunFeed(redis)
    for record in records(now):
        feed.event(RUN_ID, record)
    title = "<script>alert(1)</script> Fix <b>bold</b> claims"
    question = 'Which file? <img src=x onerror="alert(2)">'
    asked = summary(
        now,
        title=title,
        phase="asked",
        headline="Waiting for an answer from a person about **R2**.",
        question=question,
        pr_url="javascript:alert(3)",
    )
    await feed.publish(asked)

    await page.goto(f"{served}/dashboard/runs/{RUN_ID}?token={TOKEN}")
    assert page.url == f"{served}/dashboard/runs/{RUN_ID}"
    await expect(page.locator("h1")).to_have_text(title)
    await expect(page.locator("#question .callout-text")).to_have_text(question)
    assert await page.locator("main script, main img, main b").count() == 0
    assert await texts(page, "#links a") == [
        "Issue #3",
        "Branch pilot/issue-3-validate-the-repository-config",
    ]

    # Text that arrives live goes in by the script's path, which must keep it text as well.
    hostile = '<img src=x onerror="alert(4)"></pre><script>alert(5)</script>'
    feed.event(RUN_ID, step("R2", 1, f"echo '{hostile}'", hostile, now))
    await feed.publish(replace(asked, error=hostile, phase="failed", updated_at=time.time()))
    await expect(page.locator("#events li").last.locator(".target").first).to_have_text(
        f"$ echo '{hostile}'", timeout=LIVE_TIMEOUT_MS
    )
    await expect(page.locator("#error .callout-text")).to_have_text(hostile)
    await expect(page.locator("#phase")).to_have_text("failed")
    await page.locator("#events li").last.locator("summary").first.click()
    await expect(page.locator("#events li").last.locator(".output").first).to_have_text(hostile)
    assert await page.locator("main script, main img, main b").count() == 0
    assert await page.locator('a[href^="javascript"]').count() == 0

    shot = tmp_path / "dashboard-hostile.png"
    await page.screenshot(path=str(shot))
    assert problems == []
    keep(shot)
    assert_drawn(shot)
