"""The run engine: a run moves through phases (plan, work, CI, review, commands) on a kernel
that saves its state to GitHub after every transition, holds a lease so one worker works on it,
and reports to people through the status comment, the PR and the run feed. Also the run worker
(the arq side that takes run jobs) and `run-local`.

May import: core, github, agent, sandbox, metrics. Never web, delivery or handlers.
"""
