#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need
# (PostgreSQL's initdb/pg_ctl for the throw-away test cluster, Chromium for
# the console's browser tests), then runs
# go vet and every test. Tests start their own Temporal server, PostgreSQL
# cluster and plugin processes.
set -euo pipefail
cd "$(dirname "$0")/.."

have_initdb() {
	command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}
missing=()
have_initdb || missing+=(postgresql)
# The console's end-to-end tests drive Debian's Chromium headless.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing ${missing[*]} for the tests"
	if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 -timeout 60m "$@" ./...
