"""Every handler module's router, composed in one place."""

from bot.routing import Router
from handlers import issue_comment, issues

router = Router.compose(issues.router, issue_comment.router)

__all__ = ["router"]
