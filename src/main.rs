//! The `gan` command.

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    if matches!(
        args.command,
        cli::Command::Report(_) | cli::Command::Eval { .. } | cli::Command::Docs
    ) {
        // Commands that only print a result end quietly when their reader goes away
        // (`gan report DIR | head`), as other command-line tools do, instead of panicking in
        // `println!`. Commands that train or serve keep Rust's default (SIGPIPE ignored): a
        // closed pipe must not kill a run between checkpoints or the kernel.
        // SAFETY: called before any other thread exists; SIG_DFL is a valid disposition.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let result = match args.command {
        cli::Command::Run(a) => cli::run::main(a),
        cli::Command::Resume(a) => cli::resume::main(a),
        cli::Command::Repl(a) => cli::repl::main(a),
        cli::Command::Kernel(a) => cli::kernel::main(a),
        cli::Command::Bench(a) if a.dcgan => cli::bench_dcgan::main(&a),
        cli::Command::Bench(a) => cli::bench::main(a),
        cli::Command::Sweep(a) => cli::sweep::main(a),
        cli::Command::Report(a) => cli::report::main(a),
        cli::Command::Data { command } => cli::data::main(command),
        cli::Command::Eval { command } => cli::eval::main(command),
        cli::Command::Docs => {
            print!("{}", gan::script::reference::markdown());
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
