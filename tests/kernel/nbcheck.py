"""Checks shared by the notebook runners (run_notebook.py, run_evcxr_notebook.py)."""
import base64
import re
import struct
import time


def png_size(b64):
    """(width, height) of a base64 PNG, after checking it is one."""
    raw = base64.b64decode(b64)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert raw[12:16] == b"IHDR"
    return struct.unpack(">II", raw[16:24])


def number(text, label):
    """The number printed right after `label` in `text`."""
    m = re.search(re.escape(label) + r" (-?[0-9.eE+-]+)", text)
    assert m, f"{label!r} not printed in {text!r}"
    return float(m.group(1))


def png_rgb(b64):
    """The pixels of a base64 8-bit RGB PNG (colour type 2, not interlaced) as rows of (r, g, b)."""
    import zlib

    raw = base64.b64decode(b64)
    w, h = png_size(b64)
    depth, colour, _, _, interlace = raw[24:29]
    assert (depth, colour, interlace) == (8, 2, 0), (depth, colour, interlace)
    data, pos = b"", 8
    while pos < len(raw):
        (n,) = struct.unpack(">I", raw[pos:pos + 4])
        if raw[pos + 4:pos + 8] == b"IDAT":
            data += raw[pos + 8:pos + 8 + n]
        pos += 12 + n
    data = zlib.decompress(data)
    stride, rows, prev = 3 * w, [], bytearray(3 * w)
    for y in range(h):
        f, line = data[y * (stride + 1)], bytearray(data[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b, c = prev[i], prev[i - 3] if i >= 3 else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            else:
                assert f == 0, f"PNG filter {f}"
        rows.append([tuple(line[x * 3:x * 3 + 3]) for x in range(w)])
        prev = line
    return rows


def colourful(rows, spread=40):
    """How many pixels have channels at least `spread` apart (0 for a grayscale picture)."""
    return sum(1 for r in rows for p in r if max(p) - min(p) >= spread)


def execute(path):
    """The notebook at `path`, executed on the native kernel."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    t = time.time()
    NotebookClient(nb, timeout=600, kernel_name="gan-rhai").execute()
    print(f"notebook ran in {time.time() - t:.1f} s")
    return nb


def cell_starting(nb, prefix):
    for c in nb.cells:
        if c.cell_type == "code" and c.source.startswith(prefix):
            return c
    raise AssertionError(f"no code cell starts with {prefix!r}")
