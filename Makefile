# The two commands README.md gives, and a few more for development.
.PHONY: dev test lint fmt

# Runs the whole platform in one process: a throwaway PostgreSQL and tansu broker unless DATABASE_URL /
# KAFKA_BROKERS are set. Installs what is missing first (PostgreSQL's server packages need root: run as
# root, or follow the command printed).
dev:
	@scripts/install-tansu >/dev/null
	@if [ -z "$$DATABASE_URL" ]; then scripts/install-postgres >/dev/null; fi
	cargo run -- dev

# Runs every test against real PostgreSQL and a real Kafka-protocol broker, installing and starting what is
# missing (see scripts/test).
test:
	scripts/test

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all
