# Progress for scripts/setup and scripts/test (sourced, not run): every step says what it does and
# how long it took; quiet steps write their output to a log file that is shown when they fail.
#   quiet_step "title" command args...   output to $VV_LLM_LOG_DIR/<title>.log; a heartbeat every 30 s
#   loud_step "title" command args...    output straight to the terminal (linters, tests)
VV_LLM_LOG_DIR=${VV_LLM_LOG_DIR:-test-artifacts/logs}
mkdir -p "$VV_LLM_LOG_DIR"

_elapsed() { # seconds since $1 (an $EPOCHREALTIME), one decimal
  awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

quiet_step() {
  local title=$1
  shift
  local slug
  slug=$(printf '%s' "$title" | tr -cs 'A-Za-z0-9' '-' | cut -c1-60)
  local log
  log="$VV_LLM_LOG_DIR/${slug%-}.log"
  local start=$EPOCHREALTIME
  echo "==> $title …"
  "$@" >"$log" 2>&1 &
  local pid=$! waited=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
    waited=$((waited + 1))
    if [ $((waited % 150)) -eq 0 ]; then
      echo "    … still $title ($(_elapsed "$start") s so far; log: $log)"
    fi
  done
  local rc=0
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "!! $title failed after $(_elapsed "$start") s (exit status $rc); the last 60 lines of $log:" >&2
    tail -n 60 "$log" >&2
    exit "$rc"
  fi
  echo "    done in $(_elapsed "$start") s (log: $log)"
}

loud_step() {
  local title=$1
  shift
  local start=$EPOCHREALTIME
  echo "==> $title"
  local rc=0
  "$@" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "!! $title failed after $(_elapsed "$start") s (exit status $rc)" >&2
    exit "$rc"
  fi
  echo "    $title: ok in $(_elapsed "$start") s"
}
