"""Executes examples/notebooks/01-quickstart.ipynb headless on the native kernel (nbclient) and
checks what it showed. Usage: python run_notebook.py NOTEBOOK [OUT.ipynb]"""
import re
import sys

import nbformat

from nbcheck import cell_starting, execute, number, png_size


def main():
    path = sys.argv[1]
    nb = execute(path)

    # the toy: a progress display (updated in place), a metrics table, the last metrics
    fit = cell_starting(nb, "toy.fit(")
    kinds = [o.output_type for o in fit.outputs]
    assert "display_data" in kinds and "execute_result" in kinds, kinds
    assert any("text/html" in o.get("data", {}) and "<table" in o.data["text/html"] for o in fit.outputs)
    assert "epoch 40" in fit.outputs[0].data["text/plain"], fit.outputs[0].data["text/plain"]

    # Figure 1: one 300×340 PNG
    fig = cell_starting(nb, "figure1(")
    pngs = [o.data["image/png"] for o in fig.outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 1 and png_size(pngs[0]) == (300, 340), [png_size(p) for p in pngs]

    # printed numbers in range
    stats = cell_starting(nb, "let s = toy.sample(")
    text = "".join(o.text for o in stats.outputs if o.output_type == "stream")
    mean, std = number(text, "sample mean"), number(text, "sample std")
    d_real, d_fake = number(text, "D(x)"), number(text, "D(G(z))")
    print(f"toy: p_g mean {mean:.3f} std {std:.3f}; D(x) {d_real:.3f} D(G(z)) {d_fake:.3f}")
    assert 3.0 <= mean <= 5.0, mean
    assert 0.02 <= std <= 1.5, std
    assert 0.2 <= d_real <= 0.8 and 0.2 <= d_fake <= 0.8, (d_real, d_fake)

    # MNIST: the sample grid is 10×10 digits of 28 px drawn 2× with 1 px gaps: 571×571
    grid = cell_starting(nb, "mg.sample(100)")
    res = [o for o in grid.outputs if o.output_type == "execute_result"]
    assert res and png_size(res[0].data["image/png"]) == (571, 571), res
    assert "Samples(100 rows × 784" in res[0].data["text/plain"]

    # the error cell names line 2 with a caret
    bad = cell_starting(nb, "let fine = stack(784);")
    errs = [o for o in bad.outputs if o.output_type == "error"]
    assert len(errs) == 1, bad.outputs
    e = errs[0]
    assert e.ename == "ScriptError", e.ename
    assert re.match(r"cell\[\d+\]:2:19: dense units must be a positive integer", e.traceback[0]), e.traceback
    assert "line 2" in e.evalue, e.evalue
    assert e.traceback[-1].strip() == "^", e.traceback

    step = cell_starting(nb, "mg.step")
    steps = int(step.outputs[0].data["text/plain"])
    assert steps > 0, steps
    print(f"mnist: {steps} steps")
    if len(sys.argv) > 2:
        nbformat.write(nb, sys.argv[2])
    print("notebook checks passed")


if __name__ == "__main__":
    main()
