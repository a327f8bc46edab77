#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests: initdb + pg_ctl in a temp folder, listening on 127.0.0.1 only.
#   bash tests/relays/postgres.sh start [PORT]   installs PostgreSQL with apt-get when missing, starts the cluster,
#                                                and writes its connection string to $MAILAPI_PG_DIR/connection-string
#   bash tests/relays/postgres.sh stop           stops it and removes the folder
# The tests read MAILAPI_TEST_POSTGRES, or that file; without either they skip and say how to get here.
set -euo pipefail
dir=${MAILAPI_PG_DIR:-/tmp/mailapi-postgres}
port=${2:-55432}

find_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$found" ] && [ -x "$found/initdb" ] && echo "$found"
}

# pg_ctl and initdb refuse to run as root: run them as the postgres user then.
run() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }

case "${1:-}" in
start)
    bin=$(find_bin || true)
    if [ -z "$bin" ]; then
        echo "postgres.sh: installing PostgreSQL with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq postgresql > /dev/null
        bin=$(find_bin)
    fi
    if [ -f "$dir/data/postmaster.pid" ] && run "'$bin/pg_ctl' -D '$dir/data' status" > /dev/null 2>&1; then
        echo "postgres.sh: already running ($(cat "$dir/connection-string"))"
        exit 0
    fi
    # A server of ours whose folder is gone still holds the port: stop it by its process id.
    stale=$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'postgres",pid=[0-9]*' | grep -o '[0-9]*$' | head -1 || true)
    if [ -n "$stale" ]; then
        kill "$stale" 2>/dev/null || true
        for _ in $(seq 50); do ss -ltnH "sport = :$port" | grep -q . || break; sleep 0.2; done
    fi
    rm -rf "$dir" && mkdir -p "$dir"
    chown postgres:postgres "$dir" 2>/dev/null || true
    run "'$bin/initdb' -D '$dir/data' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" > "$dir/initdb.log"
    run "'$bin/pg_ctl' -D '$dir/data' -l '$dir/postgres.log' -w -t 60 \
        -o \"-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off\" start" > /dev/null
    run "'$bin/createdb' -h 127.0.0.1 -p $port -U postgres mailapi_test"
    echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=mailapi_test" > "$dir/connection-string"
    chmod 644 "$dir/connection-string"
    echo "postgres.sh: PostgreSQL on 127.0.0.1:$port ($(cat "$dir/connection-string"))"
    ;;
stop)
    bin=$(find_bin || true)
    if [ -n "$bin" ] && [ -d "$dir/data" ]; then
        run "'$bin/pg_ctl' -D '$dir/data' -m immediate -w stop" > /dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    echo "postgres.sh: stopped"
    ;;
*)
    echo "usage: $0 start [PORT] | stop" >&2
    exit 2
    ;;
esac
