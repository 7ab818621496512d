.PHONY: dev test setup lint

dev:  ## set up, then run ghsim, the web app and a worker locally, wired together
	bash scripts/dev.sh

test:  ## set up everything and run the tests
	bash scripts/test.sh

setup:  ## install and start Redis, dockerd, the sandbox image and dependencies
	bash scripts/setup.sh

lint:
	uv run ruff check . && uv run ruff format --check . && uv run mypy
