#!/usr/bin/env python3
"""Compares a PNG screenshot with the picture tests/guests/virtio_gpu.c draws (gpu_pattern plus
the white box), pixel for pixel. Usage: display_png_check.py FILE WIDTH HEIGHT [nobox]
(nobox: the picture before the box was drawn, as a snapshot taken in the guest's wait shows it)
Reads any 8-bit RGB/RGBA PNG (filters 0-4) with the standard library only. Exit 0 on a match."""
import struct, sys, zlib

BOX = (10, 12, 21, 13)  # x, y, w, h: as in virtio_gpu.c


NOBOX = len(sys.argv) > 4 and sys.argv[4] == 'nobox'


def expected(x, y):
    bx, by, bw, bh = BOX
    if not NOBOX and bx <= x < bx + bw and by <= y < by + bh:
        return (255, 255, 255)
    return ((x * 7 + y) & 0xff, (y * 5) & 0xff, ((x ^ y) * 3) & 0xff)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def read_png(path):
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    pos, idat = 8, b''
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if zlib.crc32(data[pos + 4:pos + 8 + n]) != struct.unpack('>I', data[pos + 8 + n:pos + 12 + n])[0]:
            raise SystemExit(f'{path}: bad CRC in {kind}')
        if kind == b'IHDR':
            w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
            assert depth == 8 and ctype in (2, 6), f'unsupported PNG type {depth}/{ctype}'
            bpp = 3 if ctype == 2 else 4
        elif kind == b'IDAT':
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            c = prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + [0, a, prev[i], (a + prev[i]) // 2, paeth(a, prev[i], c)][f]) & 0xff
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main():
    path, want_w, want_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    w, h, bpp, rows = read_png(path)
    if (w, h) != (want_w, want_h):
        raise SystemExit(f'{path}: {w}x{h}, want {want_w}x{want_h}')
    bad = 0
    for y in range(h):
        for x in range(w):
            got = tuple(rows[y][x * bpp:x * bpp + 3])
            if got != expected(x, y):
                if bad < 5:
                    print(f'pixel ({x},{y}) = {got}, want {expected(x, y)}')
                bad += 1
    if bad:
        raise SystemExit(f'{path}: {bad} of {w * h} pixels differ')
    print(f'{path}: {w}x{h}, all {w * h} pixels match')


if __name__ == '__main__':
    main()
