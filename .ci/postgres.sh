# Sourced by .ci/run: a throwaway PostgreSQL cluster for the store tests.
#
# postgres_start installs Debian's server package if it is missing, creates a
# cluster in a temporary directory owned by an unprivileged user (the server
# refuses to run as root), starts it on a free loopback port with trust
# authentication, and exports MIXIN_TEST_POSTGRES with its URL.
# postgres_stop stops it and removes the directory; .ci/run calls it from its
# EXIT trap.

pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ]; then
			echo "$d"
		fi
	done | sort -V | tail -n 1
}

postgres_start() {
	local bin
	bin=$(pg_bin)
	if [ -z "$bin" ]; then
		echo "installing PostgreSQL from Debian's packages"
		export DEBIAN_FRONTEND=noninteractive
		local as_root=()
		if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then
			as_root=(sudo -E)
		fi
		timeout 300 "${as_root[@]}" apt-get update -qq
		timeout 600 "${as_root[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
		bin=$(pg_bin)
	fi
	if [ -z "$bin" ]; then
		echo "PostgreSQL is not installed and could not be installed" >&2
		return 1
	fi
	local user=${PGCI_USER:-mixinpg}
	if [ "$(id -u)" = 0 ]; then
		if ! id "$user" >/dev/null 2>&1; then
			useradd --system --no-create-home --shell /usr/sbin/nologin "$user" 2>/dev/null || id "$user" >/dev/null
		fi
		as_pg() { runuser -u "$user" -- "$@"; }
	else
		user=$(id -un)
		as_pg() { "$@"; }
	fi
	PGCI_DIR=$(mktemp -d /tmp/mixin-pg.XXXXXX)
	export PGCI_DIR
	chown "$user" "$PGCI_DIR"
	chmod 700 "$PGCI_DIR"
	local port
	# A loopback port nothing answers on.
	port=$((20000 + RANDOM % 20000))
	while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		port=$((port + 1))
	done
	as_pg "$bin/initdb" -D "$PGCI_DIR/data" -U postgres -A trust -E UTF8 --no-sync >"$PGCI_DIR/initdb.log" 2>&1 || {
		cat "$PGCI_DIR/initdb.log" >&2
		return 1
	}
	# fsync off: a throwaway cluster; max_connections for 8 workers x a few
	# processes.
	as_pg "$bin/pg_ctl" -D "$PGCI_DIR/data" -l "$PGCI_DIR/server.log" -w -t 60 \
		-o "-h 127.0.0.1 -p $port -k $PGCI_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		start >/dev/null || {
		cat "$PGCI_DIR/server.log" >&2
		return 1
	}
	PGCI_BIN=$bin
	PGCI_USER_RUN=$user
	export MIXIN_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

postgres_stop() {
	if [ -n "${PGCI_DIR:-}" ] && [ -d "$PGCI_DIR/data" ]; then
		if [ "$(id -u)" = 0 ]; then
			runuser -u "$PGCI_USER_RUN" -- "$PGCI_BIN/pg_ctl" -D "$PGCI_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
		else
			"$PGCI_BIN/pg_ctl" -D "$PGCI_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
		fi
		rm -rf "$PGCI_DIR"
	fi
}
