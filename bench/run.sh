#!/usr/bin/env bash
# bench/run.sh: `make bench`.  Builds and installs the extension, then runs
# bench/handle_bench.sql, then bench/release_bench.sql and bench/touch_bench.sh,
# then bench/market_bench.sh and bench/bids_bench.sh, on throw-away clusters,
# and prints ratios against baselines measured in the same run (the machines
# are shared and noisy, so absolute times mean little).
# The report is kept in bench/results/latest.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_deps.sh
# The benchmarks replay a calendar (release runs at day 30, premium phases)
# as the superuser, so they simulate time; the pgbench clients inherit it.
export PGOPTIONS="-c handle_market.simulated_time=on"
make -s -j2 >/dev/null
make -s install >/dev/null
mkdir -p bench/results
bash scripts/cluster.sh -o shared_buffers=512MB \
    psql -X -f bench/handle_bench.sql 2>&1 \
    | grep -v -e '^Creating new PostgreSQL cluster' -e '^Dropping cluster' \
    | tee bench/results/latest.txt

# The lifecycle: release_dormant() over 1,000,000 handles against a batched
# UPDATE written by hand (bench/release_bench.sql), then touch() under
# pgbench against SELECT 1 (bench/touch_bench.sh), then the release on
# handle_events partitioned by month against one table, on the release
# bench's data (bench/history_bench.sh; HM_N and HISTORY_REPS make it
# smaller).  A cluster of their own:
# shared_buffers holds both sides of the release comparison at once, and
# autovacuum stays off so that it cannot run during one side and not the
# other.  Appended to the same report.
bash scripts/cluster.sh -o shared_buffers=1GB -o autovacuum=off -o max_wal_size=4GB \
    bash -c 'psql -X -v keep_tmpl=1 -f bench/release_bench.sql && bash bench/touch_bench.sh &&
             bash bench/history_bench.sh' 2>&1 \
    | grep -v -e '^Creating new PostgreSQL cluster' -e '^Dropping cluster' \
    | tee -a bench/results/latest.txt

# The market: buy() from the platform under pgbench at 1 and 8 clients
# against pgbench's tpcb-like in the same run, then price() per call against
# lower() (bench/market_bench.sh, bench/market_setup.sql,
# bench/market_price.sql).  A cluster of its own; max_wal_size keeps
# checkpoints out of the timed runs (the script checkpoints between them).
bash scripts/cluster.sh -o shared_buffers=512MB -o max_wal_size=4GB \
    bash bench/market_bench.sh 2>&1 \
    | grep -v -e '^Creating new PostgreSQL cluster' -e '^Dropping cluster' \
    | tee -a bench/results/latest.txt

# Bids: one hot auction and 1,000 auctions under pgbench at 8 clients, with
# tpcb-like in the same run (bench/bids_bench.sh, bench/bids_setup.sql).
bash scripts/cluster.sh -o shared_buffers=512MB -o max_wal_size=4GB \
    bash bench/bids_bench.sh 2>&1 \
    | grep -v -e '^Creating new PostgreSQL cluster' -e '^Dropping cluster' \
    | tee -a bench/results/latest.txt
