#!/usr/bin/env python3
"""mkkcore.py OUT IOMEM: a synthetic /proc/kcore (ELF64 core) and the /proc/iomem
that goes with it, for tests/integration/memdump_kcore.sh.  Physical byte at
address a is pat(a); the first System RAM range ends mid-page past its segment
(as on real machines: the tail is a hole), a kernel-text segment overlaps the
direct map, and a vmalloc segment has p_paddr -1.
   mkkcore.py check DUMP: prints every body byte that is neither pat(a) nor 0."""
import struct
import sys


def pat(a):
    return ((a * 131) ^ (a >> 12)) & 0xff


def body(start, size):
    return bytes(pat(a) for a in range(start, start + size))


def make(out, iomem):
    # (p_type, paddr, size)
    segs = [(4, 0, 0x40), (1, 0xffffffffffffffff, 0x2000), (1, 0x1000, 0x9e000),
            (1, 0x100000, 0x60000), (1, 0x120000, 0x4000), (1, 0x200000, 0x3000)]
    phoff = 64
    data_off = 0x1000
    blobs, phdrs = [], b''
    for t, paddr, size in segs:
        off = data_off
        phdrs += struct.pack('<IIQQQQQQ', t, 7, off, 0xffff888000000000 + (paddr & 0xffffffff),
                             paddr, size, size, 0x1000)
        if t == 1 and paddr != 0xffffffffffffffff:
            blobs.append((off, body(paddr, size)))
        data_off += (size + 0xfff) & ~0xfff
    ident = b'\x7fELF' + bytes([2, 1, 1]) + bytes(9)
    eh = ident + struct.pack('<HHIQQQIHHHHHH', 4, 62, 1, 0, phoff, 0, 0, 64, 56, len(segs), 0, 0, 0)
    with open(out, 'wb') as f:
        f.write(eh)
        f.write(phdrs)
        for off, b in blobs:
            f.seek(off)
            f.write(b)
    with open(iomem, 'w') as f:
        f.write("00000000-00000fff : Reserved\n"
                "00001000-0009fbff : System RAM\n"
                "0009fc00-0009ffff : Reserved\n"
                "00100000-0015ffff : System RAM\n"
                "  00120000-00123fff : Kernel code\n"
                "00160000-001fffff : Reserved\n"
                "00200000-00203fff : System RAM\n")


def check(dump):
    data = open(dump, 'rb').read()
    pos, bad = 0, 0
    while pos < len(data):
        magic, ver, start, end, res = struct.unpack_from('<IIQQQ', data, pos)
        pos += 32
        n = end - start + 1
        chunk = data[pos:pos + n]
        for i, b in enumerate(chunk):
            if b != 0 and b != pat(start + i):
                bad += 1
                if bad < 5:
                    print('bad byte at 0x%x: 0x%02x' % (start + i, b))
        pos += n
    return bad


if __name__ == '__main__':
    if sys.argv[1] == 'check':
        sys.exit(1 if check(sys.argv[2]) else 0)
    make(sys.argv[1], sys.argv[2])
