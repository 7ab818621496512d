"""Letter grades."""

BANDS = [(90, "A"), (80, "B"), (70, "C"), (60, "D")]


def grade(score: float) -> str:
    """The letter for one score out of 100."""
    for floor, letter in BANDS:
        if score >= floor:
            return letter
    return "F"
