"""A small client for our internal HTTP services."""

from fetchy.client import Client
from fetchy.errors import FetchError
from fetchy.urls import join_url

__all__ = ["Client", "FetchError", "join_url"]
