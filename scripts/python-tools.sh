#!/usr/bin/env bash
# python-tools.sh — create or refresh the project's Python virtualenv at
# <repo>/.venv (git-ignored) from tools/requirements.txt, and print its bin
# directory on stdout (diagnostics go to stderr).
#
# Usage: scripts/python-tools.sh [--recreate]
#   --recreate   delete the venv and build it afresh
#
# Fast when nothing changed: the SHA-256 of requirements.txt (plus the Python
# version) is stored in the venv after a successful install, and pip runs only
# when it differs. Concurrent runs are serialised with a lock file in
# <repo>/.local (git-ignored).
#
# Environment:
#   CPC_PYTHON   interpreter to build the venv with (default: python3)
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
VENV="$REPO_ROOT/.venv"
REQUIREMENTS="$REPO_ROOT/tools/requirements.txt"
STAMP="$VENV/.cpc-requirements.sha256"
LOCK="$REPO_ROOT/.local/python-tools.lock"
PYTHON="${CPC_PYTHON:-python3}"

log() { printf 'python-tools: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

RECREATE=0
for arg in "$@"; do
    case "$arg" in
        --recreate) RECREATE=1 ;;
        -h | --help)
            sed -n '2,/^set -euo pipefail/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
            exit 0
            ;;
        *) log "usage: scripts/python-tools.sh [--recreate]"; exit 2 ;;
    esac
done

[[ -f "$REQUIREMENTS" ]] || die "missing $REQUIREMENTS"
command -v "$PYTHON" >/dev/null 2>&1 ||
    die "$PYTHON not found; install Python 3.11+ (apt-get install python3 python3-venv) or set CPC_PYTHON"

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum | cut -d' ' -f1
    else
        shasum -a 256 | cut -d' ' -f1
    fi
}

# What the venv must have been built from: the requirements and the Python.
want_stamp() {
    local pyver
    pyver=$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')
    { cat "$REQUIREMENTS" "$(dirname -- "$REQUIREMENTS")/census-requirements.txt"; printf 'python %s\n' "$pyver"; } | sha256
}

up_to_date() {
    [[ -f "$STAMP" && -x "$VENV/bin/python" ]] &&
        [[ "$(cat "$STAMP")" == "$WANT" ]] &&
        "$VENV/bin/python" -c 'pass' 2>/dev/null
}

WANT=$(want_stamp)
if ((!RECREATE)) && up_to_date; then
    printf '%s\n' "$VENV/bin"
    exit 0
fi

mkdir -p "$(dirname -- "$LOCK")"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK"
    flock -w 600 9 || die "timed out waiting for another python-tools.sh run"
    # Another run may have finished the job while we waited.
    if ((!RECREATE)) && up_to_date; then
        printf '%s\n' "$VENV/bin"
        exit 0
    fi
fi

rm -f "$STAMP"
if ((RECREATE)) || ! "$VENV/bin/python" -c 'pass' 2>/dev/null; then
    log "creating virtualenv in $VENV with $PYTHON"
    "$PYTHON" -m venv --clear "$VENV" >&2 ||
        die "could not create the venv; on Debian/Ubuntu: apt-get install python3-venv"
fi

log "installing tools/requirements.txt into $VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
    -r "$REQUIREMENTS" >&2 || die "pip install -r tools/requirements.txt failed"
printf '%s\n' "$WANT" >"$STAMP"
printf '%s\n' "$VENV/bin"
