import unittest

from webbits import parse_cookie_header


class CookieTest(unittest.TestCase):
    def test_two_cookies(self):
        self.assertEqual(parse_cookie_header("a=1; b=2"), {"a": "1", "b": "2"})

    def test_quoted_value(self):
        self.assertEqual(parse_cookie_header('theme="dark"'), {"theme": "dark"})

    def test_value_with_equals_signs(self):
        header = "session=abc; token=dG9rZW4=="
        self.assertEqual(parse_cookie_header(header), {"session": "abc", "token": "dG9rZW4=="})


if __name__ == "__main__":
    unittest.main()
