#!/bin/sh
# sync-coordinator pre-push hook (POSIX sh; DESIGN.md section 7).
#
# While a sync is in flight (the lock directory exists), wait for it, bounded: default
# 10 s, or SYNC_COORDINATOR_PREPUSH_WAIT seconds. Then exit 0 whatever happened: it
# never fails the user's push. It reads nothing from stdin (the installed line runs it
# with </dev/null, so the user's own lines still get git's ref list), and it is safe
# under `sh -e`. Paths are relative to the work tree root, where git runs hooks.

# Our own push fired this hook (invariant 8: it must not wait for itself), or the user
# switched us off.
case "${CLAUDE_SYNC_ACTIVE:-}" in '' | 0) ;; *) exit 0 ;; esac
if [ "${SYNC_COORDINATOR:-}" = 0 ]; then exit 0; fi

lock=.claude/sync-coordination/sync-coordinator.lock
if [ ! -d "$lock" ]; then exit 0; fi

limit=${SYNC_COORDINATOR_PREPUSH_WAIT:-10}
case $limit in '' | *[!0-9]*) limit=10 ;; esac
limit=${limit#"${limit%%[!0]*}"} # no leading zeros: 08 would be octal to $(( ))
case $limit in '') exit 0 ;; ?????*) limit=9999 ;; esac
echo "sync-coordinator: a sync is in progress; waiting up to ${limit}s before pushing" >&2
# Fractional sleep is not POSIX: where `sleep 0.1` fails, count whole seconds instead.
if sleep 0.1 2>/dev/null; then ticks=$((limit * 10)) tick=0.1; else ticks=$limit tick=1; fi
while [ -d "$lock" ]; do
  if [ "$ticks" -le 0 ]; then
    echo "sync-coordinator: the sync is still running; pushing anyway" >&2
    exit 0
  fi
  ticks=$((ticks - 1))
  sleep "$tick" 2>/dev/null || exit 0
done
exit 0
