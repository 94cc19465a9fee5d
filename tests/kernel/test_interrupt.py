"""Start-up time, and an interrupt during training: the reply must come within 2 s and the next
cell must see the trained model (step > 0). Prints the timings it measured."""
import queue
import sys
import time

from jupyter_client.manager import start_new_kernel

SETUP = """seed(7);
let data = gaussian_1d(4.0, 0.5);
let toy = gan(stack(1).dense(32, 0.5).tanh().dense(32, 0.5).tanh().dense(1, 0.5),
              stack(1).dense(64, 0.5).relu().dense(64, 0.5).relu().dense(1, 0.5),
              #{ noise_scale: 1.0 });"""


def first_output_time():
    """Seconds from starting a kernel to the result of its first cell."""
    t = time.time()
    km, kc = start_new_kernel(kernel_name="gan-rhai")
    ready = time.time() - t
    r = kc.execute_interactive("6 * 7", timeout=30, output_hook=lambda m: None)
    total = time.time() - t
    assert r["content"]["status"] == "ok"
    return km, kc, ready, total


def main():
    km, kc, ready, total = first_output_time()
    print(f"first kernel: ready in {ready:.2f} s, first result {total:.2f} s after start")
    km.shutdown_kernel(now=True)
    km, kc, ready, total = first_output_time()
    print(f"second kernel: ready in {ready:.2f} s, first result {total:.2f} s after start")
    try:
        r = kc.execute_interactive(SETUP, timeout=60, output_hook=lambda m: None)
        assert r["content"]["status"] == "ok", r["content"]
        # drain iopub
        while True:
            try:
                kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                break
        msg_id = kc.execute("toy.fit(data, #{ epochs: 100000, batch: 100 })")
        # wait until training is visibly under way (the progress display)
        deadline = time.time() + 60
        while True:
            m = kc.get_iopub_msg(timeout=max(0.1, deadline - time.time()))
            if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "display_data":
                break
        time.sleep(1.0)
        t = time.time()
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=10)
        latency = time.time() - t
        assert reply["parent_header"]["msg_id"] == msg_id
        c = reply["content"]
        print(f"interrupt: execute_reply after {latency * 1000:.0f} ms ({c['status']}, {c.get('ename')}: {c.get('evalue')})")
        assert c["status"] == "error" and c["ename"] == "Interrupted", c
        assert latency < 2.0, latency
        out = []
        r = kc.execute_interactive(
            "toy.step", timeout=30,
            output_hook=lambda m: out.append(m) if m["msg_type"] == "execute_result" else None)
        step = int(out[0]["content"]["data"]["text/plain"])
        print(f"after the interrupt: toy.step = {step}")
        assert step > 0, step
        # and training continues from there
        out.clear()
        r = kc.execute_interactive(
            "toy.fit(data, #{ epochs: 1 }); toy.step", timeout=60,
            output_hook=lambda m: out.append(m) if m["msg_type"] == "execute_result" else None)
        assert r["content"]["status"] == "ok", r["content"]
        later = int(out[0]["content"]["data"]["text/plain"])
        assert later > step, (later, step)
        print("interrupt checks passed")
    finally:
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
