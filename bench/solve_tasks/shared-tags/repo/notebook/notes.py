"""A note."""

from typing import List


class Note:
    def __init__(self, title: str, body: str = "", tags: List[str] = []) -> None:
        self.title = title
        self.body = body
        self.tags = tags

    def add_tag(self, tag: str) -> None:
        """Tags are lower case and each is kept once."""
        tag = tag.strip().lower()
        if tag and tag not in self.tags:
            self.tags.append(tag)

    def has_tag(self, tag: str) -> bool:
        return tag.strip().lower() in self.tags
