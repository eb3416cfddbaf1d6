#!/bin/bash
# Entry point of lattice/postgres:15, modelled on the official image's docker-entrypoint.sh:
#  - POSTGRES_PASSWORD_FILE (and _USER_FILE, _DB_FILE) read as root, like the official image;
#  - first start (empty $PGDATA): initdb with POSTGRES_USER as superuser and POSTGRES_PASSWORD,
#    scram-sha-256 for every host connection, POSTGRES_DB created, /docker-entrypoint-initdb.d run;
#  - every start: exec postgres in the foreground (PID 1, logs on stderr, listening on *:5432).
# Any other command (`docker run ... lattice/postgres:15 bash`) is run as given.
set -euo pipefail

if [[ ${1:-} != postgres ]]; then exec "$@"; fi
shift

# VAR_FILE names a file holding VAR (Lattice passes secrets as files, never in the container's
# environment, as the official image allows). Read as root, before privileges are dropped: the
# files are root's, mode 0400.
file_env() {
  local var=$1 file_var="${1}_FILE"
  if [[ -n ${!file_var:-} ]]; then
    if [[ -n ${!var:-} ]]; then
      echo "entrypoint: both $var and $file_var are set; use one" >&2
      exit 1
    fi
    if [[ ! -r ${!file_var} ]]; then
      echo "entrypoint: $file_var names ${!file_var}, which cannot be read" >&2
      exit 1
    fi
    export "$var"="$(<"${!file_var}")"
    unset "$file_var"
  fi
}
if [[ $(id -u) == 0 ]]; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER
  file_env POSTGRES_DB
fi

# Started as root: fix ownership of the data volume (a fresh bind mount may be root's, a restored
# backup may carry another image's uid), then re-exec as postgres. Like the official image, only
# files not already postgres's are touched, so a normal start does not rewrite every inode.
# setpriv execs in place, so postgres stays PID 1 and gets docker's signals.
if [[ $(id -u) == 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  find "$PGDATA" /var/run/postgresql \( \! -user postgres -o \! -group postgres \) \
    -exec chown postgres:postgres '{}' +
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
fi

if [[ ! -s $PGDATA/PG_VERSION ]]; then
  : "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}" "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
  if [[ -z ${POSTGRES_PASSWORD:-} && $POSTGRES_HOST_AUTH_METHOD != trust ]]; then
    echo "entrypoint: POSTGRES_PASSWORD is required (or POSTGRES_HOST_AUTH_METHOD=trust)" >&2
    exit 1
  fi
  echo "entrypoint: initialising $PGDATA for user $POSTGRES_USER, database $POSTGRES_DB" >&2
  # The password goes through a pipe, never the command line. Local (socket) connections are
  # trusted, as in the official image: only processes inside the container can use them.
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of flags
  initdb -D "$PGDATA" --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" \
    ${POSTGRES_INITDB_ARGS:-} >&2
  # initdb only lets loopback in; a container is reached through its published port.
  printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

  # A socket-only server for the setup, so nobody can connect before it is finished.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >&2
  psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres)
  if [[ $POSTGRES_DB != postgres ]]; then
    "${psql[@]}" -v db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >&2
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    # shellcheck disable=SC1090  # user-supplied init scripts
    case $f in
      *.sh) echo "entrypoint: running $f" >&2; . "$f" ;;
      *.sql) echo "entrypoint: running $f" >&2; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" >&2 ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >&2
  echo "entrypoint: initialisation done" >&2
fi

exec postgres -D "$PGDATA" "$@"
