#!/usr/bin/env bash
# Fetch the W3C Nu HTML checker (vnu.jar, ~30 MB: too big to vendor) from the
# npm registry at a pinned version, check its checksum, and put it at
# var/vnu/vnu.jar, where tests/system/test_machine_checks.py looks for it.
# Run by .ci/run; run it by hand once to check the HTML locally.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=26.9.27
SHA256=5970d3ffca91a627cf0965e5d91bb2e4242307c29292998de0b419d6a901b2b7  # of vnu-jar-$VERSION.tgz
target=var/vnu/vnu.jar
stamp=var/vnu/version
if [ -f "$target" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$VERSION" ]; then exit 0; fi
# The package is kept in a cache outside the clone (CI clones afresh each run).
cache="${XDG_CACHE_HOME:-$HOME/.cache}/backup-console"
package="$cache/vnu-jar-$VERSION.tgz"
mkdir -p "$cache"
if ! echo "$SHA256  $package" | sha256sum -c --quiet - >/dev/null 2>&1; then
  (cd "$cache" && npm pack --silent "vnu-jar@$VERSION" >/dev/null)
  echo "$SHA256  $package" | sha256sum -c --quiet -
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$package" -C "$work" package/build/dist/vnu.jar
mkdir -p var/vnu
mv "$work/package/build/dist/vnu.jar" "$target"
echo "$VERSION" > "$stamp"
echo "vnu.jar $VERSION at $target"
