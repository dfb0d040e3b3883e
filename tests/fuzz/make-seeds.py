#!/usr/bin/env python3
"""make-seeds.py - writes the seed corpora of the fuzz targets whose inputs
are built (parts, datagrams, mode bytes) rather than plain files:
ctl, audit_link, docker_json, docker_unit, docker_records, store, tarsplit.
Run from tests/fuzz/: python3 make-seeds.py (the output is committed)."""
import base64, glob, hashlib, os, struct

SEP = b"\n%%\n"
CHAIN = "7c1b5d4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"
# fuzz_docker_records prints its layer's chain id at start
REC_CHAIN = "sha256:2d1841bbd0bd958a9444fb0e6224b117467d4399bf445bddca71ae46576eb10e"


def put(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- ctl: request streams, one part per write
put("ctl", "status", b'{"cmd":"status"}\n')
put("ctl", "pipelined", b'{"cmd":"status"}\n{"cmd":"check"}\n{"cmd":"rescan"}\n')
put("ctl", "split", b'{"cmd":' + SEP + b'"status"}' + SEP + b"\n")
put("ctl", "errors", b'[1]\n{"x":1}\n{"cmd":1}\n{"cmd":"bad"}\n')
put("ctl", "dup", b'{"cmd":"status","cmd":"check"}\r\n  \n{"cmd":"reload"} \n')
put("ctl", "long", b'{"cmd":"' + b"a" * 5000 + b'"}\n')
put("ctl", "deferred", b'{"cmd":"check"}\n' + SEP + b'{"cmd":"status"}\n\x01')

# --- audit_link: datagrams (2-byte length + nlmsghdr + payload) from the
# audit corpus's records
TYPES = {"SYSCALL": 1300, "PATH": 1302, "CWD": 1307, "EXECVE": 1309, "EOE": 1320,
         "PROCTITLE": 1327, "SOCKADDR": 1306, "CONFIG_CHANGE": 1305}


def dgram(t, payload):
    body = struct.pack("<IHHII", 16 + len(payload), t, 0, 0, 0) + payload
    return struct.pack("<H", len(body)) + body


for path in sorted(glob.glob("corpus/audit/*.txt")):
    out = b""
    for line in open(path, "rb").read().splitlines():
        if not line.startswith(b"type="):
            continue
        name, _, rest = line[5:].partition(b" ")
        payload = rest[4:] if rest.startswith(b"msg=") else rest
        out += dgram(TYPES.get(name.decode(), 1300), payload + b"\0")
    put("audit_link", os.path.basename(path)[:-4], out)
put("audit_link", "lost", b"\xff\xff" + b"\xfe\xff" + dgram(1320, b"audit(1.000:1): "))
put("audit_link", "short", b"\x04\x00abcd" + dgram(3, b"") + dgram(2, b"x"))

# --- docker_json: parts (see fuzz_docker_json.c)
imgcfg = b'{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},' \
         b'"rootfs":{"type":"layers","diff_ids":["sha256:' + CHAIN.encode() + b'"]}}'
imgid = "sha256:" + hashlib.sha256(imgcfg).hexdigest()
repos = b'{"Repositories":{"busybox":{"busybox:1":"' + imgid.encode() + b'"}}}'
cdir = "corpus/docker_json/"
cfgv2 = open(cdir + "config_v2.json", "rb").read().replace(b"sha256:" + b"b" * 64, imgid.encode())
hostcfg = open(cdir + "hostconfig.json", "rb").read()
daemon = open(cdir + "daemon.json", "rb").read()
unit = b"[Service]\nExecStart=/usr/bin/dockerd -H fd:// --data-root /d\n"
parts = [imgcfg, repos, cfgv2, hostcfg, b"sha256:" + CHAIN.encode() + b"\n", b"cache0\n", b"",
         b"cache0\n", daemon, unit]
put("docker_json", "all-parts", SEP.join(parts))
put("docker_json", "no-layerdb", SEP.join(parts[:4]))

# --- docker_unit: parts (see fuzz_docker_unit.c)
put("docker_unit", "etc-unit", b"[Unit]\nDescription=Docker\n[Service]\n"
    b"ExecStart=/usr/bin/dockerd --data-root=/srv/docker -H fd://\n")
put("docker_unit", "dropin", SEP.join([b"", b"[Service]\nExecStart=/usr/bin/dockerd\n",
    b"[Service]\nExecStart=\nExecStart=-/usr/bin/dockerd -g /srv/docker\n"]))
put("docker_unit", "default", SEP.join([b"", b"", b"", b'DOCKER_OPTS="--data-root /srv/docker"\n',
    b"OPTIONS=--data-root=/srv/docker\n", b'{"data-root":"/srv/docker"}',
    b"[Service]\nExecStart=/usr/sbin/runc\n"]))
put("docker_unit", "relative", b"[Service]\nExecStart=dockerd --data-root relative\nExecStart=@/usr/bin/dockerd dockerd\n")

# --- docker_records: (kind, key, data) triples
rec = b'{"cache_id":"f0220002","diff_id":"' + REC_CHAIN.encode() + b'","digest":"' + \
      REC_CHAIN.encode() + b'","first_bad":null,"images":null,"size":100,"status":"ok"}'
put("docker_records", "match", SEP.join([b"layer", REC_CHAIN.encode(), rec]))
put("docker_records", "retired", SEP.join([b"layer", REC_CHAIN.encode(), rec, b"", b"sha256:" + b"0" * 64,
    b'{"status":"modified"}']))
put("docker_records", "garbage", SEP.join([b"layer", REC_CHAIN.encode(), b"{\"baseline\": [1,2", b"image", b"x", b"\0\xff"]))

# --- store: rows of typed values (see fuzz_store_fx.c); columns in schema
# order: path ftype mode uid gid size mtime ctime ino dev rdev nlink target
# xattrs flags has_flags algos digests status err scope


def i64(v): return b"\x01" + struct.pack("<q", v)
def blob(b): return b"\x04" + bytes([len(b)]) + b
def text(b): return b"\x03" + bytes([len(b)]) + b
NULL = b"\x00"
row = blob(b"/etc/passwd") + i64(1) + i64(0o644) + i64(0) + i64(0) + i64(1234) + i64(1700000000 * 10**9) + \
      i64(1700000000 * 10**9) + i64(42) + i64(2049) + i64(0) + i64(1) + NULL + blob(b"") + i64(0) + i64(0) + \
      i64(1) + blob(b"\x11" * 32) + i64(0) + i64(0) + text(b"host-config")
put("store", "one-row", row)
row2 = blob(b"/etc/\xffbad") + i64(2) + i64(0o755) + i64(-1) + i64(0) + i64(0) + i64(-1) + i64(0) + i64(0) + \
       i64(0) + i64(0) + i64(2) + blob(b"../../x") + blob(b"user.a\0v\0") + i64(0x10) + i64(1) + i64(3) + \
       blob(b"\x22" * 20) + i64(1) + i64(13) + text(b"x" * 40)
put("store", "two-rows", row + row2)

# --- tarsplit: mode byte 0 + JSON lines (the older corpus had no mode byte)
for path in sorted(glob.glob("corpus/tarsplit/*.jsonl")):
    data = open(path, "rb").read()
    if not data.startswith(b"\0"):
        put("tarsplit", os.path.basename(path), b"\0" + data)

# --- tarsplit: the tar-split of fuzz_tarsplit.c's own layer (as
# tests/unit/docker_fixture.c writes it), so the seeds reach the payload path


def crc64_iso(data):
    crc = 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0xD800000000000000 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFFFFFFFFFF


def tar_header(name, mode, size, mtime, typ, link=""):
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"%011o\0" % mtime
    h[156] = ord(typ)
    h[157:157 + len(link)] = link.encode()
    h[257:265] = b"ustar\x0000"
    h[148:156] = b" " * 8
    s = sum(h)
    h[148:155] = b"%06o\0" % s
    h[155] = ord(" ")
    return bytes(h)


LAYER = [("etc/", "5", 0o755, None, 1700000000), ("etc/passwd", "0", 0o644, "root:x:0:0:root:/root:/bin/sh\n", 1700000001),
         ("etc/empty", "0", 0o600, "", 1700000002), ("bin/", "5", 0o755, None, 1700000003),
         ("bin/sh", "0", 0o755, "#!/bin/busybox sh\n", 1700000004), ("bin/ash", "2", 0o777, "sh", 1700000005),
         ("opt/", "5", 0o755, None, 1700000006), ("opt/.wh..wh..opq", "0", 0o644, "", 1700000007),
         ("var/", "5", 0o755, None, 1700000008), ("var/.wh.gone", "0", 0o644, "", 1700000009)]


def tarsplit_lines(entries):
    out, pos = [], 0
    for name, typ, mode, data, mtime in entries:
        size = len(data) if typ == "0" else 0
        hdr = tar_header(name, mode, size, mtime, typ, data if typ == "2" else "")
        out.append('{"type":2,"payload":"%s","position":%d}' % (base64.b64encode(hdr).decode(), pos)); pos += 1
        if typ == "0":
            crc = base64.b64encode(crc64_iso(data.encode()).to_bytes(8, "big")).decode()
            out.append('{"type":1,"name":"%s","size":%d,"payload":"%s","position":%d}' % (name, size, crc, pos)); pos += 1
            if size % 512:
                out.append('{"type":2,"payload":"%s","position":%d}' % (base64.b64encode(bytes(512 - size % 512)).decode(), pos)); pos += 1
        else:
            out.append('{"type":1,"name":"%s","payload":null,"position":%d}' % (name, pos)); pos += 1
    out.append('{"type":2,"payload":"%s","position":%d}' % (base64.b64encode(bytes(1024)).decode(), pos))
    return ("\n".join(out) + "\n").encode()


import gzip
lines = tarsplit_lines(LAYER)
put("tarsplit", "fixture.jsonl", b"\0" + lines)
put("tarsplit", "fixture.gz", b"\1" + gzip.compress(lines, mtime=0))
# a file changed under the layer (wrong CRC): the second pass names it
put("tarsplit", "fixture-crc.jsonl", b"\0" + lines.replace(b'"name":"etc/passwd","size":31,"payload":"', b'"name":"etc/passwd","size":31,"payload":"A', 1))

# --- cis: parts (see fuzz_cis.c)
cis_unit = b"[Service]\nExecStart=/usr/bin/dockerd -H fd:// --icc=false\n"
cis_dropin = b"[Service]\nExecStart=\nExecStart=/usr/bin/dockerd $DOCKER_OPTS \\\n  --live-restore\n"
cis_parts = [cfgv2, hostcfg, daemon, cis_unit, cis_dropin, b'DOCKER_OPTS="-l debug --insecure-registry r:5000"\n',
             b"-w /usr/bin/dockerd -k docker\n", b"docker:x:999:alice\n"]
put("cis", "all-parts", SEP.join(cis_parts))
put("cis", "dup-keys", SEP.join([cfgv2, hostcfg, b'{"icc": true,\n"icc": false}']))
put("cis", "truncated", SEP.join([cfgv2[:40], hostcfg[:25]]))
