"""Executes examples/notebooks/03-dcgan.ipynb headless on the native kernel (nbclient) and checks
what it showed: the data, the summary tables, the fit, colour grids, no error.
Usage: python run_dcgan_notebook.py NOTEBOOK [OUT.ipynb] (GAN_IMAGES_DIR must hold shapes/)."""
import re
import sys

import nbformat

from nbcheck import cell_starting, colourful, execute, png_rgb, png_size


def result(cell):
    res = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert len(res) == 1, cell.outputs
    return res[0].data


def main():
    path = sys.argv[1]
    nb = execute(path)
    for c in nb.cells:
        if c.cell_type == "code":
            errs = [o for o in c.outputs if o.output_type == "error"]
            assert not errs, (c.source, errs)

    # 20 real images of 3×16×16, 10 per row, drawn 2× with 1 px gaps: 331 × 67, in colour
    real = result(cell_starting(nb, "data.rows_of("))
    assert "Samples(20 rows × 768" in real["text/plain"], real["text/plain"]
    assert png_size(real["image/png"]) == (331, 67), png_size(real["image/png"])
    assert colourful(png_rgb(real["image/png"])) > 500

    # summary(): one row per layer with its output shape and parameters, and the total
    gs = result(cell_starting(nb, "let g = stack(32)"))["text/plain"]
    print(gs)
    for row in [
        r"1 dense\(1024\)\s+1024\s+33792",
        r"2 reshape\(64, 4, 4\)\s+\[64, 4, 4\]\s+0",
        r"3 batch_norm\([^)]*\)\s+\[64, 4, 4\]\s+128",
        r"5 conv_transpose\(32, 4, stride 2, padding 1\)\s+\[32, 8, 8\]\s+32768",
        r"8 conv_transpose\(3, 4, stride 2, padding 1\)\s+\[3, 16, 16\]\s+1539",
        r"9 sigmoid\(\)\s+\[3, 16, 16\]\s+0",
    ]:
        assert re.search(row, gs), (row, gs)
    # dense 33·1024, batch norms 2·64 and 2·32, transposed convs 64·32·16 (no bias), 32·3·16 + 3
    total = 33 * 1024 + 2 * 64 + 64 * 32 * 16 + 2 * 32 + 32 * 3 * 16 + 3
    assert f"total parameters: {total}" in gs, gs
    ds = result(cell_starting(nb, "d.summary()"))["text/plain"]
    assert re.search(r"2 conv\(32, 4, stride 2, padding 1\)\s+\[32, 8, 8\]\s+1568", ds), ds
    assert re.search(r"5 batch_norm\([^)]*\)\s+\[64, 4, 4\]\s+128", ds), ds
    assert f"total parameters: {3 * 32 * 16 + 32 + 32 * 64 * 16 + 128 + 1025}" in ds, ds

    # the fit: a progress display and a metrics table, 3 epochs
    fit = cell_starting(nb, "dc.fit(")
    kinds = [o.output_type for o in fit.outputs]
    assert "display_data" in kinds and "execute_result" in kinds, kinds
    assert any("text/html" in o.get("data", {}) and "<table" in o.data["text/html"] for o in fit.outputs)
    assert "epoch 3" in fit.outputs[0].data["text/plain"], fit.outputs[0].data["text/plain"]

    # 100 samples, 10×10 colour images: 331 × 331, not gray
    s = result(cell_starting(nb, "dc.sample(100)"))
    assert "Samples(100 rows × 768" in s["text/plain"], s["text/plain"]
    assert png_size(s["image/png"]) == (331, 331), png_size(s["image/png"])
    n = colourful(png_rgb(s["image/png"]), spread=10)
    print(f"samples: {n} colour pixels")
    assert n > 0
    if len(sys.argv) > 2:
        nbformat.write(nb, sys.argv[2])
    print("dcgan notebook checks passed")


if __name__ == "__main__":
    main()
