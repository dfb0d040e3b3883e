#!/bin/sh
# vigil procs against a real private dockerd (scripts/docker-harness.sh): a
# running container's processes carry its id and name; --container NAME and
# --container ID-PREFIX list only them; --verify over them reads their code
# (busybox, through map_files) and finds no modified page; an unknown
# container is exit 3.
. "$(dirname "$0")/lib.sh"
docker_test_needs python3
docker_up build

hdocker run -d --network none --name procbox vigil-base:1 sleep 600 >/dev/null
on_exit "docker -H unix://$HARNESS_SOCK rm -f procbox"
ID=$(hdocker inspect -f '{{.Id}}' procbox)
CPID=$(hdocker inspect -f '{{.State.Pid}}' procbox)
[ "$CPID" -gt 0 ] || fail "the container has no pid"

"$VIGIL" -q procs --data-root "$DATA" --json >"$T/all.json" || fail "listing exited $?"
"$VIGIL" -q procs --data-root "$DATA" --container procbox --json >"$T/name.json" || fail "--container NAME exited $?"
"$VIGIL" -q procs --data-root "$DATA" --container "$(echo "$ID" | cut -c1-12)" --json >"$T/id.json" ||
	fail "--container ID exited $?"
set +e
"$VIGIL" -q procs --data-root "$DATA" --container procbox --verify --json >"$T/verify.json"
rc=$?
set -e
[ $rc -le 1 ] || fail "--verify exited $rc"
python3 - "$T" "$CPID" "$ID" "$$" <<'PY' || fail "reports"
import json, sys
t, cpid, cid, me = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
every = json.load(open(t + "/all.json"))["processes"]
c = [p for p in every if p["pid"] == cpid]
assert c and c[0]["container_id"] == cid and c[0]["container_name"] == "procbox", c
assert [p for p in every if p["pid"] == me and "container_id" not in p], "the test's shell is in no container"
for f in ("name.json", "id.json"):
    ps = json.load(open(t + "/" + f))["processes"]
    assert ps and all(p["container_id"] == cid for p in ps), (f, ps)
    assert cpid in [p["pid"] for p in ps], (f, ps)
v = json.load(open(t + "/verify.json"))
assert v["summary"]["mappings_compared"] >= 1 and v["summary"]["pages_compared"] >= 1, v["summary"]
bad = [f for f in v["findings"] if f["action"] in ("process-code-modified", "process-code-relocated")]
assert not bad, bad
PY
expect_rc 3 "$VIGIL" -q procs --data-root "$DATA" --container no-such-container
echo "procs_docker: ok"
