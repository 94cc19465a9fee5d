//! `gan repl` in a pseudo-terminal: multi-line input, Tab completion, an error with its caret,
//! Ctrl-C during training (the next command sees the trained model), `:vars`, `:help`, history,
//! and Ctrl-C twice at an empty prompt to leave.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::session::{spawn_command, PtySession};

fn mnist_dir() -> PathBuf {
    match std::env::var_os("GAN_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist"),
    }
}

fn repl(home: &Path) -> PtySession {
    repl_with(home, &[])
}

fn repl_with(home: &Path, env: &[(&str, &str)]) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gan"));
    cmd.envs(env.iter().copied());
    cmd.arg("repl")
        .current_dir(home)
        .env("HOME", home)
        .env_remove("XDG_STATE_HOME")
        .env_remove("GAN_HISTORY")
        .env("TERM", "xterm")
        .env("GAN_DATA_DIR", mnist_dir());
    let mut p = spawn_command(cmd, Some(60_000)).expect("spawning gan repl");
    p.exp_string("outputs go to").unwrap();
    p.exp_string("gan> ").unwrap();
    p
}

#[test]
fn repl_multiline_completion_errors_interrupt_and_history() {
    let home = tempfile::tempdir().unwrap();
    let mut p = repl(home.path());

    // multi-line input: an open block continues under the `...>` prompt
    p.send_line("fn sq(v) {").unwrap();
    p.exp_string("...> ").unwrap();
    p.send_line("  v * v + 1").unwrap();
    p.exp_string("...> ").unwrap();
    p.send_line("}").unwrap();
    p.exp_string("gan> ").unwrap();
    p.send_line("sq(12)").unwrap();
    p.exp_string("145").unwrap();
    p.exp_string("gan> ").unwrap();

    // an unfinished call, too
    p.send_line("let arr = [1, 2,").unwrap();
    p.exp_string("...> ").unwrap();
    p.send_line("3, 4];").unwrap();
    p.exp_string("gan> ").unwrap();

    // Tab completes a DSL function (gaussian_ → gaussian_1d) and a variable (ar → arr)
    p.send("gaussian_\t").unwrap();
    p.flush().unwrap();
    p.exp_string("1d").unwrap();
    p.send_line("(4.0, 0.5).rows").unwrap();
    p.exp_string("10000").unwrap();
    p.exp_string("gan> ").unwrap();
    p.send("ar\t").unwrap();
    p.flush().unwrap();
    p.exp_string("r").unwrap();
    p.send_line(".len() * 1000 + 7").unwrap();
    p.exp_string("4007").unwrap();
    p.exp_string("gan> ").unwrap();

    // an error shows the source line and a caret under the column
    p.send_line("let q = stack(0);").unwrap();
    let (_, m) = p
        .exp_regex(r"cell\[\d+\]:1:9: stack input size must be a positive integer, got 0")
        .unwrap();
    assert!(m.contains(":1:9:"));
    p.exp_string("1 | let q = stack(0);").unwrap();
    p.exp_string("^").unwrap();
    p.exp_string("gan> ").unwrap();

    // :help NAME
    p.send_line(":help maxout").unwrap();
    p.exp_string("Stack.maxout(units: int, pieces: int) -> Stack")
        .unwrap();
    p.exp_string("gan> ").unwrap();

    // Ctrl-C during training stops it at a step; the model keeps its state
    p.send_line("seed(7); let data = gaussian_1d(4.0, 0.5);")
        .unwrap();
    p.exp_string("gan> ").unwrap();
    p.send_line(
        "let toy = gan(stack(1).dense(32).tanh().dense(1), stack(1).dense(32).relu().dense(1));",
    )
    .unwrap();
    p.exp_string("gan> ").unwrap();
    p.send_line("toy.fit(data, #{ epochs: 100000 })").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let t = Instant::now();
    p.send_control('c').unwrap();
    p.exp_string("interrupted at step").unwrap();
    let latency = t.elapsed();
    eprintln!("REPL interrupt latency: {} ms", latency.as_millis());
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    p.exp_string("keeps its state").unwrap();
    p.exp_string("gan> ").unwrap();
    p.send_line("print(`trained steps: ${toy.step}`)").unwrap();
    let (_, m) = p.exp_regex(r"trained steps: \d+").unwrap();
    let steps: u64 = m.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(steps > 0, "{m}");
    p.exp_string("gan> ").unwrap();
    // fit again continues from there
    p.send_line("toy.fit(data, #{ epochs: 1 }); print(`now ${toy.step}`)")
        .unwrap();
    let (_, m) = p.exp_regex(r"now \d+").unwrap();
    let later: u64 = m.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(later > steps, "{later} after {steps}");
    p.exp_string("gan> ").unwrap();

    // :vars lists the session's variables with types
    p.send_line(":vars").unwrap();
    p.exp_string("toy: Gan = GAN `gan`").unwrap();
    p.exp_string("functions: sq").unwrap();
    p.exp_string("gan> ").unwrap();

    // Ctrl-C twice at an empty prompt leaves
    p.send_control('c').unwrap();
    p.exp_string("Ctrl-C again").unwrap();
    p.send_control('c').unwrap();
    p.exp_eof().unwrap();

    let history = std::fs::read_to_string(home.path().join(".gan_history")).unwrap();
    assert!(history.contains("sq(12)"), "{history}");
    assert!(history.contains("fn sq(v) {"), "{history}");
    // the REPL's run directory exists
    let runs: Vec<_> = std::fs::read_dir(home.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(runs.iter().any(|r| r.starts_with("repl-")), "{runs:?}");
}

#[test]
fn repl_writes_images_to_its_run_dir() {
    let data = mnist_dir();
    if !data.join("t10k-images-idx3-ubyte.gz").exists() {
        eprintln!("SKIPPED: no MNIST in {}", data.display());
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let mut p = repl(home.path());
    p.send_line("show(mnist(\"test\").rows_of(0, 20))").unwrap();
    let (_, m) = p.exp_regex(r"wrote [^\r\n]+\.png").unwrap();
    let path = PathBuf::from(m.trim_start_matches("wrote "));
    assert!(path.exists(), "{path:?}");
    assert!(path.starts_with(home.path().join("runs")) || path.is_relative());
    p.exp_string("gan> ").unwrap();
    p.send_line(":quit").unwrap();
    p.exp_eof().unwrap();
}

/// A panic inside a cell is that cell's error: no backtrace on the terminal, earlier variables
/// kept, the REPL goes on and exits 0. No real input is known to panic, so the cell calls the
/// `test_panic` function that only `GAN_TEST_PANIC` registers.
#[test]
fn repl_survives_a_panicking_cell() {
    let home = tempfile::tempdir().unwrap();
    let mut p = repl_with(
        home.path(),
        &[("GAN_TEST_PANIC", "1"), ("RUST_BACKTRACE", "1")],
    );
    p.send_line("let a = 41;").unwrap();
    p.exp_string("gan> ").unwrap();
    p.send_line("let b = 5; test_panic(\"boom-7\")").unwrap();
    let before = p.exp_string("internal error in gan").unwrap();
    let rest = p.exp_string("gan> ").unwrap();
    assert!(rest.contains("boom-7"), "{rest}");
    assert!(rest.contains("The session goes on"), "{rest}");
    for noise in ["panicked", "backtrace"] {
        assert!(
            !before.contains(noise) && !rest.contains(noise),
            "{before}{rest}"
        );
    }
    p.send_line("a + 1").unwrap();
    p.exp_string("42").unwrap();
    p.exp_string("gan> ").unwrap();
    // the panicking cell's own variable went with it
    p.send_line("b").unwrap();
    p.exp_string("undefined variable `b`").unwrap();
    p.exp_string("gan> ").unwrap();
    p.send_line(":quit").unwrap();
    p.exp_eof().unwrap();
    match p.process.wait().unwrap() {
        rexpect::process::wait::WaitStatus::Exited(_, code) => assert_eq!(code, 0),
        other => panic!("gan repl ended with {other:?}"),
    }
}
