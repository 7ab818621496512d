"""Release channels."""

CHANNELS = ("stable", "beta", "nightly")


def channel_of(tag: str) -> str:
    """The channel a release tag belongs to: "1.2.0-beta" is beta, "1.2.0" stable."""
    _, _, suffix = tag.partition("-")
    return suffix if suffix in CHANNELS else "stable"
