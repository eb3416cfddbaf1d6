# shellcheck shell=bash
# lattice-pgtool, part: The database: the password file, replication connections, classification of errors.
# Sourced by ../lattice-pgtool, which states the contract and holds the shared helpers.

# classify_db FILE: set ERR_CODE/ERR_MSG from libpq / pg_basebackup / pg_receivewal stderr.
classify_db() {
  local text detail
  text=$(<"$1")
  detail=$(tool_message "$1")
  case $text in
    *"password authentication failed"* | *"no pg_hba.conf entry"* | *"no password supplied"* | \
      *"must be superuser or replication role"* | *"permission denied"* | *"does not exist"* | \
      *"is not permitted to log in"*)
      ERR_CODE=database-auth ERR_MSG="the database refused the connection ($detail)" ;;
    *"No space left on device"*)
      ERR_CODE=disk-full ERR_MSG="no space left ($detail)" ;;
    *"Connection refused"* | *"could not connect"* | *"timeout expired"* | \
      *"could not translate host name"* | *"server closed the connection"* | \
      *"starting up"* | *"shutting down"* | *"in recovery mode"* | *"No route to host"* | \
      *"Connection timed out"* | *"connection to server"*)
      ERR_CODE=database-unreachable ERR_MSG="cannot reach the database at $PGHOST:$PGPORT ($detail)" ;;
    *)
      ERR_CODE=database-error ERR_MSG="the database failed ($detail)" ;;
  esac
}

setup_pgpass() {
  if [[ -z $PGPASS_FILE ]]; then return 0; fi
  [[ -r $PGPASS_FILE ]] || usage_error "--pgpass-file $PGPASS_FILE cannot be read"
  # libpq ignores a password file readable by others, and mounted secrets often are 0444: use a
  # private copy.
  install -m 600 /dev/null "$TMP/pgpass"
  cat -- "$PGPASS_FILE" >"$TMP/pgpass"
  export PGPASSFILE=$TMP/pgpass
}
# identify: SYSID TLI XLOGPOS of the server, over a replication connection (what the tools use).
SYSID='' TLI='' XLOGPOS=''
identify() {
  local out
  if ! out=$(psql -XAtw -F ' ' "dbname=replication replication=true" -c IDENTIFY_SYSTEM 2>"$TMP/db.err"); then
    cat "$TMP/db.err" >&2
    classify_db "$TMP/db.err"
    return 1
  fi
  read -r SYSID TLI XLOGPOS _ <<<"$out"
}
repl_show() { psql -XAtw "dbname=replication replication=true" -c "SHOW $1" 2>"$TMP/db.err"; }
