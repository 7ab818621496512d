import unittest

from fetchy import join_url


class JoinUrlTest(unittest.TestCase):
    def test_one_slash(self):
        self.assertEqual(join_url("http://svc/", "/a"), "http://svc/a")
        self.assertEqual(join_url("http://svc", "a"), "http://svc/a")


if __name__ == "__main__":
    unittest.main()
