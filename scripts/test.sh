#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need
# (PostgreSQL's initdb/pg_ctl for the throw-away test cluster), then runs
# go vet and every test. Tests start their own Temporal server, PostgreSQL
# cluster and plugin processes.
set -euo pipefail
cd "$(dirname "$0")/.."

have_initdb() {
	command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}
if ! have_initdb; then
	echo "installing postgresql (initdb, pg_ctl) for the test cluster"
	if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 -timeout 60m "$@" ./...
