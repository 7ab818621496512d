import unittest

from notebook import Note, to_markdown


class NoteTest(unittest.TestCase):
    def test_tags_are_normalised(self):
        note = Note("a")
        note.add_tag(" Home ")
        note.add_tag("home")
        self.assertEqual(note.tags, ["home"])

    def test_tags_belong_to_one_note(self):
        first, second = Note("first"), Note("second")
        first.add_tag("work")
        self.assertEqual(second.tags, [])

    def test_markdown(self):
        note = Note("Plan", "Buy milk", ["home"])
        self.assertEqual(to_markdown(note), "# Plan\n#home\n\nBuy milk\n")


if __name__ == "__main__":
    unittest.main()
