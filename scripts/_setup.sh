# Shared set-up for scripts/demo and scripts/test: a virtual environment in
# .venv with Kudos and its dependencies. Sourced, not run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "Please install as root: $*" >&2; exit 1
    fi
}

apt_install() {
    # Install Debian packages that are missing (quietly; once).
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> Installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Kudos needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))." >&2
    exit 1
fi
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    apt_install python3-venv
fi

pip_install() {
    # pip, with one short line per package it fetches instead of its full
    # output (kept in a log, shown if it fails): the first run takes a minute
    # and should not look stuck.
    local log
    log=$(mktemp)
    if ! .venv/bin/python -m pip install --progress-bar off "$@" 2>&1 | tee "$log" | awk '
        /^Collecting / { name = $2; sub(/[<>=!~;[(].*/, "", name); print "    " name; fflush() }
        /^Processing .*\.whl/ { n = split($2, path, "/"); name = path[n]
                                sub(/-[0-9].*/, "", name); print "    " name; fflush() }'; then
        echo "pip could not install Kudos; the end of its output:" >&2
        tail -n 30 "$log" >&2
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
}

EXTRAS=${KUDOS_EXTRAS:-}
STAMP=.venv/.installed${EXTRAS:+-$EXTRAS}
if [ ! -x .venv/bin/python ]; then
    echo "==> Creating the virtual environment in .venv…"
    "$PYTHON" -m venv .venv
fi
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    if [ -f "$STAMP" ]; then
        echo "==> pyproject.toml changed: updating Kudos and its dependencies in .venv…"
    else
        echo "==> Installing Kudos and its dependencies into .venv (about a minute the first time)…"
    fi
    pip_install --upgrade pip
    pip_install -e ".${EXTRAS:+[$EXTRAS]}"
    touch "$STAMP"
    echo "==> Installed."
fi

install_test_provider() {
    # The real OpenID provider (Node.js) that the sign-in tests talk to.
    command -v node >/dev/null || apt_install nodejs npm
    local dir=devtools/oidc-provider
    if [ ! -d "$dir/node_modules/oidc-provider" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
        echo "==> Installing the test OpenID provider (npm ci in $dir)"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

install_promtool() {
    # Prometheus' rule checker, for the tests of the operations guide's alert
    # rules: only the promtool binary of Debian's prometheus package, unpacked
    # into .venv/bin, so that no Prometheus server is installed or started.
    command -v promtool >/dev/null || [ -x .venv/bin/promtool ] && return 0
    echo "==> Unpacking promtool from Debian's prometheus package into .venv/bin"
    local dir
    dir=$(mktemp -d)
    if ! (cd "$dir" && apt-get download -qq prometheus 2>/dev/null); then
        as_root apt-get update -qq
        (cd "$dir" && apt-get download -qq prometheus 2>/dev/null)
    fi
    dpkg-deb --fsys-tarfile "$dir"/prometheus_*.deb | tar -x -C "$dir" ./usr/bin/promtool
    mv "$dir/usr/bin/promtool" .venv/bin/promtool
    rm -rf "$dir"
}

install_test_browser() {
    # Debian's headless Chromium for the browser tests (Playwright drives it;
    # it never downloads a browser of its own), and axe-core (npm) that the
    # tests inject into each page to check accessibility. The emoji font is
    # for the screenshots: value chips and celebrations are emoji.
    apt_install chromium fonts-noto-color-emoji
    command -v node >/dev/null || apt_install nodejs npm
    local dir=devtools/axe
    if [ ! -d "$dir/node_modules/axe-core" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
        echo "==> Installing axe-core for the accessibility checks (npm ci in $dir)"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}
