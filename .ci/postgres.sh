#!/usr/bin/env bash
# Throw-away PostgreSQL cluster on loopback for the tests (and the cluster
# recipe): `postgres.sh start DIR PORT` initialises DIR (when empty), starts
# the server on 127.0.0.1:PORT with its unix socket in DIR, creates the
# database "sipbuddy" and prints its DSN; `postgres.sh stop DIR` stops it and
# removes DIR. Runs the server as the OS user "postgres" when started as root
# (PostgreSQL refuses to run as root; DIR's parents must be open to that
# user). Installs Debian's postgresql when the binaries are missing.
set -euo pipefail

pgbin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/pg_ctl" ] && { echo "$d"; return; }
	done
	command -v pg_ctl >/dev/null 2>&1 && dirname "$(command -v pg_ctl)"
}

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }

case "$cmd" in
start)
	port=${3:?port}
	bin=$(pgbin || true)
	if [ -z "$bin" ]; then
		SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
		echo "postgres.sh: installing postgresql" >&2
		$SUDO apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
		bin=$(pgbin)
	fi
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
	fi
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
	chmod 700 "$dir"
	if [ ! -f "$dir/PG_VERSION" ]; then
		as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
	fi
	# fsync off: a throw-away cluster for tests; nothing here must survive a crash.
	as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		start >/dev/null
	as_pg "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -qtAc \
		"SELECT 1 FROM pg_database WHERE datname='sipbuddy'" | grep -q 1 ||
		as_pg "$bin/createdb" -h "$dir" -p "$port" -U postgres sipbuddy
	echo "postgres://postgres@127.0.0.1:$port/sipbuddy?sslmode=disable"
	;;
stop)
	bin=$(pgbin || true)
	if [ -n "$bin" ] && [ -f "$dir/postmaster.pid" ]; then
		as_pg "$bin/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start DIR PORT | stop DIR" >&2
	exit 2
	;;
esac
