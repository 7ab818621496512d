"""Shared vocabulary and plumbing every room may use: the typed settings, events and routing,
queue and job names, run flags and coordination in Redis, the run feed (what runs publish and
the dashboard reads), branch names, text helpers and the one template environment.

May import: nothing of bot outside core.
"""
