#!/usr/bin/env python3
# Writes the seed corpus of fuzz_vhost_user (20 bytes of parameters, then a back-end's replies):
#   tools/fuzz/gen_vhost_user_seeds.py tools/fuzz/corpus/vhost_user
import struct, hashlib, sys
REPLY = 1 | 4
def msg(req, payload): return struct.pack('<III', req, REPLY, len(payload)) + payload
def u64(req, v): return msg(req, struct.pack('<Q', v))
def ack(req): return u64(req, 0)
def state(req, i, n): return msg(req, struct.pack('<II', i, n))
def cfg(off, n, data): return msg(24, struct.pack('<III', off, n, 0) + data[:n].ljust(n, b'\0'))

def params(features=1, numlog=7, desc=0x100, avail=0x200, used=0x300, base=0, index=0,
           cfgoff=0, cfglen=8):
    return struct.pack('<QBHHHBBBBx', features, numlog, desc, avail, used, base, index, cfgoff,
                       cfglen)

F_PROTO = 1 << 30
P_ALL = (1 << 0) | (1 << 3) | (1 << 9) | (1 << 13)
def full(proto=P_ALL, features=F_PROTO | 1, qnum=2, index=0):
    acks = bool(proto & (1 << 3)) and features & F_PROTO
    A = (lambda r: ack(r)) if acks else (lambda r: b'')
    E = (lambda: A(18)) if features & F_PROTO else (lambda: b'')
    s = u64(1, features)
    if features & F_PROTO:
        s += u64(15, proto)
        if proto & 1: s += u64(17, qnum)
    s += A(3) + A(2) + A(5)  # SET_OWNER, SET_FEATURES, SET_MEM_TABLE
    ring = A(8) + A(10) + A(9) + A(13) + A(14) + A(12) + E()
    s += ring + E() + state(11, index, 5) + ring
    if features & F_PROTO and proto & (1 << 9):
        s += cfg(0, 8, b'capacity') + A(25)
    s += E() + state(11, index, 9)
    if features & F_PROTO and proto & (1 << 13): s += A(34)
    return s

seeds = {
 'all_features': params() + full(),
 'ring_1': params(index=1) + full(index=1),
 'no_reply_ack': params() + full(proto=(1 << 9) | (1 << 13) | 1),
 'no_protocol_features': params() + full(proto=0, features=1),
 'garbage': params() + b'\xde\xad\xbe\xef' * 8,
 'ring_outside': params(numlog=15, used=0xfff0) + full(),
 'empty_config': params() + u64(1, F_PROTO | 1) + u64(15, 1 << 9) + ack(2) + msg(24, b''),
}
for name, data in seeds.items():
    h = hashlib.sha1(data).hexdigest()
    open(f'{sys.argv[1]}/{h}', 'wb').write(data)
