"""Git smart HTTP at ``/{owner}/{repo}.git/...``: ``git http-backend`` behind the server.

Request and response bodies stream through the CGI process. Reading needs read rights
(everyone on public repositories); pushing needs a person's token with write rights or an
installation token. After a push the ref changes become webhooks (see ``push_events``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from ghsim.auth import Caller, has_role, resolve
from ghsim.errors import GitHubError
from ghsim.git_refs import list_refs
from ghsim.push_events import after_push
from ghsim.sim import Sim, get_sim
from ghsim.store import Doc

router = APIRouter()
_SERVICES = ("git-upload-pack", "git-receive-pack")
_push_locks: dict[int, asyncio.Lock] = {}


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
    return env


async def _feed(request: Request, stdin: asyncio.StreamWriter) -> None:
    try:
        async for chunk in request.stream():
            stdin.write(chunk)
            await stdin.drain()
    finally:
        stdin.close()


def _parse_cgi_headers(raw: bytes) -> tuple[int, dict[str, str]]:
    status, headers = 200, {}
    for line in raw.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers[name.strip()] = value.strip()
    return status, headers


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
    posting_push = push and request.method == "POST"
    lock = _push_locks.setdefault(repo["id"], asyncio.Lock())
    if posting_push:
        await lock.acquire()
    try:
        before = await asyncio.to_thread(list_refs, sim.git_dir(repo)) if posting_push else {}
        proc = await asyncio.create_subprocess_exec(
            "git",
            "http-backend",
            env=_cgi_env(sim, repo, path, request, caller),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert proc.stdin is not None and proc.stdout is not None
        feeder = asyncio.create_task(_feed(request, proc.stdin))
        head = b""
        while b"\r\n\r\n" not in head and b"\n\n" not in head:
            chunk = await proc.stdout.read(65536)
            if not chunk:
                break
            head += chunk
        sep = b"\r\n\r\n" if b"\r\n\r\n" in head else b"\n\n"
        raw_headers, _, first = head.partition(sep)
        status, headers = _parse_cgi_headers(raw_headers)
    except BaseException:
        if posting_push:
            lock.release()
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            assert proc.stdout is not None
            while chunk := await proc.stdout.read(65536):
                yield chunk
            await proc.wait()
            with contextlib.suppress(Exception):
                await feeder
            if posting_push and proc.returncode == 0:
                await asyncio.to_thread(after_push, sim, repo["id"], before, caller)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            if posting_push:
                lock.release()

    return StreamingResponse(body(), status, headers)
