import unittest

from arcade import level_points, valid_name


class ScoringTest(unittest.TestCase):
    def test_points(self):
        self.assertEqual(level_points(2, 30, 1), 2800)

    def test_names(self):
        self.assertTrue(valid_name("ANN"))
        self.assertFalse(valid_name("a b"))


if __name__ == "__main__":
    unittest.main()
