# Helix developer commands.  `make demo` and `make test` are the two README commands.
.PHONY: setup demo test check lint types test-unit test-integration up down bench

VENV := .venv/bin

setup:
	@bash scripts/setup

demo: setup
	$(VENV)/helix demo

test: setup lint types
	$(VENV)/pytest -q

check: setup lint types

lint:
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

types:
	$(VENV)/mypy
	$(VENV)/mypy tests

test-unit: setup
	$(VENV)/pytest -q tests/unit

test-integration: setup
	$(VENV)/pytest -q -m integration

up: setup
	$(VENV)/helix services up

down:
	$(VENV)/helix services down

bench: setup
	$(VENV)/helix bench store
