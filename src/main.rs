//! The `wsus-airgap` binary: parse the command line, run one command, print, exit.

mod cli;
mod commands;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    commands::run(cli.command).into()
}
