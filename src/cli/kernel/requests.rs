//! Replies to control and shell requests (execute, complete, inspect, is_complete, kernel_info,
//! interrupt, shutdown).

use std::sync::atomic::Ordering;

use serde_json::json;
use tokio::sync::oneshot;

use gan::session::{self, Completeness};

use super::wire::{self, Message};
use super::worker::{ExecOutcome, Job};
use super::Kernel;

pub(super) fn kernel_info(k: &Kernel, msg: &Message) -> Message {
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

pub(super) async fn handle_control(k: &Kernel, msg: &Message) -> (Option<Message>, bool) {
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
pub(super) fn byte_of_char(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

pub(super) fn char_of_byte(s: &str, byte: usize) -> usize {
    s[..byte.min(s.len())].chars().count()
}

pub(super) async fn handle_shell(
    k: &Kernel,
    msg: &Message,
    count: &mut u64,
) -> (Option<Message>, bool) {
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
