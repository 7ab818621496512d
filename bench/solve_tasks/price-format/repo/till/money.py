"""Money as integer cents, and how it is shown."""


def parse_price(text: str) -> int:
    """ "$12.50" or "12.5" -> 1250 cents."""
    text = text.strip().lstrip("$")
    whole, _, fraction = text.partition(".")
    fraction = (fraction + "00")[:2]
    return int(whole or "0") * 100 + int(fraction)


def format_price(cents: int) -> str:
    """1250 -> "$12.50"."""
    return f"${cents / 100}"
