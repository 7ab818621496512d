import unittest

from textkit import slugify


class SlugifyTest(unittest.TestCase):
    def test_a_plain_title(self) -> None:
        self.assertEqual(slugify("release notes"), "release-notes")

    def test_capitals_and_punctuation(self) -> None:
        self.assertEqual(slugify("Hello, World!"), "hello-world")

    def test_runs_of_separators_become_one_hyphen(self) -> None:
        self.assertEqual(slugify("  many   spaces -- here  "), "many-spaces-here")


if __name__ == "__main__":
    unittest.main()
