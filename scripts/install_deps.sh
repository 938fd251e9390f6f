#!/usr/bin/env bash
# scripts/install_deps.sh: installs, with apt-get, whatever building, testing
# and benchmarking need and this machine lacks.  Idempotent; quiet when there
# is nothing to do.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
packages=(
    make gcc pkg-config
    postgresql-"$PG_MAJOR" postgresql-server-dev-"$PG_MAJOR" postgresql-common
    postgresql-"$PG_MAJOR"-pgtap libtap-parser-sourcehandler-pgtap-perl
    libicu-dev
    clang libclang-rt-dev    # libFuzzer, and PGXS's bitcode for the JIT
    # test/drivers: psycopg 3, pgJDBC and a JDK to compile its test
    python3-psycopg libpostgresql-jdbc-java default-jdk-headless
)
# Node.js and npm for test/drivers (npm installs node-postgres there):
# Debian's packages only when no node / npm is on PATH, since another
# install (NodeSource's nodejs, which bundles npm) may provide them
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install_deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
