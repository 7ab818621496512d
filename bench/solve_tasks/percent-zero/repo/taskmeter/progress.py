"""How far along a job is."""


def percent(done: int, total: int) -> float:
    """`done` of `total` as a percentage, rounded to one decimal; an empty job is complete."""
    if total <= 0:
        return 100.0
    done = max(0, min(done, total))
    return round(done // total * 100, 1)
