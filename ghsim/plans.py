"""Accounts' GitHub plans, and what a plan allows: draft pull requests on private repositories.

GitHub offers drafts "in public repositories with GitHub Free and GitHub Free for
organizations, GitHub Pro, and legacy per-repository billing plans, and in public and private
repositories with GitHub Team and GitHub Enterprise Cloud"
(https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/proposing-changes-to-your-work-with-pull-requests/about-pull-requests#draft-pull-requests).
Elsewhere ``POST /pulls`` with ``draft: true`` answers 422 "Draft pull requests are not
supported in this repository.".
"""

from __future__ import annotations

from ghsim.state import SimState

PLANS = ("free", "pro", "team", "business", "enterprise")
# Plans whose private repositories have draft pull requests.
_DRAFTS_ON_PRIVATE = frozenset({"team", "business", "enterprise"})
DRAFTS_REFUSED = "Draft pull requests are not supported in this repository."


def drafts_allowed(plan: str, private: bool) -> bool:
    return not private or plan in _DRAFTS_ON_PRIVATE


def plan_of(sim: SimState, account_id: int) -> str:
    """The account's plan: set through ``PUT /_ghsim/users/{login}/plan``, else the
    configured default (GitHub's, ``free``)."""
    found = sim.store.first("account_plan", account_id=account_id)
    return str(found["name"]) if found is not None else sim.config.default_plan


def set_plan(sim: SimState, account_id: int, name: str) -> None:
    with sim.store.transaction():
        found = sim.store.first("account_plan", account_id=account_id)
        if found is None:
            sim.store.insert("account_plan", {"account_id": account_id, "name": name})
        else:
            sim.store.update("account_plan", found["id"], {"name": name})
