"""Prices and receipts for the shop's till."""

from till.money import format_price, parse_price
from till.receipt import receipt_lines

__all__ = ["format_price", "parse_price", "receipt_lines"]
