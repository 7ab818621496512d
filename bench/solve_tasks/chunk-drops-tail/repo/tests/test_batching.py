import unittest

from batchkit.batching import chunks, flatten, windows


class ChunksTest(unittest.TestCase):
    def test_even_split(self):
        self.assertEqual(chunks([1, 2, 3, 4], 2), [[1, 2], [3, 4]])

    def test_last_chunk_may_be_shorter(self):
        self.assertEqual(chunks([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]])

    def test_size_must_be_positive(self):
        with self.assertRaises(ValueError):
            chunks([1], 0)


class WindowsTest(unittest.TestCase):
    def test_windows(self):
        self.assertEqual(windows([1, 2, 3], 2), [[1, 2], [2, 3]])

    def test_flatten_undoes_chunks(self):
        self.assertEqual(flatten([[1, 2], [3]]), [1, 2, 3])


if __name__ == "__main__":
    unittest.main()
