# shellcheck shell=bash
# lattice-pgtool, part: WAL positions, segment names, and reading WAL with pg_waldump.
# Sourced by ../lattice-pgtool, which states the contract and holds the shared helpers.

lsn_int() { echo $(((16#${1%/*} << 32) | 16#${1#*/})); }
int_lsn() { printf '%X/%X' $(($1 >> 32)) $(($1 & 0xFFFFFFFF)); }
valid_lsn() { [[ $1 =~ ^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$ ]]; }
# seg_name TLI SEGNO SEGSIZE / seg_no NAME SEGSIZE / seg_start NAME SEGSIZE (an LSN as integer)
seg_name() { local per=$((0x100000000 / $3)); printf '%08X%08X%08X' "$1" $(($2 / per)) $(($2 % per)); }
seg_no() { local per=$((0x100000000 / $2)); echo $((16#${1:8:8} * per + 16#${1:16:8})); }
seg_start() { echo $(($(seg_no "$1" "$2") * $2)); }
to_bytes() { # 16MB -> 16777216 (units as SHOW prints them)
  [[ $1 =~ ^([0-9]+)(B|kB|MB|GB)$ ]] || return 1
  case ${BASH_REMATCH[2]} in
    B) echo "${BASH_REMATCH[1]}" ;; kB) echo $((BASH_REMATCH[1] << 10)) ;;
    MB) echo $((BASH_REMATCH[1] << 20)) ;; GB) echo $((BASH_REMATCH[1] << 30)) ;;
  esac
}

# wal_scan DIR TLI START_LSN SEGSIZE: read the WAL in DIR from START with pg_waldump. Sets W_END
# (the LSN where valid WAL ends), W_LAST_COMMIT (time of the last commit/abort, or empty) and
# W_MISSING (the segment pg_waldump looked for and did not find, or empty).
W_END='' W_LAST_COMMIT='' W_MISSING=''
wal_scan() {
  local dir=$1 tli=$2 start=$3 segsize=$4 line
  pg_waldump --path="$dir" --timeline="$tli" --start="$start" --rmgr=Transaction \
    >"$TMP/waldump.out" 2>"$TMP/waldump.err" || true
  W_LAST_COMMIT=$(grep -E 'desc: (COMMIT|ABORT) [0-9]{4}-' "$TMP/waldump.out" | tail -n 1 |
    sed -E 's/.*desc: [A-Z]+ ([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ [A-Z]+).*/\1/' || true)
  line=$(grep -E 'error' "$TMP/waldump.err" | tail -n 1 || true)
  W_MISSING='' W_END=''
  if [[ $line =~ could\ not\ find\ file\ \"([0-9A-F]{24})\" ]]; then
    W_MISSING=${BASH_REMATCH[1]}
    W_END=$(int_lsn "$(seg_start "$W_MISSING" "$segsize")")
  elif [[ $line =~ log\ segment\ ([0-9A-F]{24}),\ offset\ ([0-9]+) ]]; then
    W_END=$(int_lsn $(($(seg_start "${BASH_REMATCH[1]}" "$segsize") + BASH_REMATCH[2])))
  elif [[ $line =~ .*[^0-9A-F]([0-9A-F]+/[0-9A-F]+) ]]; then
    W_END=${BASH_REMATCH[1]}
  fi
}
