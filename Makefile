.PHONY: demo dev test setup lint

demo:  ## set up, then show the whole loop locally: a repo, an issue, a run, its PR
	bash scripts/demo.sh $(ARGS)

dev:  ## set up, then run ghsim, the web app and a worker locally, wired together
	bash scripts/dev.sh

test:  ## set up everything and run the tests
	bash scripts/test.sh

setup:  ## install and start Redis, dockerd, the sandbox image and dependencies
	bash scripts/setup.sh

lint:
	uv run ruff check . && uv run ruff format --check . && uv run mypy && uv run lint-imports --no-cache
