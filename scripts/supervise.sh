#!/usr/bin/env bash
# supervise.sh - keeps one service process running: starts it, and when it
# exits without having been asked to, logs why and starts it again (at most
# once a second). SIGTERM/SIGINT stop the child and then the supervisor.
#   scripts/supervise.sh NAME LOGFILE COMMAND [ARGS...]
# Why our own and not supervisord: twenty lines, no daemon or config of its
# own to run, one process per service that `make down` can stop by pid.
set -u
name=$1 logf=$2
shift 2
stopping=0 child=0
trap 'stopping=1; [ $child -gt 0 ] && kill -TERM $child 2>/dev/null' TERM INT
note() { printf '%s INFO supervise: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$*" >> "$logf"; }
while [ $stopping -eq 0 ]; do
	started=$(date +%s)
	"$@" >> "$logf" 2>&1 &
	child=$!
	wait $child; st=$?
	# wait returns early when a trapped signal arrives: wait for the child itself
	while kill -0 $child 2>/dev/null; do wait $child; st=$?; done
	child=0
	[ $stopping -eq 1 ] && break
	note "$name exited with status $st; restarting"
	[ $(( $(date +%s) - started )) -lt 1 ] && sleep 1
done
