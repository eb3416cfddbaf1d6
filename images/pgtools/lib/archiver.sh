# shellcheck shell=bash
# lattice-pgtool, part: Subcommand wal: the WAL archiver.
# Sourced by ../lattice-pgtool, which states the contract and holds the shared helpers.
# shellcheck disable=SC2016  # jq filters name their $variables inside single quotes

# pg_receivewal streams WAL through a replication slot (so the server keeps what was not yet
# received, across restarts of either side) into the spool directory. Every few seconds the
# loop uploads completed segments (then deletes them locally and the now obsolete .partial
# object), and every --interval seconds a snapshot of the current .partial segment. Objects are
# zstd-compressed: wal/<segment>.zst, wal/<segment>.partial.zst, wal/<tli>.history.zst.
# archiver.json records up to when the archive was confirmed complete: the server's flush
# position read before a round was in the uploaded WAL.

STOP=0 RECV_PID='' RECV_NEXT=0 RECV_DELAY=5 UPLOADED=0 LAST_PARTIAL='' LAST_PARTIAL_SHA=''
COVERED='' COVERED_LSN='' W_SEGSIZE=''

wal_fatal() { # a configuration error: stop, the operator must fix something
  stop_receiver
  fail "$ERR_CODE" "$1: $ERR_MSG"
}

start_receiver() {
  if ! identify; then
    if [[ $ERR_CODE == database-auth ]]; then wal_fatal "connecting for replication as $PGUSER"; fi
    log "wal: $ERR_MSG; retrying in $RECV_DELAY s"
    return 1
  fi
  if [[ -z $W_SEGSIZE ]]; then
    local text
    text=$(repl_show wal_segment_size) || return 1
    W_SEGSIZE=$(to_bytes "$text") || fail database-error "unexpected wal_segment_size '$text'"
  fi
  drop_other_timelines || return 1
  # READ_REPLICATION_SLOT (new in 15) first: --if-not-exists alone logs an ERROR on the server
  # at every reconnection.
  local slot_type
  slot_type=$(psql -XAtw "dbname=replication replication=true" -c "READ_REPLICATION_SLOT $SLOT" 2>"$TMP/slot.err" | cut -d'|' -f1) || true
  if [[ $slot_type != physical ]]; then
    if ! pg_receivewal --create-slot --if-not-exists --slot="$SLOT" -w 2>"$TMP/slot.err"; then
      cat "$TMP/slot.err" >&2
      classify_db "$TMP/slot.err"
      if [[ $ERR_CODE == database-auth ]]; then wal_fatal "creating replication slot $SLOT"; fi
      log "wal: creating slot $SLOT failed: $ERR_MSG"
      return 1
    fi
    log "wal: created replication slot $SLOT"
  fi
  : >"$TMP/recv.err"
  # --no-loop: this loop restarts it, so it sees every failure. SIGINT stops it cleanly (pg15's
  # pg_receivewal does not handle SIGTERM).
  pg_receivewal --directory="$SPOOL" --slot="$SLOT" --no-loop -w 2>"$TMP/recv.err" &
  RECV_PID=$!
  CHILDREN=("$RECV_PID")
  log "wal: streaming from $PGHOST:$PGPORT (system $SYSID, timeline $TLI) with slot $SLOT into $SPOOL"
}

# A restore in place starts the database on a new timeline, forked at an earlier point than what
# the spool holds from before it; pg_receivewal resumes from the newest file in its directory and
# the server would refuse that position ("not in this server's history") at every attempt. So,
# before streaming: complete segments of another timeline are uploaded (then deleted, as always),
# and a .partial of another timeline is dropped — its last snapshot is in the bucket, and the
# restore replaced what came after it.
drop_other_timelines() {
  local cur f name dropped=0
  cur=$(printf '%08X' "$TLI")
  for f in "$SPOOL"/*; do
    name=${f##*/}
    [[ $name =~ ^([0-9A-F]{8})[0-9A-F]{16}(\.partial)?$ ]] || continue
    [[ ${BASH_REMATCH[1]} != "$cur" ]] || continue
    if [[ -z ${BASH_REMATCH[2]} ]]; then
      upload_completed || return 1
      continue
    fi
    rm -f -- "$f"
    dropped=$((dropped + 1))
  done
  if ((dropped)); then
    log "wal: the database is on timeline $TLI now (restored); dropped $dropped partial segment(s) of another timeline from the spool"
  fi
  return 0
}

reap_receiver() {
  [[ -n $RECV_PID ]] || return 0
  kill -0 "$RECV_PID" 2>/dev/null && return 0
  local status=0
  wait "$RECV_PID" || status=$?
  RECV_PID='' CHILDREN=()
  cat "$TMP/recv.err" >&2
  classify_db "$TMP/recv.err"
  if [[ $ERR_CODE == database-auth ]]; then wal_fatal "pg_receivewal"; fi
  log "wal: pg_receivewal exited ($status): ${ERR_MSG}; restarting in $RECV_DELAY s"
  RECV_NEXT=$((SECONDS + RECV_DELAY))
}

stop_receiver() {
  [[ -n $RECV_PID ]] || return 0
  kill -INT "$RECV_PID" 2>/dev/null || true
  wait "$RECV_PID" 2>/dev/null || true
  RECV_PID='' CHILDREN=()
}

# Upload what pg_receivewal has completed. Returns 1 if something could not be uploaded.
upload_completed() {
  local f name
  for f in "$SPOOL"/*; do
    name=${f##*/}
    [[ $name =~ ^[0-9A-F]{24}$ || $name =~ ^[0-9A-F]{8}\.history$ ]] || continue
    set +e
    zstd -q -c -- "$f" | "${RCLONE[@]}" rcat "$(obj "wal/$name.zst")" 2>"$TMP/up.err"
    local st=("${PIPESTATUS[@]}")
    set -e
    if ((st[0] != 0 || st[1] != 0)); then
      cat "$TMP/up.err" >&2
      classify_target "$TMP/up.err"
      if [[ $ERR_CODE == target-auth || $ERR_CODE == bucket-missing ]]; then wal_fatal "uploading wal/$name.zst"; fi
      log "wal: uploading $name failed: $ERR_MSG; will retry"
      return 1
    fi
    rm -f -- "$f"
    UPLOADED=$((UPLOADED + 1))
    log "wal: archived $name"
    if [[ $LAST_PARTIAL == "$name" ]]; then
      "${RCLONE[@]}" deletefile "$(obj "wal/$name.partial.zst")" 2>/dev/null || true
      LAST_PARTIAL='' LAST_PARTIAL_SHA=''
    fi
  done
  return 0
}

# Upload a snapshot of the current .partial segment if it changed, then archiver.json.
upload_partial() {
  local t0 xlogpos='' alive=0 f name snap=$TMP/snap sha
  t0=$(now_iso)
  if identify 2>/dev/null; then xlogpos=$XLOGPOS; fi
  [[ -n $RECV_PID ]] && kill -0 "$RECV_PID" 2>/dev/null && alive=1
  upload_completed || return 1
  local partials=("$SPOOL"/*.partial)
  ((${#partials[@]})) || return 0
  f=${partials[-1]}
  name=${f##*/}
  name=${name%.partial}
  rm -rf "$snap" && mkdir -p "$snap"
  cp -- "$f" "$snap/$name" 2>/dev/null || return 0  # completed meanwhile: the next round has it
  sha=$(sha256sum "$snap/$name" | cut -d' ' -f1)
  if [[ $name != "$LAST_PARTIAL" || $sha != "$LAST_PARTIAL_SHA" ]]; then
    set +e
    zstd -q -c -- "$snap/$name" | "${RCLONE[@]}" rcat "$(obj "wal/$name.partial.zst")" 2>"$TMP/up.err"
    local st=("${PIPESTATUS[@]}")
    set -e
    if ((st[0] != 0 || st[1] != 0)); then
      cat "$TMP/up.err" >&2
      classify_target "$TMP/up.err"
      if [[ $ERR_CODE == target-auth || $ERR_CODE == bucket-missing ]]; then wal_fatal "uploading wal/$name.partial.zst"; fi
      log "wal: uploading $name.partial failed: $ERR_MSG; will retry"
      return 1
    fi
    LAST_PARTIAL=$name LAST_PARTIAL_SHA=$sha
  fi
  [[ -n $W_SEGSIZE ]] || return 0
  wal_scan "$snap" "$((16#${name:0:8}))" "$(int_lsn "$(seg_start "$name" "$W_SEGSIZE")")" "$W_SEGSIZE"
  local end=${W_END:-}
  # Complete up to t0 if the receiver was streaming and the WAL the server had flushed at t0 is
  # in what was uploaded.
  if ((alive)) && [[ -n $xlogpos && -n $end ]] && (($(lsn_int "$end") >= $(lsn_int "$xlogpos"))); then
    COVERED=$t0 COVERED_LSN=$end
  fi
  jq -nc --arg sysid "$SYSID" --arg tli "$((16#${name:0:8}))" --arg seg "$name" --arg walend "$end" \
    --arg cov "$COVERED" --arg covlsn "$COVERED_LSN" --arg now "$(now_iso)" --arg slot "$SLOT" \
    --arg lc "$W_LAST_COMMIT" --arg segsize "$W_SEGSIZE" \
    "$JQ_DEFS"'{system_identifier: $sysid, timeline: ($tli | tonumber), updated_at: $now, slot: $slot,
      current_segment: $seg, uploaded_to_lsn: ($walend | opt), wal_segment_size: ($segsize | tonumber),
      covered_until: ($cov | opt), covered_lsn: ($covlsn | opt),
      last_commit_in_current_segment: ($lc | opt)}' >"$TMP/archiver.json"
  t_write archiver.json "$TMP/archiver.json" || { log "wal: writing archiver.json failed: $ERR_MSG"; return 1; }
}

# The interfaces of this network namespace other than lo. A container started with
# --network container:<pg> keeps the namespace it joined: when the database container is stopped or
# restarted, that namespace loses its interfaces for good and only a restart of this one joins
# the new one.
net_interfaces() { awk -F: 'NR > 2 { gsub(/ /, "", $1); if ($1 != "lo") n++ } END { print n + 0 }' /proc/net/dev; }

cmd_wal() {
  setup_target
  setup_pgpass
  mkdir -p -- "$SPOOL" || fail disk-full "cannot create the spool directory $SPOOL"
  trap 'STOP=1' TERM INT
  local last_partial=0 sleeper had_net
  had_net=$(net_interfaces)
  log "wal: archiving to $(where)/wal every $INTERVAL s"
  while ((!STOP)); do
    if ((had_net > 0)) && (($(net_interfaces) == 0)); then
      stop_receiver
      fail database-unreachable "the network namespace shared with the database container is gone (it was stopped or restarted); start this container again to join the new one (the spool keeps what was not uploaded)"
    fi
    reap_receiver
    if [[ -z $RECV_PID ]] && ((SECONDS >= RECV_NEXT)); then
      start_receiver || RECV_NEXT=$((SECONDS + RECV_DELAY))
    fi
    if ((SECONDS - last_partial >= INTERVAL)); then
      upload_partial && last_partial=$SECONDS
    else
      upload_completed || true
    fi
    ((STOP)) && break
    sleep 1 &
    sleeper=$!
    wait "$sleeper" 2>/dev/null || true
  done
  log "wal: stopping; last upload"
  stop_receiver
  upload_partial || true
  emit_ok '{stopped: "signal", segments_archived: ($n | tonumber), covered_until: ($c | opt),
            covered_lsn: ($l | opt)}' \
    --arg n "$UPLOADED" --arg c "$COVERED" --arg l "$COVERED_LSN"
}

# drop-slot: the archiver is gone for good (the policy was removed): drop its replication slot,
# or the server keeps every WAL segment from now on for a reader that never comes back. Stop the
# archiver first (an active slot cannot be dropped). A slot that does not exist is fine.
cmd_drop_slot() {
  setup_pgpass
  identify || die_classified "connecting for replication as $PGUSER"
  local slot_type
  slot_type=$(psql -XAtw "dbname=replication replication=true" -c "READ_REPLICATION_SLOT $SLOT" 2>"$TMP/slot.err" | cut -d'|' -f1) ||
    { classify_db "$TMP/slot.err"; die_classified "reading replication slot $SLOT"; }
  if [[ -z $slot_type ]]; then
    emit_ok '{slot: $s, dropped: false}' --arg s "$SLOT"
    return 0
  fi
  if ! pg_receivewal --drop-slot --slot="$SLOT" -w 2>"$TMP/slot.err"; then
    cat "$TMP/slot.err" >&2
    classify_db "$TMP/slot.err"
    die_classified "dropping replication slot $SLOT"
  fi
  log "drop-slot: dropped replication slot $SLOT"
  emit_ok '{slot: $s, dropped: true}' --arg s "$SLOT"
}
