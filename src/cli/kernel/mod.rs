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
mod requests;
pub mod wire;
mod worker;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use zeromq::{Socket, SocketRecv, SocketSend};

use gan::script::HostConfig;

use wire::{ConnectionInfo, Message, Signer};

use requests::{handle_control, handle_shell};
use worker::{start_worker, Job};

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
