#!/usr/bin/env bash
# interop-install.sh installs the js-libp2p node of the interop test
# (p2p/interop) from its lock file. Once installed, `go test ./p2p`
# runs TestJSLibp2pReceivesRoomEvents; without it the test is skipped.
# INTEROP_DEBUG='libp2p:*' passes DEBUG to the js node for diagnosis.
set -euo pipefail
cd "$(dirname "$0")/../p2p/interop"
npm ci --no-audit --no-fund
