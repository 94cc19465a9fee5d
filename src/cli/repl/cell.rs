//! One REPL session: cells run with Ctrl-C armed, values shown, `:` commands.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gan::session::{self, Session};

use super::helper::Names;

pub(super) struct Repl {
    pub(super) session: Session,
    pub(super) running: Arc<AtomicBool>,
    pub(super) presses: Arc<AtomicU64>,
    pub(super) names: Arc<Mutex<Names>>,
    pub(super) out: PathBuf,
    pub(super) values: u64,
}

impl Repl {
    /// Runs `f` as a cell with Ctrl-C armed.
    pub(super) fn guarded<T>(&mut self, f: impl FnOnce(&mut Session) -> T) -> T {
        self.presses.store(0, Ordering::Relaxed);
        self.running.store(true, Ordering::Relaxed);
        let r = f(&mut self.session);
        self.running.store(false, Ordering::Relaxed);
        let mut n = self.names.lock().unwrap_or_else(|e| e.into_inner());
        n.vars = self.session.var_names();
        n.fns = self.session.function_names();
        r
    }

    pub(super) fn cell(&mut self, text: &str) {
        match self.guarded(|s| s.eval(text)) {
            Ok(v) => self.show_value(&v),
            Err(e) => eprintln!("{}", e.render()),
        }
    }

    pub(super) fn show_value(&mut self, v: &rhai::Dynamic) {
        let b = match session::contain(|| self.session.value_bundle(v)) {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(panic) => {
                eprintln!("internal error in gan while showing the value (a bug; please report it): {panic}");
                return;
            }
        };
        let text = b.get("text/plain").cloned().unwrap_or_default();
        if let Some(png) = b
            .get("image/png")
            .and_then(|s| session::output::unbase64(s))
        {
            self.values += 1;
            let path = self.out.join(format!("value-{}.png", self.values));
            match gan::safe_fs::write_atomic(&path, &png) {
                Ok(()) => println!("{text}\nwrote {}", path.display()),
                Err(e) => println!("{text}\n(could not save the image: {e:#})"),
            }
            return;
        }
        println!("{text}");
    }

    pub(super) fn load(&mut self, file: &Path) {
        let text = match session::read_recipe(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e:#}");
                return;
            }
        };
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = file
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .and_then(|p| p.canonicalize().ok());
        let previous = self.session.host.module_root();
        self.session.host.set_module_root(dir);
        match self.guarded(|s| s.eval_named(&name, &text)) {
            Ok(v) => self.show_value(&v),
            Err(e) => eprintln!("{}", e.render()),
        }
        self.session.host.set_module_root(previous);
    }

    /// A `:command`; false to quit.
    pub(super) fn command(&mut self, line: &str) -> bool {
        let (cmd, arg) = match line.split_once(char::is_whitespace) {
            Some((c, a)) => (c, a.trim()),
            None => (line, ""),
        };
        match cmd {
            ":help" | ":h" | ":?" => {
                if arg.is_empty() {
                    print!("{}", session::overview());
                    println!(
                        "\ncommands: :help [NAME]  :load FILE  :vars  :out  :quit\n\
                         Tab completes names; an open block or call continues on the next line;\n\
                         Ctrl-C stops a running cell (training stops at a step, the state is kept)."
                    );
                } else {
                    match self.session.help(arg) {
                        Some(h) => print!("{h}"),
                        None => println!(
                            "no help for `{arg}`: not a DSL function or a name in this session"
                        ),
                    }
                }
            }
            ":load" | ":l" => {
                if arg.is_empty() {
                    println!(":load FILE runs a recipe file in this session");
                } else {
                    self.load(Path::new(arg));
                }
            }
            ":vars" | ":v" => {
                let vars = self.session.var_details();
                if vars.is_empty() {
                    println!("(no variables yet)");
                }
                for (n, t, v) in vars {
                    let v: String = if v.chars().count() > 100 {
                        v.chars().take(97).chain("...".chars()).collect()
                    } else {
                        v
                    };
                    println!("{n}: {t} = {v}");
                }
                let fns = self.session.function_names();
                if !fns.is_empty() {
                    println!("functions: {}", fns.join(", "));
                }
            }
            ":out" => println!("{}", self.out.display()),
            ":quit" | ":q" | ":exit" => return false,
            other => println!("unknown command {other}: try :help"),
        }
        true
    }
}
