# Sourced by scripts/test.sh and .ci/run: `phase NAME COMMAND...` runs the
# command and keeps how long it took; when the script ends, passing or not,
# the phases and their times are printed (to stderr), so every CI log shows
# where its minutes went. A script sourced twice (test.sh under .ci/run)
# keeps one table, printed once by the outermost.
if [ -z "${ADPIPE_PHASES_FILE:-}" ]; then
  ADPIPE_PHASES_FILE=$(mktemp)
  export ADPIPE_PHASES_FILE
  adpipe_phases_started=$SECONDS
  adpipe_print_phases() {
    local status=$?
    {
      printf '\nphase times (s):\n'
      cat "$ADPIPE_PHASES_FILE"
      printf '  %-20s %6d\n' total "$((SECONDS - adpipe_phases_started))"
    } >&2
    rm -f "$ADPIPE_PHASES_FILE"
    return "$status"
  }
  trap adpipe_print_phases EXIT
fi

phase() {
  local name=$1 started=$SECONDS status=0
  shift
  "$@" || status=$?
  printf '  %-20s %6d%s\n' "$name" "$((SECONDS - started))" \
    "$([ "$status" = 0 ] || echo "  (failed: exit $status)")" >>"$ADPIPE_PHASES_FILE"
  return "$status"
}
