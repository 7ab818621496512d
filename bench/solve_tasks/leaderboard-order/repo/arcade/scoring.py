"""Points."""


def level_points(level: int, seconds_left: int, lives: int) -> int:
    """Points for clearing `level`: a base per level, a time bonus, a bonus per life kept."""
    if level < 1:
        raise ValueError("levels start at 1")
    return 1000 * level + 10 * max(0, seconds_left) + 500 * max(0, lives)
