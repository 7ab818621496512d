"""What the client raises."""


class FetchError(Exception):
    """Every attempt at a request failed; `attempts` says how many were made."""

    def __init__(self, url: str, attempts: int, cause: Exception) -> None:
        super().__init__(f"GET {url} failed after {attempts} attempt(s): {cause}")
        self.url = url
        self.attempts = attempts
        self.cause = cause
