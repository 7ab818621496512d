import unittest

from termtext import truncate


class TruncateTest(unittest.TestCase):
    def test_short_text_is_kept(self):
        self.assertEqual(truncate("abc", 5), "abc")
        self.assertEqual(truncate("abcde", 5), "abcde")

    def test_cut_text_fits_the_width(self):
        self.assertEqual(truncate("abcdefghij", 5), "abcd…")
        self.assertEqual(len(truncate("x" * 50, 12)), 12)


if __name__ == "__main__":
    unittest.main()
