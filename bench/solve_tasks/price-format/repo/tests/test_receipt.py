import unittest

from till import receipt_lines


class ReceiptTest(unittest.TestCase):
    def test_receipt(self):
        lines = receipt_lines([("Coffee", 250), ("Cake", 375)])
        self.assertEqual(lines[0], "Coffee             $2.50")
        self.assertEqual(lines[-1], "TOTAL              $6.25")
        self.assertTrue(all(len(text) == 24 for text in lines))


if __name__ == "__main__":
    unittest.main()
