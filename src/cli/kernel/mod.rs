//! `gan kernel`: a native Jupyter kernel for the DSL (`gan kernel install` writes its kernelspec,
//! `gan kernel --connection-file F` runs it).
//!
//! Threads: the session lives on one worker thread (cells are CPU-bound and run there in order);
//! a small tokio runtime serves the sockets: shell requests in order (each waits for the worker),
//! control at any time (an interrupt sets the session's flag: training stops at the next step),
//! heartbeat echoes, and one task publishes everything IOPub carries. Outputs of a running cell
//! reach IOPub as they happen: text as `stream`, images and tables as `display_data`, training
//! progress as one display refreshed with `update_display_data`.

pub mod install;
pub mod wire;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use zeromq::{Socket, SocketRecv, SocketSend};

use gan::script::HostConfig;
use gan::session::{self, Completeness, Output, OutputSink, Session};

use wire::{ConnectionInfo, Message, Signer};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct KernelArgs {
    #[command(subcommand)]
    pub command: Option<KernelCommand>,
    /// The connection file Jupyter wrote (runs the kernel).
    #[arg(long)]
    pub connection_file: Option<PathBuf>,
    /// Run directory for files the notebook writes (default: none; images are shown inline).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// MNIST directory (default: GAN_DATA_DIR, else ./data/mnist).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum KernelCommand {
    /// Install the `gan-rhai` kernelspec (default: for this user).
    Install(install::InstallArgs),
}

pub fn main(args: KernelArgs) -> Result<()> {
    match args.command {
        Some(KernelCommand::Install(a)) => install::main(a),
        None => {
            let Some(cf) = args.connection_file.clone() else {
                anyhow::bail!(
                    "gan kernel needs --connection-file FILE (Jupyter passes it), or `gan kernel install`"
                );
            };
            let info = ConnectionInfo::read(&cf)?;
            let config = HostConfig {
                run_dir: args.out.clone(),
                data_dir: super::data_dir(args.data_dir.clone()),
                recipe_name: "notebook".into(),
                ..Default::default()
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(serve(info, config))
        }
    }
}

/// Work for the session's thread.
enum Job {
    Execute {
        code: String,
        count: u64,
        parent: Value,
        done: oneshot::Sender<ExecOutcome>,
    },
    Complete {
        code: String,
        cursor: usize,
        done: oneshot::Sender<(usize, Vec<String>)>,
    },
    Inspect {
        code: String,
        cursor: usize,
        done: oneshot::Sender<Option<String>>,
    },
}

enum ExecOutcome {
    Value(Option<session::MimeBundle>),
    Error {
        ename: String,
        evalue: String,
        traceback: Vec<String>,
    },
}

/// Shared between the tasks.
struct Kernel {
    session_id: String,
    signer: Signer,
    iopub: mpsc::UnboundedSender<Message>,
    jobs: std_mpsc::Sender<Job>,
    interrupt: Arc<AtomicBool>,
    /// Whether a cell is running (an interrupt outside one is ignored).
    busy: Arc<AtomicBool>,
}

impl Kernel {
    fn publish(&self, parent: &Value, msg_type: &str, content: Value) {
        let _ = self
            .iopub
            .send(Message::iopub(&self.session_id, parent, msg_type, content));
    }

    fn status(&self, parent: &Value, state: &str) {
        self.publish(parent, "status", json!({ "execution_state": state }));
    }
}

/// Starts the session thread; returns its job queue and interrupt flag.
fn start_worker(
    config: HostConfig,
    session_id: String,
    iopub: mpsc::UnboundedSender<Message>,
    busy: Arc<AtomicBool>,
) -> Result<(std_mpsc::Sender<Job>, Arc<AtomicBool>)> {
    let (jobs_tx, jobs_rx) = std_mpsc::channel::<Job>();
    let (ready_tx, ready_rx) = std_mpsc::channel::<Result<Arc<AtomicBool>, String>>();
    std::thread::Builder::new()
        .name("gan-session".into())
        .spawn(move || {
            // Outputs name the request that caused them.
            let parent = Arc::new(Mutex::new(json!({})));
            let sink = {
                let parent = parent.clone();
                let iopub = iopub.clone();
                let sid = session_id.clone();
                OutputSink::new(move |o| {
                    let p = parent.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    let (t, c) = output_message(&o);
                    let _ = iopub.send(Message::iopub(&sid, &p, t, c));
                })
            };
            let mut session = match Session::new(config, Arc::new(sink)) {
                Ok(s) => s,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("{e:#}")));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(session.interrupt_handle()));
            while let Ok(job) = jobs_rx.recv() {
                // A cell's own panic is its error (Session::eval_named); this catches one while
                // rendering a value, completing or looking up help, so the thread goes on. The
                // request whose reply sender died with the panic gets an error reply.
                let _ = session::contain(|| match job {
                    Job::Execute {
                        code,
                        count,
                        parent: p,
                        done,
                    } => {
                        *parent.lock().unwrap_or_else(|e| e.into_inner()) = p;
                        busy.store(true, Ordering::Relaxed);
                        let r = session.eval_named(&format!("cell[{count}]"), &code);
                        busy.store(false, Ordering::Relaxed);
                        let out = match r {
                            Ok(v) => ExecOutcome::Value(session.value_bundle(&v)),
                            Err(e) => ExecOutcome::Error {
                                ename: if e.internal {
                                    "InternalError".into()
                                } else if e.interrupted {
                                    "Interrupted".into()
                                } else {
                                    "ScriptError".into()
                                },
                                evalue: match (e.line, e.col) {
                                    (Some(l), Some(c)) => {
                                        format!("{} (line {l}, col {c})", e.message)
                                    }
                                    (Some(l), None) => format!("{} (line {l})", e.message),
                                    _ => e.message.clone(),
                                },
                                traceback: e.render().lines().map(str::to_string).collect(),
                            },
                        };
                        let _ = done.send(out);
                    }
                    Job::Complete { code, cursor, done } => {
                        let _ = done.send(session.complete(&code, cursor));
                    }
                    Job::Inspect { code, cursor, done } => {
                        let _ = done.send(session.inspect(&code, cursor));
                    }
                });
            }
        })?;
    let flag = ready_rx
        .recv()
        .context("the session thread died")?
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok((jobs_tx, flag))
}

/// The IOPub message for a session output.
fn output_message(o: &Output) -> (&'static str, Value) {
    match o {
        Output::Stream(text) => ("stream", json!({ "name": "stdout", "text": text })),
        Output::Display { data, id } => (
            "display_data",
            json!({
                "data": data,
                "metadata": {},
                "transient": match id { Some(i) => json!({ "display_id": i }), None => json!({}) },
            }),
        ),
        Output::Update { data, id } => (
            "update_display_data",
            json!({ "data": data, "metadata": {}, "transient": { "display_id": id } }),
        ),
    }
}

async fn serve(info: ConnectionInfo, config: HostConfig) -> Result<()> {
    let signer = Signer::new(&info.key);
    let session_id = wire::uuid();

    let mut shell = zeromq::RouterSocket::new();
    shell.bind(&info.endpoint(info.shell_port)).await?;
    let mut control = zeromq::RouterSocket::new();
    control.bind(&info.endpoint(info.control_port)).await?;
    let mut iopub = zeromq::PubSocket::new();
    iopub.bind(&info.endpoint(info.iopub_port)).await?;
    let mut stdin = zeromq::RouterSocket::new();
    stdin.bind(&info.endpoint(info.stdin_port)).await?;
    let mut hb = zeromq::RepSocket::new();
    hb.bind(&info.endpoint(info.hb_port)).await?;

    let (iopub_tx, mut iopub_rx) = mpsc::unbounded_channel::<Message>();
    let busy = Arc::new(AtomicBool::new(false));
    let (jobs, interrupt) =
        start_worker(config, session_id.clone(), iopub_tx.clone(), busy.clone())?;
    // SIGINT (a client that signals despite interrupt_mode "message"): the same as a message.
    {
        let flag = interrupt.clone();
        let busy = busy.clone();
        super::signals::on_signals(&[super::signals::SIGINT], move |_| {
            if busy.load(Ordering::Relaxed) {
                flag.store(true, Ordering::Relaxed);
            }
        });
    }
    let kernel = Arc::new(Kernel {
        session_id,
        signer: signer.clone(),
        iopub: iopub_tx,
        jobs,
        interrupt,
        busy,
    });

    // IOPub: one publisher, in order.
    let pub_signer = signer.clone();
    tokio::spawn(async move {
        while let Some(m) = iopub_rx.recv().await {
            if let Err(e) = iopub.send(m.to_zmq(&pub_signer)).await {
                eprintln!("gan kernel: iopub send failed: {e}");
            }
        }
    });
    // Heartbeat: echo.
    tokio::spawn(async move {
        loop {
            match hb.recv().await {
                Ok(m) => {
                    if hb.send(m).await.is_err() {
                        break;
                    }
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    });
    // stdin: bound so clients can connect; input requests are not supported.
    tokio::spawn(async move {
        loop {
            if stdin.recv().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    // Control: interrupts and shutdown, never behind a running cell.
    let k = kernel.clone();
    tokio::spawn(async move {
        loop {
            let msg = match control.recv().await {
                Ok(z) => match Message::parse(z, &k.signer) {
                    Ok(m) => m,
                    Err(e) => {
                        eprintln!("gan kernel: control: {e:#}");
                        continue;
                    }
                },
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let (reply, quit) = handle_control(&k, &msg).await;
            if let Some(r) = reply {
                let _ = control.send(r.to_zmq(&k.signer)).await;
            }
            if quit {
                // let IOPub and the reply flush, then leave
                tokio::time::sleep(Duration::from_millis(150)).await;
                std::process::exit(0);
            }
        }
    });

    // Shell: in order, on this task.
    let mut count: u64 = 0;
    kernel.status(&json!({}), "starting");
    loop {
        let msg = match shell.recv().await {
            Ok(z) => match Message::parse(z, &kernel.signer) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("gan kernel: shell: {e:#}");
                    continue;
                }
            },
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        kernel.status(&msg.header, "busy");
        let (reply, quit) = handle_shell(&kernel, &msg, &mut count).await;
        if let Some(r) = reply {
            let _ = shell.send(r.to_zmq(&kernel.signer)).await;
        }
        kernel.status(&msg.header, "idle");
        if quit {
            tokio::time::sleep(Duration::from_millis(150)).await;
            std::process::exit(0);
        }
    }
}

fn kernel_info(k: &Kernel, msg: &Message) -> Message {
    msg.reply(
        &k.session_id,
        "kernel_info_reply",
        json!({
            "status": "ok",
            "protocol_version": wire::PROTOCOL_VERSION,
            "implementation": "gan",
            "implementation_version": env!("CARGO_PKG_VERSION"),
            "language_info": {
                "name": "rhai",
                "version": "1",
                "mimetype": "text/x-rhai",
                "file_extension": ".rhai",
                "pygments_lexer": "rust",
                "codemirror_mode": "rust",
            },
            "banner": format!("gan {} — Goodfellow et al. 2014 GANs, scripted in Rhai. `help` a name with Shift-Tab.", env!("CARGO_PKG_VERSION")),
            "help_links": [],
            "debugger": false,
        }),
    )
}

async fn handle_control(k: &Kernel, msg: &Message) -> (Option<Message>, bool) {
    match msg.msg_type() {
        "interrupt_request" => {
            if k.busy.load(Ordering::Relaxed) {
                k.interrupt.store(true, Ordering::Relaxed);
            }
            (
                Some(msg.reply(&k.session_id, "interrupt_reply", json!({ "status": "ok" }))),
                false,
            )
        }
        "shutdown_request" => {
            let restart = msg.content["restart"].as_bool().unwrap_or(false);
            k.interrupt.store(true, Ordering::Relaxed);
            k.publish(
                &msg.header,
                "shutdown_reply",
                json!({ "status": "ok", "restart": restart }),
            );
            (
                Some(msg.reply(
                    &k.session_id,
                    "shutdown_reply",
                    json!({ "status": "ok", "restart": restart }),
                )),
                true,
            )
        }
        "kernel_info_request" => (Some(kernel_info(k, msg)), false),
        _ => (None, false),
    }
}

/// Byte offset of the `chars`-th code point (Jupyter counts cursor positions in code points).
fn byte_of_char(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

fn char_of_byte(s: &str, byte: usize) -> usize {
    s[..byte.min(s.len())].chars().count()
}

async fn handle_shell(k: &Kernel, msg: &Message, count: &mut u64) -> (Option<Message>, bool) {
    let c = &msg.content;
    let sid = &k.session_id;
    match msg.msg_type() {
        "kernel_info_request" => (Some(kernel_info(k, msg)), false),
        "execute_request" => {
            let code = c["code"].as_str().unwrap_or("").to_string();
            let silent = c["silent"].as_bool().unwrap_or(false);
            let store = c["store_history"].as_bool().unwrap_or(!silent) && !silent;
            if store {
                *count += 1;
            }
            let n = (*count).max(1);
            if !silent {
                k.publish(
                    &msg.header,
                    "execute_input",
                    json!({ "code": code, "execution_count": n }),
                );
            }
            let (tx, rx) = oneshot::channel();
            let _ = k.jobs.send(Job::Execute {
                code,
                count: n,
                parent: msg.header.clone(),
                done: tx,
            });
            let outcome = rx.await.unwrap_or_else(|_| {
                let m = "internal error in gan while showing the cell's value (a bug; please report it); the session goes on";
                ExecOutcome::Error {
                    ename: "InternalError".into(),
                    evalue: m.into(),
                    traceback: vec![m.into()],
                }
            });
            let reply = match outcome {
                ExecOutcome::Value(v) => {
                    if let (Some(data), false) = (v, silent) {
                        k.publish(
                            &msg.header,
                            "execute_result",
                            json!({ "execution_count": n, "data": data, "metadata": {} }),
                        );
                    }
                    json!({
                        "status": "ok",
                        "execution_count": n,
                        "user_expressions": {},
                        "payload": [],
                    })
                }
                ExecOutcome::Error {
                    ename,
                    evalue,
                    traceback,
                } => {
                    if !silent {
                        k.publish(
                            &msg.header,
                            "error",
                            json!({ "ename": ename, "evalue": evalue, "traceback": traceback }),
                        );
                    }
                    json!({
                        "status": "error",
                        "execution_count": n,
                        "ename": ename,
                        "evalue": evalue,
                        "traceback": traceback,
                        "user_expressions": {},
                        "payload": [],
                    })
                }
            };
            (Some(msg.reply(sid, "execute_reply", reply)), false)
        }
        "is_complete_request" => {
            let code = c["code"].as_str().unwrap_or("");
            let content = match session::is_complete(code) {
                Completeness::Complete => json!({ "status": "complete" }),
                Completeness::Incomplete => json!({ "status": "incomplete", "indent": "    " }),
                Completeness::Invalid => json!({ "status": "invalid" }),
            };
            (Some(msg.reply(sid, "is_complete_reply", content)), false)
        }
        "complete_request" => {
            let code = c["code"].as_str().unwrap_or("").to_string();
            let chars = c["cursor_pos"]
                .as_u64()
                .unwrap_or(code.chars().count() as u64) as usize;
            let cursor = byte_of_char(&code, chars);
            let (tx, rx) = oneshot::channel();
            let _ = k.jobs.send(Job::Complete {
                code: code.clone(),
                cursor,
                done: tx,
            });
            let (start, matches) = rx.await.unwrap_or((cursor, vec![]));
            (
                Some(msg.reply(
                    sid,
                    "complete_reply",
                    json!({
                        "status": "ok",
                        "matches": matches,
                        "cursor_start": char_of_byte(&code, start),
                        "cursor_end": chars.min(code.chars().count()),
                        "metadata": {},
                    }),
                )),
                false,
            )
        }
        "inspect_request" => {
            let code = c["code"].as_str().unwrap_or("").to_string();
            let chars = c["cursor_pos"]
                .as_u64()
                .unwrap_or(code.chars().count() as u64) as usize;
            let cursor = byte_of_char(&code, chars);
            let (tx, rx) = oneshot::channel();
            let _ = k.jobs.send(Job::Inspect {
                code,
                cursor,
                done: tx,
            });
            let found = rx.await.ok().flatten();
            let content = match found {
                Some(text) => json!({
                    "status": "ok",
                    "found": true,
                    "data": { "text/plain": text },
                    "metadata": {},
                }),
                None => json!({ "status": "ok", "found": false, "data": {}, "metadata": {} }),
            };
            (Some(msg.reply(sid, "inspect_reply", content)), false)
        }
        "comm_info_request" => (
            Some(msg.reply(
                sid,
                "comm_info_reply",
                json!({ "status": "ok", "comms": {} }),
            )),
            false,
        ),
        "history_request" => (
            Some(msg.reply(
                sid,
                "history_reply",
                json!({ "status": "ok", "history": [] }),
            )),
            false,
        ),
        "shutdown_request" => handle_control(k, msg).await,
        "interrupt_request" => handle_control(k, msg).await,
        // comm_open/comm_msg/comm_close: no comms here; ignored as the spec allows
        _ => (None, false),
    }
}
