//! A run directory someone else may have written (a recipe through `write_json`, or whoever sent
//! the run): nothing in it widens what `gan resume` reads, nothing planted in it hangs `gan`, and
//! two processes never write one run at once. Through the real binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn gan() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gan"));
    c.env_remove("GAN_DATA_DIR");
    c
}

fn text(out: &Output) -> String {
    format!(
        "{:?}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `n` 4×4 images in `dir/digits`.
fn image_data(dir: &Path, n: u8) {
    fs::create_dir_all(dir.join("digits")).unwrap();
    for i in 0..n {
        image::GrayImage::from_pixel(4, 4, image::Luma([10 * i]))
            .save(dir.join(format!("digits/{i}.png")))
            .unwrap();
    }
}

const READS_DATA_AND_IMPORTS: &str = r#"
import "helpers" as h;
let d = image_folder("digits", #{ width: 4 });
write_json("seen.json", #{ rows: d.rows, helper: h::which() });
"#;

fn seen(run: &Path) -> (i64, String) {
    let v: Value = serde_json::from_slice(&fs::read(run.join("seen.json")).unwrap()).unwrap();
    (
        v["rows"].as_i64().unwrap(),
        v["helper"].as_str().unwrap().to_string(),
    )
}

#[test]
fn resume_takes_data_and_import_folders_only_from_its_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (data, elsewhere) = (root.join("data"), root.join("elsewhere"));
    image_data(&data, 1);
    image_data(&elsewhere, 3);
    fs::create_dir_all(root.join("recipes")).unwrap();
    fs::write(root.join("recipes/r.rhai"), READS_DATA_AND_IMPORTS).unwrap();
    fs::write(
        root.join("recipes/helpers.rhai"),
        r#"fn which() { "mine" }"#,
    )
    .unwrap();
    fs::write(
        elsewhere.join("helpers.rhai"),
        r#"fn which() { "planted" }"#,
    )
    .unwrap();
    let run = root.join("run");
    let out = gan()
        .args(["run", "--out"])
        .arg(&run)
        .arg("--data-dir")
        .arg(&data)
        .arg(root.join("recipes/r.rhai"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(seen(&run), (1, "mine".into()));

    // the run directory is edited to point both folders elsewhere (as a received run might be)
    let p = run.join("config.json");
    let mut config: Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    config["invocation"]["data_dir"] = elsewhere.display().to_string().into();
    config["invocation"]["recipe_dir"] = elsewhere.display().to_string().into();
    fs::write(&p, config.to_string()).unwrap();

    // without --recipe-dir the import is refused; the note names the recorded folder
    let out = gan()
        .arg("resume")
        .arg(&run)
        .env("GAN_DATA_DIR", &data)
        .output()
        .unwrap();
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("imports are not available here"), "{all}");
    assert!(
        all.contains(&format!("the run recorded {}", elsewhere.display())),
        "{all}"
    );
    assert_eq!(seen(&run), (1, "mine".into()));

    // with the folders given on the command line the recorded ones are not used
    let out = gan()
        .arg("resume")
        .arg(&run)
        .arg("--recipe-dir")
        .arg(root.join("recipes"))
        .env("GAN_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(seen(&run), (1, "mine".into()));
    let all = text(&out);
    assert!(
        all.contains(&format!(
            "the run recorded the data directory {}",
            elsewhere.display()
        )),
        "{all}"
    );
}

/// A 1-D toy GAN that trains for a while (checkpointing every epoch).
const LONG_FIT: &str = r#"
let data = gaussian_1d(4.0, 0.5, param("n", 200000));
let m = gan(stack(1).dense(32).relu().dense(1), stack(1).dense(32).relu().dense(1));
m.fit(data, #{ epochs: param("epochs", 1000), batch: 20 });
"#;

/// A temporary folder holding LONG_FIT as `long.rhai`, and the path of a run directory in it.
fn long_fit() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("long.rhai");
    fs::write(&recipe, LONG_FIT).unwrap();
    let run = tmp.path().join("run");
    (tmp, recipe, run)
}

/// Kills and reaps the child when dropped, so a failed assertion leaves no run behind.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_second_process_on_a_run_is_refused_naming_the_first() {
    let (_tmp, recipe, run) = long_fit();
    let first = Reaped(
        gan()
            .args(["run", "--timeout", "120", "--out"])
            .arg(&run)
            .arg(&recipe)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = first.0.id();
    let started = Instant::now();
    while !run.join("config.json").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let holder = format!("in use by another gan process (pid {pid}, `");
    for args in [vec!["resume"], vec!["run", "--force", "--out"]] {
        let mut c = gan();
        c.args(&args).arg(&run);
        if args[0] == "run" {
            c.arg(&recipe);
        }
        let out = c.output().unwrap();
        let all = text(&out);
        assert!(!out.status.success(), "{args:?}: {all}");
        assert!(
            all.contains(&holder) && all.contains("long.rhai"),
            "{args:?}: {all}"
        );
    }
    assert!(
        run.join("config.json").exists(),
        "--force deleted a run in use"
    );
    drop(first);

    // once the holder is gone (killed: no clean-up ran) the run can be resumed
    let out = gan()
        .args(["resume", "--timeout", "1"])
        .arg(&run)
        .output()
        .unwrap();
    let all = text(&out);
    assert!(!all.contains("in use"), "{all}");
    assert!(matches!(out.status.code(), Some(0 | 124)), "{all}");
}

/// `gan resume --timeout 30 RUN`'s output; panics naming `planted` if it has not ended after 60 s
/// (a read that blocks is not stopped by `--timeout`).
fn resume_or_hang(run: &Path, planted: &str) -> Output {
    let mut child = gan()
        .args(["resume", "--timeout", "30"])
        .arg(run)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("gan resume hung on {planted}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
#[test]
fn a_fifo_planted_as_checkpoint_weights_does_not_hang_resume() {
    let (_tmp, recipe, run) = long_fit();
    let out = gan()
        .args([
            "run",
            "--set",
            "n=2000",
            "--set",
            "epochs=2",
            "--checkpoint-every",
            "1",
            "--out",
        ])
        .arg(&run)
        .arg(&recipe)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let newest = gan::checkpoint::latest(run.join("checkpoints")).unwrap();
    let model = newest.join(gan::checkpoint::MODEL_FILE);
    fs::remove_file(&model).unwrap();
    assert!(Command::new("mkfifo")
        .arg(&model)
        .status()
        .unwrap()
        .success());

    let out = resume_or_hang(&run, "a FIFO as the model");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("model.safetensors: is not a regular file"),
        "{all}"
    );
}

/// `metrics.jsonl` is read back by resume too (to cut it back to the checkpoint): a FIFO or a
/// symlink to a device planted under that name is refused at once, not read forever.
#[test]
fn a_fifo_or_device_link_as_metrics_does_not_hang_resume() {
    let (_tmp, recipe, run) = long_fit();
    let out = gan()
        .args(["run", "--set", "n=2000", "--set", "epochs=2", "--out"])
        .arg(&run)
        .arg(&recipe)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let metrics = run.join("metrics.jsonl");
    for (plant, says) in [
        ("fifo", "metrics.jsonl: is not a regular file"),
        (
            "link",
            "`metrics.jsonl` leads outside the run directory (through a symlink",
        ),
    ] {
        let _ = fs::remove_file(&metrics);
        if plant == "fifo" {
            assert!(Command::new("mkfifo")
                .arg(&metrics)
                .status()
                .unwrap()
                .success());
        } else {
            std::os::unix::fs::symlink("/dev/zero", &metrics).unwrap();
        }
        let out = resume_or_hang(&run, plant);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{plant}: {all}");
        assert!(all.contains(says), "{plant}: {all}");
    }
}
