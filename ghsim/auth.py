"""Who is calling: person tokens, the App's JWT, installation tokens; and what they may do.

* ``ghp_sim_<login>``: a person; the user exists from its first request.
* an RS256 JWT signed with the App's key, ``iss`` = app id: the App itself.
* ``ghs_...``: an installation token (1 hour), acting as the bot user ``<slug>[bot]``.

Credentials come as ``Authorization: token X``, ``Bearer X`` or HTTP Basic (git sends the
token as the password, any username).
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Request

from ghsim.app_views import by_app_id
from ghsim.errors import GitHubError
from ghsim.identity import APP_PERMISSIONS
from ghsim.roles import ROLE_OF_PERMISSION, at_least
from ghsim.sim import Sim, SimDep
from ghsim.store import Doc

PERSON_PREFIX = "ghp_sim_"
INSTALLATION_PREFIX = "ghs_"
TOKEN_LIFETIME = timedelta(hours=1)
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")

CallerKind = Literal["anonymous", "user", "app", "installation"]


@dataclass(frozen=True)
class Caller:
    kind: CallerKind
    user: Doc | None = None
    installation_id: int | None = None
    # An installation token asked for with ``repositories``/``repository_ids``: only these.
    repository_ids: frozenset[int] | None = None
    # An installation token's ``permissions``; read-only ones cannot write anything.
    read_only: bool = False
    # The App behind a JWT: the built-in one or one registered from a manifest.
    app_id: int | None = None
    # Whether a push may create, change or delete `.github/workflows/*`: an installation
    # token only with the `workflows` permission (people's tokens here have every scope).
    workflows: bool = True

    @property
    def login(self) -> str | None:
        return None if self.user is None else str(self.user["login"])


def parse_authorization(header: str | None) -> str | None:
    """The credential in an Authorization header (token, Bearer or Basic), if any."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme in ("token", "bearer"):
        return value or None
    if scheme == "basic":
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        if password and password != "x-oauth-basic":
            return password
        return user or None
    return None


def resolve(sim: Sim, header: str | None) -> Caller:
    """The caller behind an Authorization header; raises 401 on a bad credential."""
    token = parse_authorization(header)
    if token is None:
        return Caller("anonymous")
    if token.startswith(PERSON_PREFIX):
        login = token[len(PERSON_PREFIX) :]
        if not _LOGIN.match(login):
            raise GitHubError(401, "Bad credentials")
        return Caller("user", sim.ensure_user(login))
    if token.startswith(INSTALLATION_PREFIX):
        found = sim.installation_token(token)
        if (
            found is None
            or found.get("revoked")
            or found["expires_at"] <= datetime.now(UTC).isoformat()
        ):
            raise GitHubError(401, "Bad credentials")
        scope = found.get("repository_ids")
        # Tokens of Apps registered from a manifest act as those Apps' own bot users.
        bot_login = found.get("bot_login")
        bot = sim.bot_user if bot_login is None else sim.ensure_user(bot_login, "Bot")
        return Caller(
            "installation",
            bot,
            int(found["installation_id"]),
            None if scope is None else frozenset(scope),
            all(level == "read" for level in found["permissions"].values()),
            workflows=found["permissions"].get("workflows") == "write",
        )
    if token.count(".") == 2:
        return Caller("app", app_id=verify_app_jwt(sim, token))
    raise GitHubError(401, "Bad credentials")


def verify_app_jwt(sim: Sim, token: str) -> int:
    """The id of the App whose key signed ``token``; 401 otherwise."""
    import jwt  # with cryptography, a tenth of a second of start-up that only App JWTs need

    undecodable = GitHubError(401, "A JSON web token could not be decoded")
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        app = by_app_id(sim, int(str(issuer)))
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise undecodable from exc
    if app is None:
        raise undecodable
    try:
        claims = jwt.decode(
            token,
            app.public_key_pem,
            algorithms=["RS256"],
            leeway=60,
            options={"require": ["iat", "exp", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise GitHubError(
            401,
            "'Expiration time' claim ('exp') must be a numeric value "
            "representing the future time at which the assertion expires",
        ) from exc
    except jwt.PyJWTError as exc:
        raise undecodable from exc
    if claims["exp"] - claims["iat"] > 11 * 60:
        raise GitHubError(401, "'Expiration time' claim ('exp') is too far in the future")
    return app.app_id


def issue_installation_token(
    sim: Sim,
    installation_id: int,
    repository_ids: list[int] | None = None,
    permissions: dict[str, str] | None = None,
    bot_login: str | None = None,
) -> Doc:
    """A new ``ghs_`` token for the installation, stored with its expiry and its scope
    (``repository_ids`` None = every repository; ``permissions`` None = all the App's);
    ``bot_login`` names the bot user of an App registered from a manifest."""
    expires = datetime.now(UTC) + TOKEN_LIFETIME
    doc: Doc = {
        "token": INSTALLATION_PREFIX + secrets.token_urlsafe(27)[:36],
        "installation_id": installation_id,
        "expires_at": expires.isoformat(),
        "expires_at_github": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "permissions": dict(APP_PERMISSIONS if permissions is None else permissions),
        "repository_ids": repository_ids,
    }
    if bot_login is not None:
        doc["bot_login"] = bot_login
    return sim.store.insert("installation_token", doc)


# FastAPI dependencies ---------------------------------------------------------------------
async def current_caller(request: Request, sim: SimDep) -> Caller:
    """Any caller, anonymous included.

    On the event loop, sparing every request a trip to the thread pool: a credential reaches
    the store only when first seen, later uses are answered from memory.
    """
    return resolve(sim, request.headers.get("authorization"))


CallerDep = Annotated[Caller, Depends(current_caller)]


async def require_actor(request: Request, sim: SimDep, caller: CallerDep) -> Caller:
    """A person or an installation: someone who can act on repositories.

    An installation token limited to some repositories or to read permissions changes
    nothing elsewhere: 403 for any write to another repository (issues and comments
    included, which anyone may write on a public repository) or by a read-only token.
    """
    if caller.kind == "anonymous":
        raise GitHubError(401, "Requires authentication")
    if caller.kind == "app":
        raise GitHubError(403, "Resource not accessible by integration")
    owner, name = request.path_params.get("owner"), request.path_params.get("repo")
    if caller.kind == "installation" and owner and name and request.method not in ("GET", "HEAD"):
        repo = sim.find_repo(str(owner), str(name))
        outside = (
            repo is not None
            and caller.repository_ids is not None
            and repo["id"] not in caller.repository_ids
        )
        if caller.read_only or outside:
            raise GitHubError(403, "Resource not accessible by integration")
    return caller


ActorDep = Annotated[Caller, Depends(require_actor)]


async def require_app(caller: CallerDep) -> Caller:
    """The App itself, authenticated with its JWT."""
    if caller.kind != "app":
        raise GitHubError(
            401,
            "A JSON web token could not be decoded"
            if caller.kind != "anonymous"
            else "Requires authentication",
        )
    return caller


# permissions ------------------------------------------------------------------------------
def role_of(sim: Sim, repo: Doc, user: Doc | None) -> str:
    """admin, maintain, write, triage, read (anyone, repos are public) for a person."""
    if user is None:
        return "read"
    if user["id"] == repo["owner_id"] or user["id"] == repo.get("creator_id"):
        return "admin"
    if user["type"] == "Bot":
        return "write"
    collab = sim.store.first("collaborator", repo_id=repo["id"], user_id=user["id"])
    if collab is None:
        return "read"
    return ROLE_OF_PERMISSION[collab["permission"]]


def caller_role(sim: Sim, repo: Doc, caller: Caller) -> str:
    if caller.kind == "installation":
        if caller.repository_ids is not None and repo["id"] not in caller.repository_ids:
            return "read" if not repo.get("private") else "none"
        return "read" if caller.read_only else "write"
    if caller.kind == "user":
        return role_of(sim, repo, caller.user)
    return "read"


def has_role(sim: Sim, repo: Doc, caller: Caller, minimum: str) -> bool:
    """Whether the caller has at least ``minimum`` (one of ``roles.ROLES``) on the repo."""
    return at_least(caller_role(sim, repo, caller), minimum)


def refusal(caller: Caller, minimum: str) -> str:
    """GitHub's 403 message for a caller below ``minimum``."""
    if caller.kind in ("installation", "app"):
        return "Resource not accessible by integration"
    if minimum == "admin":
        return "Must have admin rights to Repository."
    return f"Must have {'push' if minimum == 'write' else minimum} access to repository"


def require_role(sim: Sim, repo: Doc, caller: Caller, minimum: str) -> None:
    """403 unless the caller has at least ``minimum`` (one of ``roles.ROLES``) on the repo."""
    if not has_role(sim, repo, caller, minimum):
        raise GitHubError(403, refusal(caller, minimum))


def comment_to_change(
    sim: Sim, owner: str, name: str, kind: str, comment_id: int, caller: Caller
) -> tuple[Doc, Doc]:
    """A ``comment`` or ``review_comment`` of owner/name and the user editing or deleting it,
    who wrote it or may push to the repository; 404 or 403 otherwise."""
    repo = sim.repo_or_404(owner, name)
    comment = sim.in_repo_or_404(kind, repo, comment_id)
    assert caller.user is not None
    if comment["user_id"] != caller.user["id"]:
        require_role(sim, repo, caller, "write")
    return comment, caller.user


AppDep = Annotated[Caller, Depends(require_app)]
