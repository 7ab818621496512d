import unittest

from chatfmt import replace_shortcodes


class EmojiTest(unittest.TestCase):
    def test_known_code(self):
        self.assertEqual(replace_shortcodes("nice :tada:"), "nice \U0001F389")

    def test_unknown_code_is_left_as_typed(self):
        self.assertEqual(replace_shortcodes("well :shrug: ok"), "well :shrug: ok")


if __name__ == "__main__":
    unittest.main()
