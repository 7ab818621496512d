import unittest

from arcade import format_board, top


class LeaderboardTest(unittest.TestCase):
    def test_best_first(self):
        scores = {"ann": 3000, "bob": 5000, "cy": 4000, "dee": 1000}
        self.assertEqual(top(scores, 2), [("bob", 5000), ("cy", 4000)])

    def test_fewer_players_than_places(self):
        self.assertEqual(top({"ann": 10}), [("ann", 10)])

    def test_format(self):
        self.assertEqual(format_board([("bob", 50), ("cy", 40)]), ["1. BOB  50", "2. CY   40"])


if __name__ == "__main__":
    unittest.main()
