import unittest

from webbits import header_name, parse_query


class HeaderTest(unittest.TestCase):
    def test_header_name(self):
        self.assertEqual(header_name("HTTP_X_REQUEST_ID"), "X-Request-Id")

    def test_query(self):
        self.assertEqual(parse_query("a=1&a=2&b="), {"a": ["1", "2"], "b": [""]})


if __name__ == "__main__":
    unittest.main()
