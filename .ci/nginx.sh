#!/usr/bin/env bash
# Install nginx from Debian's packages (if missing): tests/integration/test_replicas.py puts it in
# front of two connector replicas (it starts its own nginx on free ports; nothing is started here).
set -euo pipefail
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq nginx-light >&2 || apt-get install -y -qq nginx >&2
fi
