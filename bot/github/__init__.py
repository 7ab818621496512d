"""GitHub: the narrow interface (`api`: value types and Protocols) apart from its githubkit
backend (`backend`: App auth, installation tokens, the installation client composed from
`issue_calls`, `pull_calls` and `ci_calls`); CI evidence read from checks, statuses and logs;
the status comment; the App manifest and `issue-pilot setup`; host-side git (`git`: the
isolated runner; `workspace`: mirror cache and run clones; `checkout`: commits, patches, push).

May import: core. Never web, delivery, run, agent, sandbox or handlers.
"""
