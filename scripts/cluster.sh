#!/usr/bin/env bash
# scripts/cluster.sh COMMAND...: runs COMMAND against a throw-away
# PostgreSQL cluster (pg_virtualenv), after clearing what an interrupted
# earlier run may have left behind.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
stale=/etc/postgresql/$PG_MAJOR/regress
# pg_virtualenv (as root) names its cluster "regress"; a run that was killed
# leaves the directory and the next run refuses to start.
if [ -e "$stale/.by_pg_virtualenv" ] && ! pgrep -f "postgresql/$PG_MAJOR/regress" >/dev/null; then
    pg_dropcluster --stop "$PG_MAJOR" regress >/dev/null 2>&1 || true
    rm -rf "$stale" "/var/lib/postgresql/$PG_MAJOR/regress"
fi
exec pg_virtualenv -v "$PG_MAJOR" "$@"
