"""Git smart HTTP at ``/{owner}/{repo}.git/...``: ``git http-backend`` behind the server.

Request and response bodies stream through the CGI process. Reading needs read rights
(everyone on public repositories); pushing needs a person's token with write rights or an
installation token. After a push the ref changes become webhooks (see ``push_events``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import subprocess
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from ghsim.auth import Caller, has_role, resolve
from ghsim.errors import GitHubError
from ghsim.git_refs import list_refs
from ghsim.push_events import after_push
from ghsim.sim import Sim, get_sim
from ghsim.store import Doc
from ghsim.workflow_guard import guard_env, guarded

log = logging.getLogger("ghsim.git")
router = APIRouter()
_SERVICES = ("git-upload-pack", "git-receive-pack")
# The longest one request/response exchange with git-http-backend may take.
EXCHANGE_TIMEOUT = 600.0
_CHUNK = 65536


@functools.cache
def _http_backend() -> str:
    """``$(git --exec-path)/git-http-backend``: run directly, so killing it kills the work."""
    exec_path = subprocess.run(
        ["git", "--exec-path"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return os.path.join(exec_path, "git-http-backend")


def _unauthorized() -> Response:
    return Response(
        "Authentication required\n",
        401,
        {"WWW-Authenticate": 'Basic realm="GitHub"', "Content-Type": "text/plain"},
    )


def _authorize(sim: Sim, repo: Doc, header: str | None, push: bool) -> Caller | Response:
    try:
        caller = resolve(sim, header)
    except GitHubError:
        return _unauthorized()
    if caller.kind == "app":
        return Response("An App's JWT cannot use git; use an installation token\n", 403)
    needed = "write" if push else "read"
    if repo.get("private") and caller.kind == "anonymous":
        return _unauthorized()
    if push and caller.kind == "anonymous":
        return _unauthorized()
    if not has_role(sim, repo, caller, needed):
        if repo.get("private") and not push:
            return Response("Repository not found.\n", 404)
        login = caller.login or "anonymous"
        return Response(f"Permission to {repo['full_name']}.git denied to {login}.\n", 403)
    return caller


def _cgi_env(sim: Sim, repo: Doc, path: str, request: Request, caller: Caller) -> dict[str, str]:
    env = {
        "GIT_PROJECT_ROOT": str(sim.config.repos_dir),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{repo['owner']}/{repo['name']}.git/{path}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.url.query,
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "REMOTE_ADDR": request.client.host if request.client else "127.0.0.1",
        "REMOTE_USER": caller.login or "",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(sim.config.data_dir),
    }
    if request.headers.get("content-length"):
        env["CONTENT_LENGTH"] = request.headers["content-length"]
    if request.headers.get("content-encoding"):
        env["HTTP_CONTENT_ENCODING"] = request.headers["content-encoding"]
    if request.headers.get("git-protocol"):
        env["GIT_PROTOCOL"] = request.headers["git-protocol"]
    if path == "git-receive-pack" and guarded(caller):
        env.update(guard_env(sim.config.data_dir))
    return env


def _parse_cgi_headers(raw: bytes) -> tuple[int, dict[str, str]]:
    status, headers = 200, {}
    for line in raw.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers[name.strip()] = value.strip()
    return status, headers


class _Exchange:
    """One CGI exchange, owned by one task: the push lock and the process live and die in it.

    ``run`` takes the repository's lock (pushes), starts git-http-backend in its own process
    group, feeds it the request body and queues its output; its ``finally`` kills the group
    and releases the lock whatever happens (client gone before or while streaming, timeout,
    cancellation). The response only reads the queue.
    """

    def __init__(
        self, sim: Sim, repo: Doc, path: str, request: Request, caller: Caller, push: bool
    ) -> None:
        self.sim, self.repo, self.path, self.request = sim, repo, path, request
        self.caller, self.push = caller, push
        loop = asyncio.get_running_loop()
        self.headers: asyncio.Future[tuple[int, dict[str, str]]] = loop.create_future()
        self.chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=16)
        self.task: asyncio.Task[None] | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.abandoned = False
        self.closed = False

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def abandon(self) -> None:
        """The client is gone: drop queued output; reads die now, a received push finishes."""
        self.abandoned = True
        while not self.chunks.empty():
            self.chunks.get_nowait()
        if not self.push or self.task is None:
            self.kill()
        if self.task is not None and not self.push:
            self.task.cancel()

    async def _put(self, chunk: bytes | None) -> None:
        if not self.abandoned:
            await self.chunks.put(chunk)

    async def _feed(self, stdin: asyncio.StreamWriter) -> None:
        try:
            async for chunk in self.request.stream():
                stdin.write(chunk)
                await stdin.drain()
        except (ClientDisconnect, ConnectionError, OSError):
            # A request body cut short must not reach git as a complete one.
            self.kill()
        finally:
            stdin.close()

    async def run(self) -> None:
        locked = False
        feeder: asyncio.Task[None] | None = None
        lock = self.sim.repo_lock(self.repo["id"])
        try:
            async with asyncio.timeout(EXCHANGE_TIMEOUT):
                if self.push:
                    await lock.acquire()
                    locked = True
                git_dir = self.sim.git_dir(self.repo)
                before = await asyncio.to_thread(list_refs, git_dir) if self.push else {}
                self.proc = proc = await asyncio.create_subprocess_exec(
                    _http_backend(),
                    env=_cgi_env(self.sim, self.repo, self.path, self.request, self.caller),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.DEVNULL,
                    start_new_session=True,
                )
                assert proc.stdin is not None and proc.stdout is not None
                feeder = asyncio.create_task(self._feed(proc.stdin))
                head = b""
                while b"\r\n\r\n" not in head and b"\n\n" not in head:
                    chunk = await proc.stdout.read(_CHUNK)
                    if not chunk:
                        break
                    head += chunk
                sep = b"\r\n\r\n" if b"\r\n\r\n" in head else b"\n\n"
                raw_headers, _, first = head.partition(sep)
                # The response's disconnect listener reads the same ASGI channel as the feeder:
                # answering before the body is all in would let it swallow the rest of a large
                # push. Git's services read their whole request before they answer anyway.
                with contextlib.suppress(Exception):
                    await asyncio.shield(feeder)
                self.headers.set_result(_parse_cgi_headers(raw_headers))
                if first:
                    await self._put(first)
                while chunk := await proc.stdout.read(_CHUNK):
                    await self._put(chunk)
                await proc.wait()
                if self.push and proc.returncode == 0:
                    await asyncio.to_thread(
                        after_push, self.sim, self.repo["id"], before, self.caller
                    )
                await self._put(None)
                self.closed = True
        except BaseException as exc:
            if isinstance(exc, TimeoutError):
                log.warning(
                    "git %s on %s took over %ss: killed",
                    self.path,
                    self.repo["full_name"],
                    EXCHANGE_TIMEOUT,
                )
            elif not isinstance(exc, asyncio.CancelledError):
                log.exception("git http-backend exchange failed")
            if not isinstance(exc, Exception):
                raise
        finally:
            self.kill()
            if feeder is not None:
                feeder.cancel()
            if self.proc is not None and self.proc.returncode is None:
                with contextlib.suppress(BaseException):
                    await asyncio.shield(self.proc.wait())
            if locked:
                lock.release()
            if not self.headers.done():
                self.headers.set_exception(RuntimeError("git http-backend gave no answer"))
                self.headers.exception()  # retrieved: the handler may be gone
            if not self.closed:
                # Cut short: what was not read is useless, wake the reader with the end.
                while not self.chunks.empty():
                    self.chunks.get_nowait()
                self.chunks.put_nowait(None)

    async def body(self) -> AsyncIterator[bytes]:
        while (chunk := await self.chunks.get()) is not None:
            yield chunk


class _ExchangeResponse(StreamingResponse):
    """Streams an exchange's output; however the response ends, the exchange is let go."""

    def __init__(self, exchange: _Exchange, status: int, headers: dict[str, str]) -> None:
        super().__init__(exchange.body(), status, headers)
        self.exchange = exchange

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self.exchange.task is not None and not self.exchange.task.done():
                self.exchange.abandon()


@router.api_route(
    "/{owner}/{name}.git/{path:path}", methods=["GET", "POST"], include_in_schema=False
)
async def git_smart_http(owner: str, name: str, path: str, request: Request) -> Response:
    sim = await get_sim(request)
    repo = sim.find_repo(owner, name)
    if repo is None:
        return Response("Repository not found.\n", 404)
    service = request.query_params.get("service") if path == "info/refs" else path
    if service not in _SERVICES:
        return Response("Not Found\n", 404)
    push = service == "git-receive-pack"
    authorized = _authorize(sim, repo, request.headers.get("authorization"), push)
    if isinstance(authorized, Response):
        return authorized
    caller = authorized
    exchange = _Exchange(sim, repo, path, request, caller, push and request.method == "POST")
    exchange.task = asyncio.create_task(exchange.run())
    try:
        status, headers = await asyncio.shield(exchange.headers)
    except Exception:
        exchange.abandon()
        return Response("git http-backend failed\n", 500)
    except BaseException:
        exchange.abandon()
        raise
    return _ExchangeResponse(exchange, status, headers)
