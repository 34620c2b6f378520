# The two commands README.md gives, and a few more for development.
.PHONY: dev test lint fmt bench

# Runs the whole platform in one process: a throwaway PostgreSQL and tansu broker unless DATABASE_URL /
# KAFKA_BROKERS are set. Installs what is missing first (PostgreSQL's server packages need root: run as
# root, or follow the command printed).
dev:
	@scripts/install-tansu >/dev/null
	@if [ -z "$$DATABASE_URL" ]; then scripts/install-postgres >/dev/null; fi
	@# The web storefront, served at / (skipped, with a note, when npm is not installed).
	@if command -v npm >/dev/null 2>&1; then \
		(cd storefront && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build); \
	else echo "npm not found: the storefront is not built (the API works without it)"; fi
	cargo run -- dev

# Runs every test against real PostgreSQL and a real Kafka-protocol broker, installing and starting what is
# missing (see scripts/test).
test:
	scripts/test

# The load benchmarks of docs/benchmarks.md (release build, throwaway servers, oha, bazaar loadgen; 10-15
# minutes plus the build); prints one table. Not part of `make test`.
bench:
	scripts/bench

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all
