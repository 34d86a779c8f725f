#!/bin/sh
# sync-coordinator post-merge hook (POSIX sh; DESIGN.md section 7).
#
# Enqueues one `post-merge` request as a spool file and returns at once; starts
# `sync-coordinator process` detached only when no daemon runs. It never fails the
# user's git: every problem ends in `exit 0`, and it is safe under `sh -e`.
#
# `sync-coordinator hooks install` copies this file to
# <git common dir>/sync-coordinator/hooks/post-merge.sh and writes the node and bin paths
# beside it, to `runtime` (line 1 node, line 2 bin): both live under .git, which no
# checkout can write (invariant 14), and the hook's block runs this file as `sh <path>`,
# so $0 names that directory. Git runs hooks in the root of the work tree (githooks(5)),
# so the state directory is relative to it; a linked worktree has its own.

# Our own pipeline's git fired this hook (invariant 8), or the user switched us off.
case "${CLAUDE_SYNC_ACTIVE:-}" in '' | 0) ;; *) exit 0 ;; esac
if [ "${SYNC_COORDINATOR:-}" = 0 ]; then exit 0; fi

state=.claude/sync-coordination
if [ ! -d "$state" ]; then exit 0; fi
queue=$state/queue
if [ ! -d "$queue" ]; then mkdir "$queue" 2>/dev/null || exit 0; fi

# Id: <13-digit epoch ms>-<pid>-<8 hex>, as src/core/queue.ts newRequestId.
now=$(date -u '+%s%3N %Y-%m-%dT%H:%M:%S.%3NZ %N' 2>/dev/null) || now=
set -f
set -- $now
ms=${1:-}
iso=${2:-}
ns=${3:-}
case $ms in
  '' | *[!0-9]*)
    # No %N (BSD date): whole seconds.
    now=$(date -u '+%s %Y-%m-%dT%H:%M:%SZ' 2>/dev/null) || exit 0
    set -- $now
    ms=${1:-}000
    iso=${2:-}
    ns=
    ;;
esac
case $ms in '' | *[!0-9]*) exit 0 ;; esac
while [ ${#ms} -lt 13 ]; do ms=0$ms; done
# 8 hex chars without another process (the hook's cost is its forks): the nanoseconds
# when date gave them, mixed with the pid; ms + pid already make the id unique here.
case $ns in '' | *[!0-9]*) ns=0 ;; esac
ns=${ns#"${ns%%[!0]*}"}
n=$(((${ns:-0} * 2654435761 + $$) % 4294967296))
rand=
while [ ${#rand} -lt 8 ]; do
  d=$((n % 16))
  n=$((n / 16))
  case $d in 10) d=a ;; 11) d=b ;; 12) d=c ;; 13) d=d ;; 14) d=e ;; 15) d=f ;; esac
  rand=$d$rand
done
id=$ms-$$-$rand

# Maildir rule: write a dot-temp file (noclobber = O_EXCL), then publish it under its
# final name in one step; readers only list `*.json` not starting with a dot. Only
# fixed strings of ours go into it. The step is a hard link, not a rename: `ln` starts
# in about half the time of coreutils' `mv` (which loads SELinux and ACL libraries),
# and the hook's cost is its process starts. The processor removes the dot-file twin
# when it removes the request (queue.ts removeEntries); a twin left by a killed hook
# is swept after an hour.
tmp=$queue/.tmp-$id
set -C
if ! printf '{"id":"%s","type":"post-merge","caller":"git-hook:post-merge","priority":"normal","reason":"git post-merge","created_at":"%s","pid":%s}\n' \
  "$id" "$iso" "$$" >"$tmp" 2>/dev/null; then
  rm -f "$tmp" 2>/dev/null
  exit 0
fi
set +C
if ! ln "$tmp" "$queue/$id.json" 2>/dev/null; then
  rm -f "$tmp" 2>/dev/null
  exit 0
fi

# A daemon runs if daemon.pid names a live process whose start time (Linux
# /proc/<pid>/stat field 22) matches line 2: a pid file left by `kill -9` whose pid was
# reused does not count. Without /proc, `kill -0` alone decides.
daemon_running() {
  pid= start=
  { read -r pid && read -r start; } 2>/dev/null <"$state/daemon.pid" || :
  case $pid in '' | *[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  [ -r "/proc/$pid/stat" ] || return 0
  stat=
  read -r stat 2>/dev/null <"/proc/$pid/stat" || :
  [ -n "$stat" ] || return 1
  # Field 2 (the command) may hold spaces and parentheses: split after the last ") ".
  set -- ${stat##*) }
  case ${1:-} in Z | X | '') return 1 ;; esac
  [ -z "$start" ] || [ "${20:-}" = "$start" ]
}
if daemon_running; then exit 0; fi

node= bin=
case $0 in */*) runtime=${0%/*}/runtime ;; *) runtime=./runtime ;; esac
{ read -r node && read -r bin; } 2>/dev/null <"$runtime" || :
if [ -n "$node" ] && [ -x "$node" ] && [ -n "$bin" ] && [ -f "$bin" ]; then
  set -- "$node" "$bin" process
elif bin=$(command -v sync-coordinator 2>/dev/null) && [ -n "$bin" ]; then
  set -- "$bin" process
else
  exit 0 # the request stays queued for the next daemon or CLI run
fi

# The node process must not inherit the hook's repository variables (githooks(5)).
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_COMMON_DIR GIT_PREFIX GIT_OBJECT_DIRECTORY \
  GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_CONFIG GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT \
  GIT_IMPLICIT_WORK_TREE GIT_GRAFT_FILE GIT_NO_REPLACE_OBJECTS GIT_REPLACE_REF_BASE \
  GIT_INTERNAL_SUPER_PREFIX GIT_SHALLOW_FILE GIT_REFLOG_ACTION 2>/dev/null || :
# Detached: its own session where setsid exists, no terminal, no pipes git waits on.
if command -v setsid >/dev/null 2>&1; then
  setsid "$@" </dev/null >/dev/null 2>&1 &
else
  nohup "$@" </dev/null >/dev/null 2>&1 &
fi
exit 0
