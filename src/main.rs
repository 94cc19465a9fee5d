//! The `gan` command.

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    let result = match args.command {
        cli::Command::Run(a) => cli::run::main(a),
        cli::Command::Resume(a) => cli::resume::main(a),
        cli::Command::Repl(a) => cli::repl::main(a),
        cli::Command::Kernel(a) => cli::kernel::main(a),
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
