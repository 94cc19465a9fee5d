//! `gan repl`: an interactive session over the DSL in a terminal.
//!
//! Incomplete input (an open block, call or string, decided by Rhai's parser) continues on the
//! next line under a `...>` prompt; history is kept in `~/.gan_history` (or
//! `$XDG_STATE_HOME/gan/history`, or `GAN_HISTORY`); Tab completes DSL functions, methods after
//! a `.`, and the variables and functions of the session. Ctrl-C while a cell runs stops it at
//! the next training step (the GAN keeps its state; `fit` again continues); Ctrl-C at an empty
//! prompt twice in a row, or Ctrl-D, exits. Images go to the session's run directory
//! (`runs/repl-<timestamp>/` or `--out`) and their paths are printed.

mod cell;
mod helper;
mod sink;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use clap::Args;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{CompletionType, Config, Editor, EventHandler, KeyEvent};

use gan::session::{self, Completeness, Session};

use crate::cli::sink::TerminalSink;

use cell::Repl;
use helper::{CtrlCProbe, Names, ReplHelper};
use sink::ReplSink;

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
