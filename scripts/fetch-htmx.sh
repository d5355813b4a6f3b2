#!/usr/bin/env bash
# Vendor htmx into shared/web/static/vendor/htmx/ from the npm registry (never a CDN).
#
# Pinned to the 2.0.x line on purpose: 4.x is a rewrite (see STYLE.md §7).
# To upgrade: `npm view htmx.org versions --json`, set HTMX_VERSION, re-run, commit.
# Safe to re-run; exits non-zero if npm or any copy fails.
set -euo pipefail

HTMX_VERSION="2.0.11"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/shared/web/static/vendor/htmx"

command -v npm >/dev/null 2>&1 || { echo "fetch-htmx: npm is not installed" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "fetch-htmx: npm pack htmx.org@$HTMX_VERSION"
if ! (cd "$TMP" && npm pack --silent "htmx.org@$HTMX_VERSION" >pack.out); then
    echo "fetch-htmx: npm pack htmx.org@$HTMX_VERSION failed" >&2
    exit 1
fi
TARBALL="$TMP/$(tail -n 1 "$TMP/pack.out")"
[[ -f "$TARBALL" ]] || { echo "fetch-htmx: npm produced no tarball" >&2; exit 1; }
tar -xzf "$TARBALL" -C "$TMP"

PKG="$TMP/package"
got="$(node -p "require('$PKG/package.json').version" 2>/dev/null || true)"
if [[ -n "$got" && "$got" != "$HTMX_VERSION" ]]; then
    echo "fetch-htmx: asked for $HTMX_VERSION but the package says $got" >&2
    exit 1
fi
[[ -s "$PKG/dist/htmx.min.js" ]] || { echo "fetch-htmx: dist/htmx.min.js missing" >&2; exit 1; }
LICENSE_FILE="$(find "$PKG" -maxdepth 1 -iname 'LICENSE*' | head -n 1)"
[[ -n "$LICENSE_FILE" ]] || { echo "fetch-htmx: the package has no LICENSE" >&2; exit 1; }

mkdir -p "$DEST"
install -m 0644 "$PKG/dist/htmx.min.js" "$DEST/htmx.min.js"
install -m 0644 "$LICENSE_FILE" "$DEST/LICENSE"
SHA="$(sha256sum "$DEST/htmx.min.js" | cut -d' ' -f1)"
printf 'htmx.org %s\nsha256 %s  htmx.min.js\n' "$HTMX_VERSION" "$SHA" >"$DEST/VERSION"

echo "fetch-htmx: htmx $HTMX_VERSION -> ${DEST#"$ROOT"/} (sha256 $SHA)"
