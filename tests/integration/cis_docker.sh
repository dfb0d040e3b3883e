#!/bin/sh
# vigil cis on a real private dockerd (scripts/docker-harness.sh), next to
# docker-bench-security 1.6.0 (the peer, ../shared/peers or $DOCKER_BENCH_TGZ):
#   - containers made to fail the automated 5.x checks (host pid/net/ipc/uts
#     namespaces, --cap-add ALL, the docker socket and /etc mounted, seccomp
#     unconfined, no limits, --restart=always, root user) and one hardened
#     container that passes them; a created --privileged container (it
#     cannot start on this VM) fails 5.5 in vigil, which judges every container
#   - vigil's verdict equals docker-bench's for every automated check both
#     implement (docker-bench judges running containers only: vigil's results
#     are narrowed to those for the comparison); the checks where they differ
#     are listed in KNOWN below, each with the assertion that proves vigil right
#   - --junit and --html are written; the HTML opens in headless chromium,
#     is not blank and shows the summary counts
# Skipped (77, with the reason) when dockerd cannot start here, failed under CI=true.
. "$(dirname "$0")/lib.sh"
docker_test_needs python3
command -v jq >/dev/null || skip "jq missing (apt-get install jq): docker-bench needs it"
tgz=${DOCKER_BENCH_TGZ:-/work/shared/peers/docker-bench-security.tar.gz}
[ -f "$tgz" ] || skip "docker-bench-security not found at $tgz (set DOCKER_BENCH_TGZ)"
docker_up
DPID=$(cat "$HARNESS_PIDFILE")

# images: the base (no HEALTHCHECK, root) and a hardened one
ctx=$HARNESS_DIR/ctx
mkdir -p "$ctx/rootfs"
harness_busybox_rootfs "$ctx/rootfs"
tar -C "$ctx/rootfs" -cf "$ctx/rootfs.tar" .
hdocker import -c 'CMD ["/bin/sh"]' "$ctx/rootfs.tar" vigil-base:1 >/dev/null
mkdir -p "$ctx/h"
printf 'FROM vigil-base:1\nUSER 1000\nHEALTHCHECK --interval=30s CMD true\n' >"$ctx/h/Dockerfile"
DOCKER_BUILDKIT=0 hdocker build -q -t vigil-hard:1 "$ctx/h" >/dev/null
# a process named sshd (a static pause loop) for 5.7
mkdir -p "$ctx/s"
printf '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n' >"$ctx/s/sshd.c"
${CC:-cc} -static -O2 -o "$ctx/s/sshd" "$ctx/s/sshd.c" || skip "cannot link a static program (libc6-dev)"
printf 'FROM vigil-base:1\nCOPY sshd /usr/sbin/sshd\nCMD ["/usr/sbin/sshd"]\n' >"$ctx/s/Dockerfile"
DOCKER_BUILDKIT=0 hdocker build -q -t vigil-sshd:1 "$ctx/s" >/dev/null

mkdir -p "$HARNESS_DIR/etcsrc"
hdocker run -d --name bad --pid=host --network=host --ipc=host --uts=host --userns=host --cap-add ALL --cap-drop SYS_RESOURCE \
	--security-opt seccomp=unconfined -v "$HARNESS_SOCK:/var/run/docker.sock" -v /etc:/hostetc \
	--restart=always vigil-base:1 sleep 3600 >/dev/null
hdocker run -d --name hard --network none --read-only --memory 64m --cpu-shares 512 --pids-limit 64 \
	--security-opt no-new-privileges --restart on-failure:5 --cap-drop ALL vigil-hard:1 sleep 3600 >/dev/null
hdocker run -d --name ssh --network none vigil-sshd:1 >/dev/null
hdocker create --name priv --privileged --network none vigil-base:1 true >/dev/null

# The kernel's audit rules are one per host and the audit tests change them:
# hold their lock (tests/integration/audit_lib.sh) while both tools read them,
# and add one rule of our own (1.1.6 must pass in both), removed at exit.
audit_rule=0
if command -v auditctl >/dev/null 2>&1 && auditctl -s >/dev/null 2>&1; then
	exec 9>"${TMPDIR:-/tmp}/vigil-audit-tests.lock"
	flock 9
	if auditctl -w /etc/docker -p wa -k cis-test >/dev/null 2>&1; then
		audit_rule=1
		on_exit "auditctl -W /etc/docker -p wa -k cis-test >/dev/null 2>&1 || true"
	fi
fi
auditctl -l >"$T/rules.before" 2>&1 || :

# docker-bench: its own copy, the docker CLI on our socket; it reads the newest
# dockerd's command line (pgrep -n): note whether that was ours all along
db=$T/db
mkdir -p "$db"
tar -C "$db" -xzf "$tgz"
newest() { pgrep -n -f dockerd || :; }
before=$(newest)
(cd "$db/docker-bench-security" && sh docker-bench-security.sh -b -l "$T/db.log" \
	-c host_configuration,docker_daemon_configuration,docker_daemon_files,container_images,container_runtime \
	>"$T/db.out" 2>&1) || fail "docker-bench-security failed: $(tail -n 5 "$T/db.out")"
after=$(newest)
"$VIGIL" cis --dockerd-pid "$DPID" --json --junit "$T/cis.xml" --html "$T/cis.html" >"$T/cis.json" &&
	fail "vigil cis exited 0 on a host with failing checks" || [ $? -eq 1 ] || fail "vigil cis: exit code not 1"
"$VIGIL" cis --dockerd-pid "$DPID" >"$T/cis.txt" || :
grep -q '^Summary: ' "$T/cis.txt" || fail "no summary line in the text report"
auditctl -l >"$T/rules.after" 2>&1 || :
same_rules=0
cmp -s "$T/rules.before" "$T/rules.after" && same_rules=1
[ $same_rules = 1 ] || echo "note: the audit rules changed during the run: 1.1.x left out of the comparison"
if [ $audit_rule = 1 ] && [ $same_rules = 1 ]; then
	[ "$(jq -r 'select(.rule.id == "1.1.6") | .vigil.verdict' "$T/cis.json")" = pass ] ||
		fail "1.1.6 must pass: a rule watches /etc/docker ($(grep /etc/docker "$T/rules.after"))"
fi
same_daemon=0
[ "$before" = "$DPID" ] && [ "$after" = "$DPID" ] && same_daemon=1
[ $same_daemon = 1 ] || echo "note: newest dockerd before/after docker-bench: $before/$after, ours $DPID"

[ "$(stat -c %d "$HARNESS_DATA")" = "$(stat -c %d /)" ] || fail "the data root is on its own device here: 1.1.1 proof does not hold"
[ "$(jq -r 'select(.rule.id == "1.1.1") | .vigil.verdict' "$T/cis.json")" = fail ] || fail "1.1.1 must fail: the data root is a bind mount on /'s device"
[ "$(pgrep -x sshd | wc -l)" = 1 ] || fail "expected one process named sshd (the ssh container's): $(pgrep -a -x sshd)"
python3 - "$T/cis.json" "$T/db.log.json" "$same_daemon" "$HARNESS_SOCK" "$same_rules" <<'PY' || fail "verdicts differ (above)"
import json, os, sys
vig = [json.loads(l) for l in open(sys.argv[1])]
db = json.load(open(sys.argv[2]))
same_daemon = sys.argv[3] == "1"
sock = sys.argv[4]
same_rules = sys.argv[5] == "1"
running = {"bad", "hard", "ssh"}

def res(rid, name=None):
    return [r for r in vig if r["rule"]["id"] == rid and (name is None or r.get("container", {}).get("name") == name)]

def one(rid, name):
    r = res(rid, name)
    assert len(r) == 1, (rid, name, r)
    return r[0]["vigil"]["verdict"]

# 5.x by container: the bad one fails what it was made to fail, the hardened one passes
bad_fails = ["4.1", "5.4", "5.6", "5.10", "5.11", "5.12", "5.13", "5.15", "5.16", "5.17", "5.21", "5.22",
             "5.26", "5.27", "5.29", "5.31", "5.32"]
errors = []
for rid in bad_fails:
    if one(rid, "bad") != "fail":
        errors.append("%s bad: %s, want fail" % (rid, one(rid, "bad")))
    if one(rid, "hard") != "pass":
        errors.append("%s hard: %s, want pass" % (rid, one(rid, "hard")))
if (one("5.7", "ssh"), one("5.7", "bad"), one("5.7", "hard")) != ("fail", "pass", "pass"):
    errors.append("5.7 ssh/bad/hard: %s %s %s, want fail pass pass" % (one("5.7", "ssh"), one("5.7", "bad"), one("5.7", "hard")))
if one("5.5", "priv") != "fail":
    errors.append("5.5 priv (created --privileged): %s, want fail" % one("5.5", "priv"))
ev = res("5.32", "bad")[0]["vigil"]["evidence"]
if sock not in ev.get("value", ""):
    errors.append("5.32 evidence does not name the harness socket: %s" % ev)

# vigil per check over the running containers, as docker-bench judges
rank = {"error": 4, "fail": 3, "pass": 2, "info": 1, "not-applicable": 0}
agg = {}
for r in vig:
    name = r.get("container", {}).get("name")
    if name is not None and name not in running:
        continue
    rid = r["rule"]["id"]
    v = r["vigil"]["verdict"]
    if rid not in agg or rank[v] > rank[agg[rid][0]]:
        agg[rid] = (v, r["vigil"]["automated"])
dbv = {}
dbd = {}
for sec in db.get("tests", []):
    for t in sec.get("results", []):
        dbv[t["id"]] = t["result"]
        dbd[t["id"]] = t.get("details", "")
norm = {"PASS": "pass", "WARN": "fail", "INFO": "info", "NOTE": "info"}

KNOWN = {
    # dockerd bind-mounts its data root onto itself: `mountpoint` (docker-bench)
    # passes, though it is the same device as / (asserted in the shell): no partition
    "1.1.1": "bind mount",
    # docker-bench judges Docker >= 19.03 as INFO (it cannot read experimental then)
    "2.18": "docker-bench: INFO on this Docker version",
    # docker-bench looks at /var/run/docker.sock only; vigil at the sockets dockerd listens on
    "3.15": "socket", "3.16": "socket",
    # AppArmor / SELinux are not enabled on this host: not applicable (docker-bench warns)
    "5.2": "apparmor", "5.3": "selinux",
    # --restart=always: CIS says non-compliant; docker-bench only compares MaximumRetryCount (0)
    "5.15": "restart",
    # docker-bench reads DOCKER_CONTENT_TRUST from its own shell (whoever runs it);
    # vigil from what a login session gets: asserted below against `su -`
    "4.5": "content trust",
}
# 5.7: docker-bench runs `docker exec C ps -el | grep -c sshd`; in a container
# sharing the host's PID namespace (bad), ps lists docker-bench's own
# `grep -c sshd`, so it warns for bad.  The only process named sshd on the host
# is the ssh container's (asserted in the shell below): vigil is right.  Both
# fail 5.7 overall (the ssh container), so the comparison still holds.
if not os.path.exists("/sys/module/apparmor/parameters/enabled") or open("/sys/module/apparmor/parameters/enabled").read()[:1] != "Y":
    if one("5.2", "bad") != "not-applicable":
        errors.append("5.2 with AppArmor off: %s, want not-applicable" % one("5.2", "bad"))
if dbv.get("5.15") == "PASS" and one("5.15", "bad") != "fail":
    errors.append("5.15: --restart=always must fail")
s = [r for r in res("3.16") if r["vigil"]["evidence"].get("file") == sock]
if not s:
    errors.append("3.16 does not judge the socket dockerd listens on (%s)" % sock)
compared = 0
for rid, (v, automated) in sorted(agg.items()):
    if not automated or rid in KNOWN or rid not in dbv or dbv[rid] not in norm:
        continue
    if rid.startswith("2.") and not same_daemon:
        continue  # another dockerd started meanwhile: docker-bench read its command line
    if rid.startswith("1.1.") and rid not in ("1.1.1", "1.1.2") and not same_rules:
        continue  # someone changed the kernel's audit rules meanwhile
    d = norm[dbv[rid]]
    vv = "info" if v == "not-applicable" else v
    # a path that does not exist: vigil says not-applicable, docker-bench 1.1.3/1.1.4 warn
    if rid in ("1.1.3", "1.1.4") and v == "not-applicable" and d == "fail":
        continue
    compared += 1
    if vv != d:
        errors.append("%s: vigil %s, docker-bench %s (%s)" % (rid, v, dbv[rid], dbd.get(rid, "")))
if "bad" in dbd.get("5.7", "") and one("5.7", "bad") == "pass":
    print("note: docker-bench flags bad for 5.7 (its own grep seen through --pid=host); vigil: pass")
print("compared %d automated checks with docker-bench%s%s" % (compared, "" if same_daemon else " (section 2 left out: another dockerd)",
      "" if same_rules else " (1.1.x left out: audit rules changed)"))
if compared < 30:
    errors.append("only %d checks compared" % compared)
for e in errors:
    print("DIFF: " + e)
sys.exit(1 if errors else 0)
PY

# 4.5: vigil's verdict is what a login session gets (su runs pam_env, which reads
# /etc/environment, and a login shell /etc/profile and /etc/profile.d)
login_dct=$(su - root -c 'printf %s "${DOCKER_CONTENT_TRUST:-}"' </dev/null 2>/dev/null) || fail "su - root failed"
v45=$(jq -r 'select(.rule.id == "4.5") | .vigil.verdict' "$T/cis.json")
if [ "$login_dct" = 1 ]; then want45=pass; else want45=fail; fi
[ "$v45" = "$want45" ] ||
	fail "4.5: vigil says $v45, a login session has DOCKER_CONTENT_TRUST='$login_dct'"

# JUnit: well-formed, one failure per failing result
python3 - "$T/cis.xml" "$T/cis.json" <<'PY' || fail "junit report"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
fails = sum(1 for _ in root.iter("failure"))
want = sum(1 for l in open(sys.argv[2]) if json.loads(l)["vigil"]["verdict"] == "fail")
assert fails == want, (fails, want)
PY

# HTML: self-contained, rendered by chromium, the counts on the page
grep -qi '<script' "$T/cis.html" && fail "the HTML report holds a script"
grep -Eqi '(src|href)="(https?:)?//' "$T/cis.html" && fail "the HTML report loads something external"
CHROME=$(command -v chromium || command -v chromium-browser || :)
[ -n "$CHROME" ] || skip "chromium missing (apt-get install chromium)"
nfail=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["vigil"]["verdict"]=="fail"))' "$T/cis.json")
prof=$T/chrome
flags="--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir=$prof"
timeout 120 "$CHROME" $flags --dump-dom "file://$T/cis.html" >"$T/dom.html" 2>"$T/chrome.err" ||
	fail "chromium --dump-dom failed: $(tail -n 3 "$T/chrome.err")"
grep -q "id=\"count-fail\">fail: <b>$nfail</b>" "$T/dom.html" || fail "the rendered page does not show $nfail failures"
timeout 120 "$CHROME" $flags --window-size=1000,900 --screenshot="$T/shot.png" "file://$T/cis.html" >/dev/null 2>>"$T/chrome.err" ||
	fail "chromium --screenshot failed: $(tail -n 3 "$T/chrome.err")"
python3 - "$T/shot.png" <<'PY' || fail "the screenshot is blank"
import sys, zlib, struct
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, = struct.unpack(">I", data[pos:pos + 4]); kind = data[pos + 4:pos + 8]
    if kind == b"IHDR": w, h, depth, ctype = struct.unpack(">IIBB", data[pos + 8:pos + 18])
    if kind == b"IDAT": idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
# distinct bytes in the decoded rows (filters included): a blank page has a handful
assert len(set(raw)) > 20, "only %d distinct byte values" % len(set(raw))
PY
[ -n "${CIS_SCREENSHOT:-}" ] && cp "$T/shot.png" "$CIS_SCREENSHOT"
echo "cis_docker: ok"
