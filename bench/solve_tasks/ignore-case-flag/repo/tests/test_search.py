import unittest

from greplite.search import count_lines, find_lines

LOG = ["INFO start\n", "ERROR: disk full\n", "info done\n"]


class SearchTest(unittest.TestCase):
    def test_plain(self):
        self.assertEqual(find_lines(LOG, "INFO"), [(1, "INFO start")])

    def test_ignore_case(self):
        self.assertEqual(
            find_lines(LOG, "info", ignore_case=True), [(1, "INFO start"), (3, "info done")]
        )

    def test_count(self):
        self.assertEqual(count_lines(LOG, "ERROR"), 1)


if __name__ == "__main__":
    unittest.main()
