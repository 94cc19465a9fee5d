"""Executes examples/notebooks/02-rust-evcxr.ipynb headless on the evcxr_jupyter kernel
(kernelspec `rust`, found through JUPYTER_PATH) with nbclient, checks what it showed and prints
timings. Usage: python run_evcxr_notebook.py NOTEBOOK [OUT.ipynb]

The kernel runs in the notebook's folder, as Jupyter runs it for a user, so the notebook's
`:dep gan = { path = "../.." }` names this repository without rewriting. The first code cell
compiles gan and its dependencies: minutes cold, seconds when EVCXR_TMPDIR still holds them."""
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient

from nbcheck import number, png_size

# The cold `:dep` build of dfdx, Rhai, plotters, tokio, … on 2 busy cores.
CELL_TIMEOUT = int(os.environ.get("GAN_EVCXR_CELL_TIMEOUT", "2400"))


def cell_containing(nb, needle):
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code" and needle in c.source:
            return i, c
    raise AssertionError(f"no code cell contains {needle!r}")


def result(cell):
    """The cell's rich output (evcxr sends one execute_result per cell)."""
    res = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert len(res) == 1, f"expected one execute_result, got {cell.outputs}"
    return res[0].data


def stdout(cell):
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def no_error(cell):
    errs = [o for o in cell.outputs if o.output_type == "error"]
    assert not errs, f"cell failed: {cell.source[:80]!r}: {errs}"
    stderr = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr")
    assert "panicked" not in stderr, stderr


class TimedClient(NotebookClient):
    """Records when each cell finished, counted from the kernel's start."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.done_at = {}
        self.started_at = None

    async def async_start_new_kernel(self, **kwargs):
        self.started_at = time.time()
        return await super().async_start_new_kernel(**kwargs)

    async def async_execute_cell(self, cell, cell_index, *a, **kw):
        r = await super().async_execute_cell(cell, cell_index, *a, **kw)
        self.done_at[cell_index] = time.time() - self.started_at
        return r


def main():
    path = os.path.abspath(sys.argv[1])
    nb = nbformat.read(path, as_version=4)
    client = TimedClient(
        nb,
        timeout=CELL_TIMEOUT,
        startup_timeout=600,
        kernel_name="rust",
        resources={"metadata": {"path": os.path.dirname(path)}},
    )
    t = time.time()
    client.execute()
    total = time.time() - t

    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    prev = 0.0
    for i in code:
        at = client.done_at.get(i, float("nan"))
        first = nb.cells[i].source.splitlines()[0][:60]
        print(f"cell {i:2}: done at {at:7.1f} s (+{at - prev:6.1f} s)  {first}")
        prev = at
    dep_i, dep = cell_containing(nb, ":dep gan")
    first_i, _ = cell_containing(nb, 'let toy = gan(')
    print(f"evcxr: :dep gan built at {client.done_at[dep_i]:.1f} s; first gan output (toy cell) "
          f"at {client.done_at[first_i]:.1f} s after the kernel start; notebook ran in {total:.1f} s")

    no_error(dep)
    _, c = cell_containing(nb, "Notebook::new")
    no_error(c)

    # the toy's declaration renders as text
    _, c = cell_containing(nb, 'let toy = gan(')
    no_error(c)
    assert result(c)["text/plain"].startswith("GAN `toy`"), result(c)

    # fit: the progress (its last state) and the epochs table, in one HTML output
    _, c = cell_containing(nb, "toy.fit(data, #{ epochs: 40")
    no_error(c)
    r = result(c)
    assert "<table" in r["text/html"], r
    assert "trained epochs 1–40" in r["text/plain"], r["text/plain"]

    # Figure 1: one 300×340 PNG, also inline in the HTML
    _, c = cell_containing(nb, "figure1(")
    no_error(c)
    r = result(c)
    assert png_size(r["image/png"]) == (300, 340), png_size(r["image/png"])
    assert "data:image/png;base64," in r["text/html"]

    # script values back in Rust: numbers in range, the history as a table
    _, c = cell_containing(nb, 'nb.var("toy")')
    no_error(c)
    text = stdout(c)
    mean, std = number(text, "p_g mean"), number(text, "std")
    print(f"toy: p_g mean {mean:.3f} std {std:.3f}")
    assert 3.0 <= mean <= 5.0, mean
    assert 0.02 <= std <= 1.5, std
    r = result(c)
    assert "<table" in r["text/html"] and r["text/html"].count("<tr") >= 10, r

    # MNIST: the sample grid is 10×10 digits of 28 px drawn 2× with 1 px gaps: 571×571
    _, c = cell_containing(nb, 'mnist("train")')
    no_error(c)
    assert "<table" in result(c)["text/html"]
    _, c = cell_containing(nb, 'nb.var("grid")')
    no_error(c)
    r = result(c)
    assert png_size(r["image/png"]) == (571, 571), png_size(r["image/png"])
    assert r["text/plain"].startswith("Samples(100 rows × 784"), r["text/plain"]

    # the compile-time-shaped model: sizes from the types, trained by the DSL
    _, c = cell_containing(nb, "TypedGan::<C<1>, C<1>>")
    no_error(c)
    text = stdout(c)
    # G: 1→32→32→1, D: 1→64→64→1 (weights and biases)
    assert number(text, "typed G:") == 2 * 32 + 33 * 32 + 33, text
    assert number(text, "D:") == 2 * 64 + 65 * 64 + 65, text
    r = result(c)
    assert "<table" in r["text/html"], r
    m = re.search(r"Samples\(2000 rows × 1, mean (-?[0-9.]+)", r["text/plain"])
    assert m and abs(float(m.group(1))) < 50, r["text/plain"]

    # a script error names line 2, column 19, with the source line and a caret
    _, c = cell_containing(nb, "let broken = fine.dense(0);")
    no_error(c)
    r = result(c)
    lines = r["text/plain"].splitlines()
    assert re.match(r"cell\[\d+\]:2:19: dense units must be a positive integer", lines[0]), lines
    assert "fine.dense(0)" in lines[1] and lines[2].strip() == "^", lines
    assert "color:#b00" in r["text/html"]

    # a typed D that reads 783 features after a 784-feature G does not compile
    _, c = cell_containing(nb, "TypedGan::<C<100>, C<783>>")
    errs = [o for o in c.outputs if o.output_type == "error"]
    assert errs, c.outputs
    msg = "\n".join([errs[0].evalue] + list(errs[0].traceback))
    msg = re.sub(r"\x1b\[[0-9;]*m", "", msg)
    # rustc names the declared D input and what G's stack actually gives
    assert "Const<783>" in msg and re.search(r"found `?(Const<)?784", msg), msg
    print("compile error:", errs[0].evalue.splitlines()[0])

    if len(sys.argv) > 2:
        nbformat.write(nb, sys.argv[2])
    print("evcxr notebook checks passed")


if __name__ == "__main__":
    main()
