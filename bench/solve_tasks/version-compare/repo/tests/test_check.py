import unittest

from updater import update_available


class CheckTest(unittest.TestCase):
    def test_offers_the_newest(self):
        self.assertEqual(update_available("1.2.0", ["1.1.0", "1.3.0", "1.2.5"]), "1.3.0")

    def test_up_to_date(self):
        self.assertIsNone(update_available("1.3.0", ["1.1.0", "1.3.0"]))

    def test_offers_1_10_over_1_9(self):
        self.assertEqual(update_available("1.9.2", ["1.9.1", "1.10.0"]), "1.10.0")


if __name__ == "__main__":
    unittest.main()
