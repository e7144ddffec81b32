#!/usr/bin/env bash
# HAProxy in front of `flywheel serve` replicas (infra/haproxy/serving.cfg.tmpl): renders the
# config for the replicas, starts it in the background, stops it. Sourced by infra.sh
# (`infra.sh up|down|status balancer`) or run directly:
#
#   FLYWHEEL_LB_PORT=8080 FLYWHEEL_LB_REPLICAS=127.0.0.1:8001,127.0.0.1:8002 balancer.sh up
#   FLYWHEEL_LB_PORT=8080 balancer.sh down|status
#
# FLYWHEEL_LB_HOST (default 127.0.0.1) is the listen address; FLYWHEEL_LB_MAXCONN (default 32) the
# requests in flight per replica (more wait in HAProxy's queue). Each balancer is named by its port,
# so several can run at once: $RUN_DIR/balancer-<port>.{cfg,pid,log,sock}.

balancer_port() { [ -n "${FLYWHEEL_LB_PORT:-}" ] || die "FLYWHEEL_LB_PORT is not set (the balancer's listen port)"; echo "$FLYWHEEL_LB_PORT"; }
balancer_name() { echo "balancer-$(balancer_port)"; }
balancer_socket() { echo "$RUN_DIR/$(balancer_name).sock"; }

# Writes the config for FLYWHEEL_LB_REPLICAS (host:port,host:port) and prints its path.
render_balancer() {
  local port name replicas servers="" i=0 r cfg
  port="$(balancer_port)"; name="$(balancer_name)"
  replicas="${FLYWHEEL_LB_REPLICAS:-}"
  [ -n "$replicas" ] || die "FLYWHEEL_LB_REPLICAS is not set (host:port of each serving replica, comma-separated)"
  IFS=',' read -r -a list <<<"$replicas"
  for r in "${list[@]}"; do
    [[ "$r" =~ ^[A-Za-z0-9._-]+:[0-9]+$ ]] || die "bad replica '$r' in FLYWHEEL_LB_REPLICAS (expected host:port)"
    i=$((i + 1))
    [ -n "$servers" ] && servers+=$'\n    '
    servers+="server replica$i $r"
  done
  [[ "$port" =~ ^[0-9]+$ ]] || die "bad FLYWHEEL_LB_PORT '$port' (expected a port number)"
  mkdir -p "$RUN_DIR"
  cfg="$RUN_DIR/$name.cfg"
  local maxconn="${FLYWHEEL_LB_MAXCONN:-32}"
  [[ "$maxconn" =~ ^[1-9][0-9]*$ ]] || die "bad FLYWHEEL_LB_MAXCONN '$maxconn' (expected a positive integer)"
  awk -v listen="${FLYWHEEL_LB_HOST:-127.0.0.1}:$port" -v sock="$(balancer_socket)" -v servers="$servers" -v maxconn="$maxconn" '
    { gsub(/@LISTEN@/, listen); gsub(/@STATS_SOCKET@/, sock); gsub(/@MAXCONN@/, maxconn) }
    /@SERVERS@/ { sub(/@SERVERS@/, servers) }
    { print }' "$FLYWHEEL_ROOT/infra/haproxy/serving.cfg.tmpl" > "$cfg"
  echo "$cfg"
}

balancer_ready() { http_up "http://${FLYWHEEL_LB_HOST:-127.0.0.1}:$(balancer_port)/readyz"; }

start_balancer() {
  local bin name cfg
  bin="$(haproxy_bin)" || die "HAProxy is not installed (infra.sh provision haproxy)"
  name="$(balancer_name)"
  pid_alive "$name" && { log "$name already running"; return 0; }
  cfg="$(render_balancer)"
  "$bin" -c -q -f "$cfg" || die "HAProxy refused $cfg"
  # -db: foreground (start_bg owns the process and its pidfile); the log is HAProxy's stderr.
  start_bg "$name" "$bin" -db -f "$cfg"
  wait_until "$name" 15 balancer_ready
}

stop_balancer() { stop_bg "$(balancer_name)"; rm -f "$(balancer_socket)"; }

balancer_status() { pid_alive "$(balancer_name)" && balancer_ready; }

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  source "$(dirname "${BASH_SOURCE[0]}")/provision.sh"
  case "${1:-status}" in
    up) start_balancer ;;
    down) stop_balancer ;;
    status) if balancer_status; then echo "$(balancer_name): up"; else echo "$(balancer_name): down"; exit 3; fi ;;
    render) render_balancer ;;
    *) die "unknown command '$1' (expected: up down status render)" ;;
  esac
fi
