import os
import tempfile
import unittest

from greplite.cli import main


class CliTest(unittest.TestCase):
    def setUp(self):
        handle, self.path = tempfile.mkstemp(suffix=".log")
        with os.fdopen(handle, "w") as log:
            log.write("INFO start\nERROR: disk full\ninfo done\n")

    def tearDown(self):
        os.remove(self.path)

    def test_numbers(self):
        self.assertEqual(main(["-n", "ERROR", self.path]), ["2:ERROR: disk full"])

    def test_dash_i(self):
        self.assertEqual(main(["-i", "error", self.path]), ["ERROR: disk full"])


if __name__ == "__main__":
    unittest.main()
