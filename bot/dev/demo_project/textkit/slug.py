"""URL slugs from titles."""


def slugify(title: str) -> str:
    """A URL slug for `title`: lower case words joined by single hyphens.

    >>> slugify("Hello, World!")
    'hello-world'
    """
    return title.replace(" ", "-")
