import unittest

from updater import channel_of, is_newer, parse_version


class VersionsTest(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(parse_version("v1.4.2"), (1, 4, 2))

    def test_newer_patch(self):
        self.assertTrue(is_newer("1.4.3", "1.4.2"))
        self.assertFalse(is_newer("1.4.2", "1.4.2"))

    def test_two_digit_minor(self):
        self.assertTrue(is_newer("1.10.0", "1.9.2"))
        self.assertFalse(is_newer("1.9.2", "1.10.0"))

    def test_channel(self):
        self.assertEqual(channel_of("2.0.0-beta"), "beta")


if __name__ == "__main__":
    unittest.main()
