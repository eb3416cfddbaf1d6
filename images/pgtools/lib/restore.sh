# shellcheck shell=bash
# lattice-pgtool, part: Subcommands restore and verify.
# Sourced by ../lattice-pgtool, which states the contract and holds the shared helpers.
# shellcheck disable=SC2016  # jq filters name their $variables inside single quotes

# backup_record ID: load base/ID.json into B_* (backup-missing if it is not there).
B_RECORD='' B_TLI='' B_START_LSN='' B_END_LSN='' B_SEGSIZE='' B_SIZE='' B_SHA='' B_SYSID=''
B_END_TIME='' B_USER=''
backup_record() {
  t_read "base/$1.json" || {
    if [[ $ERR_CODE == backup-missing ]]; then
      fail backup-missing "there is no complete backup '$1' in $(where)/base (no $1.json)"
    fi
    die_classified "reading the record of backup $1"
  }
  B_RECORD=$TEXT
  IFS=$'\t' read -r B_TLI B_START_LSN B_END_LSN B_SEGSIZE B_SIZE B_SHA B_SYSID B_END_TIME B_USER < <(
    jq -r '[.timeline, .start_lsn, .end_lsn, .wal_segment_size, .size_bytes, .sha256,
            .system_identifier, .end_time, .user] | @tsv' <<<"$B_RECORD")
  if ! [[ $B_TLI =~ ^[0-9]+$ && $B_SEGSIZE =~ ^[0-9]+$ && $B_SIZE =~ ^[0-9]+$ ]] ||
    ! valid_lsn "$B_START_LSN" || ! valid_lsn "$B_END_LSN"; then
    fail backup-damaged "the record base/$1.json is not a lattice-pgtool backup record"
  fi
}

# extract_base ID DIR: stream base/ID.tar.zst into DIR, checking size and sha256 against the
# record, then pg_verifybackup against the manifest inside the archive.
extract_base() {
  local id=$1 dir=$2
  t_size "base/$id.tar.zst" || die_classified "looking for the archive of backup $id"
  [[ -n $SIZE ]] || fail backup-damaged "backup $id has a record but its archive base/$id.tar.zst is missing"
  [[ $SIZE == "$B_SIZE" ]] ||
    fail backup-damaged "base/$id.tar.zst is $SIZE bytes but the backup record says $B_SIZE"
  mkfifo "$TMP/rhash.fifo"
  sha256sum <"$TMP/rhash.fifo" >"$TMP/rsha256" &
  local hash_pid=$!
  log "restore: extracting base/$id.tar.zst ($SIZE bytes) into $dir"
  set +e
  "${RCLONE[@]}" cat "$(obj "base/$id.tar.zst")" 2>"$TMP/rcat.err" |
    tee "$TMP/rhash.fifo" |
    zstd -d -q -c 2>"$TMP/zstd.err" |
    tar -x --numeric-owner -C "$dir" -f - 2>"$TMP/tar.err"
  local st=("${PIPESTATUS[@]}")
  set -e
  wait "$hash_pid" || true
  cat "$TMP/rcat.err" "$TMP/zstd.err" "$TMP/tar.err" >&2
  local sha
  sha=$(cut -d' ' -f1 "$TMP/rsha256")
  if ((st[0] != 0)); then
    classify_target "$TMP/rcat.err"
    # A download cut short because zstd or tar stopped reading (a damaged archive: rclone then
    # dies of a broken pipe) is not the target's fault; the checks below name the damage.
    if [[ $ERR_CODE != target-error ]] || ((st[1] == 0 && st[2] == 0 && st[3] == 0)); then
      die_classified "downloading base/$id.tar.zst"
    fi
  fi
  if grep -q 'No space left on device' "$TMP/tar.err" "$TMP/zstd.err"; then
    fail disk-full "no space left on the device of $dir while extracting backup $id"
  fi
  if [[ $sha != "$B_SHA" ]]; then
    fail backup-damaged "base/$id.tar.zst was changed or damaged: its sha256 is $sha, the backup recorded $B_SHA$(
      [[ -s $TMP/zstd.err ]] && printf '; zstd: %s' "$(tool_message "$TMP/zstd.err")")"
  fi
  if ((st[2] != 0 || st[3] != 0)); then
    fail backup-damaged "base/$id.tar.zst cannot be unpacked: $(tool_message "$TMP/zstd.err") $(tool_message "$TMP/tar.err")"
  fi
  [[ -s $dir/PG_VERSION && -f $dir/backup_label ]] ||
    fail backup-damaged "base/$id.tar.zst does not hold a PostgreSQL base backup"
  if [[ -f $dir/backup_manifest ]] && ((VERIFIED)); then
    # The bytes are those an earlier verify restored and read whole (the sha256 above matches
    # the record it checked too): running the manifest check again would prove nothing new.
    log "restore: backup $id was verified and its archive matches its sha256; not running pg_verifybackup again"
  elif [[ -f $dir/backup_manifest ]]; then
    # Checks every file's size and CRC32C against the manifest, and parses the WAL in pg_wal.
    if ! pg_verifybackup -q -i "$RESTORE_MARKER" "$dir" >"$TMP/verifybackup.err" 2>&1; then
      cat "$TMP/verifybackup.err" >&2
      fail backup-damaged "pg_verifybackup rejects backup $id: $(head -n 3 "$TMP/verifybackup.err" | tr '\n' ' ')"
    fi
  fi
}

# restore_into ID DIR OWNER: the common part of restore and verify. Sets R_* for the result.
R_MODE='' R_SEGMENTS=0 R_LAST_COMMIT='' R_TARGET=''
restore_into() {
  local id=$1 dir=$2 owner=$3
  backup_record "$id"
  extract_base "$id" "$dir"
  local waldir=$dir/lattice-restore-wal
  mkdir -p "$waldir"
  R_MODE=immediate R_SEGMENTS=0 R_LAST_COMMIT='' R_TARGET=''
  if [[ -n $TARGET_TIME ]]; then
    R_TARGET=$(date -u -d "$TARGET_TIME" '+%Y-%m-%d %H:%M:%S.%6N+00')
    (($(micros "$R_TARGET") >= $(micros "$B_END_TIME"))) ||
      fail target-before-backup "backup $id is consistent only from $B_END_TIME; $R_TARGET is earlier (use an older backup)"
  fi
  if [[ -n $TARGET_TIME ]] || ((TO_LATEST)); then
    fetch_wal "$waldir"
    decide_recovery "$dir" "$waldir"
  fi
  write_recovery_conf "$id" "$dir"
  if [[ -z $owner ]]; then owner=$(stat -c %u:%g "$dir/PG_VERSION"); fi
  chown -R "$owner" "$dir"
  chmod 700 "$dir"
  R_OWNER=$owner
}

# fetch_wal WALDIR: the archived segments of the backup's timeline from its start on (a .partial
# only where no complete segment of that name exists, renamed as PostgreSQL expects it), and
# every timeline history file.
fetch_wal() {
  local waldir=$1 name seg start_no
  t_list wal || die_classified "listing $(where)/wal"
  start_no=$(($(lsn_int "$B_START_LSN") / B_SEGSIZE))
  local -A complete=() partial=()
  local want=()
  while IFS= read -r name; do
    if [[ $name =~ ^([0-9A-F]{24})(\.partial)?\.zst$ ]]; then
      seg=${BASH_REMATCH[1]}
      ((16#${seg:0:8} == B_TLI)) || continue
      (($(seg_no "$seg" "$B_SEGSIZE") >= start_no)) || continue
      if [[ -n ${BASH_REMATCH[2]} ]]; then partial[$seg]=1; else complete[$seg]=1; fi
    elif [[ $name =~ ^[0-9A-F]{8}\.history\.zst$ ]]; then
      want+=("$name")
    fi
  done <<<"$NAMES"
  for seg in "${!complete[@]}"; do want+=("$seg.zst"); done
  for seg in "${!partial[@]}"; do [[ -n ${complete[$seg]:-} ]] || want+=("$seg.partial.zst"); done
  ((${#want[@]})) || return 0
  printf '%s\n' "${want[@]}" >"$TMP/want"
  log "restore: fetching ${#want[@]} WAL files from $(where)/wal"
  mkdir -p "$TMP/walzst"
  tr_ copy --transfers 4 --files-from-raw "$TMP/want" "$(obj wal)" "$TMP/walzst" ||
    die_classified "downloading WAL from $(where)/wal"
  for name in "${want[@]}"; do
    [[ -f $TMP/walzst/$name ]] || fail wal-missing "$(where)/wal/$name vanished while it was downloaded"
    local out=${name%.zst}
    out=${out%.partial}
    if ! zstd -d -q -c -- "$TMP/walzst/$name" >"$waldir/$out" 2>"$TMP/zstd.err"; then
      grep -q 'No space left' "$TMP/zstd.err" && fail disk-full "no space left for WAL in $waldir"
      fail wal-missing "$(where)/wal/$name is damaged: $(tool_message "$TMP/zstd.err")"
    fi
    rm -f -- "$TMP/walzst/$name"
    if [[ $out != *.history ]]; then
      R_SEGMENTS=$((R_SEGMENTS + 1))
      [[ $(stat -c %s "$waldir/$out") == "$B_SEGSIZE" ]] ||
        fail wal-missing "$(where)/wal/$name does not hold a whole $B_SEGSIZE-byte segment"
    fi
  done
}

# decide_recovery DIR WALDIR: read the WAL (the base's pg_wal, then the archive) and decide how
# recovery ends. PostgreSQL stops at a target time only when it meets a commit after it; if the
# archive ends first, it refuses to start ("recovery ended before configured recovery target was
# reached"). So: a commit after the target exists → recovery_target_time; none, and the archiver
# confirmed the archive was complete at a time after the target → the end of the WAL is the state
# at the target; otherwise the archive does not reach the target.
decide_recovery() {
  local dir=$1 waldir=$2 f scan=$TMP/scan
  mkdir -p "$scan"
  for f in "$dir"/pg_wal/* "$waldir"/*; do
    [[ ${f##*/} =~ ^[0-9A-F]{24}$ ]] && ln -sf -- "$f" "$scan/${f##*/}"
  done
  wal_scan "$scan" "$B_TLI" "$B_START_LSN" "$B_SEGSIZE"
  R_LAST_COMMIT=$W_LAST_COMMIT
  local gap=''
  if [[ -n $W_MISSING ]]; then
    for f in "$waldir"/*; do
      if [[ ${f##*/} =~ ^[0-9A-F]{24}$ && ${f##*/} > $W_MISSING ]]; then gap=$W_MISSING; break; fi
    done
  fi
  local reach="${W_LAST_COMMIT:-$B_END_TIME} (WAL up to ${W_END:-$B_END_LSN})"
  if ((TO_LATEST)); then
    [[ -z $gap ]] || fail wal-missing "WAL segment $gap is missing from $(where)/wal while later ones exist: recovery would stop at $reach"
    R_MODE='end-of-wal'
    return 0
  fi
  if [[ -n $W_LAST_COMMIT ]] && (($(micros "$W_LAST_COMMIT") > $(micros "$R_TARGET"))); then
    R_MODE='target-time'
    return 0
  fi
  [[ -z $gap ]] || fail wal-missing "WAL segment $gap is missing from $(where)/wal: recovery can reach only $reach, before $R_TARGET"
  # No commit after the target in the archive: the end of the WAL is the state at the target if
  # the archiver confirmed, at or after the target, that everything the server had was archived.
  local covered=''
  if t_read archiver.json 2>/dev/null; then
    covered=$(jq -r --arg s "$B_SYSID" --arg t "$B_TLI" \
      'select(.system_identifier == $s and (.timeline | tostring) == $t) | .covered_until // empty' <<<"$TEXT")
  fi
  if [[ -n $covered ]] && (($(micros "$covered") >= $(micros "$R_TARGET"))); then
    R_MODE='end-of-wal'
    return 0
  fi
  fail target-not-covered "the WAL archive reaches $reach; the archiver last confirmed it complete at ${covered:-no time on this timeline}, before $R_TARGET"
}

write_recovery_conf() {
  local id=$1 dir=$2
  {
    printf '\n# lattice-pgtool restore of backup %s, %s (docs/backups.md). Archive recovery from\n' "$id" "$(now_iso)"
    printf '# lattice-restore-wal/, which is deleted once recovery ends.\n'
    printf "restore_command = 'test -f lattice-restore-wal/%%f && cp lattice-restore-wal/%%f \"%%p\"'\n"
    printf "recovery_end_command = 'rm -rf lattice-restore-wal'\n"
    printf "recovery_target_timeline = 'current'\n"
    case $R_MODE in
      immediate) printf "recovery_target = 'immediate'\n" ;;
      target-time) printf "recovery_target_time = '%s'\n" "$R_TARGET" ;;
      end-of-wal) ;;
    esac
    printf "recovery_target_action = 'promote'\n"
  } >>"$dir/postgresql.auto.conf"
  : >"$dir/recovery.signal"
}

restore_result() { # restore_result EXTRA_JQ [args]: the common restore/verify result
  local filter=$1; shift
  emit_ok "{id: \$id, recovery: \$mode, target_time: (\$target | opt),
    wal_segments: (\$segs | tonumber), last_commit_in_wal: (\$lc | opt),
    backup_end_time: \$bet, duration_ms: (\$d | tonumber)} + ($filter)" \
    --arg id "$ID" --arg mode "$R_MODE" --arg target "$R_TARGET" --arg segs "$R_SEGMENTS" \
    --arg lc "$R_LAST_COMMIT" --arg bet "$B_END_TIME" --arg d "$(($(now_ms) - T0))" "$@"
}

# A restore in progress: written into the data directory before anything else, removed as the
# very last step. A directory holding it was left by a restore that died (the job's container
# was killed): the next restore empties it and starts over.
RESTORE_MARKER=.lattice-restore-incomplete

cmd_restore() {
  [[ -n $ID ]] || usage_error "restore needs --id"
  [[ -n $DATA ]] || usage_error "restore needs --data DIR"
  if [[ -n $NEW_PASSWORD_FILE ]]; then
    [[ -r $NEW_PASSWORD_FILE && -s $NEW_PASSWORD_FILE ]] || usage_error "--new-password-file $NEW_PASSWORD_FILE cannot be read"
  fi
  mkdir -p -- "$DATA"
  if [[ -e $DATA/$RESTORE_MARKER ]]; then
    log "restore: $DATA holds an unfinished restore; emptying it"
    find "$DATA" -mindepth 1 -delete
  elif [[ -n $(ls -A -- "$DATA") ]]; then
    # Idempotent: the agent runs the same restore again after a restart; a finished restore is
    # a data directory without the marker.
    [[ -f $DATA/PG_VERSION ]] || fail data-dir-not-empty "$DATA is not empty; restore only into an empty data directory"
    log "restore: $DATA already holds a finished restore"
    emit_ok '{id: $id, already_restored: true, data: $data}' --arg id "$ID" --arg data "$DATA"
    return 0
  fi
  setup_target
  RESTORE_DIR=$DATA  # was empty: on failure, on_exit empties it again
  : >"$DATA/$RESTORE_MARKER"
  T0=$(now_ms)
  restore_into "$ID" "$DATA" "$OWNER"
  log "restore $ID into $DATA: $R_MODE, $R_SEGMENTS WAL segments, owner $R_OWNER"
  local password_set=false
  if [[ -n $NEW_PASSWORD_FILE ]]; then
    recover_and_set_password "$DATA"
    password_set=true
  fi
  rm -f -- "$DATA/$RESTORE_MARKER"
  RESTORE_DIR=''
  restore_result '{data: $data, owner: $owner, password_set: ($pw == "true")}' --arg data "$DATA" \
    --arg owner "$R_OWNER" --arg pw "$password_set"
}

# recover_and_set_password DIR: runs the recovery now (socket only, as the data's owner), gives
# the backup's role the password in --new-password-file, and shuts down cleanly, so the
# database container starts on a promoted cluster that accepts only the new credentials.
recover_and_set_password() {
  local data=$1 sock=$TMP/sock pid
  mkdir -p "$sock"
  chown "$R_OWNER" "$sock"
  printf 'local all all trust\n' >"$TMP/hba.conf"
  chmod 644 "$TMP/hba.conf"
  chmod 755 "$TMP"
  log "restore: running recovery and setting the new password (unix socket only)"
  setpriv --reuid="${R_OWNER%%:*}" --regid="${R_OWNER##*:}" --clear-groups \
    postgres -D "$data" -c listen_addresses='' -c unix_socket_directories="$sock" -c port=5432 \
    -c hba_file="$TMP/hba.conf" -c hot_standby=off -c archive_mode=off \
    -c shared_buffers=128MB -c huge_pages=off -c logging_collector=off \
    -c max_wal_senders=0 -c max_replication_slots=0 -c wal_level=replica \
    >"$TMP/postgres.log" 2>&1 &
  pid=$!
  CHILDREN+=("$pid")
  local deadline=$((SECONDS + TIMEOUT)) state=''
  local psql=(psql -XAtq -v ON_ERROR_STOP=1 -h "$sock" -p 5432 -U "$B_USER" -d template1)
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$TMP/postgres.log" >&2
      fail restore-failed "PostgreSQL stopped during recovery: $(grep -E 'FATAL|PANIC' "$TMP/postgres.log" | tail -n 2 | tr '\n' ' ')"
    fi
    state=$("${psql[@]}" -c 'SELECT pg_is_in_recovery()' 2>/dev/null || true)
    [[ $state == f ]] && break
    ((SECONDS < deadline)) || fail restore-failed "recovery did not end within $TIMEOUT s"
    sleep 0.5
  done
  # psql variables quote the role (:"role") and the password (:'pw'); neither is spliced into
  # the SQL text, and the password reaches psql through its environment, not its argv.
  if ! LATTICE_NEW_PASSWORD=$(<"$NEW_PASSWORD_FILE") "${psql[@]}" -v role="$B_USER" -f - \
    >/dev/null 2>"$TMP/q.err" <<'SQL'; then
\getenv pw LATTICE_NEW_PASSWORD
ALTER ROLE :"role" PASSWORD :'pw';
CHECKPOINT;
SQL
    fail restore-failed "setting the new password failed: $(tool_message "$TMP/q.err")"
  fi
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [[ ! -f $data/postmaster.pid ]] || fail restore-failed "PostgreSQL did not shut down cleanly after recovery"
}

# verify: restore into a scratch directory, start PostgreSQL there (socket only, as postgres),
# wait until recovery has ended, count the rows of every user table in every database.
cmd_verify() {
  [[ -n $ID ]] || usage_error "verify needs --id"
  ((!VERIFIED)) || usage_error "--verified is for restore: verify always checks everything"
  setup_target
  T0=$(now_ms)
  local work
  [[ -d $WORK_DIR ]] || usage_error "--work-dir $WORK_DIR is not a directory"
  work=$(mktemp -d "$WORK_DIR/lattice-verify.XXXXXX") || fail disk-full "cannot create a scratch directory in $WORK_DIR"
  VERIFY_WORK=$work
  chmod 755 "$work"
  mkdir -p "$work/data" "$work/sock"
  # In a subshell whose result (fd 3) is caught: a failure of the backup itself becomes
  # verify-failed; problems of the target or of this container keep their code.
  (
    trap 'for pid in "${CHILDREN[@]}"; do kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done' EXIT
    restore_into "$ID" "$work/data" "$(id -u postgres):$(id -g postgres)"
    start_and_count "$work"
  ) 3>"$TMP/verify.result" || true
  local result
  result=$(<"$TMP/verify.result")
  rm -rf -- "$work"
  VERIFY_WORK=''
  jq -e 'type == "object"' >/dev/null 2>&1 <<<"$result" || fail internal "verify ended without a result"
  case $(jq -r '.error // "ok"' <<<"$result") in
    ok | target-unreachable | target-auth | bucket-missing | target-error | target-config | \
      backup-missing | disk-full | bad-argument | target-before-backup | target-not-covered)
      EMITTED=1
      printf '%s\n' "$result" >&3
      [[ $(jq -r .ok <<<"$result") == true ]] || exit 1 ;;
    *) fail verify-failed "backup $ID did not verify: $(jq -r \
      'if .error == "verify-failed" then .message else .error + ": " + .message end' <<<"$result")" ;;
  esac
}

COUNT_SQL="SELECT format('SELECT count(*) FROM %I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
ORDER BY 1
\\gexec"

start_and_count() {
  local work=$1 data=$1/data sock=$1/sock pid
  chown postgres:postgres "$sock"
  printf 'local all all trust\n' >"$work/hba.conf"
  chmod 644 "$work/hba.conf"
  log "verify: starting PostgreSQL on the restored data (unix socket $sock only)"
  # hot_standby=off: no connections until recovery has ended, and no check of max_connections &
  # co. against the original server. The original's memory settings may not fit here.
  setpriv --reuid=postgres --regid=postgres --init-groups \
    postgres -D "$data" -c listen_addresses='' -c unix_socket_directories="$sock" -c port=5432 \
    -c hba_file="$work/hba.conf" -c hot_standby=off -c archive_mode=off \
    -c shared_buffers=128MB -c huge_pages=off -c logging_collector=off \
    -c max_wal_senders=0 -c max_replication_slots=0 -c wal_level=replica \
    >"$work/postgres.log" 2>&1 &
  pid=$!
  CHILDREN+=("$pid")
  local deadline=$((SECONDS + TIMEOUT)) state=''
  local psql=(psql -XAtq -h "$sock" -p 5432 -U "$B_USER")
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$work/postgres.log" >&2
      fail verify-failed "PostgreSQL stopped during recovery: $(grep -E 'FATAL|PANIC' "$work/postgres.log" | tail -n 2 | tr '\n' ' ')"
    fi
    state=$("${psql[@]}" -d template1 -c 'SELECT pg_is_in_recovery()' 2>/dev/null || true)
    [[ $state == f ]] && break
    ((SECONDS < deadline)) || fail verify-failed "recovery did not end within $TIMEOUT s"
    sleep 0.5
  done
  log "verify: recovery ended; counting rows"
  local superuser dbs db out tables rows total_tables=0 total_rows=0 per='{}'
  superuser=$("${psql[@]}" -d template1 -c 'SELECT rolname FROM pg_roles WHERE oid = 10' 2>"$TMP/q.err") ||
    fail verify-failed "cannot query the restored server: $(tool_message "$TMP/q.err")"
  psql=(psql -XAtq -v ON_ERROR_STOP=1 -h "$sock" -p 5432 -U "$superuser")
  dbs=$("${psql[@]}" -d template1 -c 'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1' 2>"$TMP/q.err") ||
    fail verify-failed "cannot list the databases: $(tool_message "$TMP/q.err")"
  while IFS= read -r db; do
    [[ -n $db ]] || continue
    # One count(*) per ordinary table (partitions included, their parents not), reading every
    # heap page; pg_verifybackup has already checked every file's checksum.
    if ! out=$("${psql[@]}" -d "$db" -f - 2>"$TMP/q.err" <<<"$COUNT_SQL"); then
      fail verify-failed "counting rows in database $db failed: $(tool_message "$TMP/q.err")"
    fi
    tables=$(grep -c . <<<"$out" || true)
    rows=$(awk '{ s += $1 } END { printf "%.0f", s }' <<<"$out")
    total_tables=$((total_tables + tables)) total_rows=$((total_rows + rows))
    per=$(jq -c --arg db "$db" --arg t "$tables" --arg r "$rows" \
      '. + {($db): {tables: ($t | tonumber), rows: ($r | tonumber)}}' <<<"$per")
  done <<<"$dbs"
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  log "verify $ID: $total_tables tables, $total_rows rows"
  restore_result '{tables: ($t | tonumber), rows: ($r | tonumber), databases: $per, manifest: $m}' \
    --arg t "$total_tables" --arg r "$total_rows" --argjson per "$per" \
    --arg m "$([[ -f $data/backup_manifest ]] && echo verified || echo absent)"
}
