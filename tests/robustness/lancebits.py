"""Byte-level helpers for crafting corrupt Lance files: a minimal protobuf wire codec (enough to
edit known fields without generated code), and the layouts of v2.x data files and manifests.

Protobuf messages are decoded into a list of [field_number, wire_type, value] entries (value: int
for varints/fixed, bytes for length-delimited); encode() turns such a list back into bytes, so an
edit is: decode, change entries, encode."""
import struct


# ---------------------------------------------------------------------------- protobuf wire

def read_varint(b, i):
    shift = v = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        if v:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


def decode(b):
    out, i = [], 0
    while i < len(b):
        key, i = read_varint(b, i)
        fn, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 1:
            v = struct.unpack_from("<Q", b, i)[0]
            i += 8
        elif wt == 2:
            n, i = read_varint(b, i)
            v = bytes(b[i:i + n])
            i += n
        elif wt == 5:
            v = struct.unpack_from("<I", b, i)[0]
            i += 4
        else:
            raise ValueError(f"wire type {wt}")
        out.append([fn, wt, v])
    return out


def encode(msg):
    out = bytearray()
    for fn, wt, v in msg:
        out += varint((fn << 3) | wt)
        if wt == 0:
            out += varint(v)
        elif wt == 1:
            out += struct.pack("<Q", v)
        elif wt == 2:
            out += varint(len(v)) + v
        elif wt == 5:
            out += struct.pack("<I", v)
    return bytes(out)


def packed_varints(b):
    vals, i = [], 0
    while i < len(b):
        v, i = read_varint(b, i)
        vals.append(v)
    return vals


def pack_varints(vals):
    return b"".join(varint(v) for v in vals)


def get(msg, fn):
    return [e for e in msg if e[0] == fn]


def set_varint(msg, fn, value):
    """Sets (or adds) the single varint field fn."""
    for e in msg:
        if e[0] == fn:
            e[1], e[2] = 0, value
            return msg
    msg.append([fn, 0, value])
    return msg


def repeated_u64(msg, fn):
    """Values of a repeated uint64 field, packed or not."""
    vals = []
    for e in get(msg, fn):
        vals += packed_varints(e[2]) if e[1] == 2 else [e[2]]
    return vals


def set_repeated_u64(msg, fn, vals):
    msg[:] = [e for e in msg if e[0] != fn]
    msg.append([fn, 2, pack_varints(vals)])
    return msg


# ---------------------------------------------------------------------------- v2 data files

FOOTER = 40


class DataFile:
    """Layout of a Lance v2.x data file: footer fields, the CMO/GBO tables, column metadata
    blocks and, per column, its pages' buffers (absolute [offset, size) pairs)."""

    def __init__(self, data):
        self.data = bytes(data)
        d = self.data
        (self.cm_start, self.cmo_start, self.gbo_start, self.n_gb, self.n_cols, self.major,
         self.minor) = struct.unpack_from("<QQQIIHH", d, len(d) - FOOTER)
        assert d[-4:] == b"LANC"
        self.cmo = [struct.unpack_from("<QQ", d, self.cmo_start + 16 * c) for c in range(self.n_cols)]
        self.gbo = [struct.unpack_from("<QQ", d, self.gbo_start + 16 * g) for g in range(self.n_gb)]
        self.columns = [decode(d[p:p + n]) for p, n in self.cmo]

    def pages(self, c):
        return [decode(e[2]) for e in get(self.columns[c], 2)]

    def page_buffers(self, c):
        """[(page index, buffer index, offset, size)] of column c."""
        out = []
        for p, pg in enumerate(self.pages(c)):
            offs, sizes = repeated_u64(pg, 1), repeated_u64(pg, 2)
            out += [(p, i, o, s) for i, (o, s) in enumerate(zip(offs, sizes))]
        return out

    def boundaries(self):
        """Named structural offsets, ascending and unique (for truncation)."""
        pts = {"cm_start": self.cm_start, "cmo_start": self.cmo_start, "gbo_start": self.gbo_start,
               "footer": len(self.data) - FOOTER}
        for c, (p, n) in enumerate(self.cmo):
            pts[f"col{c}_meta"] = p
            pts[f"col{c}_meta_mid"] = p + n // 2
        for g, (p, n) in enumerate(self.gbo):
            pts[f"gb{g}"] = p
            pts[f"gb{g}_mid"] = p + n // 2
        for c in range(min(self.n_cols, 4)):
            for p, i, o, s in self.page_buffers(c)[:3]:
                pts[f"col{c}_page{p}_buf{i}"] = o
                pts[f"col{c}_page{p}_buf{i}_mid"] = o + s // 2
        return pts

    def with_columns(self, columns):
        """Rebuilds the file with new column metadata messages (lists), rewriting the CMO table;
        everything before cm_start (pages, global buffers written there) is kept as is, and
        bytes between the column metadata and the CMO table are shifted."""
        d = self.data
        cm_end = max(p + n for p, n in self.cmo) if self.cmo else self.cm_start
        body = bytearray(d[:self.cm_start])
        cmo = []
        for m in columns:
            b = encode(m)
            cmo.append((len(body), len(b)))
            body += b
        delta = len(body) - cm_end
        body += d[cm_end:self.cmo_start]
        cmo_start = len(body)
        body += b"".join(struct.pack("<QQ", p, n) for p, n in cmo)
        gbo = [(p + delta if p >= cm_end else p, n) for p, n in self.gbo]
        gbo_start = len(body)
        body += b"".join(struct.pack("<QQ", p, n) for p, n in gbo)
        body += struct.pack("<QQQIIHH", self.cm_start, cmo_start, gbo_start, self.n_gb, self.n_cols,
                            self.major, self.minor) + b"LANC"
        return bytes(body)

    def with_footer(self, **kw):
        f = dict(cm_start=self.cm_start, cmo_start=self.cmo_start, gbo_start=self.gbo_start,
                 n_gb=self.n_gb, n_cols=self.n_cols, major=self.major, minor=self.minor)
        f.update(kw)
        foot = struct.pack("<QQQIIHH", f["cm_start"], f["cmo_start"], f["gbo_start"], f["n_gb"],
                           f["n_cols"], f["major"], f["minor"]) + b"LANC"
        return self.data[:-FOOTER] + foot


# ---------------------------------------------------------------------------- manifests

class Manifest:
    """A manifest file: [u32 len][Manifest protobuf] ... [u64 pos][u16 major][u16 minor]LANC."""

    def __init__(self, data):
        self.data = bytes(data)
        assert self.data[-4:] == b"LANC"
        self.pos = struct.unpack_from("<Q", self.data, len(self.data) - 16)[0]
        n = struct.unpack_from("<I", self.data, self.pos)[0]
        self.msg = decode(self.data[self.pos + 4:self.pos + 4 + n])

    def fields(self):
        """The schema's Field messages (decoded, in order)."""
        return [decode(e[2]) for e in get(self.msg, 1)]

    def fragments(self):
        return [decode(e[2]) for e in get(self.msg, 2)]

    def with_fields(self, fields):
        return self.with_message([e for e in self.msg if e[0] != 1] +
                                 [[1, 2, encode(f)] for f in fields])

    def with_fragments(self, frags):
        others = [e for e in self.msg if e[0] != 2]
        return self.with_message(others + [[2, 2, encode(f)] for f in frags])

    def with_message(self, msg):
        body = encode(msg)
        head = self.data[:self.pos]
        foot = self.data[-16:]
        return head + struct.pack("<I", len(body)) + body + struct.pack("<Q", len(head)) + foot[8:]

    def boundaries(self):
        n = len(self.data)
        return {"start": 0, "len_prefix": self.pos, "message": self.pos + 4,
                "message_mid": self.pos + 4 + (n - 16 - self.pos - 4) // 2, "footer": n - 16,
                "footer_mid": n - 8, "last_byte": n - 1}
