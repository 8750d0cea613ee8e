//! The `wsus-airgap` binary: parse the command line, run one command, print, exit.

mod cli;
mod commands;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Started as `wsusutil` (the demo's copy of this program): the stand-in for wsusutil.exe.
    let mut args = std::env::args_os();
    let name = args.next().map(std::path::PathBuf::from);
    let stem = name.as_deref().and_then(std::path::Path::file_stem);
    if stem.is_some_and(|stem| stem.eq_ignore_ascii_case("wsusutil")) {
        let args: Vec<_> = args.collect();
        return wsus_airgap::synth::wsusutil::run(&args).into();
    }
    // Started as `powershell`: the stand-in for Windows PowerShell running the WSUS script.
    if stem.is_some_and(|stem| stem.eq_ignore_ascii_case("powershell")) {
        let args: Vec<_> = args.collect();
        return wsus_airgap::synth::powershell::run(&args).into();
    }
    let cli = cli::Cli::parse();
    commands::run(cli.command).into()
}
