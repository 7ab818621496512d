import unittest

from fetchy import Client, FetchError


def flaky(failures):
    calls = []

    def transport(url, timeout):
        calls.append(url)
        if len(calls) <= failures:
            raise ConnectionError("connection reset")
        return "ok"

    return transport, calls


class ClientTest(unittest.TestCase):
    def test_default_client_survives_two_failures(self):
        transport, calls = flaky(2)
        self.assertEqual(Client("http://svc").get("/health", transport), "ok")
        self.assertEqual(len(calls), 3)

    def test_retries_zero_fails_fast(self):
        transport, calls = flaky(1)
        with self.assertRaises(FetchError) as caught:
            Client("http://svc", retries=0).get("/health", transport)
        self.assertEqual(caught.exception.attempts, 1)

    def test_gives_up_after_the_retries(self):
        transport, calls = flaky(10)
        with self.assertRaises(FetchError):
            Client("http://svc", retries=2).get("/health", transport)
        self.assertEqual(len(calls), 3)


if __name__ == "__main__":
    unittest.main()
