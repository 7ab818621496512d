import unittest

from chatfmt import mentions, render


class RenderTest(unittest.TestCase):
    def test_mentions(self):
        self.assertEqual(mentions("@ann and @bob, @ann again"), ["ann", "bob"])

    def test_render(self):
        self.assertEqual(render("hi @ann <3 :eyes:"), "hi <b>@ann</b> &lt;3 \U0001F440")

    def test_render_unknown_code(self):
        self.assertEqual(render(":party_parrot: @bob"), ":party_parrot: <b>@bob</b>")


if __name__ == "__main__":
    unittest.main()
