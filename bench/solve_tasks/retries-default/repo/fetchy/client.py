"""The client: GET with retries on connection errors."""

from typing import Callable

from fetchy.errors import FetchError
from fetchy.urls import join_url

# Takes a URL and a timeout in seconds, returns the body; raises ConnectionError when the
# service cannot be reached. Tests pass their own.
Transport = Callable[[str, float], str]


class Client:
    def __init__(self, base_url: str, retries: int = 0, timeout: float = 10.0) -> None:
        self.base_url = base_url
        self.retries = retries
        self.timeout = timeout

    def get(self, path: str, transport: Transport) -> str:
        """The body at `path`; tries once, then `retries` more times on ConnectionError."""
        url = join_url(self.base_url, path)
        attempts = 0
        while True:
            attempts += 1
            try:
                return transport(url, self.timeout)
            except ConnectionError as exc:
                if attempts > self.retries:
                    raise FetchError(url, attempts, exc) from exc
