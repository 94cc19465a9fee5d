//! `gan repl`: an interactive session over the DSL in a terminal.
//!
//! Incomplete input (an open block, call or string, decided by Rhai's parser) continues on the
//! next line under a `...>` prompt; history is kept in `~/.gan_history` (or
//! `$XDG_STATE_HOME/gan/history`, or `GAN_HISTORY`); Tab completes DSL functions, methods after
//! a `.`, and the variables and functions of the session. Ctrl-C while a cell runs stops it at
//! the next training step (the GAN keeps its state; `fit` again continues); Ctrl-C at an empty
//! prompt twice in a row, or Ctrl-D, exits. Images go to the session's run directory
//! (`runs/repl-<timestamp>/` or `--out`) and their paths are printed.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use clap::Args;
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, CompletionType, ConditionalEventHandler, Config, Context, Editor, Event, EventContext,
    EventHandler, Helper, KeyEvent, RepeatCount,
};

use gan::engine::EpochMetrics;
use gan::script::{Progress, Sink};
use gan::session::{self, Completeness, Session};

use super::sink::TerminalSink;

#[derive(Args, Debug)]
pub struct ReplArgs {
    /// Run directory for this session's outputs (default: runs/repl-<timestamp>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub common: super::RecipeArgs,
    /// History file (default: GAN_HISTORY, else $XDG_STATE_HOME/gan/history, else ~/.gan_history).
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Run this file first (as `:load FILE` would).
    #[arg(long)]
    pub load: Option<PathBuf>,
}

const PROMPT: &str = "gan> ";
const MORE: &str = "...> ";

/// The history file: `--history`, `GAN_HISTORY`, `$XDG_STATE_HOME/gan/history`, `~/.gan_history`.
fn history_path(flag: Option<PathBuf>) -> Option<PathBuf> {
    if flag.is_some() {
        return flag;
    }
    if let Some(p) = std::env::var_os("GAN_HISTORY").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("gan").join("history"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".gan_history"))
}

/// Names the completer offers besides the DSL's, refreshed after each cell.
#[derive(Default)]
struct Names {
    vars: Vec<String>,
    fns: Vec<String>,
}

struct ReplHelper {
    names: Arc<Mutex<Names>>,
}

impl Completer for ReplHelper {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        if line.trim_start().starts_with(':') {
            return Ok(complete_command(line, pos));
        }
        let n = self.names.lock().unwrap_or_else(|e| e.into_inner());
        Ok(session::complete_with(line, pos, &n.vars, &n.fns))
    }
}

/// `:he` → `:help`; after `:help `, DSL names.
fn complete_command(line: &str, pos: usize) -> (usize, Vec<String>) {
    let head = &line[..pos];
    if let Some(rest) = head.trim_start().strip_prefix(":help ") {
        let start = pos - rest.trim_start().len();
        let word = rest.trim_start();
        let mut v: Vec<String> = gan::script::docs::DOCS
            .iter()
            .map(|d| d.name.to_string())
            .filter(|n| n.starts_with(word))
            .collect();
        v.dedup();
        return (start, v);
    }
    let start = head.len() - head.trim_start().len();
    let word = head.trim_start();
    let v = [":help", ":load", ":vars", ":out", ":quit"]
        .iter()
        .filter(|c| c.starts_with(word))
        .map(|c| c.to_string())
        .collect();
    (start, v)
}

impl Hinter for ReplHelper {
    type Hint = String;
}
impl Highlighter for ReplHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}
impl Validator for ReplHelper {}
impl Helper for ReplHelper {}

/// Records whether the line was empty when Ctrl-C was pressed (then lets rustyline interrupt).
struct CtrlCProbe {
    line_empty: Arc<AtomicBool>,
}

impl ConditionalEventHandler for CtrlCProbe {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        self.line_empty
            .store(ctx.line().is_empty(), Ordering::Relaxed);
        None
    }
}

/// The terminal renderer, saving images that were not written anywhere into the run directory.
struct ReplSink {
    inner: TerminalSink,
    out: PathBuf,
    count: AtomicU64,
}

impl ReplSink {
    fn save(&self, caption: &str, png: &[u8]) -> Option<PathBuf> {
        let stem: String = caption
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = stem.trim_end_matches(".png").trim_end_matches("_png");
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let path = self.out.join(format!("{stem}-{n}.png"));
        match gan::safe_fs::write_atomic(&path, png) {
            Ok(()) => Some(path),
            Err(e) => {
                self.inner
                    .text(&format!("could not save image {caption}: {e:#}"));
                None
            }
        }
    }
}

impl Sink for ReplSink {
    fn text(&self, s: &str) {
        self.inner.text(s)
    }
    fn image(&self, caption: &str, png: &[u8], saved: Option<&Path>) {
        match saved {
            Some(p) => self.inner.image(caption, png, Some(p)),
            None => {
                let p = self.save(caption, png);
                self.inner.image(caption, png, p.as_deref())
            }
        }
    }
    fn html(&self, html: &str, plain: &str) {
        self.inner.html(html, plain)
    }
    fn progress(&self, p: &Progress) {
        self.inner.progress(p)
    }
    fn epoch(&self, gan: &str, m: &EpochMetrics) {
        self.inner.epoch(gan, m)
    }
    fn fit_end(&self, gan: &str) {
        self.inner.fit_end(gan)
    }
}

pub fn main(args: ReplArgs) -> anyhow::Result<()> {
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs").join(format!("repl-{}", session::clock::compact_now()))
    });
    // printed paths are absolute: the REPL may `:load` files from elsewhere
    let out = std::path::absolute(&out).unwrap_or(out);
    let config = args.common.host_config(out.clone(), "repl".into())?;
    let sink = Arc::new(ReplSink {
        inner: TerminalSink::new(),
        out: out.clone(),
        count: AtomicU64::new(0),
    });
    let session = Session::new(config, sink.clone())?;
    let out = session
        .host
        .run
        .as_ref()
        .map(|r| r.path().to_path_buf())
        .unwrap_or(out);

    let names = Arc::new(Mutex::new(Names::default()));
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .max_history_size(10_000)?
        .build();
    let mut rl: Editor<ReplHelper, DefaultHistory> = Editor::with_config(config)?;
    rl.set_helper(Some(ReplHelper {
        names: names.clone(),
    }));
    // Ctrl-C while a cell runs: ask it to stop (three presses: quit). Installed after the
    // editor: rustyline takes SIGINT when it sets up the terminal, and gives Ctrl-C at the
    // prompt to us as a key (the terminal is raw there), so the handler only sees running cells.
    let running = Arc::new(AtomicBool::new(false));
    let presses = Arc::new(AtomicU64::new(0));
    {
        let flag = session.interrupt_handle();
        let running = running.clone();
        let presses = presses.clone();
        super::signals::on_signals(&[super::signals::SIGINT], move |_| {
            if !running.load(Ordering::Relaxed) {
                return;
            }
            match presses.fetch_add(1, Ordering::Relaxed) {
                0 => {
                    flag.store(true, Ordering::Relaxed);
                    eprintln!("\ninterrupt: stopping at the next step (the state is kept)");
                }
                1 => eprintln!("\nstill stopping… (Ctrl-C once more to quit the REPL)"),
                _ => std::process::exit(130),
            }
        });
    }

    let line_empty = Arc::new(AtomicBool::new(true));
    rl.bind_sequence(
        KeyEvent::ctrl('C'),
        EventHandler::Conditional(Box::new(CtrlCProbe {
            line_empty: line_empty.clone(),
        })),
    );
    let history = history_path(args.history.clone());
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }

    println!(
        "gan {} — the GAN DSL (Rhai). :help for the functions, :help NAME for one, Ctrl-D to quit.\noutputs go to {}",
        env!("CARGO_PKG_VERSION"),
        out.display()
    );

    let mut repl = Repl {
        session,
        running,
        presses,
        names,
        out,
        values: 0,
    };
    if let Some(f) = &args.load {
        repl.load(f);
    }

    let mut buf = String::new();
    let mut armed = false;
    loop {
        let prompt = if buf.is_empty() { PROMPT } else { MORE };
        match rl.readline(prompt) {
            Ok(line) => {
                armed = false;
                if buf.is_empty() && line.trim_start().starts_with(':') {
                    let _ = rl.add_history_entry(line.trim());
                    if !repl.command(line.trim()) {
                        break;
                    }
                    continue;
                }
                if !buf.is_empty() {
                    buf.push('\n');
                }
                buf.push_str(&line);
                if session::is_complete(&buf) == Completeness::Incomplete {
                    continue;
                }
                let cell = std::mem::take(&mut buf);
                if cell.trim().is_empty() {
                    continue;
                }
                let _ = rl.add_history_entry(cell.as_str());
                repl.cell(&cell);
            }
            Err(ReadlineError::Interrupted) => {
                let was_empty = line_empty.swap(true, Ordering::Relaxed);
                if !buf.is_empty() || !was_empty {
                    buf.clear();
                    armed = false;
                    continue;
                }
                if armed {
                    break;
                }
                armed = true;
                println!("(Ctrl-C again or Ctrl-D to quit)");
            }
            Err(ReadlineError::Eof) => {
                if !buf.is_empty() {
                    // Ctrl-D inside an unfinished cell: drop it
                    buf.clear();
                    println!();
                    continue;
                }
                break;
            }
            Err(e) => {
                save_history(&mut rl, history.as_deref());
                return Err(e.into());
            }
        }
    }
    save_history(&mut rl, history.as_deref());
    Ok(())
}

fn save_history(rl: &mut Editor<ReplHelper, DefaultHistory>, path: Option<&Path>) {
    if let Some(p) = path {
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = rl.save_history(p) {
            eprintln!(
                "warning: could not save the history to {}: {e}",
                p.display()
            );
        }
    }
}

struct Repl {
    session: Session,
    running: Arc<AtomicBool>,
    presses: Arc<AtomicU64>,
    names: Arc<Mutex<Names>>,
    out: PathBuf,
    values: u64,
}

impl Repl {
    /// Runs `f` as a cell with Ctrl-C armed.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Session) -> T) -> T {
        self.presses.store(0, Ordering::Relaxed);
        self.running.store(true, Ordering::Relaxed);
        let r = f(&mut self.session);
        self.running.store(false, Ordering::Relaxed);
        let mut n = self.names.lock().unwrap_or_else(|e| e.into_inner());
        n.vars = self.session.var_names();
        n.fns = self.session.function_names();
        r
    }

    fn cell(&mut self, text: &str) {
        match self.guarded(|s| s.eval(text)) {
            Ok(v) => self.show_value(&v),
            Err(e) => eprintln!("{}", e.render()),
        }
    }

    fn show_value(&mut self, v: &rhai::Dynamic) {
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

    fn load(&mut self, file: &Path) {
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
    fn command(&mut self, line: &str) -> bool {
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
