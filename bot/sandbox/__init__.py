"""Sandboxes: the `Sandbox` interface (`api`) the agent and the run engine work through, and the
Docker backend that implements it with one ephemeral, locked-down container per phase.

May import: nothing of bot but `bot.sandbox.api`.
"""
