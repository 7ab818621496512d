import unittest

from notebook import Note, Store


class StoreTest(unittest.TestCase):
    def test_tagged(self):
        store = Store()
        groceries, taxes = Note("Groceries"), Note("Taxes")
        groceries.add_tag("home")
        taxes.add_tag("work")
        store.add(groceries)
        store.add(taxes)
        self.assertEqual([n.title for n in store.tagged("work")], ["Taxes"])


if __name__ == "__main__":
    unittest.main()
