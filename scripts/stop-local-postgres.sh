#!/usr/bin/env bash
# stop-local-postgres.sh — stop the project-local PostgreSQL cluster that
# scripts/ensure-postgres.sh starts in <repo>/.local/pg, if it is running.
# It never touches the machine's own cluster. The data stay; remove
# <repo>/.local/pg to start afresh next time.
#
# Usage: scripts/stop-local-postgres.sh
# Environment: CPC_PG_LIBDIR as for ensure-postgres.sh.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
LOCAL_DATA="$REPO_ROOT/.local/pg/data"
PG_LIBDIR="${CPC_PG_LIBDIR:-/usr/lib/postgresql}"

log() { printf 'stop-local-postgres: %s\n' "$*" >&2; }

if [[ $# -gt 0 ]]; then
    sed -n '2,/^set -euo pipefail/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
    [[ "$1" == -h || "$1" == --help ]] && exit 0
    exit 2
fi

if [[ ! -f "$LOCAL_DATA/postmaster.pid" ]]; then
    log "project-local cluster is not running"
    exit 0
fi

versioned_pg_ctl() {
    local dir best=""
    local -a dirs=()
    shopt -s nullglob
    dirs=("$PG_LIBDIR"/*/bin)
    shopt -u nullglob
    if ((${#dirs[@]} > 0)); then
        while IFS= read -r dir; do
            [[ -x "$dir/pg_ctl" ]] && best="$dir/pg_ctl"
        done < <(printf '%s\n' "${dirs[@]}" | sort -V)
    fi
    printf '%s\n' "$best"
}
PG_CTL=$(command -v pg_ctl 2>/dev/null || versioned_pg_ctl)
if [[ -z "$PG_CTL" ]]; then
    log "pg_ctl not found on PATH nor in $PG_LIBDIR/*/bin (apt-get install postgresql)"
    exit 1
fi

run_pg() {
    if [[ "$(id -u)" == 0 ]]; then
        local owner
        owner=$(stat -c %U "$LOCAL_DATA")
        if [[ "$owner" != root ]]; then
            runuser -u "$owner" -- "$@"
            return
        fi
    fi
    "$@"
}

if ! run_pg "$PG_CTL" -D "$LOCAL_DATA" status >/dev/null 2>&1; then
    log "project-local cluster is not running (stale postmaster.pid)"
    exit 0
fi
log "stopping project-local cluster in $LOCAL_DATA"
run_pg "$PG_CTL" -D "$LOCAL_DATA" -m fast -w -t 60 stop >&2
