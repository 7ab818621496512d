"""The web process: the webhook endpoint (screen, verify, cap, dedupe, enqueue and answer), the
dashboard, /metrics and /healthz, and the app factory.

May import: core, metrics. Never run, agent, sandbox, github or handlers: the request path
only queues deliveries, and the app is given the router's subscriptions by `bot.cli`.
"""
