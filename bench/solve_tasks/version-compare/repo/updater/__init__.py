"""Update checks for the desktop app."""

from updater.channel import channel_of
from updater.check import update_available
from updater.versions import is_newer, parse_version

__all__ = ["channel_of", "is_newer", "parse_version", "update_available"]
