//! The session's thread: it runs cells, completions and inspections in order, and publishes a
//! running cell's outputs on IOPub as they happen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};

use anyhow::{Context, Result};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use gan::script::HostConfig;
use gan::session::{self, Output, OutputSink, Session};

use super::wire::Message;

/// Work for the session's thread.
pub(super) enum Job {
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

pub(super) enum ExecOutcome {
    Value(Option<session::MimeBundle>),
    Error {
        ename: String,
        evalue: String,
        traceback: Vec<String>,
    },
}

/// Starts the session thread; returns its job queue and interrupt flag.
pub(super) fn start_worker(
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
pub(super) fn output_message(o: &Output) -> (&'static str, Value) {
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
