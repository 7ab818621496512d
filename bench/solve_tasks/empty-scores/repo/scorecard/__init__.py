"""Score summaries for the class dashboard."""

from scorecard.grades import grade
from scorecard.report import best, summary
from scorecard.stats import mean, median

__all__ = ["best", "grade", "mean", "median", "summary"]
