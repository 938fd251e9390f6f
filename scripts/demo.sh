#!/usr/bin/env bash
# scripts/demo.sh: `make demo`.  Installs what is missing, builds and
# installs the extension, and runs demo/demo.sql on a throw-away cluster,
# echoing each statement with its real output.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_deps.sh
make -s -j2 >/dev/null
make -s install >/dev/null
bash scripts/cluster.sh psql -X -a -f demo/demo.sql 2>&1 \
    | grep -v -e '^Creating new PostgreSQL cluster' -e '^Dropping cluster'
