# shellcheck shell=bash
# lattice-pgtool, part: Subcommands probe, backup, ls, delete, prune-wal and status.
# Sourced by ../lattice-pgtool, which states the contract and holds the shared helpers.
# shellcheck disable=SC2016  # jq filters name their $variables inside single quotes

cmd_probe() {
  setup_target
  local name content
  name=.lattice-probe-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  content="lattice-pgtool probe $name $(now_iso)"
  RCLONE+=(--retries 1 --low-level-retries 2)
  printf '%s\n' "$content" >"$TMP/probe"
  t_write "$name" "$TMP/probe" || die_classified "writing a probe object to $(where)"
  t_read "$name" || die_classified "reading the probe object back from $(where)"
  [[ $TEXT == "$content" ]] || fail target-error "the probe object read back from $(where) differs from what was written"
  t_delete "$name" || die_classified "deleting the probe object from $(where)"
  if ((PROBE_DB)); then
    setup_pgpass
    identify || die_classified "connecting for replication as $PGUSER"
    emit_ok '{target: $w, database: {system_identifier: $s, timeline: ($t | tonumber), wal_position: $x}}' \
      --arg w "$(where)" --arg s "$SYSID" --arg t "$TLI" --arg x "$XLOGPOS"
  else
    emit_ok '{target: $w}' --arg w "$(where)"
  fi
}

cmd_backup() {
  [[ -n $ID ]] || usage_error "backup needs --id"
  setup_target
  setup_pgpass
  t_size "base/$ID.json" || die_classified "checking $(where)/base for backup $ID"
  [[ -z $SIZE ]] || fail backup-exists "backup $ID already exists in $(where)/base; pick another --id"
  identify || die_classified "connecting for replication as $PGUSER"
  local segsize_text segsize version
  if ! segsize_text=$(repl_show wal_segment_size) || ! version=$(repl_show server_version); then
    classify_db "$TMP/db.err"
    die_classified "reading the server's settings"
  fi
  segsize=$(to_bytes "$segsize_text") || fail database-error "unexpected wal_segment_size '$segsize_text'"

  local t0 start_time
  t0=$(now_ms) start_time=$(now_iso)
  log "backup $ID: pg_basebackup from $PGHOST:$PGPORT to $(where)/base/$ID.tar.zst"
  # pg15 writes one tar to stdout, with pg_wal/ (-X fetch) and backup_manifest injected as its
  # last member. -w: never prompt for a password.
  upload_stream "base/$ID.tar.zst" "$TMP/pgbb.err" \
    pg_basebackup -D - -Ft -X fetch --checkpoint=fast -w -v --label "lattice $ID"
  local st=("${UP_ST[@]}")
  if ((st[0] != 0 || st[1] != 0 || st[2] != 0 || st[3] != 0)); then
    local code msg
    # A pg_basebackup that died of SIGPIPE (141) or a broken pipe is a victim of a failed upload.
    if ((st[0] != 0 && st[0] != 141)) && ! grep -q 'Broken pipe' "$TMP/pgbb.err"; then
      classify_db "$TMP/pgbb.err"; code=$ERR_CODE msg="pg_basebackup failed: $ERR_MSG"
    elif ((st[3] != 0)); then
      classify_target "$TMP/rcat.err"; code=$ERR_CODE msg="uploading the base backup failed: $ERR_MSG"
    elif ((st[0] != 0)); then
      classify_db "$TMP/pgbb.err"; code=$ERR_CODE msg="pg_basebackup failed: $ERR_MSG"
    else
      code=internal msg="zstd or tee failed (statuses ${st[*]}): $(tool_message "$TMP/zstd.err")"
    fi
    # Whatever was uploaded is incomplete (it has no .json); remove it if the target lets us.
    "${RCLONE[@]}" deletefile "$(obj "base/$ID.tar.zst")" >/dev/null 2>&1 || true
    fail "$code" "$msg"
  fi
  local start_lsn tli end_lsn sha count
  start_lsn=$(sed -n 's/.*write-ahead log start point: \([0-9A-F]*\/[0-9A-F]*\) on timeline \([0-9]*\).*/\1/p' "$TMP/pgbb.err")
  tli=$(sed -n 's/.*write-ahead log start point: [0-9A-F/]* on timeline \([0-9]*\).*/\1/p' "$TMP/pgbb.err")
  end_lsn=$(sed -n 's/.*write-ahead log end point: \([0-9A-F]*\/[0-9A-F]*\).*/\1/p' "$TMP/pgbb.err")
  if ! valid_lsn "$start_lsn" || ! valid_lsn "$end_lsn" || ! [[ $tli =~ ^[0-9]+$ ]]; then
    fail internal "pg_basebackup did not report its WAL start/end points"
  fi
  sha=$UP_SHA count=$UP_COUNT
  uploaded_size_matches "base/$ID.tar.zst" "base backup"
  local end_time duration record
  end_time=$(now_iso) duration=$(($(now_ms) - t0))
  record=$(jq -nc --arg id "$ID" --arg sysid "$SYSID" --arg tli "$tli" --arg sl "$start_lsn" \
    --arg el "$end_lsn" --arg seg "$segsize" --arg st "$start_time" --arg et "$end_time" \
    --arg d "$duration" --arg size "$count" --arg sha "$sha" --arg v "$version" --arg u "$PGUSER" \
    --arg sw "$(seg_name "$tli" $(($(lsn_int "$start_lsn") / segsize)) "$segsize")" \
    --arg tv "$TOOL_VERSION" \
    '{format: 1, id: $id, system_identifier: $sysid, timeline: ($tli | tonumber),
      start_lsn: $sl, end_lsn: $el, start_wal_segment: $sw, wal_segment_size: ($seg | tonumber),
      start_time: $st, end_time: $et, duration_ms: ($d | tonumber), size_bytes: ($size | tonumber),
      sha256: $sha, compression: "zstd", format_detail: "pg_basebackup -Ft -X fetch, one tar",
      server_version: $v, user: $u, tool: ("lattice-pgtool " + $tv)}')
  # The record is written last: a base without its .json is incomplete and never listed.
  printf '%s\n' "$record" >"$TMP/record.json"
  t_write "base/$ID.json" "$TMP/record.json" || die_classified "writing the backup record"
  log "backup $ID: $count bytes in ${duration} ms, WAL $start_lsn..$end_lsn on timeline $tli"
  emit_ok '$r + {object: $o}' --argjson r "$record" --arg o "$(where)/base/$ID.tar.zst"
}

# ls: the complete backups (a .json record whose archive is there with the recorded size), plus
# the ids of incomplete ones (an archive without a record) and broken ones (a record without a
# matching archive).
LISTING='[]'
list_backups() {
  tr_ lsjson --files-only --max-depth 1 "$(obj base)/" || die_classified "listing $(where)/base"
  local files
  files=$(<"$TMP/tr.out")
  tr_ cat --max-depth 1 --include '*.json' "$(obj base)/" || die_classified "reading the backup records"
  local records
  records=$(jq -cnR '[inputs | fromjson? | select(type == "object" and .format == 1)]' "$TMP/tr.out")
  LISTING=$(jq -nc --argjson files "$files" --argjson records "$records" '
    ($files | map({key: .Name, value: .Size}) | from_entries) as $size
    | {backups: [$records[] | select($size[.id + ".tar.zst"] == .size_bytes)] | sort_by(.start_time),
       broken: [$records[] | select($size[.id + ".tar.zst"] != .size_bytes) | .id],
       incomplete: [$files[] | .Name | select(endswith(".tar.zst")) | rtrimstr(".tar.zst")
                    | select(($size[. + ".json"]) == null)]}')
}
cmd_ls() {
  setup_target
  list_backups
  emit_ok '$l' --argjson l "$LISTING"
}

cmd_delete() {
  [[ -n $ID ]] || usage_error "delete needs --id"
  setup_target
  t_size "base/$ID.json" || die_classified "looking for backup $ID"
  local had_record=$SIZE
  t_size "base/$ID.tar.zst" || die_classified "looking for backup $ID"
  [[ -n $had_record || -n $SIZE ]] || fail backup-missing "there is no backup '$ID' in $(where)/base"
  # The record first: from then on the backup is no longer listed as usable.
  if [[ -n $had_record ]]; then t_delete "base/$ID.json" || die_classified "deleting base/$ID.json"; fi
  if [[ -n $SIZE ]]; then t_delete "base/$ID.tar.zst" || die_classified "deleting base/$ID.tar.zst"; fi
  emit_ok '{id: $id, deleted_record: ($r != ""), deleted_archive: ($a != "")}' \
    --arg id "$ID" --arg r "$had_record" --arg a "$SIZE"
}

# prune-wal: delete archived segments that no kept backup needs for point-in-time recovery (those
# before the oldest complete backup's start), or only those before --before-lsn, which must not
# be later than that start. History files are kept.
cmd_prune_wal() {
  setup_target
  list_backups
  local oldest='' limit_seg='' limit_lsn='' segsize='' rec lsn
  # The backup with the lowest start LSN (after a restore, a later timeline may start lower).
  while IFS= read -r rec; do
    lsn=$(lsn_int "$(jq -r .start_lsn <<<"$rec")")
    if [[ -z $oldest ]] || ((lsn < $(lsn_int "$(jq -r .start_lsn <<<"$oldest")"))); then oldest=$rec; fi
  done < <(jq -c '.backups[]' <<<"$LISTING")
  if [[ -n $BEFORE_LSN ]]; then
    valid_lsn "$BEFORE_LSN" || usage_error "--before-lsn must look like 0/3000000"
    limit_lsn=$(lsn_int "$BEFORE_LSN")
  fi
  if [[ -n $oldest ]]; then
    local start
    start=$(lsn_int "$(jq -r .start_lsn <<<"$oldest")")
    segsize=$(jq -r .wal_segment_size <<<"$oldest")
    if [[ -n $BEFORE_LSN ]] && ((limit_lsn > start)); then
      fail prune-refused "--before-lsn $BEFORE_LSN is after the start of backup $(jq -r .id <<<"$oldest") ($(jq -r .start_lsn <<<"$oldest")); its point-in-time recovery needs that WAL"
    fi
    limit_lsn=${limit_lsn:-$start}
  elif [[ -z $BEFORE_LSN ]]; then
    emit_ok '{deleted: 0, note: "no complete backup: nothing tells which WAL is unneeded"}'
    return 0
  fi
  segsize=${segsize:-16777216}
  limit_seg=$((limit_lsn / segsize))
  t_list wal || die_classified "listing $(where)/wal"
  local name doomed=()
  while IFS= read -r name; do
    if [[ $name =~ ^([0-9A-F]{24})(\.partial)?\.zst$ ]] &&
      (($(seg_no "${BASH_REMATCH[1]}" "$segsize") < limit_seg)); then
      doomed+=("$name")
    fi
  done <<<"$NAMES"
  if ((${#doomed[@]})); then
    printf '%s\n' "${doomed[@]}" >"$TMP/doomed"
    tr_ delete --files-from-raw "$TMP/doomed" "$(obj wal)" || die_classified "deleting WAL from $(where)/wal"
  fi
  emit_ok '{deleted: ($n | tonumber), before_lsn: $l, oldest_backup: ($o | opt)}' \
    --arg n "${#doomed[@]}" --arg l "$(int_lsn "$limit_lsn")" \
    --arg o "$(jq -r '.id // empty' <<<"${oldest:-null}")"
}

cmd_status() {
  setup_target
  t_size archiver.json || die_classified "reading $(where)/archiver.json"
  if [[ -z $SIZE ]]; then emit_ok '{archiver: null}'; return 0; fi
  t_read archiver.json || die_classified "reading $(where)/archiver.json"
  emit_ok '{archiver: $a}' --argjson a "$TEXT"
}
