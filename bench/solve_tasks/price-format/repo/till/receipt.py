"""The printed receipt."""

from typing import List, Tuple

from till.money import format_price

WIDTH = 24


def line(label: str, cents: int) -> str:
    """The label on the left, the price on the right, WIDTH characters in all."""
    price = format_price(cents)
    return label[: WIDTH - len(price) - 1].ljust(WIDTH - len(price)) + price


def receipt_lines(items: List[Tuple[str, int]]) -> List[str]:
    """A line per item, then the total."""
    lines = [line(name, cents) for name, cents in items]
    lines.append(line("TOTAL", sum(cents for _, cents in items)))
    return lines
