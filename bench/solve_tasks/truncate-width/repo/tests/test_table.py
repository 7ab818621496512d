import unittest

from termtext import indent, table


class TableTest(unittest.TestCase):
    def test_columns_line_up(self):
        rows = [["name", "status"], ["a-very-long-job-name", "ok"]]
        self.assertEqual(table(rows, [8, 6]), ["name     | status", "a-very-… | ok"])

    def test_indent(self):
        self.assertEqual(indent("a\n\nb"), "  a\n\n  b")


if __name__ == "__main__":
    unittest.main()
