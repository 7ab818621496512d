"""The developer agent: the LLM client, the tool loop over one requirement, its tools and
conversation, observations, the planner that makes the requirement tree, the repository map
and the trajectory.

May import: core, the sandbox interface (`bot.sandbox.api`). Never github, web, delivery or
run: the agent acts only inside its sandbox, and the run engine commits and pushes.
"""
