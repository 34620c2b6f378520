# Throwaway PostgreSQL and tansu broker, started the way scripts/test starts them (installed by
# scripts/install-postgres and scripts/install-tansu, free ports, trust authentication, durability off,
# deleted on exit). Source it from a script that has `cd`'d to the repository:
#
#   . scripts/lib/throwaway-servers.sh
#   trap throwaway_cleanup EXIT
#   throwaway_postgres   # exports DATABASE_URL unless it is set
#   throwaway_tansu      # exports KAFKA_BROKERS unless it is set
#
# Logs go through `log`, which the sourcing script defines.

throwaway_pg_dir=""
throwaway_pg_ctl=""
throwaway_broker_pid=""

throwaway_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

throwaway_wait_for_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# PostgreSQL refuses to run as root; as root it runs as the `postgres` user the package creates.
throwaway_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

throwaway_cleanup() {
  if [ -n "$throwaway_broker_pid" ]; then kill "$throwaway_broker_pid" 2>/dev/null || true; fi
  if [ -n "$throwaway_pg_dir" ]; then
    throwaway_as_pg "$throwaway_pg_ctl" stop -D "$throwaway_pg_dir/data" -m immediate >/dev/null 2>&1 || true
    rm -rf "$throwaway_pg_dir"
  fi
}

# Starts PostgreSQL on a free port unless DATABASE_URL is set; exports DATABASE_URL. Extra lines for
# postgresql.conf may be given as arguments.
throwaway_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then return 0; fi
  local pg_bin started pg_port
  pg_bin=$(scripts/install-postgres)
  throwaway_pg_ctl="$pg_bin/pg_ctl"
  throwaway_pg_dir=$(mktemp -d -t bazaar-pg.XXXXXX)
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$throwaway_pg_dir"; fi
  throwaway_as_pg "$pg_bin/initdb" -D "$throwaway_pg_dir/data" -A trust -U postgres --no-sync -E UTF8 --no-locale >/dev/null
  cat >>"$throwaway_pg_dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$throwaway_pg_dir'
max_connections = 400
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  for line in "$@"; do printf '%s\n' "$line" >>"$throwaway_pg_dir/data/postgresql.conf"; done
  started=""
  for _ in 1 2 3; do
    pg_port=$(throwaway_free_port)
    if throwaway_as_pg "$throwaway_pg_ctl" start -w -t 60 -D "$throwaway_pg_dir/data" \
      -l "$throwaway_pg_dir/postgres.log" -o "-p $pg_port" >/dev/null; then
      started=yes
      break
    fi
  done
  if [ -z "$started" ]; then
    log "PostgreSQL did not start; its log ($throwaway_pg_dir/postgres.log):"
    tail -n 20 "$throwaway_pg_dir/postgres.log" >&2 || true
    return 1
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
  log "PostgreSQL on 127.0.0.1:$pg_port (data: $throwaway_pg_dir, deleted on exit)"
}

# Starts a tansu broker (in memory) on a free port unless KAFKA_BROKERS is set; exports KAFKA_BROKERS.
throwaway_tansu() {
  if [ -n "${KAFKA_BROKERS:-}" ]; then return 0; fi
  local tansu port broker_log
  tansu=$(scripts/install-tansu)
  port=$(throwaway_free_port)
  broker_log=$(mktemp -t bazaar-tansu.XXXXXX.log)
  "$tansu" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ >"$broker_log" 2>&1 &
  throwaway_broker_pid=$!
  throwaway_wait_for_port "$port" || { log "tansu did not start; see $broker_log"; return 1; }
  export KAFKA_BROKERS="127.0.0.1:$port"
  log "tansu broker on $KAFKA_BROKERS (log: $broker_log)"
}
