# Shared by ./test and ./bench/run: the services the second test pass runs on (PostgreSQL, Redis, an
# S3-compatible store), installed when missing (apt-get; npm into tools/, which git ignores), started on
# free loopback ports in a temporary directory and stopped again by stop_services. Tests find them
# through the SEEDANCE_TEST_* variables.
# Needs .ci/prerequisites.sh sourced first.

SERVICES_DIR=""

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Runs a command as the postgres system user when we are root (PostgreSQL refuses to run as root).
as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# POSTGRES_SETTINGS: more server settings (-c name=value ...), e.g. ./test's fsync=off.
start_postgres() {
  [[ -n "$(postgres_bin)" ]] || apt_install postgresql
  local bin; bin=$(postgres_bin)
  local dir="$SERVICES_DIR/postgres" port; port=$(free_port)
  mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres "$SERVICES_DIR" "$dir"
  echo "==> Starting PostgreSQL ($("$bin/postgres" --version | awk '{print $3}')) on 127.0.0.1:$port"
  as_postgres "$bin/initdb" -D "$dir/data" -U seedance -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=500 ${POSTGRES_SETTINGS:-}" >/dev/null
  export SEEDANCE_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=seedance;Database=postgres"
}

stop_postgres() {
  local bin; bin=$(postgres_bin)
  [[ -d "$SERVICES_DIR/postgres/data" ]] && as_postgres "$bin/pg_ctl" -D "$SERVICES_DIR/postgres/data" -m immediate stop >/dev/null 2>&1 || true
}

start_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  # The Debian package starts its own instance on 6379; ours is separate and leaves that one alone.
  local port; port=$(free_port)
  echo "==> Starting Redis ($(redis-server --version | awk '{print $3}' | cut -d= -f2)) on 127.0.0.1:$port"
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
    --pidfile "$SERVICES_DIR/redis.pid" --logfile "$SERVICES_DIR/redis.log" >/dev/null
  export SEEDANCE_TEST_REDIS="127.0.0.1:$port"
}

stop_redis() {
  [[ -f "$SERVICES_DIR/redis.pid" ]] && kill "$(cat "$SERVICES_DIR/redis.pid")" 2>/dev/null || true
}

# The S3-compatible store: @20minutes/s3rver (npm, MIT), the maintained fork of s3rver. Unlike s3rver
# 3.x it verifies AWS Signature V4 (headers and presigned URLs, signed Content-Type included) and refuses
# expired presigned URLs; .ci/s3-server.js also refuses unsigned requests and accepts only the key pair
# below. Installed once into tools/s3server (git ignores tools/).
S3RVER_VERSION=5.0.0
start_s3() {
  local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local tools="$root/tools/s3server"
  command -v node >/dev/null || apt_install nodejs npm
  if [[ ! -f "$tools/node_modules/@20minutes/s3rver/package.json" ]] \
     || [[ $(node -p "require('$tools/node_modules/@20minutes/s3rver/package.json').version") != "$S3RVER_VERSION" ]]; then
    echo "==> Installing the S3-compatible test server @20minutes/s3rver $S3RVER_VERSION (npm, into tools/s3server)"
    mkdir -p "$tools"
    npm install --silent --no-audit --no-fund --no-save --prefix "$tools" "@20minutes/s3rver@$S3RVER_VERSION" >/dev/null
  fi
  local port; port=$(free_port)
  local key="seedance-test" secret; secret=$(python3 -c 'import secrets; print(secrets.token_hex(20))')
  mkdir -p "$SERVICES_DIR/s3"
  echo "==> Starting the S3-compatible store (s3rver $S3RVER_VERSION) on 127.0.0.1:$port"
  S3_ACCESS_KEY="$key" S3_SECRET_KEY="$secret" NODE_PATH="$tools/node_modules" \
    node "$root/.ci/s3-server.js" "$port" "$SERVICES_DIR/s3" >"$SERVICES_DIR/s3.log" 2>&1 &
  echo $! >"$SERVICES_DIR/s3.pid"
  for _ in $(seq 100); do
    grep -q listening "$SERVICES_DIR/s3.log" 2>/dev/null && break
    kill -0 "$(cat "$SERVICES_DIR/s3.pid")" 2>/dev/null || { cat "$SERVICES_DIR/s3.log" >&2; return 1; }
    sleep 0.1
  done
  # Tests make a bucket of their own on it.
  export SEEDANCE_TEST_S3="ServiceUrl=http://127.0.0.1:$port;AccessKey=$key;SecretKey=$secret;Region=us-east-1"
}

stop_s3() {
  [[ -f "$SERVICES_DIR/s3.pid" ]] && kill "$(cat "$SERVICES_DIR/s3.pid")" 2>/dev/null || true
}

start_services() {
  SERVICES_DIR=$(mktemp -d /tmp/seedance-services.XXXXXX)
  chmod 755 "$SERVICES_DIR"
  trap stop_services EXIT
  start_postgres
  start_redis
  start_s3
}

stop_services() {
  [[ -n "$SERVICES_DIR" ]] || return 0
  echo "==> Stopping the services started for the tests"
  stop_s3
  stop_redis
  stop_postgres
  rm -rf "$SERVICES_DIR"
  SERVICES_DIR=""
}
