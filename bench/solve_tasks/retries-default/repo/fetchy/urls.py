"""URL helpers."""


def join_url(base: str, path: str) -> str:
    """`base` and `path` joined by exactly one slash."""
    return base.rstrip("/") + "/" + path.lstrip("/")
