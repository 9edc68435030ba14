#!/usr/bin/env bash
# The whole test suite, on a fresh machine. First the lint gate
# (golangci-lint with .golangci.yml over the Go code, the TypeScript
# compiler with jsconfig.json over the console's JavaScript); then it
# installs what the tests need (PostgreSQL's initdb/pg_ctl for the
# throw-away test cluster, Chromium for the console's browser tests) and
# the opa CLI of the OPA version in go.mod, checks every Rego policy with
# stock OPA (opa fmt, opa test) and runs go vet and every test. Tests start
# their own Temporal server, PostgreSQL cluster and plugin processes.
#
#	./scripts/test.sh [go test flags]   the lint gate, then everything
#	./scripts/test.sh --lint-only       the lint gate alone
set -euo pipefail
cd "$(dirname "$0")/.."

# The lint gate: golangci-lint (configured in .golangci.yml) over the Go
# code, and the TypeScript compiler checking the console's plain
# JavaScript modules against their JSDoc types (jsconfig.json; nothing is
# emitted, the browser loads the files as they are). Both tools are pinned
# and installed once per version into the user's cache; any finding fails
# the script.
cache="${XDG_CACHE_HOME:-$HOME/.cache}/flexauth"
golangci_version=v2.15.0
golangci_dir="$cache/golangci-lint-$golangci_version"
golangci="$golangci_dir/golangci-lint"
if [ ! -x "$golangci" ]; then
	echo "building golangci-lint $golangci_version for the lint gate"
	GOBIN="$golangci_dir" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$golangci_version"
fi
typescript_version=5.9.3
typescript_dir="$cache/typescript-$typescript_version"
tsc="$typescript_dir/node_modules/.bin/tsc"
if [ ! -x "$tsc" ]; then
	echo "installing typescript $typescript_version for the console's type check"
	npm install --prefix "$typescript_dir" --no-audit --no-fund --silent "typescript@$typescript_version"
fi
echo "== golangci-lint"
"$golangci" run ./...
echo "== tsc (console JavaScript)"
"$tsc" -p jsconfig.json
if [ "${1:-}" = "--lint-only" ]; then
	exit 0
fi

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

# Stock OPA tooling must accept every policy as it is: opa fmt must leave
# it unchanged, and opa test must pass on each policy folder (a folder
# holding .rego files: the default policy in policies/, the uploaded-policy
# fixtures in testdata/). The CLI is built from the OPA release go.mod
# requires, once per version, into the user's cache.
opa_version=$(go list -m -f '{{.Version}}' github.com/open-policy-agent/opa)
opa_dir="${XDG_CACHE_HOME:-$HOME/.cache}/flexauth/opa-$opa_version"
opa="$opa_dir/opa"
if [ ! -x "$opa" ]; then
	echo "building opa $opa_version for the policy checks"
	GOBIN="$opa_dir" go install "github.com/open-policy-agent/opa@$opa_version"
fi
mapfile -t rego_files < <(git ls-files --cached --others --exclude-standard '*.rego')
if [ ${#rego_files[@]} -eq 0 ]; then
	echo "no .rego files found: run this from a git checkout" >&2
	exit 1
fi
mapfile -t policy_dirs < <(printf '%s\n' "${rego_files[@]}" | xargs -n1 dirname | sort -u)
echo "== opa fmt"
"$opa" fmt --list --fail "${rego_files[@]}" || {
	echo "the files listed are not as opa fmt writes them: format them with $opa fmt -w" >&2
	exit 1
}
echo "== opa test"
for dir in "${policy_dirs[@]}"; do
	printf '%s: ' "$dir"
	"$opa" test "$dir"
done

echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 -timeout 60m "$@" ./...
