#!/usr/bin/env bash
# install_pg.sh -- PostgreSQL 15 from Debian packages + pgvector built from Debian trixie's
# source package (pgvector is not packaged for bookworm), then a throwaway cluster on
# 127.0.0.1:$PG_PORT with CREATE EXTENSION vector, for the PostgreSQL half of the test suite
# and the benchmarks. Run as root (CI) or with sudo. Idempotent: re-running skips what is done.
#
#   ./install_pg.sh            # install/build if needed, start cluster, print URL
#   ./install_pg.sh stop       # stop the throwaway cluster and delete its data dir
#
# Env knobs (defaults):
#   PG_PORT=55439  PG_DB=tidings_test  PG_MAJOR=15
#   PG_BASE=/tmp/tidings-pg           cluster lives in $PG_BASE/{data,sock,server.log}
#   WORKDIR=/var/tmp/pgvector-src     private apt lists/cache + source build dir
#   PGVECTOR_SUITE=trixie             Debian suite to take the pgvector source from
#   PGVECTOR_VERSION=                 e.g. 0.8.0-1 to pin (default: suite's current)
#   PGVECTOR_FORCE=0                  1 = rebuild/reinstall even if already installed
#   PG_DURABLE=0                      1 = keep fsync/synchronous_commit/full_page_writes on
#                                     (benchmarks against SQLite's synchronous=FULL)
#   PG_SHARED_BUFFERS=                e.g. 2GB (default: PostgreSQL's, 128MB); a benchmark of a
#                                     large archive wants its HNSW graph to fit (applies when
#                                     this starts the server: stop it with pg_ctl to change it)
#   DEBIAN_MIRROR=                    default: the first Debian mirror in this machine's apt sources
set -euo pipefail
exec 3>&1 1>&2          # all chatter to stderr; only the URL goes to stdout (URL=$(./install_pg.sh))

PG_MAJOR=${PG_MAJOR:-15}
PG_PORT=${PG_PORT:-55439}
PG_DB=${PG_DB:-tidings_test}
PG_BASE=${PG_BASE:-/tmp/tidings-pg}
WORKDIR=${WORKDIR:-/var/tmp/pgvector-src}
PGVECTOR_SUITE=${PGVECTOR_SUITE:-trixie}
PGVECTOR_VERSION=${PGVECTOR_VERSION:-}
PGVECTOR_FORCE=${PGVECTOR_FORCE:-0}
PG_DURABLE=${PG_DURABLE:-0}
PG_SHARED_BUFFERS=${PG_SHARED_BUFFERS:-}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\([^ ]*\).*/\1/p'; \
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\).*/\2/p'; } \
  | grep -v security | head -1 || true)}
[ -n "$DEBIAN_MIRROR" ] || { echo "no Debian mirror found in apt sources; set DEBIAN_MIRROR" >&2; exit 1; }

PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PGBIN/pg_config
DATA=$PG_BASE/data
SOCK=$PG_BASE/sock
LOG=$PG_BASE/server.log
export DEBIAN_FRONTEND=noninteractive

log() { printf '[install_pg %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
as_pg() { runuser -u postgres -- "$@"; }

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

# ---------------------------------------------------------------- stop
if [ "${1:-start}" = stop ]; then
  if [ -f "$DATA/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop || true
  fi
  rm -rf "$PG_BASE"
  log "stopped and removed $PG_BASE"
  exit 0
fi

# ---------------------------------------------------------------- 1. Debian packages
PKGS=(postgresql-$PG_MAJOR postgresql-client-$PG_MAJOR postgresql-server-dev-$PG_MAJOR
      build-essential dpkg-dev ca-certificates)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "Debian packages already installed"
fi
[ -x "$PG_CONFIG" ] || { echo "missing $PG_CONFIG" >&2; exit 1; }

# ---------------------------------------------------------------- 2. pgvector source + build
EXT_DIR=$("$PG_CONFIG" --sharedir)/extension
LIB_DIR=$("$PG_CONFIG" --pkglibdir)
if [ "$PGVECTOR_FORCE" != 1 ] && [ -f "$EXT_DIR/vector.control" ] && [ -f "$LIB_DIR/vector.so" ]; then
  log "pgvector already installed ($(sed -n "s/^default_version *= *'\\(.*\\)'/\\1/p" "$EXT_DIR/vector.control")) - skipping build"
else
  # Private apt config: only a deb-src line for $PGVECTOR_SUITE, own lists + cache dirs,
  # so /etc/apt and /var/lib/apt/lists are untouched and no trixie binaries can be installed.
  mkdir -p "$WORKDIR"/{lists/partial,cache/archives/partial,src}
  chmod 755 "$WORKDIR"
  # apt-get source downloads as the _apt sandbox user; let it write there (else a warning)
  if id _apt >/dev/null 2>&1; then chown _apt:root "$WORKDIR/src"; fi
  cat > "$WORKDIR/sources.list" <<EOF
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR $PGVECTOR_SUITE main
EOF
  APTOPTS=(-o "Dir::Etc::SourceList=$WORKDIR/sources.list" -o "Dir::Etc::SourceParts=-"
           -o "Dir::State::Lists=$WORKDIR/lists" -o "Dir::Cache=$WORKDIR/cache"
           -o "Acquire::Languages=none" -o "APT::Get::List-Cleanup=0")
  log "apt-get update (private, $PGVECTOR_SUITE deb-src only)"
  apt-get "${APTOPTS[@]}" update -qq
  spec=pgvector; [ -n "$PGVECTOR_VERSION" ] && spec="pgvector=$PGVECTOR_VERSION"
  cd "$WORKDIR/src"
  rm -rf pgvector-*/                       # fresh unpack each build
  log "apt-get source $spec"
  apt-get "${APTOPTS[@]}" source -q "$spec"   # downloads .dsc/.orig/.debian, verifies, dpkg-source -x
  srcdir=$(find . -maxdepth 1 -type d -name 'pgvector-*' | sort -V | tail -1)
  [ -n "$srcdir" ] || { echo "pgvector source not unpacked" >&2; exit 1; }
  cd "$srcdir"
  log "building $(basename "$srcdir") against PG $("$PG_CONFIG" --version)"
  # OPTFLAGS="" = portable build (no -march=native), as Debian's own package does.
  make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS=""
  make -s install PG_CONFIG="$PG_CONFIG" OPTFLAGS=""
fi

# ---------------------------------------------------------------- 3. throwaway cluster
mkdir -p "$PG_BASE" "$SOCK"
chown postgres:postgres "$PG_BASE" "$SOCK"
cd "$PG_BASE"                              # a cwd the postgres user can enter
if [ ! -f "$DATA/PG_VERSION" ]; then
  log "initdb $DATA"
  as_pg "$PGBIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
# streaming replication from 127.0.0.1 (the read-replica tests' pg_basebackup and standby);
# initdb writes these lines today, an older or edited pg_hba.conf may lack them
if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$DATA/pg_hba.conf"; then
  log "allowing local replication in pg_hba.conf"
  printf 'local   replication     all                                     trust\nhost    replication     all             127.0.0.1/32            trust\n' \
    | as_pg tee -a "$DATA/pg_hba.conf" >/dev/null
  if as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then as_pg "$PGBIN/pg_ctl" -D "$DATA" reload; fi
fi
if as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  [ -f "$PG_BASE/port" ] && PG_PORT=$(cat "$PG_BASE/port")   # the port it was started on
  log "cluster already running on 127.0.0.1:$PG_PORT"
  [ -z "$PG_SHARED_BUFFERS" ] || log "PG_SHARED_BUFFERS ignored: the server runs already (stop it with pg_ctl to change it)"
else
  # another server (another checkout's cluster) may hold the port: take a free one then
  if (exec 4<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then
    taken=$PG_PORT
    PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    log "port $taken is taken; using $PG_PORT"
  fi
  echo "$PG_PORT" > "$PG_BASE/port"
  # Own socket dir: /var/run/postgresql may not exist without systemd/pg_ctlcluster.
  # fsync off etc.: test-only cluster, durability irrelevant.
  log "starting postgres on 127.0.0.1:$PG_PORT"
  # 3>&- : the daemon must not inherit fd 3 (our real stdout), or URL=$(./install_pg.sh)
  # would block until the server exits.
  # wal_level/max_wal_senders: the read-replica tests stream a hot standby from this cluster
  # (PostgreSQL's defaults, said here so a changed default or a local postgresql.conf does
  # not turn them off).
  opts="-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$SOCK"
  opts="$opts -c wal_level=replica -c max_wal_senders=10"
  [ "$PG_DURABLE" = 1 ] || opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ -z "$PG_SHARED_BUFFERS" ] || opts="$opts -c shared_buffers=$PG_SHARED_BUFFERS"
  as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start -o "$opts" </dev/null 3>&-
fi
export PGOPTIONS="-c client_min_messages=warning"
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
if [ "$(as_pg "${PSQL[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$PG_DB'")" != 1 ]; then
  as_pg "${PSQL[@]}" -d postgres -c "CREATE DATABASE \"$PG_DB\""
fi
as_pg "${PSQL[@]}" -d "$PG_DB" -c "CREATE EXTENSION IF NOT EXISTS vector"
as_pg "${PSQL[@]}" -d "$PG_DB" -tAc \
  "SELECT 'pgvector ' || extversion || ' on ' || split_part(version(), ' on ', 1) FROM pg_extension WHERE extname='vector'" >&2
as_pg "${PSQL[@]}" -d "$PG_DB" -tAc "SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector" >/dev/null

URL="postgresql://postgres@127.0.0.1:$PG_PORT/$PG_DB"
log "ready; stop with: $0 stop   (same PG_BASE)"
echo "$URL" >&3
