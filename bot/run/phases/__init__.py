"""The run's phases, each a set of deterministic steps from the saved state, on the kernel:

    start         plan the issue (or wait for approval), then work the tree and open the PR
    work          the agent in the sandbox: set-up, one node after another, commit, push, check
    pull_request  open the draft pull request and wait for CI on the head just pushed
    ci            CI's verdict: ready when green, a fix within the budget when red, the time-out
    review        a reviewer's changes asked for, and the pull request closed
    resume        work a worker died in the middle of, done again before anything else
    commands      people's `/pilot` commands, one function per command in a table

Each module declares the Protocol of the host calls it makes (RunHost has them all). Phases
import the kernel and earlier phases; the kernel imports none, and bot.run.dispatch picks the
phase for an event.
"""
