import unittest

from till import format_price, parse_price


class MoneyTest(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(parse_price("$12.5"), 1250)
        self.assertEqual(parse_price("3"), 300)

    def test_format_cents(self):
        self.assertEqual(format_price(1234), "$12.34")

    def test_format_always_two_decimals(self):
        self.assertEqual(format_price(1250), "$12.50")
        self.assertEqual(format_price(300), "$3.00")


if __name__ == "__main__":
    unittest.main()
