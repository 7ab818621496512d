"""The delivery worker and what handlers act through: the arq job that routes a delivery to its
handlers (each isolated and retried alone), the context handlers receive, asking for a run,
waking a run, replies and command parsing, who may steer.

May import: core, github, metrics. Never run, agent, sandbox or web: a handler only queues
work for the run worker.
"""
