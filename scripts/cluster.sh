#!/usr/bin/env bash
# scripts/cluster.sh COMMAND...: runs COMMAND against a throw-away
# PostgreSQL cluster.  pg_virtualenv -t keeps the cluster in a temporary
# directory even as root, so runs never collide with each other or with a
# cluster a killed run left behind.
set -euo pipefail
exec pg_virtualenv -t -v "${PG_MAJOR:-15}" "$@"
