//! Recipes are untrusted: every attempt to leave the sandbox is refused with a message that
//! says why, and nothing is written outside the run directory.
//!
//! Each test works in its own temporary root holding `run/` (the run directory), `data/` (the
//! data directory) and `recipes/` (the recipe's folder, where `import` resolves), and checks
//! at the end that nothing outside `run/` changed.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use gan::script::{HostConfig, NullSink, ScriptError, Stop};
use gan::session::Session;

struct Sandbox {
    root: tempfile::TempDir,
    before: BTreeSet<PathBuf>,
}

impl Sandbox {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        for d in ["run", "data", "recipes"] {
            fs::create_dir(root.path().join(d)).unwrap();
        }
        // one small image, so image data is at hand without MNIST
        fs::create_dir_all(root.path().join("data/digits")).unwrap();
        image::GrayImage::from_pixel(4, 4, image::Luma([200]))
            .save(root.path().join("data/digits/a.png"))
            .unwrap();
        fs::write(
            root.path().join("recipes/helpers.rhai"),
            "fn double(x) { x * 2 }\n",
        )
        .unwrap();
        let before = listing(root.path());
        Sandbox { root, before }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn session(&self) -> Session {
        let config = HostConfig {
            run_dir: Some(self.path("run")),
            data_dir: self.path("data"),
            params: Default::default(),
            seed: Some(1),
            recipe_name: "sandbox".into(),
            recipe_text: String::new(),
        };
        let s = Session::new(config, Arc::new(NullSink)).unwrap();
        s.host.set_module_root(Some(self.path("recipes")));
        s
    }

    fn error(&self, text: &str) -> ScriptError {
        let mut s = self.session();
        s.eval_named("recipe.rhai", text)
            .expect_err("the recipe should be refused")
    }

    /// Nothing outside `run/` was created, changed or removed.
    fn assert_nothing_outside_run(&self) {
        let after: BTreeSet<PathBuf> = listing(self.root.path())
            .into_iter()
            .filter(|p| !p.starts_with("run"))
            .collect();
        let before: BTreeSet<PathBuf> = self
            .before
            .iter()
            .filter(|p| !p.starts_with("run"))
            .cloned()
            .collect();
        assert_eq!(before, after, "files outside the run directory changed");
    }
}

/// Every path under `root`, relative to it (symlinks are listed, not followed).
fn listing(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            out.insert(p.strip_prefix(root).unwrap().to_path_buf());
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

/// A GAN trained for one tiny epoch (so it has a history to plot) and image samples.
const SETUP: &str = r#"
let data = gaussian_1d(0.0, 1.0, 100);
let m = gan(stack(1).dense(4).relu().dense(1), stack(1).dense(4).relu().dense(1));
m.fit(data, #{ epochs: 1, batch: 50 });
let imgs = image_folder("digits", #{ width: 4 });
let s = imgs.rows_of(0, 1);
"#;

#[test]
fn reading_etc_passwd_is_refused() {
    let sb = Sandbox::new();
    for (call, want) in [
        (
            r#"image_folder("/etc", #{})"#,
            "`/etc`: recipes read only inside the data directory",
        ),
        (
            r#"image_folder("../../../../../../etc", #{})"#,
            "recipes read only inside the data directory",
        ),
        (r#"mnist("/etc/passwd")"#, "\"/etc/passwd\""),
        (
            r#"import "/etc/passwd" as p;"#,
            "modules load only from the recipe's folder",
        ),
    ] {
        let e = sb.error(&format!("let x = 1;\n{call}"));
        assert_eq!(e.line, Some(2), "{call}: {e}");
        assert!(e.message.contains(want), "{call}: {}", e.message);
        assert!(!e.message.contains("root:"), "{call} leaked the file: {e}");
    }
    sb.assert_nothing_outside_run();
}

#[test]
fn writing_to_the_parent_folder_is_refused() {
    let sb = Sandbox::new();
    for call in [
        r#"save_grid(s, "../x.png")"#,
        r#"write_json("../x.json", #{ a: 1 })"#,
        r#"plot_history(m, "../x.png")"#,
        r#"write_json("sub/../../x.json", #{ a: 1 })"#,
    ] {
        let e = sb.error(&format!("{SETUP}{call};"));
        assert_eq!(e.line, Some(7), "{call}: {e}");
        assert!(
            e.message.contains("`..` is not allowed"),
            "{call}: {}",
            e.message
        );
        assert!(
            e.message.contains("only inside their run directory"),
            "{}",
            e.message
        );
    }
    assert!(!sb.path("x.png").exists() && !sb.path("x.json").exists());
    sb.assert_nothing_outside_run();
}

#[test]
fn writing_to_an_absolute_path_is_refused() {
    let sb = Sandbox::new();
    let target = std::env::temp_dir().join(format!("gan-sandbox-{}.out", std::process::id()));
    let t = target.display();
    for call in [
        format!(r#"save_grid(s, "{t}")"#),
        format!(r#"write_json("{t}", #{{ a: 1 }})"#),
        format!(r#"plot_history(m, "{t}")"#),
    ] {
        let e = sb.error(&format!("{SETUP}{call};"));
        assert_eq!(e.line, Some(7), "{call}: {e}");
        assert!(
            e.message.contains("absolute paths are not allowed"),
            "{call}: {}",
            e.message
        );
    }
    assert!(!target.exists(), "{t} was written");
    sb.assert_nothing_outside_run();
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_run_and_data_folders_are_refused() {
    let sb = Sandbox::new();
    let outside = sb.path("outside");
    fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, sb.path("run/out")).unwrap();
    std::os::unix::fs::symlink("/etc", sb.path("data/etc")).unwrap();
    std::os::unix::fs::symlink(&outside, sb.path("recipes/lib")).unwrap();
    fs::write(outside.join("evil.rhai"), "fn f() { 1 }").unwrap();
    let sb = Sandbox {
        before: listing(sb.root.path()),
        root: sb.root,
    };
    for (call, want) in [
        (
            r#"write_json("out/x.json", #{ a: 1 })"#,
            "leads outside the run directory",
        ),
        (
            r#"save_grid(s, "out/x.png")"#,
            "leads outside the run directory",
        ),
        (
            r#"plot_history(m, "out/sub/x.png")"#,
            "leads outside the run directory",
        ),
        (
            r#"image_folder("etc", #{})"#,
            "`etc` leads outside the data directory",
        ),
        (
            r#"import "lib/evil" as e;"#,
            "leads outside the recipe's folder",
        ),
    ] {
        let e = sb.error(&format!("{SETUP}{call};"));
        assert_eq!(e.line, Some(7), "{call}: {e}");
        assert!(e.message.contains(want), "{call}: {}", e.message);
    }
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 1, "only evil.rhai");
    sb.assert_nothing_outside_run();
}

#[test]
fn imports_resolve_only_in_the_recipe_folder() {
    let sb = Sandbox::new();
    // a module beside the recipe loads
    let mut s = sb.session();
    let v = s.eval("import \"helpers\" as h;\nh::double(21)").unwrap();
    assert_eq!(v.as_int().unwrap(), 42);
    for (path, want) in [
        (
            "/etc/passwd",
            "modules load only from the recipe's folder (no absolute paths or `..`)",
        ),
        ("../run/x", "modules load only from the recipe's folder"),
        ("", "modules load only from the recipe's folder"),
        ("missing", "missing"),
    ] {
        let e = sb.error(&format!("let a = 1;\n  import \"{path}\" as m;"));
        assert_eq!((e.line, e.col), (Some(2), Some(10)), "{path}: {e}");
        assert!(e.message.contains(want), "{path}: {}", e.message);
    }
    // a session that names no recipe folder has no imports at all
    let mut s = sb.session();
    s.host.set_module_root(None);
    let e = s.eval("import \"helpers\" as h;").unwrap_err();
    assert!(
        e.message.contains("imports are not available here"),
        "{}",
        e.message
    );
    sb.assert_nothing_outside_run();
}

#[test]
fn the_runs_control_files_are_not_writable_from_a_recipe() {
    let sb = Sandbox::new();
    // a run directory as `gan run` leaves it, with the files `gan resume` reads back
    fs::write(sb.path("run/config.json"), "{}").unwrap();
    fs::create_dir_all(sb.path("run/checkpoints")).unwrap();
    for file in [
        "config.json",
        "./recipe.rhai",
        "metrics.jsonl",
        "metrics_other.jsonl",
        "checkpoints/ckpt-0000000016/manifest.json",
        "weights.safetensors",
        "status.json",
        ".gan.lock",
    ] {
        for call in [
            format!(r#"write_json("{file}", #{{ data_dir: "/" }})"#),
            format!(r#"save_grid(s, "{file}")"#),
        ] {
            let e = sb.error(&format!("{SETUP}{call};"));
            assert_eq!(e.line, Some(7), "{call}: {e}");
            assert!(
                e.message.contains(&format!("`{file}`: "))
                    && e.message.contains("recipes may not write it"),
                "{call}: {}",
                e.message
            );
        }
    }
    // (fit rewrites config.json itself; the recipe's value never got in)
    let config = fs::read_to_string(sb.path("run/config.json")).unwrap();
    assert!(!config.contains(r#""data_dir": "/""#), "{config}");
    for never in [
        "recipe.rhai",
        "metrics_other.jsonl",
        "checkpoints/ckpt-0000000016",
        "status.json",
    ] {
        assert!(!sb.path("run").join(never).exists(), "{never} was written");
    }
    // fit's own outputs are there, as the engine wrote them
    for own in ["metrics.jsonl", "weights.safetensors", ".gan.lock"] {
        let bytes = fs::read(sb.path("run").join(own)).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("data_dir"),
            "{own}"
        );
    }
    // ordinary outputs, including names that merely look alike, are fine
    let mut s = sb.session();
    let _ = s
        .eval(r#"write_json("final.json", #{ a: 1 }); write_json("sub/config.json", #{ a: 2 });"#)
        .unwrap();
    sb.assert_nothing_outside_run();
}

#[cfg(unix)]
#[test]
fn planted_symlinks_in_the_run_directory_are_not_written_through() {
    let sb = Sandbox::new();
    let outside = sb.path("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("victim"), "precious").unwrap();
    fs::write(sb.path("run/inner.json"), "inner").unwrap();
    let link =
        |target: PathBuf, name: &str| std::os::unix::fs::symlink(target, sb.path(name)).unwrap();
    // the temp name a writer with a predictable scheme would use, pointing outside
    link(
        outside.join("victim"),
        &format!("run/.out.json.tmp{}", std::process::id()),
    );
    // a dangling link as the metrics log; a link to another file of the run as an output
    link(outside.join("appended"), "run/metrics.jsonl");
    link(sb.path("run/inner.json"), "run/link.json");
    let sb = Sandbox {
        before: listing(sb.root.path()),
        root: sb.root,
    };
    let mut s = sb.session();
    let _ = s.eval(r#"write_json("out.json", #{ a: 1 });"#).unwrap();
    assert!(fs::symlink_metadata(sb.path("run/out.json"))
        .unwrap()
        .is_file());
    let e = sb.error(r#"write_json("link.json", #{ a: 1 });"#);
    assert!(
        e.message.contains("link.json: is a symbolic link"),
        "{}",
        e.message
    );
    let e = sb.error(SETUP);
    assert!(
        e.message.contains("metrics.jsonl: is a symbolic link"),
        "{}",
        e.message
    );
    assert_eq!(
        fs::read_to_string(outside.join("victim")).unwrap(),
        "precious"
    );
    assert_eq!(
        fs::read_to_string(sb.path("run/inner.json")).unwrap(),
        "inner"
    );
    assert!(
        !outside.join("appended").exists(),
        "a line was appended outside"
    );
    sb.assert_nothing_outside_run();
}

#[test]
fn stray_temporary_files_are_deleted_when_a_run_is_opened() {
    let sb = Sandbox::new();
    // what a crash between creating a temp file (or checkpoint directory) and its rename leaves
    let strays = [
        "run/.config.json.a1B2c3.tmp",
        "run/sub/.grid.png.Zz9Yy8.tmp",
        "run/checkpoints/.ckpt-0000000016.q1w2e3.tmp/model.safetensors",
    ];
    for p in strays {
        fs::create_dir_all(sb.path(p).parent().unwrap()).unwrap();
        fs::write(sb.path(p), b"partial").unwrap();
    }
    fs::write(sb.path("run/kept.tmp"), b"a recipe's own output").unwrap();
    let _s = sb.session();
    for p in strays {
        assert!(!sb.path(p).exists(), "{p} is still there");
    }
    assert!(!sb
        .path("run/checkpoints/.ckpt-0000000016.q1w2e3.tmp")
        .exists());
    assert!(sb.path("run/kept.tmp").exists() && sb.path("run/sub").is_dir());
}

#[test]
fn deep_recursion_is_a_clean_error() {
    let sb = Sandbox::new();
    let e = sb.error("fn f(n) { f(n + 1) }\nf(0);");
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.message.contains("tack overflow"), "{}", e.message);
    // not a crash, and the message stays readable
    assert!(e.render().len() < 20_000, "{} chars", e.render().len());
    sb.assert_nothing_outside_run();
}

#[test]
fn a_billion_element_array_is_refused() {
    let sb = Sandbox::new();
    let e = sb.error("let a = [];\na.pad(1000000000, 0);");
    assert_eq!((e.line, e.col), (Some(2), Some(3)), "{e}");
    assert!(e.message.contains("Size of array"), "{}", e.message);
    // doubling, flat or nested, hits the same limit in a few steps
    let e = sb.error("let a = [1, 2, 3];\nloop { a += a; }");
    assert!(e.message.contains("Size of array"), "{}", e.message);
    let e = sb.error("let a = [[1, 2], [3]];\nloop { a = [a, a]; }");
    assert!(e.message.contains("Size of array"), "{}", e.message);
    let e = sb.error(
        "let m = #{};\nfor i in 0..100000 { let one = #{}; one[`k${i}`] = i; m.mixin(one); }",
    );
    assert!(e.message.contains("Size of object map"), "{}", e.message);
    sb.assert_nothing_outside_run();
}

/// `m[key] = value` on a new key escapes Rhai's map-size check: the host's memory limit stops
/// such a recipe cleanly instead.
#[test]
fn a_map_grown_without_end_hits_the_memory_limit() {
    let sb = Sandbox::new();
    let mut s = sb.session();
    let rss = gan::script::host::resident_bytes().expect("Linux /proc");
    s.host.set_memory_limit(Some(rss + (256 << 20)));
    let e = s
        .eval_named(
            "recipe.rhai",
            "let m = #{};\nfor i in 0..1000000000 { m[`k${i}`] = i; }",
        )
        .unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    let why = s.host.stop_reason().expect("a stop reason");
    assert!(
        why.starts_with("out of memory: the recipe's values grew past the memory limit"),
        "{why}"
    );
    // the error itself says so (every front end shows it), not "interrupted"
    assert_eq!(e.message, why);
    assert_eq!(e.stop, Some(Stop::Memory));
    assert!(!e.interrupted);
    sb.assert_nothing_outside_run();
}

/// A stop is found between two script operations; Rhai gives no position to one raised inside
/// an index operation (`m[k] = v`). The `--timeout`'s clock is read every 256 operations; the
/// statements on line 1 (`let` costs 2 operations, `x = 1;` 3) shift the phase of the loop at
/// which it is found through every operation of the loop body, index operations included: each
/// stop must still name line 2.
#[test]
fn a_stop_inside_an_index_operation_still_names_its_line() {
    let sb = Sandbox::new();
    for lets in 0..3 {
        for sets in 0..48 {
            let mut s = sb.session();
            s.host.set_timeout(0.0);
            let text = format!(
                "let m = #{{}}; let x = 0;{}{}\nfor i in 0..1000000000 {{ m[`k${{i % 7}}`] = i; m.a = [1, [2, 3]]; m.a[1][0] = i; }}",
                " let y = 0;".repeat(lets),
                " x = 1;".repeat(sets)
            );
            let e = s.eval_named("recipe.rhai", &text).unwrap_err();
            assert_eq!(e.stop, Some(Stop::Timeout), "{lets}/{sets}: {e}");
            assert_eq!(e.line, Some(2), "{lets}/{sets}: {e}");
            assert!(e.col.is_some(), "{lets}/{sets}: {e}");
        }
    }
}

#[test]
fn a_huge_string_is_refused() {
    let sb = Sandbox::new();
    let e = sb.error("let s = \"x\";\nloop { s += s; }");
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.message.contains("Length of string"), "{}", e.message);
    let e = sb.error("let s = \"ab\";\nlet t = s.pad(2000000000, \"x\");");
    assert!(e.message.contains("Length of string"), "{}", e.message);
    sb.assert_nothing_outside_run();
}

#[test]
fn an_infinite_loop_stops_at_the_timeout() {
    let sb = Sandbox::new();
    let mut s = sb.session();
    s.host.set_timeout(0.5);
    let started = std::time::Instant::now();
    let e = s
        .eval_named("recipe.rhai", "let i = 0;\nloop { i += 1; }")
        .unwrap_err();
    assert!(started.elapsed().as_secs_f64() < 10.0);
    // said as a timeout, with its limit: not the "interrupted" of a Ctrl-C
    assert_eq!(
        e.message,
        "timed out: the recipe ran past its --timeout of 0.5 s"
    );
    assert_eq!(e.stop, Some(Stop::Timeout));
    assert!(!e.interrupted, "{e}");
    assert!(s.host.timed_out());
    assert_eq!(e.line, Some(2), "{e}");
    // a fit in progress stops at a step boundary, saying so
    let mut s = sb.session();
    s.host.set_timeout(0.3);
    let e = s
        .eval_named(
            "recipe.rhai",
            "let m = gan(stack(1).dense(8).relu().dense(1), stack(1).dense(8).relu().dense(1));\n\
             m.fit(gaussian_1d(0.0, 1.0, 1000), #{ epochs: 1000000, batch: 10 });",
        )
        .unwrap_err();
    assert!(
        e.message
            .starts_with("timed out: the run passed its --timeout of 0.3 s at step"),
        "{e}"
    );
    assert_eq!(e.stop, Some(Stop::Timeout));
    assert_eq!(e.line, Some(2));
    sb.assert_nothing_outside_run();
}

/// An interrupt request (what Ctrl-C and Jupyter's interrupt set) reads as an interrupt, and
/// the next evaluation of the session runs normally.
#[test]
fn an_interrupt_request_is_named_as_such() {
    let sb = Sandbox::new();
    let mut s = sb.session();
    let flag = s.interrupt_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let e = s
        .eval_named("recipe.rhai", "let i = 0;\nloop { i += 1; }")
        .unwrap_err();
    t.join().unwrap();
    assert_eq!(e.message, "interrupted (Ctrl-C or an interrupt request)");
    assert_eq!(
        (e.stop, e.interrupted, e.line),
        (Some(Stop::Interrupt), true, Some(2))
    );
    assert_eq!(s.eval("1 + 1").unwrap().as_int().unwrap(), 2);
}

/// Ctrl-C (SIGINT) through the binary: exit status 130 and the interrupt's own message.
#[test]
fn the_cli_names_a_ctrl_c_as_an_interrupt() {
    use std::io::BufRead;
    let sb = Sandbox::new();
    let recipe = sb.path("recipes/spin.rhai");
    fs::write(
        &recipe,
        "print(\"spinning\");\nlet i = 0;\nwhile true { i += 1; }\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(["run", recipe.to_str().unwrap(), "--out"])
        .arg(sb.path("run"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // the recipe is running (and the handler installed) once it printed
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "spinning");
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    // the signal lands wherever the script is by then: right after the print, or in the loop
    assert!(
        (stderr.contains("spin.rhai:2:") || stderr.contains("spin.rhai:3:"))
            && stderr.contains(": interrupted (Ctrl-C or an interrupt request)"),
        "{stderr}"
    );
    assert!(!stderr.contains("timed out"), "{stderr}");
}

#[test]
fn the_cli_timeout_stops_an_infinite_loop() {
    let sb = Sandbox::new();
    let recipe = sb.path("recipes/spin.rhai");
    fs::write(&recipe, "let i = 0;\nwhile true { i += 1; }\n").unwrap();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(["run", recipe.to_str().unwrap(), "--timeout", "1", "--out"])
        .arg(sb.path("run"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(124), "{stderr}");
    assert!(started.elapsed().as_secs() < 30);
    // the message comes from where the script was stopped, naming the limit
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: spin.rhai:2:")
            && first.ends_with(": timed out: the recipe ran past its --timeout of 1 s"),
        "{stderr}"
    );
    assert!(!stderr.contains("interrupted"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(["run", recipe.to_str().unwrap(), "--timeout", "0"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--timeout 0: must be a positive number"));
}

/// The DSL offers no way to run programs, reach the network or read the environment: no such
/// function is registered, and `param` reads only `--set` values.
#[test]
fn no_process_network_or_environment_access() {
    let sb = Sandbox::new();
    let s = sb.session();
    let signatures = s.engine().gen_fn_signatures(true);
    let forbidden = [
        "system", "exec", "spawn", "command", "shell", "process", "env", "http", "url", "socket",
        "connect", "download", "fetch", "file", "open", "dir", "path", "chmod",
    ];
    assert!(signatures.len() > 100, "{} signatures", signatures.len());
    for sig in &signatures {
        let name = sig.split('(').next().unwrap_or("").to_lowercase();
        for f in forbidden {
            // image_folder reads images, inside the data directory only (tested above)
            let allowed = name == "image_folder";
            assert!(allowed || !name.contains(f), "the DSL exposes `{sig}`");
        }
    }
    for call in [
        "system(\"ls\")",
        "exec(\"/bin/sh\")",
        "env(\"HOME\")",
        "getenv(\"HOME\")",
        "http_get(\"http://127.0.0.1/\")",
        "open(\"/etc/passwd\")",
        "read_file(\"/etc/passwd\")",
        "eval(\"1\")",
    ] {
        let e = sb.error(&format!("let x = 1;\n{call};"));
        assert_eq!(e.line, Some(2), "{call}: {e}");
        assert!(
            e.message.contains("not found") || e.message.contains("eval"),
            "{call}: {}",
            e.message
        );
    }
    // param() reads --set values only, never the environment
    std::env::set_var("GAN_SANDBOX_SECRET", "leaked");
    let mut s = sb.session();
    let v = s.eval("param(\"GAN_SANDBOX_SECRET\", \"none\")").unwrap();
    assert_eq!(v.into_string().unwrap(), "none");
    sb.assert_nothing_outside_run();
}
