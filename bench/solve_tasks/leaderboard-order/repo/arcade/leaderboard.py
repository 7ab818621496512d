"""The leaderboard on the attract screen."""

from typing import Dict, List, Tuple

Entry = Tuple[str, int]


def top(scores: Dict[str, int], n: int = 3) -> List[Entry]:
    """The `n` best players and their scores, best first."""
    ranked = sorted(scores.items(), key=lambda entry: entry[1])
    return ranked[:n]


def format_board(entries: List[Entry]) -> List[str]:
    """ "1. ANN  5000" lines, names padded to line the scores up."""
    width = max((len(name) for name, _ in entries), default=0)
    return [
        f"{rank}. {name.upper().ljust(width)}  {score}"
        for rank, (name, score) in enumerate(entries, start=1)
    ]
