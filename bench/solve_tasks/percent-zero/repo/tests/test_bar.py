import unittest

from taskmeter import bar


class BarTest(unittest.TestCase):
    def test_quarter(self):
        self.assertEqual(bar(1, 4), "[#####...............]  25.0%")

    def test_done(self):
        self.assertEqual(bar(3, 3, width=4), "[####] 100.0%")


if __name__ == "__main__":
    unittest.main()
