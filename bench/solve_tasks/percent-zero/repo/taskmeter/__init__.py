"""Progress reporting for long jobs."""

from taskmeter.bar import bar
from taskmeter.eta import eta_seconds
from taskmeter.progress import percent

__all__ = ["bar", "eta_seconds", "percent"]
