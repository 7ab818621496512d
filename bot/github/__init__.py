"""GitHub: the narrow interface (`api`: value types and Protocols) apart from its githubkit
backend (`backend`: App auth, installation tokens, REST and GraphQL calls); CI evidence read
from checks, statuses and logs; the status comment; the App manifest and `issue-pilot setup`;
host-side git (mirror cache, run clones, commits, push).

May import: core. Never web, delivery, run, agent, sandbox or handlers.
"""
