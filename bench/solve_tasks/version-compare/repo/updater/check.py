"""The update check itself."""

from typing import Iterable, Optional

from updater.versions import is_newer, parse_version


def update_available(current: str, releases: Iterable[str]) -> Optional[str]:
    """The newest of `releases` that is newer than `current`, or None."""
    newer = [release for release in releases if is_newer(release, current)]
    if not newer:
        return None
    return max(newer, key=parse_version)
