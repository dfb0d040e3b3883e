# docker-harness.sh - a private dockerd for tests and benchmarks (source it, bash or sh).
#
#   . scripts/docker-harness.sh
#   trap harness_stop EXIT INT TERM
#   harness_start || exit 77          # prints why on stderr when it cannot
#   harness_build_images              # vigil-base:1 (busybox import), vigil-multi:1 (3 more layers)
#   hdocker run --network none ...    # the docker client bound to the private socket
#   harness_stop                      # stops dockerd (and its containerd) by pid file, waits
#
# After harness_start: HARNESS_DIR (temp dir), HARNESS_DATA (the data root, overlay2 layout),
# HARNESS_SOCK (unix socket path), DOCKER_HOST (unix://$HARNESS_SOCK, exported),
# HARNESS_PIDFILE.  Set HARNESS_TMPFS=1 before harness_start to put the data root on a
# private tmpfs mount (benchmarks: this kernel drops page cache after ~30 s).
# Paths stay short (/tmp/vd.XXXXXX) because containerd's socket path under the exec root
# is limited to 108 bytes.  No network: bridge off, no iptables, containers use
# --network none; images are built from /bin/busybox (busybox-static) and local files.

HARNESS_DIR=
HARNESS_DATA=
HARNESS_SOCK=
HARNESS_PIDFILE=

harness_log() { echo "docker-harness: $*" >&2; }

hdocker() { docker -H "unix://$HARNESS_SOCK" "$@"; }

harness_start() {
	if [ "$(id -u)" -ne 0 ]; then harness_log "not root: cannot start dockerd"; return 1; fi
	for b in dockerd docker containerd runc; do
		command -v "$b" >/dev/null 2>&1 || { harness_log "$b not installed (apt-get install docker.io)"; return 1; }
	done
	HARNESS_DIR=$(mktemp -d /tmp/vd.XXXXXX) || return 1
	HARNESS_DATA=$HARNESS_DIR/d
	HARNESS_SOCK=$HARNESS_DIR/s
	HARNESS_PIDFILE=$HARNESS_DIR/p
	mkdir -p "$HARNESS_DATA" "$HARNESS_DIR/e"
	if [ "${HARNESS_TMPFS:-0}" = 1 ]; then
		mount -t tmpfs -o size=${HARNESS_TMPFS_SIZE:-4g},mode=0711 vigil-bench "$HARNESS_DATA" ||
			{ harness_log "cannot mount tmpfs on $HARNESS_DATA"; return 1; }
	fi
	# overlay2 needs d_type and refuses some backing filesystems; let it say so.
	dockerd --data-root "$HARNESS_DATA" --exec-root "$HARNESS_DIR/e" -H "unix://$HARNESS_SOCK" \
		--pidfile "$HARNESS_PIDFILE" --bridge=none --iptables=false --ip-forward=false \
		--ip-masq=false --userland-proxy=false --storage-driver=overlay2 \
		>"$HARNESS_DIR/dockerd.log" 2>&1 &
	HARNESS_DPID=$!
	i=0
	while [ $i -lt 150 ]; do
		if [ -S "$HARNESS_SOCK" ] && hdocker version >/dev/null 2>&1; then
			DOCKER_HOST=unix://$HARNESS_SOCK
			export DOCKER_HOST HARNESS_DIR HARNESS_DATA HARNESS_SOCK HARNESS_PIDFILE
			return 0
		fi
		if ! kill -0 "$HARNESS_DPID" 2>/dev/null; then
			harness_log "dockerd exited at start-up: $(tail -n 3 "$HARNESS_DIR/dockerd.log" | tr '\n' ' ')"
			harness_stop
			return 1
		fi
		sleep 0.2
		i=$((i + 1))
	done
	harness_log "dockerd did not answer within 30 s: $(tail -n 3 "$HARNESS_DIR/dockerd.log" | tr '\n' ' ')"
	harness_stop
	return 1
}

# Waits for pid to exit (up to ~20 s), then kills it.
harness_wait_gone() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done || :
	if kill -0 "$1" 2>/dev/null; then kill -KILL "$1" 2>/dev/null || :; fi
	return 0
}

# Stops dockerd (and its containerd) but keeps the data root, so vigil can be run
# on the files of a stopped engine.  harness_stop afterwards removes everything.
harness_stop_daemon() {
	[ -n "$HARNESS_DIR" ] || return 0
	if [ -S "$HARNESS_SOCK" ]; then
		ids=$(hdocker ps -q 2>/dev/null || :)
		if [ -n "$ids" ]; then hdocker kill $ids >/dev/null 2>&1 || :; fi
	fi
	pid=
	if [ -f "$HARNESS_PIDFILE" ]; then pid=$(cat "$HARNESS_PIDFILE" 2>/dev/null || :); fi
	[ -n "$pid" ] || pid=${HARNESS_DPID:-}
	# dockerd's own containerd is its child: remember it before dockerd goes.
	cpid=
	if [ -f "$HARNESS_DIR/e/containerd/containerd.pid" ]; then
		cpid=$(cat "$HARNESS_DIR/e/containerd/containerd.pid" 2>/dev/null || :)
	fi
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || :
		harness_wait_gone "$pid"
	fi
	if [ -n "$cpid" ]; then
		kill -TERM "$cpid" 2>/dev/null || :
		harness_wait_gone "$cpid"
	fi
	rm -f "$HARNESS_PIDFILE"
	HARNESS_DPID=
	return 0
}

harness_stop() {
	[ -n "$HARNESS_DIR" ] || return 0
	harness_stop_daemon
	# Left-over overlay mounts of containers under the data root, then the tmpfs.
	grep -o " $HARNESS_DIR[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || :
	done
	rm -rf "$HARNESS_DIR" 2>/dev/null || :
	HARNESS_DIR=
	return 0
}

# A rootfs of busybox-static (one binary, applets as symlinks), as a tar on stdout.
harness_busybox_rootfs() { # dir
	bb=/bin/busybox
	[ -x "$bb" ] || { harness_log "/bin/busybox missing (apt-get install busybox-static)"; return 1; }
	mkdir -p "$1/bin" "$1/etc" "$1/tmp" "$1/root" "$1/usr/bin" "$1/var/spool/cron/crontabs"
	cp "$bb" "$1/bin/busybox"
	# Relative links: `busybox --install -s` would point them at the host path.
	for a in $("$bb" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$1/etc/passwd"
	echo 'root:x:0:' >"$1/etc/group"
	echo 'vigil test image' >"$1/etc/motd"
	chmod 1777 "$1/tmp"
}

# vigil-base:1 (one layer, docker import) and vigil-multi:1 (FROM base, three layers,
# classic builder: a file, a deleted file, an xattr-free directory tree, a modified file).
harness_build_images() {
	ctx=$HARNESS_DIR/ctx
	rm -rf "$ctx"; mkdir -p "$ctx/rootfs"
	harness_busybox_rootfs "$ctx/rootfs" || return 1
	tar -C "$ctx/rootfs" -cf "$ctx/rootfs.tar" . || return 1
	hdocker import -c 'CMD ["/bin/sh"]' "$ctx/rootfs.tar" vigil-base:1 >/dev/null || return 1
	mkdir -p "$ctx/b/app"
	printf '#!/bin/sh\necho hello from vigil\n' >"$ctx/b/app/hello.sh"
	chmod 755 "$ctx/b/app/hello.sh"
	head -c 65536 /dev/urandom >"$ctx/b/app/blob.bin"
	cat >"$ctx/b/Dockerfile" <<'DOCKERFILE'
FROM vigil-base:1
COPY app/ /app/
RUN echo changed >>/etc/motd && rm /etc/group && mkdir -p /opt/data && echo one >/opt/data/a && ln -s a /opt/data/link
RUN mkdir -p /opt/data/sub && echo two >/opt/data/sub/b && chmod 600 /opt/data/sub/b
ENTRYPOINT ["/bin/sh"]
DOCKERFILE
	DOCKER_BUILDKIT=0 hdocker build -q -t vigil-multi:1 "$ctx/b" >/dev/null 2>"$HARNESS_DIR/build.log" ||
		{ cat "$HARNESS_DIR/build.log" >&2; return 1; }
}

# An image of at least MB megabytes of Debian files, several layers (benchmark).
harness_build_big_image() { # tag [dirs...]
	tag=$1; shift
	[ $# -gt 0 ] || set -- /usr/lib/x86_64-linux-gnu /usr/share /usr/bin
	ctx=$HARNESS_DIR/big
	rm -rf "$ctx"; mkdir -p "$ctx"
	n=0
	printf 'FROM vigil-base:1\n' >"$ctx/Dockerfile"
	for d in "$@"; do
		n=$((n + 1))
		mkdir -p "$ctx/l$n"
		cp -a "$d/." "$ctx/l$n/" 2>/dev/null
		printf 'COPY l%d/ /data/l%d/\n' $n $n >>"$ctx/Dockerfile"
	done
	DOCKER_BUILDKIT=0 hdocker build -q -t "$tag" "$ctx" >/dev/null 2>"$HARNESS_DIR/build.log" ||
		{ cat "$HARNESS_DIR/build.log" >&2; return 1; }
	rm -rf "$ctx"
}
