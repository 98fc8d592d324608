#!/usr/bin/env bash
# ensure-postgres.sh — make sure a PostgreSQL server is reachable for cpc and
# print its connection URL.
#
# Usage: scripts/ensure-postgres.sh [DBNAME]
#
# Prints exactly one line on stdout, the URL postgres://USER@HOST:PORT/DBNAME
# (DBNAME defaults to "cpc"); every diagnostic goes to stderr. The database is
# created if it does not exist yet (idempotent). Exit status: 0 on success,
# 1 when no server could be found or started, 2 on bad usage.
#
# Attempts, in order:
#   a. $CPC_DATABASE_URL, if set and its server answers. Its database name is
#      replaced by DBNAME only when DBNAME is passed; otherwise it is printed
#      unchanged.
#   b. the machine's server on 127.0.0.1:5432, role "postgres" with trust auth.
#   c. a cluster listed by pg_lsclusters (Debian/Ubuntu), started with
#      pg_ctlcluster, then b again.
#   d. a project-local cluster in <repo>/.local/pg (git-ignored), listening on
#      127.0.0.1:$CPC_LOCAL_PG_PORT (default 55432), created on first use and
#      reused afterwards. Stop it with scripts/stop-local-postgres.sh.
#   e. otherwise: say what is missing and how to install it, exit 1.
#
# Environment:
#   CPC_DATABASE_URL     server to use first (attempt a)
#   CPC_LOCAL_PG_PORT    port of the project-local cluster (default 55432)
#   CPC_PG_SKIP_SYSTEM=1 skip attempts b and c (never touch the machine's own
#                        cluster); used to test d, or to keep a project-local
#                        server even where the machine has one
#   CPC_LOCAL_PG_USER    OS user that owns the project-local cluster when run
#                        as root (default: "postgres" if it exists, else a
#                        system user "cpcpg" that is created); ignored when the
#                        cluster already exists (its owner is used)
#   CPC_PG_LIBDIR        where versioned server installs live (default
#                        /usr/lib/postgresql, searched as $CPC_PG_LIBDIR/*/bin)
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
LOCAL_BASE="$REPO_ROOT/.local"
LOCAL_DIR="$LOCAL_BASE/pg"
LOCAL_DATA="$LOCAL_DIR/data"
LOCAL_LOG="$LOCAL_DIR/log"
LOCAL_PORT="${CPC_LOCAL_PG_PORT:-55432}"
PG_LIBDIR="${CPC_PG_LIBDIR:-/usr/lib/postgresql}"
SYSTEM_HOST=127.0.0.1
SYSTEM_PORT=5432
SUPERUSER=postgres
DEFAULT_DB=cpc
WAIT_SECONDS=20

# Never hang for long on an unreachable host.
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}"

log() { printf 'ensure-postgres: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

usage() {
    sed -n '2,/^set -euo pipefail/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
}

# --- arguments -------------------------------------------------------------
DB_GIVEN=0
DBNAME="$DEFAULT_DB"
case $# in
    0) ;;
    1)
        case "$1" in
            -h | --help) usage; exit 0 ;;
        esac
        DBNAME="$1"
        DB_GIVEN=1
        ;;
    *) log "usage: scripts/ensure-postgres.sh [DBNAME]  (--help for details)"; exit 2 ;;
esac
if ! [[ "$DBNAME" =~ ^[A-Za-z_][A-Za-z0-9_-]{0,62}$ ]]; then
    log "invalid database name '$DBNAME' (letters, digits, '_' and '-'; at most 63)"
    exit 2
fi
case "$LOCAL_PORT" in
    '' | *[!0-9]*) log "CPC_LOCAL_PG_PORT must be a port number, got '$LOCAL_PORT'"; exit 2 ;;
esac

# --- finding PostgreSQL programs -------------------------------------------
# Highest-versioned $PG_LIBDIR/<ver>/bin containing $1, if any.
versioned_tool() {
    local tool="$1" best="" dir
    local -a dirs=()
    shopt -s nullglob
    dirs=("$PG_LIBDIR"/*/bin)
    shopt -u nullglob
    if ((${#dirs[@]} > 0)); then
        while IFS= read -r dir; do
            [[ -x "$dir/$tool" ]] && best="$dir/$tool"
        done < <(printf '%s\n' "${dirs[@]}" | sort -V)
    fi
    [[ -n "$best" ]] && printf '%s\n' "$best"
}

# A program from PATH, else from the highest server version installed.
find_tool() {
    command -v "$1" 2>/dev/null || versioned_tool "$1" || true
}

PSQL=$(find_tool psql)
PG_ISREADY=$(find_tool pg_isready)
if [[ -z "$PSQL" || -z "$PG_ISREADY" ]]; then
    log "missing the PostgreSQL client programs (psql, pg_isready): not on PATH nor in $PG_LIBDIR/*/bin."
    log "install them: apt-get install postgresql-client   (Debian/Ubuntu; 'apt-get install postgresql' for a server too)"
    log "or: brew install postgresql (macOS); then set CPC_DATABASE_URL=postgres://USER@HOST:PORT/DB if the server is elsewhere"
    exit 1
fi

psql_q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 "$@"; }

# --- database creation -----------------------------------------------------
# ensure_database TARGET_URL DBNAME MAINT_URL... : make sure TARGET_URL (whose
# database is DBNAME) can be connected to, creating DBNAME through the first
# maintenance connection that works if it does not exist yet.
ensure_database() {
    local target="$1" dbname="$2"
    shift 2
    if psql_q -d "$target" -c 'select 1' >/dev/null 2>&1; then
        return 0
    fi
    local maint exists
    for maint in "$@"; do
        if ! exists=$(printf '%s\n' "SELECT count(*) FROM pg_database WHERE datname = :'db';" |
            psql_q -At -v db="$dbname" -d "$maint" 2>/dev/null); then
            continue
        fi
        if [[ "$exists" == 0 ]]; then
            log "creating database $dbname"
            if ! printf '%s\n' 'CREATE DATABASE :"db";' |
                psql_q -v db="$dbname" -d "$maint" >&2; then
                # A concurrent run may have created it meanwhile.
                psql_q -d "$target" -c 'select 1' >/dev/null 2>&1 ||
                    die "could not create database $dbname"
            fi
        fi
        psql_q -d "$target" -c 'select 1' >/dev/null 2>&1 && return 0
        psql_q -d "$target" -c 'select 1' >&2 || true
        die "database $dbname exists but cannot be connected to"
    done
    die "cannot connect to the server to check or create database $dbname"
}

# Use HOST PORT with the postgres role: prints the URL and exits on success.
use_trust_server() {
    local host="$1" port="$2"
    local url="postgres://$SUPERUSER@$host:$port/$DBNAME"
    ensure_database "$url" "$DBNAME" \
        "postgres://$SUPERUSER@$host:$port/postgres" \
        "postgres://$SUPERUSER@$host:$port/template1"
    printf '%s\n' "$url"
    exit 0
}

trust_ok() {
    psql_q -h "$1" -p "$2" -U "$SUPERUSER" -d postgres -c 'select 1' >/dev/null 2>&1
}

wait_ready() { # HOST PORT SECONDS
    local i
    for ((i = 0; i < $3 * 2; i++)); do
        "$PG_ISREADY" -q -h "$1" -p "$2" -t 2 && return 0
        sleep 0.5
    done
    return 1
}

# --- a. CPC_DATABASE_URL ---------------------------------------------------
URL_RE='^(postgres(ql)?://[^/?#]*)(/[^?#]*)?([?].*)?$'
if [[ -n "${CPC_DATABASE_URL:-}" ]]; then
    url="$CPC_DATABASE_URL"
    if "$PG_ISREADY" -q -t 5 -d "$url" || psql_q -d "$url" -c 'select 1' >/dev/null 2>&1; then
        if [[ "$url" =~ $URL_RE ]]; then
            server="${BASH_REMATCH[1]}"
            path="${BASH_REMATCH[3]}"
            query="${BASH_REMATCH[4]}"
            if ((DB_GIVEN)); then
                url="$server/$DBNAME$query"
                target_db="$DBNAME"
            else
                target_db="${path#/}"
            fi
            if [[ -n "$target_db" ]]; then
                ensure_database "$url" "$target_db" \
                    "$server/postgres$query" "$server/template1$query"
            fi
        elif ((DB_GIVEN)); then
            die "CPC_DATABASE_URL is not a postgres:// URL, cannot put database $DBNAME into it"
        fi
        log "using CPC_DATABASE_URL"
        printf '%s\n' "$url"
        exit 0
    fi
    log "CPC_DATABASE_URL is set but its server does not answer; trying other servers"
fi

# Variables that would redirect the explicit connections below.
unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGDATABASE PGUSER PGHOST PGPORT

if [[ "${CPC_PG_SKIP_SYSTEM:-0}" == 1 ]]; then
    log "CPC_PG_SKIP_SYSTEM=1: not using the machine's own cluster"
else
    # --- b. machine server on 127.0.0.1:5432 -------------------------------
    if trust_ok "$SYSTEM_HOST" "$SYSTEM_PORT"; then
        use_trust_server "$SYSTEM_HOST" "$SYSTEM_PORT"
    fi
    log "no trust-auth server for role $SUPERUSER on $SYSTEM_HOST:$SYSTEM_PORT"

    # --- c. start the machine's cluster ------------------------------------
    if command -v pg_lsclusters >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1; then
        # ver name port status ...; the cluster on 5432 first.
        clusters=$(pg_lsclusters --no-header 2>/dev/null |
            awk -v p="$SYSTEM_PORT" '{print ($3 == p ? 0 : 1), $1, $2, $3, $4}' | sort -k1,1n -s) || true
        while read -r _ ver name port status; do
            [[ -n "${ver:-}" ]] || continue
            if [[ "$status" != online* ]]; then
                log "starting cluster $ver/$name (port $port)"
                if ! pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start >&2; then
                    log "could not start cluster $ver/$name"
                    continue
                fi
            fi
            if wait_ready "$SYSTEM_HOST" "$port" "$WAIT_SECONDS" && trust_ok "$SYSTEM_HOST" "$port"; then
                use_trust_server "$SYSTEM_HOST" "$port"
            fi
            log "cluster $ver/$name does not accept trust connections for $SUPERUSER on $SYSTEM_HOST:$port"
        done <<<"$clusters"
    fi
fi

# --- d. project-local cluster ----------------------------------------------
INITDB=$(find_tool initdb)
PG_CTL=$(find_tool pg_ctl)
if [[ -z "$INITDB" || -z "$PG_CTL" ]]; then
    log "no PostgreSQL server could be reached or started:"
    [[ -n "${CPC_DATABASE_URL:-}" ]] && log "  - CPC_DATABASE_URL does not answer"
    [[ "${CPC_PG_SKIP_SYSTEM:-0}" == 1 ]] || log "  - nothing on $SYSTEM_HOST:$SYSTEM_PORT accepting role $SUPERUSER without a password, and no cluster to start"
    log "  - the server programs initdb and pg_ctl are not on PATH nor in $PG_LIBDIR/*/bin"
    log "to fix, either:"
    log "  - install PostgreSQL: apt-get install postgresql   (Debian/Ubuntu; or brew install postgresql on macOS)"
    log "  - or point at a server: export CPC_DATABASE_URL=postgres://USER@HOST:PORT/DB"
    exit 1
fi

# run_pg CMD... : run as the cluster's OS user (unprivileged when we are root),
# without the lock descriptor (a server started here must not inherit it).
PG_OS_USER=""
run_pg() {
    if [[ -n "$PG_OS_USER" ]]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u "$PG_OS_USER" -- "$@" 9>&-
        else
            local q
            printf -v q '%q ' "$@"
            su -s /bin/sh "$PG_OS_USER" -c "$q" 9>&-
        fi
    else
        "$@" 9>&-
    fi
}

mkdir -p "$LOCAL_DIR"
# Serialise concurrent runs (initdb and start must not race).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCAL_BASE/pg.lock"
    flock -w 120 9 || die "timed out waiting for another ensure-postgres run (lock $LOCAL_BASE/pg.lock)"
fi

if [[ "$(id -u)" == 0 ]]; then
    if [[ -f "$LOCAL_DATA/PG_VERSION" ]]; then
        PG_OS_USER=$(stat -c %U "$LOCAL_DATA")
    elif [[ -n "${CPC_LOCAL_PG_USER:-}" ]]; then
        PG_OS_USER="$CPC_LOCAL_PG_USER"
    elif id -u postgres >/dev/null 2>&1; then
        PG_OS_USER=postgres
    else
        PG_OS_USER=cpcpg
    fi
    if [[ "$PG_OS_USER" == root ]]; then
        die "$LOCAL_DATA is owned by root; remove it (rm -rf $LOCAL_DIR) and run again"
    fi
    if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
        log "creating system user $PG_OS_USER to own the project-local cluster"
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$PG_OS_USER" >&2 ||
            die "could not create system user $PG_OS_USER (useradd --system $PG_OS_USER)"
    fi
    chmod a+rx "$LOCAL_BASE"
    chown -R "$PG_OS_USER:" "$LOCAL_DIR"
    if ! run_pg test -w "$LOCAL_DIR"; then
        die "user $PG_OS_USER cannot reach $LOCAL_DIR (a parent directory is not traversable); make it so, or set CPC_DATABASE_URL"
    fi
fi

if [[ ! -f "$LOCAL_DATA/PG_VERSION" ]]; then
    rm -rf "$LOCAL_DATA"
    locale=C
    if locale -a 2>/dev/null | grep -qix 'c\.utf-\{0,1\}8'; then
        locale=C.UTF-8
    fi
    log "initialising project-local cluster in $LOCAL_DATA ($INITDB)"
    run_pg "$INITDB" -D "$LOCAL_DATA" -A trust -U "$SUPERUSER" --no-sync \
        -E UTF8 --locale="$locale" >&2 || die "initdb failed"
    printf '%s\n' '' '# cpc: settings written by scripts/ensure-postgres.sh' \
        "include_if_exists = 'cpc-local.conf'" >>"$LOCAL_DATA/postgresql.conf"
fi

pid_file="$LOCAL_DATA/postmaster.pid"
if run_pg "$PG_CTL" -D "$LOCAL_DATA" status >/dev/null 2>&1; then
    running_port=$(sed -n 4p "$pid_file" 2>/dev/null || true)
    if [[ -n "$running_port" && "$running_port" != "$LOCAL_PORT" ]]; then
        log "project-local cluster already runs on port $running_port (not $LOCAL_PORT); using it"
        LOCAL_PORT="$running_port"
    fi
    log "project-local cluster already running on $SYSTEM_HOST:$LOCAL_PORT"
else
    if "$PG_ISREADY" -q -h "$SYSTEM_HOST" -p "$LOCAL_PORT" -t 2; then
        die "port $LOCAL_PORT is taken by another server; set CPC_LOCAL_PG_PORT to a free port"
    fi
    # Socket in the data directory, unless its path is too long for a socket.
    socket_dir="$LOCAL_DATA"
    if ((${#LOCAL_DATA} + 18 > 107)); then
        log "data directory path too long for a unix socket; listening on TCP only"
        socket_dir=""
    fi
    {
        echo "# written by scripts/ensure-postgres.sh on each start; edits are lost"
        echo "listen_addresses = '$SYSTEM_HOST'"
        echo "port = $LOCAL_PORT"
        echo "unix_socket_directories = '${socket_dir//\'/\'\'}'"
        echo "synchronous_commit = off"
    } >"$LOCAL_DATA/cpc-local.conf"
    [[ -n "$PG_OS_USER" ]] && chown "$PG_OS_USER:" "$LOCAL_DATA/cpc-local.conf"
    log "starting project-local cluster on $SYSTEM_HOST:$LOCAL_PORT (log: $LOCAL_LOG)"
    if ! run_pg "$PG_CTL" -D "$LOCAL_DATA" -w -t 60 -l "$LOCAL_LOG" start >&2; then
        tail -n 20 "$LOCAL_LOG" >&2 2>/dev/null || true
        die "could not start the project-local cluster (see $LOCAL_LOG)"
    fi
fi

wait_ready "$SYSTEM_HOST" "$LOCAL_PORT" "$WAIT_SECONDS" ||
    die "project-local cluster does not answer on $SYSTEM_HOST:$LOCAL_PORT (see $LOCAL_LOG)"
trust_ok "$SYSTEM_HOST" "$LOCAL_PORT" ||
    die "project-local cluster on $SYSTEM_HOST:$LOCAL_PORT refuses role $SUPERUSER"
use_trust_server "$SYSTEM_HOST" "$LOCAL_PORT"
