"""`issue-pilot setup`: registers the GitHub App through GitHub's manifest flow, writes `.env`.

A small server on 127.0.0.1 serves a page that posts the manifest to GitHub's new-App page
with a random `state`; GitHub sends the browser back with a one-time `code`, which this
exchanges for the App's id, key and webhook secret.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson
from githubkit import GitHub

from bot.core.settings import SettingsError
from bot.core.templates import page_environment
from bot.github import env_file
from bot.github import manifest as app_manifest

# HTML `setup` serves itself, rendered with autoescaping.
PAGES_DIR = Path(__file__).resolve().parent / "pages"


def render_page(template: str, **context: Any) -> str:
    return page_environment(PAGES_DIR).get_template(template).render(**context)


# What `setup` writes; an existing non-empty one is kept unless --force.
APP_SETTINGS = (
    "PILOT_GITHUB_APP_ID",
    "PILOT_GITHUB_PRIVATE_KEY",
    "PILOT_GITHUB_PRIVATE_KEY_PATH",
    "PILOT_GITHUB_WEBHOOK_SECRET",
)
CALLBACK_PATH = "/callback"
# Names a browser may give the local server in its Host header; any other is refused.
LOOPBACK = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class SetupOptions:
    webhook_url: str
    name: str
    github_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    org: str | None = None
    env_file: Path = Path(".env")
    key_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    force: bool = False
    # The events the App subscribes to: the handler router's, given by `bot.cli`.
    events: tuple[str, ...] = ()

    @property
    def key_path(self) -> Path:
        return (self.key_file or self.env_file.parent / "github-app.pem").absolute()

    @property
    def new_app_url(self) -> str:
        base = self.github_url.rstrip("/")
        if self.org:
            return f"{base}/organizations/{self.org}/settings/apps/new"
        return f"{base}/settings/apps/new"


@dataclass
class SetupResult:
    """What the callback found; ``done`` is set once it has an answer, good or bad."""

    done: threading.Event = field(default_factory=threading.Event)
    app: dict[str, Any] | None = None
    error: str | None = None

    @property
    def install_url(self) -> str:
        assert self.app is not None
        return f"{self.app['html_url']}/installations/new"


def refuse_overwrite(options: SetupOptions) -> None:
    """Stop before GitHub is asked for anything if the App is already configured here."""
    if options.force:
        return
    present = [k for k, v in env_file.read(options.env_file).items() if k in APP_SETTINGS and v]
    if present:
        raise SettingsError(
            f"{options.env_file} already sets {', '.join(sorted(present))}; "
            "pass --force to replace them"
        )
    if options.key_path.exists():
        raise SettingsError(f"{options.key_path} exists; pass --force to replace it")


def convert(api_url: str, code: str) -> dict[str, Any]:
    """The App GitHub registered, with its secrets (the code is good once, for an hour)."""
    with GitHub(base_url=api_url, auto_retry=False) as gh:
        app = gh.rest.apps.create_from_manifest(code).parsed_data
    return cast(dict[str, Any], app.model_dump(mode="json"))


def save(options: SetupOptions, app: dict[str, Any]) -> None:
    """The key first, so `.env` never names a key that is not there."""
    env_file.write_private(options.key_path, str(app["pem"]))
    env_file.update(
        options.env_file,
        {
            "PILOT_GITHUB_APP_ID": str(app["id"]),
            "PILOT_GITHUB_PRIVATE_KEY_PATH": str(options.key_path),
            "PILOT_GITHUB_WEBHOOK_SECRET": str(app["webhook_secret"]),
            "PILOT_GITHUB_API_URL": options.api_url,
        },
        drop=["PILOT_GITHUB_PRIVATE_KEY"],
        header=f"The GitHub App {app['name']}, written by `issue-pilot setup`",
    )


Page = Callable[[], str]
Callback = Callable[[dict[str, list[str]]], tuple[int, str]]
Convert = Callable[[str, str], dict[str, Any]]


def _handler(page: Page, callback: Callback, hosts: set[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if (self.headers.get("Host") or "").lower() not in hosts:
                # A DNS-rebound name reaches this port too: it must not read the state.
                self._answer(403, "Unknown host")
            elif parts.path == "/":
                self._answer(200, page())
            elif parts.path == CALLBACK_PATH:
                self._answer(*callback(parse_qs(parts.query)))
            else:
                self._answer(404, "Not found")

        def _answer(self, status: int, html: str) -> None:
            body = html.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the command prints what matters; request lines would bury it

    return Handler


def serve_flow(
    options: SetupOptions, exchange: Convert = convert
) -> tuple[ThreadingHTTPServer, SetupResult, str]:
    """Start the local server; returns it, the result it fills in and the URL to open."""
    state = secrets.token_urlsafe(24)
    result = SetupResult()
    claim = threading.Lock()
    claimed = False

    def page() -> str:
        return render_page(
            "setup_start.html.j2",
            name=options.name,
            # GitHub reads `state` from the new-App URL's query, as its docs show the form.
            target=f"{options.new_app_url}?{urlencode({'state': state})}",
            manifest=orjson.dumps(manifest).decode(),
            state=state,
            env_file=str(options.env_file),
        )

    def callback(query: dict[str, list[str]]) -> tuple[int, str]:
        nonlocal claimed
        given, code = query.get("state", [""])[0], query.get("code", [""])[0]
        if not hmac.compare_digest(given.encode(), state.encode()) or not code:
            # Not our redirect (a stale tab, another site): ignore it and keep waiting.
            return 400, render_page("setup_result.html.j2", ok=False, message="Unknown state.")
        with claim:
            # One exchange: a second callback (a reload, a double request) while the first is
            # still exchanging must not fail the code it spent and end the command as failed.
            already, claimed = claimed, True
        if already:
            return 409, render_page("setup_result.html.j2", ok=False, message="Already done.")
        try:
            app = exchange(options.api_url, code)
            save(options, app)
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}"
            result.done.set()
            message = f"Exchanging GitHub's code failed ({result.error})."
            return 502, render_page("setup_result.html.j2", ok=False, message=message)
        result.app = app
        result.done.set()
        return 200, render_page(
            "setup_result.html.j2",
            ok=True,
            name=app["name"],
            env_file=str(options.env_file),
            install_url=result.install_url,
        )

    hosts: set[str] = set()
    server = ThreadingHTTPServer((options.host, options.port), _handler(page, callback, hosts))
    port = server.server_address[1]
    origin = f"http://{options.host}:{port}"
    names = {options.host, *(LOOPBACK if options.host in LOOPBACK else ())}
    hosts.update(f"{name.lower()}:{port}" for name in names)
    manifest = app_manifest.manifest(
        options.name, options.webhook_url, origin + CALLBACK_PATH, options.events
    )
    threading.Thread(target=server.serve_forever, name="setup-http", daemon=True).start()
    return server, result, origin + "/"


def run_setup(
    options: SetupOptions,
    say: Callable[[str], None] = print,
    open_browser: bool = True,
    timeout_s: float | None = None,
) -> int:
    refuse_overwrite(options)
    server, result, url = serve_flow(options)
    try:
        say(f"Open {url} to register the GitHub App {options.name!r} on {options.github_url}")
        if open_browser:
            webbrowser.open(url)
        if not result.done.wait(timeout_s):
            say("No answer from GitHub in time; nothing was written.")
            return 1
    finally:
        server.shutdown()
        server.server_close()
    if result.app is None:
        say(f"The App was not registered: {result.error}")
        return 1
    say(f"Registered {result.app['name']} (id {result.app['id']}).")
    say(f"Wrote {options.env_file} and the key {options.key_path} (mode 0600).")
    say(f"Install it on your repositories: {result.install_url}")
    return 0
