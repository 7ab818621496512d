"""Header names."""


def header_name(environ_key: str) -> str:
    """ "HTTP_X_REQUEST_ID" -> "X-Request-Id"."""
    key = environ_key[5:] if environ_key.startswith("HTTP_") else environ_key
    return "-".join(word.capitalize() for word in key.split("_"))
