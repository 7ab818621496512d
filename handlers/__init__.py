"""Every handler module's router, composed in one place."""

from bot.core.routing import Router
from handlers import checks, issue_comment, issues, pull_request

router = Router.compose(issues.router, issue_comment.router, pull_request.router, checks.router)

__all__ = ["router"]
