import unittest

from scorecard import best, summary


class ReportTest(unittest.TestCase):
    def test_summary(self):
        self.assertEqual(summary([70, 85]), "2 scores, average 77.50")

    def test_summary_of_a_class_without_scores(self):
        self.assertEqual(summary([]), "0 scores, average 0.00")

    def test_best(self):
        self.assertEqual(best([3, 9, 4]), 9)
        self.assertIsNone(best([]))


if __name__ == "__main__":
    unittest.main()
