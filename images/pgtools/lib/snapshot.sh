# shellcheck shell=bash
# lattice-pgtool, part: volume snapshots (issue 19, point 7) — subcommands snapshot,
# snapshot-restore, snapshot-verify, snapshot-delete and snapshot-ls. A snapshot is one tar of a
# workload's volumes (one top-level directory per volume, named like it), compressed with zstd
# and streamed to <prefix>/snapshots/ID.tar.zst; its record ID.json is written after it, with
# the size and sha256 of the object, so a snapshot without a record is incomplete and never used.
# Sourced by ../lattice-pgtool, which states the contract and holds the shared helpers.
# shellcheck disable=SC2016  # jq filters name their $variables inside single quotes

SNAP_MARKER=.lattice-restore-incomplete
# What a damaged snapshot is: backup-damaged, but verify-failed for snapshot-verify (as for
# `verify`: a failure of the backup itself; problems of the target keep their own codes).
DAMAGED=backup-damaged

# The volume directories directly under DIR (sorted, one per line); bad-argument if there are
# none or a name is not a plain volume name.
VOLUMES=()
volumes_under() {
  local dir=$1 d name
  VOLUMES=()
  for d in "$dir"/*/; do
    name=$(basename -- "$d")
    [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] || usage_error "'$name' under $dir is not a volume name"
    VOLUMES+=("$name")
  done
  ((${#VOLUMES[@]})) || usage_error "$dir holds no volume directory (mount each volume at $dir/<name>)"
}

# snapshot_record ID: load snapshots/ID.json into S_RECORD, S_SIZE, S_SHA, S_FILES.
S_RECORD='' S_SIZE='' S_SHA='' S_FILES=''
snapshot_record() {
  t_read "snapshots/$1.json" || {
    if [[ $ERR_CODE == backup-missing ]]; then
      fail backup-missing "there is no complete snapshot '$1' in $(where)/snapshots (no $1.json)"
    fi
    die_classified "reading the record of snapshot $1"
  }
  S_RECORD=$TEXT
  IFS=$'\t' read -r S_SIZE S_SHA S_FILES < <(jq -r '[.size_bytes, .sha256, .files] | @tsv' <<<"$S_RECORD")
  if ! [[ $(jq -r .kind <<<"$S_RECORD") == volume && $S_SIZE =~ ^[0-9]+$ && $S_SHA =~ ^[0-9a-f]{64}$ ]]; then
    fail "$DAMAGED" "the record snapshots/$1.json is not a lattice-pgtool snapshot record"
  fi
}

cmd_snapshot() {
  [[ -n $ID ]] || usage_error "snapshot needs --id"
  [[ -n $SOURCE && -d $SOURCE ]] || usage_error "snapshot needs --source DIR (a directory)"
  volumes_under "$SOURCE"
  setup_target
  t_size "snapshots/$ID.json" || die_classified "checking $(where)/snapshots for snapshot $ID"
  [[ -z $SIZE ]] || fail backup-exists "snapshot $ID already exists in $(where)/snapshots; pick another --id"
  local t0 start_time
  t0=$(now_ms) start_time=$(now_iso)
  log "snapshot $ID: volumes ${VOLUMES[*]} of $SOURCE to $(where)/snapshots/$ID.tar.zst"
  # GNU tar: numeric owners (the restoring image may name users differently), sparse files kept
  # sparse; the verbose listing goes to a file and counts the members.
  upload_stream "snapshots/$ID.tar.zst" "$TMP/tar.err" \
    tar -c --numeric-owner --sparse -v --index-file="$TMP/index" -C "$SOURCE" -f - -- "${VOLUMES[@]}"
  local st=("${UP_ST[@]}")
  # tar exits 1 when a file changed while it was read (a live workload): the snapshot is still
  # complete, but crash-consistent at best; the record says so.
  local changed=false
  if ((st[0] == 1)); then changed=true; fi
  if ((st[0] > 1 || st[1] != 0 || st[2] != 0 || st[3] != 0)); then
    local code msg
    if ((st[3] != 0)); then
      classify_target "$TMP/rcat.err"; code=$ERR_CODE msg="uploading the snapshot failed: $ERR_MSG"
    elif grep -q 'No space left' "$TMP/tar.err" "$TMP/zstd.err"; then
      code=disk-full msg="no space left while reading the volumes"
    else
      code=internal msg="tar or zstd failed (statuses ${st[*]}): $(tool_message "$TMP/tar.err") $(tool_message "$TMP/zstd.err")"
    fi
    "${RCLONE[@]}" deletefile "$(obj "snapshots/$ID.tar.zst")" >/dev/null 2>&1 || true
    fail "$code" "$msg"
  fi
  local sha count files
  sha=$UP_SHA count=$UP_COUNT
  files=$(grep -cv '/$' "$TMP/index" || true)
  uploaded_size_matches "snapshots/$ID.tar.zst" "snapshot"
  local record duration
  duration=$(($(now_ms) - t0))
  record=$(jq -nc --arg id "$ID" --arg st "$start_time" --arg et "$(now_iso)" --arg d "$duration" \
    --arg size "$count" --arg sha "$sha" --arg files "$files" --arg changed "$changed" \
    --arg tv "$TOOL_VERSION" --args '{format: 1, kind: "volume", id: $id, volumes: $ARGS.positional,
      start_time: $st, end_time: $et, duration_ms: ($d | tonumber), size_bytes: ($size | tonumber),
      sha256: $sha, files: ($files | tonumber), changed_while_read: ($changed == "true"),
      compression: "zstd", format_detail: "GNU tar, numeric owners, one directory per volume",
      tool: ("lattice-pgtool " + $tv)}' "${VOLUMES[@]}")
  printf '%s\n' "$record" >"$TMP/record.json"
  t_write "snapshots/$ID.json" "$TMP/record.json" || die_classified "writing the snapshot record"
  log "snapshot $ID: $files files, $count bytes in ${duration} ms (changed while read: $changed)"
  emit_ok '$r + {object: $o}' --argjson r "$record" --arg o "$(where)/snapshots/$ID.tar.zst"
}

# stream_snapshot ID TAR_ARGS...: download snapshots/ID.tar.zst through sha256 and zstd into
# `tar TAR_ARGS`, then check size, sha256 and that zstd and tar read it whole (backup-damaged).
# tar's stdout lands in $TMP/tar.out.
stream_snapshot() {
  local id=$1
  shift
  t_size "snapshots/$id.tar.zst" || die_classified "looking for the archive of snapshot $id"
  [[ -n $SIZE ]] || fail "$DAMAGED" "snapshot $id has a record but its archive snapshots/$id.tar.zst is missing"
  [[ $SIZE == "$S_SIZE" ]] ||
    fail "$DAMAGED" "snapshots/$id.tar.zst is $SIZE bytes but the snapshot record says $S_SIZE"
  mkfifo "$TMP/rhash.fifo"
  sha256sum <"$TMP/rhash.fifo" >"$TMP/rsha256" &
  local hash_pid=$!
  set +e
  "${RCLONE[@]}" cat "$(obj "snapshots/$id.tar.zst")" 2>"$TMP/rcat.err" |
    tee "$TMP/rhash.fifo" |
    zstd -d -q -c 2>"$TMP/zstd.err" |
    tar "$@" -f - >"$TMP/tar.out" 2>"$TMP/tar.err"
  local st=("${PIPESTATUS[@]}")
  set -e
  wait "$hash_pid" || true
  cat "$TMP/rcat.err" "$TMP/zstd.err" "$TMP/tar.err" >&2
  if ((st[0] != 0)); then
    classify_target "$TMP/rcat.err"
    if [[ $ERR_CODE != target-error ]] || ((st[1] == 0 && st[2] == 0 && st[3] == 0)); then
      die_classified "downloading snapshots/$id.tar.zst"
    fi
  fi
  if grep -q 'No space left on device' "$TMP/tar.err" "$TMP/zstd.err"; then
    fail disk-full "no space left while extracting snapshot $id"
  fi
  local sha
  sha=$(cut -d' ' -f1 "$TMP/rsha256")
  [[ $sha == "$S_SHA" ]] ||
    fail "$DAMAGED" "snapshots/$id.tar.zst was changed or damaged: its sha256 is $sha, the snapshot recorded $S_SHA"
  if ((st[2] != 0 || st[3] != 0)); then
    fail "$DAMAGED" "snapshots/$id.tar.zst cannot be unpacked: $(tool_message "$TMP/zstd.err") $(tool_message "$TMP/tar.err")"
  fi
}

# snapshot-restore: into DATA, which holds one (mounted) directory per volume of the snapshot,
# each empty. A directory set holding the marker of an unfinished restore is emptied and
# restored again; with --skip-if-restored, non-empty volumes without the marker are taken for a
# finished restore (the agent restores only into a new workload's volumes); otherwise they are
# refused (data-dir-not-empty).
cmd_snapshot_restore() {
  [[ -n $ID ]] || usage_error "snapshot-restore needs --id"
  [[ -n $DATA && -d $DATA ]] || usage_error "snapshot-restore needs --data DIR (a directory)"
  volumes_under "$DATA"
  local v marked=0 used=0
  for v in "${VOLUMES[@]}"; do
    if [[ -e $DATA/$v/$SNAP_MARKER ]]; then marked=1; fi
    if [[ -n $(ls -A -- "$DATA/$v") ]]; then used=1; fi
  done
  if ((marked)); then
    log "snapshot-restore: $DATA holds an unfinished restore; emptying it"
    for v in "${VOLUMES[@]}"; do find "$DATA/$v" -mindepth 1 -delete; done
  elif ((used)); then
    if ((SKIP_IF_RESTORED)); then
      log "snapshot-restore: the volumes under $DATA already hold data: taken as restored"
      emit_ok '{id: $id, already_restored: true, data: $data}' --arg id "$ID" --arg data "$DATA"
      return 0
    fi
    fail data-dir-not-empty "a volume under $DATA is not empty; restore a snapshot only into empty volumes"
  fi
  setup_target
  snapshot_record "$ID"
  local want wanted
  mapfile -t wanted < <(jq -r '.volumes[]' <<<"$S_RECORD")
  for want in "${wanted[@]}"; do
    [[ -d $DATA/$want ]] ||
      fail bad-argument "snapshot $ID holds volume '$want' but $DATA/$want is not there (volumes: ${VOLUMES[*]})" 2
  done
  for v in "${VOLUMES[@]}"; do : >"$DATA/$v/$SNAP_MARKER"; done
  RESTORE_DIR_SET=("${VOLUMES[@]/#/$DATA/}")
  log "snapshot-restore $ID into $DATA ($S_SIZE bytes)"
  stream_snapshot "$ID" -x --numeric-owner --same-permissions -C "$DATA"
  for v in "${VOLUMES[@]}"; do rm -f -- "$DATA/$v/$SNAP_MARKER"; done
  RESTORE_DIR_SET=()
  emit_ok '{id: $id, data: $data, volumes: $r.volumes, files: $r.files, size_bytes: $r.size_bytes,
            duration_ms: ($d | tonumber)}' \
    --arg id "$ID" --arg data "$DATA" --argjson r "$S_RECORD" --arg d "$(($(now_ms) - T0))"
}

# snapshot-verify: downloads the snapshot, checks its size and sha256, and that zstd and tar
# read it to the end with as many files as recorded. Needs no disk beyond a listing.
cmd_snapshot_verify() {
  [[ -n $ID ]] || usage_error "snapshot-verify needs --id"
  DAMAGED=verify-failed
  setup_target
  snapshot_record "$ID"
  stream_snapshot "$ID" -t
  local files
  files=$(grep -cv '/$' "$TMP/tar.out" || true)
  [[ $files == "$S_FILES" ]] ||
    fail verify-failed "snapshots/$ID.tar.zst holds $files files but the snapshot recorded $S_FILES"
  emit_ok '{id: $id, files: ($f | tonumber), size_bytes: $r.size_bytes, duration_ms: ($d | tonumber)}' \
    --arg id "$ID" --arg f "$files" --argjson r "$S_RECORD" --arg d "$(($(now_ms) - T0))"
}

cmd_snapshot_delete() {
  [[ -n $ID ]] || usage_error "snapshot-delete needs --id"
  setup_target
  t_size "snapshots/$ID.json" || die_classified "looking for snapshot $ID"
  local had_record=$SIZE
  t_size "snapshots/$ID.tar.zst" || die_classified "looking for snapshot $ID"
  [[ -n $had_record || -n $SIZE ]] || fail backup-missing "there is no snapshot '$ID' in $(where)/snapshots"
  if [[ -n $had_record ]]; then t_delete "snapshots/$ID.json" || die_classified "deleting snapshots/$ID.json"; fi
  if [[ -n $SIZE ]]; then t_delete "snapshots/$ID.tar.zst" || die_classified "deleting snapshots/$ID.tar.zst"; fi
  emit_ok '{id: $id, deleted_record: ($r != ""), deleted_archive: ($a != "")}' \
    --arg id "$ID" --arg r "$had_record" --arg a "$SIZE"
}
