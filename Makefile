# The two commands README.md gives, and a few more for development.
.PHONY: dev test lint fmt

# Runs the whole platform in one process (throwaway PostgreSQL and tansu broker unless configured).
dev:
	@scripts/install-tansu >/dev/null
	cargo run -- dev

# Runs every test against real PostgreSQL and a real Kafka-protocol broker, starting what is missing.
test:
	scripts/test

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all
