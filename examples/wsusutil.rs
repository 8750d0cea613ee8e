//! The stand-in for Microsoft's `wsusutil.exe` as a program of its own; see
//! `wsus_airgap::synth::wsusutil` for its command line and the environment it obeys.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    ExitCode::from(wsus_airgap::synth::wsusutil::run(&args))
}
