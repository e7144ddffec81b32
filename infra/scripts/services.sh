# Start/stop/ready checks for each local server. Sourced by infra.sh.

# --- Temporal dev server (SQLite file, Web UI) --------------------------------------------------
temporal_ready() {
  "$(temporal_bin)" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" 2>/dev/null | grep -q SERVING
}

start_temporal() {
  if pid_alive temporal || temporal_ready; then return 0; fi
  mkdir -p "$RUN_DIR"
  start_bg temporal "$(temporal_bin)" server start-dev \
    --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-ip 127.0.0.1 --ui-port "$TEMPORAL_UI_PORT" \
    --db-filename "$RUN_DIR/temporal.sqlite" --log-level warn --namespace default \
    --search-attribute FlywheelModel=Keyword --search-attribute FlywheelStage=Keyword --search-attribute FlywheelVersion=Int --search-attribute FlywheelGitCommit=Keyword
  wait_until temporal 90 temporal_ready
}

# --- PostgreSQL ---------------------------------------------------------------------------------
# PostgreSQL refuses to run as root, so as root it runs as the `postgres` user, which must be able
# to reach every file it writes (data folder and log). A checkout under a private folder (a home,
# or `mktemp -d`, mode 700) is out of its reach: then both live under /var/tmp, and the log is
# linked from the usual place so `tail .flywheel/infra/postgres.log` still works.
pg_private_checkout() {
  is_root || return 1
  mkdir -p "$RUN_DIR"
  ! runuser -u postgres -- test -x "$RUN_DIR" 2>/dev/null
}

pg_data_dir() {
  if pg_private_checkout; then echo "/var/tmp/flywheel-postgres-$PG_PORT"; else echo "$RUN_DIR/postgres"; fi
}

pg_log_file() {
  if pg_private_checkout; then echo "/var/tmp/flywheel-postgres-$PG_PORT.log"; else echo "$RUN_DIR/postgres.log"; fi
}

# Runs a command as PostgreSQL's user from `/`, since it may not be allowed into the current folder.
as_pg() { if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

pg_ready() { "$(pg_bin_dir)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

start_postgres() {
  local bin data logfile; bin="$(pg_bin_dir)"; data="$(pg_data_dir)"; logfile="$(pg_log_file)"
  if pg_ready; then return 0; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    is_root && chown postgres:postgres "$data"
    chmod 700 "$data"
    as_pg "$bin/initdb" -D "$data" -U "$PG_USER" --auth=trust -E UTF8 >/dev/null || die "initdb failed"
  fi
  : > "$logfile"; is_root && chown postgres "$logfile"
  [ "$logfile" = "$RUN_DIR/postgres.log" ] || ln -sfn "$logfile" "$RUN_DIR/postgres.log"
  # Unix sockets live in the data folder so no system folder is needed.
  as_pg "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t 60 \
    -o "-h 127.0.0.1 -p $PG_PORT -k $data -c fsync=off -c full_page_writes=off" start >/dev/null 9>&- \
    || { tail -n 20 "$logfile" >&2; die "PostgreSQL did not start (log: $logfile)"; }
  echo "$data" > "$RUN_DIR/postgres.datadir"
  wait_until postgres 60 pg_ready
  "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1 \
    || "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$PG_DB"
}

stop_postgres() {
  local bin data
  bin="$(pg_bin_dir 2>/dev/null)" || return 0
  [ -f "$RUN_DIR/postgres.datadir" ] || return 0
  data="$(cat "$RUN_DIR/postgres.datadir")"
  [ -f "$data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null && log "postgres stopped"
  rm -f "$RUN_DIR/postgres.datadir"
}

# --- S3-compatible store (versitygw, posix backend) --------------------------------------------
s3_ready() { http_up "http://127.0.0.1:$S3_PORT/"; }

s3_request() {
  curl -sS --fail-with-body --max-time 10 --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "$@"
}

ensure_bucket() {
  local bucket="$1"
  s3_request -o /dev/null -I "http://127.0.0.1:$S3_PORT/$bucket" 2>/dev/null && return 0
  s3_request -o /dev/null -X PUT "http://127.0.0.1:$S3_PORT/$bucket" || die "could not create bucket $bucket"
}

start_s3() {
  if ! pid_alive s3; then
    local root="$RUN_DIR/s3/data" meta_args=()
    mkdir -p "$root"
    # The posix backend keeps object metadata in extended attributes; without them, a sidecar folder.
    if ! python3 -c "import os,sys; os.setxattr(sys.argv[1], 'user.flywheel', b'1')" "$root" 2>/dev/null; then
      mkdir -p "$RUN_DIR/s3/meta"; meta_args=(--sidecar "$RUN_DIR/s3/meta")
    fi
    ROOT_ACCESS_KEY="$S3_ACCESS_KEY" ROOT_SECRET_KEY="$S3_SECRET_KEY" \
      start_bg s3 "$TOOLS_DIR/bin/versitygw" --port "127.0.0.1:$S3_PORT" --quiet posix "${meta_args[@]}" "$root"
    wait_until s3 30 s3_ready
  fi
  ensure_bucket "$S3_BUCKET"
  ensure_bucket "$MLFLOW_BUCKET"
}

# --- MLflow tracking server (SQLite backend, artifacts in the S3 store) ------------------------
mlflow_ready() { http_ok "http://127.0.0.1:$MLFLOW_PORT/health"; }

start_mlflow() {
  if pid_alive mlflow || mlflow_ready; then return 0; fi
  mkdir -p "$RUN_DIR/mlflow"
  MLFLOW_S3_ENDPOINT_URL="http://127.0.0.1:$S3_PORT" AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY" \
    AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY" AWS_DEFAULT_REGION=us-east-1 \
    start_bg mlflow "$(mlflow_venv)/bin/mlflow" server --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 \
    --backend-store-uri "sqlite:///$RUN_DIR/mlflow/mlflow.db" \
    --artifacts-destination "s3://$MLFLOW_BUCKET/artifacts"
  wait_until mlflow 180 mlflow_ready
}
