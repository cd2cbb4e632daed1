#!/usr/bin/env bash
# supervise.sh - keeps one service process running: starts it, and when it
# exits without having been asked to, logs why and starts it again (at most
# once a second). SIGTERM/SIGINT stop the child and then the supervisor.
#   scripts/supervise.sh NAME LOGFILE COMMAND [ARGS...]
# Environment:
#   SUPERVISE_LOG    where the supervisor's own lines go (default LOGFILE);
#                    stack.sh: var/log/supervise.log, one line per event:
#     <time> INFO supervise: NAME started pid P
#     <time> INFO supervise: NAME exited (signal 9), restarting (restart #N)
#     <time> INFO supervise: NAME stopped
#   SUPERVISE_CHILD  a file that always holds the running child's pid, so
#                    `stack.sh down` can stop the child even if it ignores
#                    SIGTERM or the supervisor is gone
#   LOG_FILE is set to LOGFILE for the child: lib/log.c writes there itself
#   and rotates it (LOG_MAX_BYTES, LOG_KEEP).
# "signal N" is reported for an exit status above 128 (bash cannot tell a
# death by signal N from `exit 128+N`; our services never exit that way).
# Why our own and not supervisord: no daemon or config of its own to run, one
# process per service that `make down` can stop by pid.
set -u
name=$1 logf=$2
shift 2
slog=${SUPERVISE_LOG:-$logf}
stopping=0 child=0 restarts=0
export LOG_FILE=$logf
trap 'stopping=1; [ $child -gt 0 ] && kill -TERM $child 2>/dev/null' TERM INT
note() { # FILE MESSAGE
	printf '%s INFO supervise: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$2" >> "$1"
}
while [ $stopping -eq 0 ]; do
	started=$(date +%s)
	"$@" >> "$logf" 2>&1 &
	child=$!
	[ -n "${SUPERVISE_CHILD:-}" ] && echo $child > "$SUPERVISE_CHILD"
	note "$slog" "$name started pid $child"
	wait $child; st=$?
	# wait returns early when a trapped signal arrives: wait for the child itself
	while kill -0 $child 2>/dev/null; do wait $child; st=$?; done
	child=0
	[ $stopping -eq 1 ] && break
	restarts=$((restarts + 1))
	if [ $st -gt 128 ]; then why="signal $((st - 128))"; else why="status $st"; fi
	note "$slog" "$name exited ($why), restarting (restart #$restarts)"
	# and a pointer in the service's own log, without the word the counters look for
	[ "$slog" != "$logf" ] && note "$logf" "$name exited ($why); starting it again (#$restarts; see $(basename "$slog"))"
	[ $(( $(date +%s) - started )) -lt 1 ] && sleep 1
done
[ -n "${SUPERVISE_CHILD:-}" ] && rm -f "$SUPERVISE_CHILD"
note "$slog" "$name stopped"
