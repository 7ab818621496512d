"""Request helpers for our WSGI apps."""

from webbits.cookies import parse_cookie_header
from webbits.headers import header_name
from webbits.query import parse_query

__all__ = ["header_name", "parse_cookie_header", "parse_query"]
