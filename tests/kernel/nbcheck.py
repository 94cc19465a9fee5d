"""Checks shared by the notebook runners (run_notebook.py, run_evcxr_notebook.py)."""
import base64
import re
import struct


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
