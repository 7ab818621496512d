"""`issue-pilot setup` end to end against ghsim, the browser's part driven with httpx."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from githubkit import AppAuthStrategy

from bot.cli import main
from bot.core.settings import Settings, SettingsError
from bot.github import env_file
from bot.github.setup import Convert, SetupOptions, SetupResult, refuse_overwrite, serve_flow
from handlers import router
from tests.ghsim_support import ROOT, Ghsim, free_port, unique, wait_until

EXISTING_ENV = """# my settings
PILOT_LLM_MODEL=some-model
PILOT_GITHUB_API_URL=https://old.example.com/api/v3

export PILOT_REDIS_URL="redis://redis:6379/0"
"""


class FormReader(HTMLParser):
    """The first form of a page: its action and its inputs, as a browser would submit it."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action")
        elif tag == "input" and "name" in values:
            self.fields[values["name"]] = values.get("value", "")


def _start_setup(ghsim: Ghsim, env: Path, port: int, name: str) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        "-m",
        "bot.cli",
        "setup",
        "--webhook-url",
        "https://pilot.example.com/webhooks/github",
        "--github-url",
        ghsim.base_url,
        "--api-url",
        ghsim.api_url.rstrip("/"),
        "--env-file",
        str(env),
        "--port",
        str(port),
        "--name",
        name,
        "--no-browser",
        "--timeout",
        "60",
    ]
    return subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _page_up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_setup_registers_the_app_and_writes_env(
    ghsim: Ghsim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / "deploy" / ".env"
    env.parent.mkdir()
    env.write_text(EXISTING_ENV)
    port, name = free_port(), unique("Pilot")
    proc = _start_setup(ghsim, env, port, name)
    try:
        local = f"http://127.0.0.1:{port}/"
        wait_until(lambda: _page_up(local), 20, "the setup page")
        form = FormReader()
        form.feed(httpx.get(local).text)
        assert form.action.startswith(f"{ghsim.base_url}/settings/apps/new?state=")
        assert set(form.fields) == {"manifest", "state"}

        # A redirect that is not ours is refused, and the flow keeps waiting for its own.
        stray = httpx.get(f"{local}callback", params={"code": "x", "state": "forged"})
        assert stray.status_code == 400 and proc.poll() is None

        github = httpx.post(form.action, data=form.fields, follow_redirects=False)
        assert github.status_code == 302
        back = github.headers["location"]
        assert back.startswith(f"http://127.0.0.1:{port}/callback?")
        done = httpx.get(back)
        assert done.status_code == 200, done.text
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err

    values = env_file.read(env)
    key_path = Path(values["PILOT_GITHUB_PRIVATE_KEY_PATH"])
    assert key_path == env.parent / "github-app.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert values["PILOT_GITHUB_API_URL"] == ghsim.api_url.rstrip("/")
    # Unrelated lines are kept as they were; the API URL was replaced where it stood.
    text = env.read_text()
    assert text.startswith("# my settings\nPILOT_LLM_MODEL=some-model\nPILOT_GITHUB_API_URL=")
    assert 'export PILOT_REDIS_URL="redis://redis:6379/0"' in text
    assert text.count("PILOT_GITHUB_API_URL=") == 1

    # The bot reads what setup wrote...
    for var in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "API_URL"):
        monkeypatch.delenv(f"PILOT_GITHUB_{var}", raising=False)
    settings = Settings(_env_file=str(env))  # type: ignore[call-arg]
    settings.check_worker_ready()
    # ...and the credentials are the new App's: its JWT reads GET /app as that App.
    as_app = ghsim.client(AppAuthStrategy(str(settings.app_id()), settings.private_key()))
    app = as_app.rest.apps.get_authenticated().parsed_data
    assert app.id == settings.app_id() and app.name == name
    assert app.id != ghsim.app_info["app_id"]
    assert sorted(app.events) == sorted(router.events())
    install_url = f"{ghsim.base_url}/apps/{app.slug}/installations/new"
    assert f"Install it on your repositories: {install_url}" in out


def test_setup_refuses_to_replace_app_settings_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    env.write_text("PILOT_GITHUB_APP_ID=42\nPILOT_GITHUB_WEBHOOK_SECRET=s3cr3t-value\n")
    before = env.read_text()
    code = main(["setup", "--webhook-url", "https://x/hook", "--env-file", str(env)])
    assert code == 2
    err = capsys.readouterr().err
    assert "PILOT_GITHUB_APP_ID, PILOT_GITHUB_WEBHOOK_SECRET" in err and "--force" in err
    assert env.read_text() == before


def test_setup_refuses_to_replace_an_existing_key_file(tmp_path: Path) -> None:
    (tmp_path / "github-app.pem").write_text("old key")
    options = SetupOptions("https://x/hook", "n", env_file=tmp_path / ".env")
    with pytest.raises(SettingsError, match=r"github-app\.pem exists"):
        refuse_overwrite(options)
    refuse_overwrite(SetupOptions("https://x/hook", "n", env_file=tmp_path / ".env", force=True))


def test_organization_apps_are_registered_on_the_organization_page() -> None:
    options = SetupOptions("https://x/hook", "n", github_url="https://ghe.example/", org="acme")
    assert options.new_app_url == "https://ghe.example/organizations/acme/settings/apps/new"
    assert SetupOptions("h", "n").new_app_url == "https://github.com/settings/apps/new"


def _local_flow(
    tmp_path: Path, exchange: Convert | None = None
) -> tuple[ThreadingHTTPServer, SetupResult, str]:
    options = SetupOptions(
        "https://x/hook", "n", env_file=tmp_path / ".env", port=0, github_url="https://gh.test"
    )
    return serve_flow(options) if exchange is None else serve_flow(options, exchange)


def test_the_state_rides_in_the_new_app_urls_query_as_github_documents(tmp_path: Path) -> None:
    server, _, url = _local_flow(tmp_path)
    try:
        form = FormReader()
        form.feed(httpx.get(url).text)
    finally:
        server.shutdown()
        server.server_close()
    assert form.action is not None
    action = urlsplit(form.action)
    # GitHub reads `state` from the form's URL (docs: settings/apps/new?state=...).
    assert action._replace(query="").geturl() == "https://gh.test/settings/apps/new"
    assert parse_qs(action.query) == {"state": [form.fields["state"]]}


def test_a_page_asked_for_under_another_host_name_is_refused(tmp_path: Path) -> None:
    """A DNS-rebound name reaches 127.0.0.1 too; it must not read the state off the page."""
    server, _, url = _local_flow(tmp_path)
    port = server.server_address[1]
    try:
        rebound = httpx.get(url, headers={"Host": f"attacker.example:{port}"})
        callback = httpx.get(
            f"{url}callback", params={"code": "c", "state": "s"}, headers={"Host": "evil"}
        )
        ours = httpx.get(url)
        by_name = httpx.get(url, headers={"Host": f"localhost:{port}"})
    finally:
        server.shutdown()
        server.server_close()
    assert rebound.status_code == 403 and 'name="state"' not in rebound.text
    assert callback.status_code == 403
    assert ours.status_code == 200 and by_name.status_code == 200


def test_two_callbacks_at_once_exchange_the_code_once(tmp_path: Path) -> None:
    calls: list[str] = []
    release = threading.Event()

    def convert(api_url: str, code: str) -> dict[str, Any]:
        calls.append(code)
        release.wait(10)
        return {"id": 7, "name": "n", "pem": "KEY", "webhook_secret": "s" * 20,
                "html_url": "https://gh.test/apps/n"}  # fmt: skip

    server, result, url = _local_flow(tmp_path, convert)
    try:
        form = FormReader()
        form.feed(httpx.get(url).text)
        params = {"code": "c1", "state": form.fields["state"]}
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(httpx.get, f"{url}callback", params=params, timeout=20)
            wait_until(lambda: bool(calls), 5, "the first exchange")
            second = pool.submit(httpx.get, f"{url}callback", params=params, timeout=20)
            time.sleep(0.3)
            release.set()
            answers = sorted([first.result().status_code, second.result().status_code])
    finally:
        release.set()
        server.shutdown()
        server.server_close()
    assert calls == ["c1"]
    assert answers == [200, 409]
    assert result.app is not None and result.error is None
