#!/usr/bin/env bash
# axe-core (npm) for the accessibility browser test (tests/browser_a11y.rs), which injects it
# into the page through WebDriver. It is never served to users.
#
#   scripts/axe.sh install   # into target/axe/ (git-ignored) from the npm registry, once
#   scripts/axe.sh path      # installs if needed, prints the path of axe.min.js on stdout
#
# The version is pinned exactly; AXE_CORE_VERSION overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${AXE_CORE_VERSION:-4.10.3}"
PREFIX=target/axe
SCRIPT="$PREFIX/node_modules/axe-core/axe.min.js"

installed_version() {
  node -p "require('./$PREFIX/node_modules/axe-core/package.json').version" 2>/dev/null || true
}

install() {
  if [ -f "$SCRIPT" ] && [ "$(installed_version)" = "$VERSION" ]; then return; fi
  echo "installing axe-core $VERSION into $PREFIX" >&2
  mkdir -p "$PREFIX"
  npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --ignore-scripts \
    --loglevel=error "axe-core@$VERSION" >&2
  [ -f "$SCRIPT" ] || { echo "npm did not install $SCRIPT" >&2; exit 1; }
}

case "${1:-}" in
  install) install ;;
  path) install; echo "$PWD/$SCRIPT" ;;
  *) echo "usage: $0 install|path" >&2; exit 2 ;;
esac
