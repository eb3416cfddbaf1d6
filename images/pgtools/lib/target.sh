# shellcheck shell=bash
# lattice-pgtool, part: The S3 target: rclone calls and the classification of their errors.
# Sourced by ../lattice-pgtool, which states the contract and holds the shared helpers.

# classify_target FILE: set ERR_CODE/ERR_MSG from rclone's stderr.
classify_target() {
  local text detail
  text=$(<"$1")
  detail=$(tool_message "$1")
  case $text in
    *SignatureDoesNotMatch* | *InvalidAccessKeyId* | *AccessDenied* | *"status code: 403"* | \
      *InvalidToken* | *ExpiredToken* | *"401 Unauthorized"*)
      ERR_CODE=target-auth ERR_MSG="the S3 target refused the credentials of the target config ($detail)" ;;
    *NoSuchBucket* | *"directory not found"*)
      ERR_CODE=bucket-missing ERR_MSG="bucket '$BUCKET' does not exist on the target ($detail)" ;;
    *"No space left on device"* | *ENOSPC* | *StorageFull* | *QuotaExceeded*)
      ERR_CODE=disk-full ERR_MSG="no space left ($detail)" ;;
    *"connection refused"* | *"no such host"* | *"i/o timeout"* | *"network is unreachable"* | \
      *"no route to host"* | *"connection reset"* | *"TLS handshake"* | *"deadline exceeded"* | \
      *"server misbehaving"* | *"dial tcp"* | *EOF*)
      ERR_CODE=target-unreachable ERR_MSG="cannot reach the S3 endpoint ($detail)" ;;
    *)
      ERR_CODE=target-error ERR_MSG="the S3 target failed ($detail)" ;;
  esac
}

RCLONE=()
setup_target() {
  [[ -n $BUCKET ]] || usage_error "--bucket is required"
  [[ $BUCKET =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || usage_error "--bucket '$BUCKET' is not a valid bucket name"
  [[ -r $TARGET_CONFIG ]] || fail target-config "the target config $TARGET_CONFIG cannot be read"
  grep -q '^\[target\][[:space:]]*$' "$TARGET_CONFIG" ||
    fail target-config "the target config $TARGET_CONFIG has no remote named [target]"
  # --s3-no-check-bucket: never create a missing bucket (a typo must not make a new one).
  # Streamed uploads are multipart with CHUNK_SIZE parts: at most 10,000 parts per object.
  RCLONE=(rclone --config "$TARGET_CONFIG" --s3-no-check-bucket --contimeout 10s --timeout 120s
    --retries 3 --low-level-retries 5 --stats 0 --s3-chunk-size "$CHUNK_SIZE" --s3-upload-concurrency 4)
}
where() { printf 's3://%s/%s' "$BUCKET" "$PREFIX"; }
obj() { printf 'target:%s/%s%s' "$BUCKET" "${PREFIX:+$PREFIX/}" "$1"; }

# tr_ ARGS...: run rclone; its stdout lands in $TMP/tr.out. On failure ERR_CODE/ERR_MSG are set.
tr_() {
  if "${RCLONE[@]}" "$@" >"$TMP/tr.out" 2>"$TMP/tr.err"; then
    cat "$TMP/tr.err" >&2
    return 0
  fi
  cat "$TMP/tr.err" >&2
  classify_target "$TMP/tr.err"
  return 1
}
# t_size PATH: SIZE= the object's size, or empty if there is no such object.
# (rclone cat/copyto of a missing object succeed with no output, so existence is checked first.)
SIZE=''
t_size() {
  tr_ lsjson --stat "$(obj "$1")" || return 1
  SIZE=$(jq -r 'if .IsDir then "" else .Size end' "$TMP/tr.out")
}
# t_read PATH: TEXT= the content of a small object that must exist (backup-missing otherwise).
TEXT=''
t_read() {
  t_size "$1" || return 1
  if [[ -z $SIZE ]]; then ERR_CODE=backup-missing ERR_MSG="$(where)/$1 does not exist"; return 1; fi
  tr_ cat "$(obj "$1")" || return 1
  TEXT=$(<"$TMP/tr.out")
}
t_write() { # t_write PATH FILE (not in a pipeline: ERR_CODE must reach the caller)
  if "${RCLONE[@]}" rcat "$(obj "$1")" <"$2" 2>"$TMP/tw.err"; then cat "$TMP/tw.err" >&2; return 0; fi
  cat "$TMP/tw.err" >&2
  classify_target "$TMP/tw.err"
  return 1
}
t_delete() { tr_ deletefile "$(obj "$1")"; }
t_list() { # t_list DIR: NAMES= the file names directly under DIR (one per line)
  tr_ lsf --files-only --max-depth 1 "$(obj "$1")/" || return 1
  NAMES=$(<"$TMP/tr.out")
}

# upload_stream KEY ERRFILE CMD...: CMD (its stderr to ERRFILE) | zstd -T0 -3 | rclone rcat KEY,
# with the compressed bytes hashed (sha256) and counted on their way. Never fails itself: sets
# UP_ST (the exit statuses of CMD, zstd, tee and rclone), UP_SHA and UP_COUNT, and copies the
# three tools' stderr to ours. The caller decides what a status means (and deletes a partial
# object); then uploaded_size_matches checks what the target stores.
UP_ST=() UP_SHA='' UP_COUNT=''
upload_stream() {
  local key=$1 errfile=$2
  shift 2
  rm -f "$TMP/hash.fifo" "$TMP/count.fifo"
  mkfifo "$TMP/hash.fifo" "$TMP/count.fifo"
  sha256sum <"$TMP/hash.fifo" >"$TMP/sha256" &
  local hash_pid=$!
  wc -c <"$TMP/count.fifo" >"$TMP/count" &
  local count_pid=$!
  set +e
  "$@" 2>"$errfile" |
    zstd -q -T0 -3 2>"$TMP/zstd.err" |
    tee "$TMP/hash.fifo" "$TMP/count.fifo" |
    "${RCLONE[@]}" rcat "$(obj "$key")" 2>"$TMP/rcat.err"
  UP_ST=("${PIPESTATUS[@]}")
  set -e
  wait "$hash_pid" "$count_pid" || true
  cat "$errfile" "$TMP/zstd.err" "$TMP/rcat.err" >&2
  UP_SHA=$(cut -d' ' -f1 "$TMP/sha256") UP_COUNT=$(tr -d ' \n' <"$TMP/count")
}

# uploaded_size_matches KEY WHAT: the target stores exactly UP_COUNT bytes under KEY
# (target-error otherwise; a failed look is classified).
uploaded_size_matches() {
  t_size "$1" || die_classified "checking the uploaded $2"
  [[ $SIZE == "$UP_COUNT" ]] ||
    fail target-error "the target stores ${SIZE:-no} bytes for $1 but $UP_COUNT were uploaded"
}
