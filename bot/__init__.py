"""Issue Pilot's core, in rooms. Each package's docstring says what lives there and what it may
import; the rules are import-linter contracts in pyproject.toml, checked with the tests.

    core      shared vocabulary and plumbing: settings, events and routing, queue names, run
              flags, the run feed, text helpers, template rendering. Imports nothing of bot.
    web       the ASGI app: webhook intake, the dashboard, /metrics and /healthz.
    metrics   counters the worker writes and the web reads at scrape time.
    github    the narrow GitHub interface, its githubkit backend, App set-up, host-side git.
    delivery  the delivery worker and what handlers act through (start a run, wake it, reply).
    run       the run engine: a kernel, its phases, state, lease, host and the run worker.
    agent     the LLM tool loop, its tools and conversation, the planner, the requirement tree.
    sandbox   the Sandbox interface and its Docker backend, with the scripts run inside.
    dev       the demo, the local and scripted models: tools for trying the bot locally.

`bot.cli` (the command) and `bot.workers` (the worker process) compose the rooms; `handlers/`
holds one router per event family and is composed only there.
"""
