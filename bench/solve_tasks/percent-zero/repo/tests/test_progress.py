import unittest

from taskmeter import eta_seconds, percent


class PercentTest(unittest.TestCase):
    def test_bounds(self):
        self.assertEqual(percent(0, 10), 0.0)
        self.assertEqual(percent(10, 10), 100.0)
        self.assertEqual(percent(0, 0), 100.0)

    def test_part_way(self):
        self.assertEqual(percent(1, 2), 50.0)
        self.assertEqual(percent(1, 3), 33.3)

    def test_eta(self):
        self.assertEqual(eta_seconds(2, 10, 4.0), 16.0)
        self.assertIsNone(eta_seconds(0, 10, 4.0))


if __name__ == "__main__":
    unittest.main()
