"""A cell that panics inside gan answers with an InternalError reply, and the same kernel runs the
next cells with the earlier variables (before, every later cell answered "the session thread
stopped"). GAN_TEST_PANIC registers `test_panic`, which no recipe has: no real input is known to
panic."""
import os

from jupyter_client.manager import start_new_kernel


def run(kc, code):
    """The execute_reply's content and the text/plain results of `code`."""
    results = []

    def hook(m):
        if m["msg_type"] == "execute_result":
            results.append(m["content"]["data"]["text/plain"])

    r = kc.execute_interactive(code, timeout=30, output_hook=hook)
    return r["content"], results


def main():
    env = dict(os.environ, GAN_TEST_PANIC="1", RUST_BACKTRACE="1")
    km, kc = start_new_kernel(kernel_name="gan-rhai", env=env)
    try:
        c, _ = run(kc, "let a = 41;")
        assert c["status"] == "ok", c
        c, _ = run(kc, 'let b = 5; test_panic("boom-7")')
        print(f"panicking cell: {c['status']} {c.get('ename')}: {c.get('evalue')}")
        assert c["status"] == "error", c
        assert c["ename"] == "InternalError", c
        assert "boom-7" in c["evalue"], c
        for _ in range(2):
            c, out = run(kc, "a + 1")
            assert c["status"] == "ok", c
            assert out == ["42"], out
        c, _ = run(kc, "b")
        assert c["status"] == "error" and "b" in c["evalue"], c
        assert km.is_alive()
        print("panic checks passed")
    finally:
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
