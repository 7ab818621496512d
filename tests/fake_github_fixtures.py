"""Fixtures for an App whose GitHub is faked at the transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from githubkit.cache import MemCacheStrategy

from bot.core.settings import Settings
from bot.github.backend import GitHubKitApp
from tests.fake_github import FakeGitHub
from tests.keys import app_private_key_pem

WEBHOOK_SECRET = "test-webhook-secret-3f9a"


@pytest.fixture(scope="session")
def app_private_key() -> str:
    return app_private_key_pem()


@pytest.fixture
def settings(
    redis_url: str, app_private_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        github_app_id=1,
        github_private_key=app_private_key,
        github_webhook_secret=WEBHOOK_SECRET,
        github_api_url="https://github.test/api/v3",
        redis_url=redis_url,
        trigger_label="bug",
        runs_dir=tmp_path_factory.mktemp("runs"),
    )


@pytest.fixture
def fake_github() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
async def github_app(settings: Settings, fake_github: FakeGitHub) -> AsyncIterator[GitHubKitApp]:
    app = GitHubKitApp(
        settings.app_id(),
        settings.private_key(),
        settings.github_api_url,
        transport=fake_github.transport(),
        cache_strategy=MemCacheStrategy(),
        auto_retry=False,
    )
    yield app
