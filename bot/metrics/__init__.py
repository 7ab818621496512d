"""Metrics: counters the worker keeps in Redis, the timing wrappers that feed them, the web's
in-process delivery counts, and the /metrics exposition that reads them all at scrape time.

May import: core, and the sandbox interface (`bot.sandbox.api`) whose phases it times.
"""
