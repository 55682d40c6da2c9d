#!/usr/bin/env bash
# Install PostgreSQL from Debian's packages (if missing), start it, and create the test database.
# Prints the URL to use as PONTIS_TEST_POSTGRES_URL on its last line.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start >&2 || true
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q && break
  sleep 1
done
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_roles WHERE rolname='pontis'\" | grep -q 1 || psql -q -c \"CREATE ROLE pontis LOGIN SUPERUSER PASSWORD 'pontis'\"" >&2
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_database WHERE datname='pontis_test'\" | grep -q 1 || createdb -O pontis pontis_test" >&2
echo "postgresql://pontis:pontis@127.0.0.1:5432/pontis_test"
