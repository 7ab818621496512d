"""Scores and the leaderboard for the office arcade cabinet."""

from arcade.leaderboard import format_board, top
from arcade.names import valid_name
from arcade.scoring import level_points

__all__ = ["format_board", "level_points", "top", "valid_name"]
