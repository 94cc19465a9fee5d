"""jupyter_kernel_test's conformance suite against the native `gan-rhai` kernel.

Run by tests/kernel.rs with JUPYTER_PATH pointing at a freshly installed kernelspec:
    python -m unittest -v test_protocol
"""
import os
import unittest

import jupyter_kernel_test as jkt


class GanKernelTests(jkt.KernelTests):
    kernel_name = "gan-rhai"
    language_name = "rhai"
    file_extension = ".rhai"

    code_hello_world = 'print("hello, world")'
    code_stderr = None

    completion_samples = [
        {"text": "gaussian_", "matches": {"gaussian_1d"}},
        {"text": "let s = stack(2).den", "matches": {"dense"}},
        {"text": "sample_f", "matches": {"sample_fixed"}},
    ]
    complete_code_samples = ["1 + 1", "let x = 3;", "fn twice(a) { a * 2 }", ""]
    incomplete_code_samples = ["fn f(a) {", "let a = [1, 2,", "let s = \"abc", "let y = 1 +"]
    invalid_code_samples = ["let x = 1 +* 2;", "let = 3;", "foo)"]

    code_inspect_sample = "stack"

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "let x = 2.0; x + 0.5", "result": "2.5"},
        {"code": "stack(784).dense(240).relu().output_size()", "result": "240"},
    ]

    code_generate_error = 'throw "boom"'

    if os.path.isdir(os.environ.get("GAN_DATA_DIR", "")):
        code_display_data = [
            {"code": 'show(mnist("test").rows_of(0, 10))', "mime": "image/png"},
        ]


if __name__ == "__main__":
    unittest.main()
