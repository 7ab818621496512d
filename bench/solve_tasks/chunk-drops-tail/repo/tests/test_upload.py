import unittest

from batchkit.retry import backoff_delays
from batchkit.upload import upload_all


class UploadTest(unittest.TestCase):
    def test_every_record_is_sent(self):
        received = []
        sent = upload_all(list(range(7)), received.append, batch_size=3)
        self.assertEqual(sent, 7)
        self.assertEqual([r for batch in received for r in batch], list(range(7)))

    def test_backoff_is_capped(self):
        self.assertEqual(backoff_delays(5, base=1.0, cap=4.0), [1.0, 2.0, 4.0, 4.0, 4.0])


if __name__ == "__main__":
    unittest.main()
