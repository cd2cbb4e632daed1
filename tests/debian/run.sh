#!/usr/bin/env bash
# run.sh - `make test-debian`: the README's two commands on a stock Debian 12.
#
# Builds a minimal bookworm root (debootstrap --variant=minbase, plus git, make
# and ca-certificates: what a user needs to clone and type `make`) under
# var/debian/root, clones into it the committed HEAD of this checkout (not
# uncommitted changes), and runs there, as root, as a user would:
#   1. `make test`  (installs every package it needs from Debian 12 / npm)
#   2. `make run`   with a deadline: the dashboard URL is printed, the bot's
#      progress shows fares matched and rated; then SIGINT (Ctrl-C), the bot's
#      summary, and `make down`.
# Then, in a second fresh root, `make run` alone: the first command a user
# types may be either.
# A missing install step (a tool the host's image has but Debian 12 does not)
# fails it. The last line is the summary: "debian: PASS ..." or "debian: FAIL ...".
#
# The root gets the host's apt sources (Debian's only), the host's extra CA
# certificates and /etc/npmrc (this machine reaches its registries through a
# proxy). Everything inside runs in its own mount and pid namespaces
# (unshare): /proc, /sys, /dev, /dev/pts, /dev/shm and /run are mounted there
# only, so nothing stays mounted under the repository after any exit, and every
# process started inside dies with it. The root is built anew on each run
# (debootstrap takes about a minute), kept after a failure for a look
# (removed after a pass unless DEBIAN_KEEP=1); logs in var/debian/*.log.
#
#   DEBIAN_MIRROR       debootstrap's mirror (http://deb.debian.org/debian)
#   DEBIAN_PORT=24500 DEBIAN_TEST_PORT=24580   ports of the stacks inside (the
#                       root shares the host's network); REGIONS_PORT and
#                       BENCH_PORT inside derive from DEBIAN_PORT
#   DEBIAN_PASSES="test,run run"   each word a fresh root and the commands run
#                       in it, in order: by default `make test` then `make
#                       run` in one root, and `make run` alone in a second
#                       (so that each is proven as the first command on a
#                       fresh machine)
#   DEBIAN_TEST_TIMEOUT=3600  seconds for `make test` inside
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$REPO/var/debian
R=$OUT/root
SRC=/root/ride-matcher

if [ "${1:-}" = "--inner" ]; then
	shift
	inner=1
else
	inner=0
fi

log() { printf 'debian: %s\n' "$*" >&2; }

# ------------------------------------------------------------------ inner
# Runs as pid 1 of a fresh pid namespace with a private mount namespace: the
# mounts below are seen by nothing outside and vanish with the namespace.
if [ "$inner" = 1 ]; then
	mounted=()
	umount_all() {
		local i
		for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
			umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || true
		done
	}
	trap umount_all EXIT
	mnt() { # mnt TARGET mount-args...
		local t=$1; shift
		mount "$@" "$t"
		mounted+=("$t")
	}
	# the root a mount point of its own: `ip netns exec` (tests/netns) does
	# `mount --make-rslave /`, which fails on a / that is a plain directory
	mnt "$R" --bind "$R"
	mnt "$R/proc" -t proc proc
	mnt "$R/sys" -t sysfs sysfs
	mnt "$R/dev" --bind /dev
	mnt "$R/dev/pts" --bind /dev/pts
	mnt "$R/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev tmpfs
	mnt "$R/run" -t tmpfs -o mode=755,nosuid,nodev tmpfs
	mkdir -p "$R/run/lock" && chmod 1777 "$R/run/lock"
	ENV=(env -i HOME=/root LANG=C.UTF-8 TERM=dumb SHELL=/bin/bash USER=root LOGNAME=root
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt CI="${CI:-}"
		PORT="$DPORT" TEST_PORT="$DTEST_PORT" REGIONS_PORT="$((DPORT - 300))"
		BENCH_PORT="$((DPORT + 200))")
	in_root() { "${ENV[@]}" chroot "$R" /bin/bash -c "cd $SRC && $1"; }

	rc=0
	for step in $STEPS; do
		case $step in
		test)
			log "$PASS: make test in the root (log: var/debian/$PASS-make-test.log)"
			t0=$(date +%s)
			set +e
			timeout -k 30 "$TEST_TIMEOUT" "${ENV[@]}" chroot "$R" /bin/bash -c "cd $SRC && make test" \
				</dev/null >"$OUT/$PASS-make-test.log" 2>&1
			r=$?
			set -e
			echo "$PASS test $r $(($(date +%s) - t0))" >>"$OUT/results"
			[ $r -eq 0 ] || { log "make test failed ($r); its last lines:"; tail -40 "$OUT/$PASS-make-test.log" >&2; rc=1; }
			;;
		run)
			log "$PASS: make run in the root (log: var/debian/$PASS-make-run.log)"
			t0=$(date +%s)
			# its own process group, like a shell's foreground job: Ctrl-C is
			# SIGINT to the group
			setsid "${ENV[@]}" chroot "$R" /bin/bash -c "cd $SRC && exec make run" \
				</dev/null >"$OUT/$PASS-make-run.log" 2>&1 &
			pg=$!
			ok=0 why="no dashboard URL"
			deadline=$(($(date +%s) + ${RUN_DEADLINE:-900}))
			while [ "$(date +%s)" -lt "$deadline" ]; do
				if ! kill -0 "$pg" 2>/dev/null; then why="make run exited by itself"; break; fi
				if grep -q "^dashboard: *http://127.0.0.1:$DPORT/" "$OUT/$PASS-make-run.log"; then
					why="the bot never reported fares matched and rated"
					line=$(grep -E 'fares [1-9][0-9]*, rated [1-9]' "$OUT/$PASS-make-run.log" | tail -1 || true)
					if [ -n "$line" ]; then ok=1; break; fi
				fi
				sleep 2
			done
			if kill -0 "$pg" 2>/dev/null; then
				kill -INT -- "-$pg" 2>/dev/null || true
				for _ in $(seq 60); do kill -0 "$pg" 2>/dev/null || break; sleep 0.5; done
				kill -0 "$pg" 2>/dev/null && { kill -KILL -- "-$pg" 2>/dev/null || true; why="$why; did not stop on SIGINT"; ok=0; }
			fi
			wait "$pg" 2>/dev/null || true
			if [ $ok = 1 ] && ! grep -q '^bot summary:' "$OUT/$PASS-make-run.log"; then
				ok=0 why="no bot summary after SIGINT"
			fi
			in_root "make down" >>"$OUT/$PASS-make-run.log" 2>&1 || { ok=0; why="make down failed"; }
			if [ $ok = 1 ]; then
				fares=$(grep -E '^  fares ' "$OUT/$PASS-make-run.log" | tail -1 | sed 's/^ *fares *//')
				echo "$PASS run 0 $(($(date +%s) - t0)) $fares" >>"$OUT/results"
			else
				echo "$PASS run 1 $(($(date +%s) - t0)) $why" >>"$OUT/results"
				log "make run: $why; its last lines:"
				tail -30 "$OUT/$PASS-make-run.log" >&2
				rc=1
			fi
			;;
		esac
	done
	exit $rc
fi

# ------------------------------------------------------------------ outer
T0=$(date +%s)
PASSES=${DEBIAN_PASSES:-test,run run}
DPORT=${DEBIAN_PORT:-24500}
DTEST_PORT=${DEBIAN_TEST_PORT:-24580}
TEST_TIMEOUT=${DEBIAN_TEST_TIMEOUT:-3600}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export R OUT DPORT DTEST_PORT TEST_TIMEOUT

summary() { printf 'debian: %s\n' "$*"; }
fail() { summary "FAIL $* ($(($(date +%s) - T0)) s)"; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot, mounts)"
for t in unshare chroot setsid timeout findmnt; do
	command -v $t >/dev/null || fail "$t missing"
done
if ! command -v debootstrap >/dev/null; then
	log "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2 || fail "cannot install debootstrap"
fi

# something mounted under the root (a run killed in an older version of this
# script, or by hand): never rm -rf across it
mounts_under_root() { findmnt -rn -o TARGET | awk -v r="$R" 'index($0, r "/") == 1 || $0 == r'; }
remove_root() {
	if [ -n "$(mounts_under_root)" ]; then
		mounts_under_root | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
		[ -z "$(mounts_under_root)" ] || fail "still mounted under $R: $(mounts_under_root | tr '\n' ' ')"
	fi
	if [ -e "$R" ]; then
		log "removing the previous root"
		rm -rf --one-file-system "$R" || fail "cannot remove $R"
	fi
}

commit=$(git -C "$REPO" rev-parse HEAD)
mkdir -p "$OUT"
rm -f "$OUT/results" "$OUT"/*.log
remove_root

make_root() { # a fresh minimal bookworm with the project cloned into it
	local t f uris have_src=0 dirty
	log "$PASS: debootstrap bookworm (minbase + git, make, ca-certificates) into var/debian/root"
	t=$(date +%s)
	debootstrap --variant=minbase --include=git,make,ca-certificates bookworm "$R" "$MIRROR" \
		>"$OUT/$PASS-debootstrap.log" 2>&1 ||
		{ tail -20 "$OUT/$PASS-debootstrap.log" >&2; fail "debootstrap (var/debian/$PASS-debootstrap.log)"; }
	echo "$PASS debootstrap 0 $(($(date +%s) - t))" >>"$OUT/results"

	# apt: the host's Debian sources (a stock Debian 12 has bookworm, -updates
	# and -security; debootstrap writes bookworm only). Files naming anything
	# but Debian's archive are left out.
	rm -f "$R/etc/apt/sources.list"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uris=$(grep -hoE '(URIs:|^deb(-src)?( \[[^]]*\])?) +[^ ]+' "$f" | awk '{print $NF}')
		[ -n "$uris" ] || continue
		if echo "$uris" | grep -qvE '://[^/]*debian\.(org|net)/'; then continue; fi
		mkdir -p "$R$(dirname "$f")"
		cp "$f" "$R$f"
		have_src=1
	done
	[ $have_src = 1 ] || echo "deb $MIRROR bookworm main" >"$R/etc/apt/sources.list"

	# this machine's extra CA certificates and npm settings
	if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
		mkdir -p "$R/usr/local/share/ca-certificates"
		cp -r /usr/local/share/ca-certificates/. "$R/usr/local/share/ca-certificates/"
	fi
	chroot "$R" /usr/sbin/update-ca-certificates >/dev/null 2>&1 || fail "update-ca-certificates in the root"
	if [ -f /etc/npmrc ]; then cp /etc/npmrc "$R/etc/npmrc"; fi

	git clone -q --no-hardlinks "$REPO" "$R$SRC" || fail "git clone"
	[ "$(git -C "$R$SRC" rev-parse HEAD)" = "$commit" ] || fail "the clone is not at HEAD $commit"
	dirty=$(git -C "$REPO" status --porcelain --untracked-files=no | wc -l)
	log "$PASS: cloned HEAD $(git -C "$REPO" log -1 --format='%h %s' | cut -c1-60)$([ "$dirty" -gt 0 ] && echo " (the checkout has $dirty uncommitted changes: not tested)")"
}

rc=0 n=0
for pass in $PASSES; do
	n=$((n + 1))
	PASS=p$n STEPS=${pass//,/ }
	export PASS STEPS
	[ $n -gt 1 ] && remove_root
	make_root
	set +e
	unshare --mount --propagation private --pid --fork bash "$REPO/tests/debian/run.sh" --inner
	r=$?
	set -e
	[ $r -eq 0 ] || rc=1
	# nothing may stay mounted under the root, seen from here
	[ -z "$(mounts_under_root)" ] || fail "left mounted under $R: $(mounts_under_root | tr '\n' ' ')"
	for s in $STEPS; do
		grep -q "^$PASS $s " "$OUT/results" 2>/dev/null || { echo "$PASS $s 1 0 did not run" >>"$OUT/results"; rc=1; }
	done
	[ $rc -eq 0 ] || break   # the failing root stays for a look
done

parts=""
while read -r pass step r secs rest; do
	case $step in
	debootstrap) parts="$parts; $pass: fresh root (debootstrap $secs s)" ;;
	test) parts="$parts, make test $([ "$r" = 0 ] && echo passed || echo "FAILED ($r)") in $secs s" ;;
	run) parts="$parts, make run $([ "$r" = 0 ] && echo "ok in $secs s (bot: $rest)" || echo "FAILED: $rest")" ;;
	esac
done <"$OUT/results"
parts=${parts#; }
if [ $rc -eq 0 ] && [ "${DEBIAN_KEEP:-0}" != 1 ]; then
	# a passing root is of no more use (a failing one stays for a look)
	rm -rf --one-file-system "$R" || true
fi
if [ $rc -eq 0 ]; then
	summary "PASS on Debian 12 (minbase), HEAD ${commit:0:10}: $parts; total $(($(date +%s) - T0)) s"
else
	fail "on Debian 12 (minbase), HEAD ${commit:0:10}: $parts"
fi
