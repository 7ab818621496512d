import unittest

from scorecard import grade, mean, median


class StatsTest(unittest.TestCase):
    def test_mean(self):
        self.assertEqual(mean([70, 80, 90]), 80)

    def test_median_even(self):
        self.assertEqual(median([4, 1, 3, 2]), 2.5)

    def test_grades(self):
        self.assertEqual([grade(95), grade(61), grade(12)], ["A", "D", "F"])


if __name__ == "__main__":
    unittest.main()
