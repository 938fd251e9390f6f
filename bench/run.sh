#!/usr/bin/env bash
# bench/run.sh: `make bench`.  Builds and installs the extension, then runs
# bench/handle_bench.sql on a throw-away cluster and prints ratios against
# baselines measured in the same run (the machines are shared and noisy, so
# absolute times mean little).  The report is kept in bench/results/latest.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_deps.sh
make -s -j2 >/dev/null
make -s install >/dev/null
mkdir -p bench/results
bash scripts/cluster.sh -o shared_buffers=512MB \
    psql -X -f bench/handle_bench.sql 2>&1 \
    | grep -v -e '^Creating new PostgreSQL cluster' -e '^Dropping cluster' \
    | tee bench/results/latest.txt
