# Installs the real servers the tests and local development use, from package registries only.
# Idempotent: each tool is built once into $TOOLS_DIR and reused. Sourced by infra.sh.

# go_install NAME MODULE@VERSION: builds one Go binary into $TOOLS_DIR/bin.
go_install() {
  local name="$1" target="$2"
  command -v go >/dev/null || die "Go is needed to build $name (go install $target); install Go or put a $name binary in $TOOLS_DIR/bin"
  log "building $name from $target (first time only; a few minutes)"
  mkdir -p "$TOOLS_DIR/bin"
  GOBIN="$TOOLS_DIR/bin" go install "$target" || die "go install $target failed (see above)"
}

provision_temporal() {
  temporal_bin >/dev/null && return 0
  go_install temporal "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
}

provision_versitygw() {
  [ -x "$TOOLS_DIR/bin/versitygw" ] && return 0
  go_install versitygw "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
}

# apt_install PACKAGE WHAT: installs a Debian package as root; otherwise says what to install.
apt_install() {
  local package="$1" what="$2"
  if is_root && command -v apt-get >/dev/null; then
    log "installing $what from Debian's packages (first time only)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null \
      || die "apt-get install $package failed"
  else
    die "$what not found: install your distribution's $package package (e.g. apt-get install $package)"
  fi
}

provision_postgres() {
  pg_bin_dir >/dev/null && return 0
  apt_install postgresql "PostgreSQL server binaries"
  pg_bin_dir >/dev/null || die "PostgreSQL installed but no postgres binary found under /usr/lib/postgresql"
}

provision_mlflow() {
  local venv; venv="$(mlflow_venv)"
  [ -x "$venv/bin/mlflow" ] && [ -f "$venv/.flywheel-mlflow-version" ] && return 0
  command -v python3 >/dev/null || die "python3 is needed for the MLflow server"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  local v
  for v in $MLFLOW_VERSIONS; do
    log "installing mlflow==$v and boto3 into $venv (first time only)"
    mkdir -p "$RUN_DIR"
    if "$venv/bin/pip" install -q --disable-pip-version-check "mlflow==$v" boto3 >"$RUN_DIR/pip.log" 2>&1; then
      echo "$v" > "$venv/.flywheel-mlflow-version"
      log "MLflow $v installed"
      return 0
    fi
    log "mlflow==$v could not be installed: $(grep -m1 ERROR "$RUN_DIR/pip.log" | cut -c1-200); trying the next version"
  done
  die "no MLflow version out of ($MLFLOW_VERSIONS) could be installed"
}

chromium_bin() { command -v chromium || command -v chromium-browser; }

# Headless Chromium for the Web UI browser test (Debian's package; driven by playwright-core).
provision_chromium() {
  chromium_bin >/dev/null && return 0
  apt_install chromium Chromium
}

provision_all() {
  provision_postgres
  provision_temporal
  provision_versitygw
  provision_mlflow
}
