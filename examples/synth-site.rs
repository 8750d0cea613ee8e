//! Writes a synthetic WsusContent folder, and optionally an export package whose updates
//! reference it, for benchmarks and experiments.
//!
//! ```text
//! cargo run --release --example synth-site -- OUT [--files N] [--min-size B] [--max-size B]
//!     [--large N] [--large-size B] [--seed S] [--corrupt N] [--misplace N] [--remove N]
//!     [--package FILE [--updates N] [--bundles N] [--missing N] [--unreferenced N]
//!      [--languages N] [--description-bytes B]]
//! ```
//!
//! The package is written before any damage, so it describes the intact site. Prints one line
//! per damaged file, then a summary, to stdout.

use std::path::PathBuf;

use clap::Parser;
use wsus_airgap::synth::{self, Damage, Damaged, ExportSpec, SiteSpec};

#[derive(Parser)]
struct Args {
    /// The WsusContent folder to write (created if needed).
    out: PathBuf,
    /// Ordinary content files (.cab, .exe, .msu).
    #[arg(long, default_value_t = 100)]
    files: usize,
    /// Smallest ordinary file, in bytes.
    #[arg(long, default_value_t = 1024)]
    min_size: u64,
    /// Largest ordinary file, in bytes.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    max_size: u64,
    /// Large files (alternately .exe and .esd).
    #[arg(long, default_value_t = 0)]
    large: usize,
    /// Size of each large file, in bytes.
    #[arg(long, default_value_t = 256 * 1024 * 1024)]
    large_size: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Files to corrupt (one byte inverted).
    #[arg(long, default_value_t = 0)]
    corrupt: usize,
    /// Files to move out of their folder.
    #[arg(long, default_value_t = 0)]
    misplace: usize,
    /// Files to delete.
    #[arg(long, default_value_t = 0)]
    remove: usize,
    /// Also write an export package (a cabinet) referencing the site's files.
    #[arg(long, value_name = "FILE")]
    package: Option<PathBuf>,
    /// Software updates in the package; the site's files are dealt out among them.
    #[arg(long, default_value_t = 8)]
    updates: usize,
    /// Bundle updates, each bundling two software updates.
    #[arg(long, default_value_t = 2)]
    bundles: usize,
    /// File references to content that is not in the site.
    #[arg(long, default_value_t = 0)]
    missing: usize,
    /// Site files (the last ones by path) that no update references.
    #[arg(long, default_value_t = 0)]
    unreferenced: usize,
    /// Localized titles and descriptions per update (1 to 8).
    #[arg(long, default_value_t = 3)]
    languages: usize,
    /// Extra description text per language, to make records as large as real ones.
    #[arg(long, default_value_t = 0)]
    description_bytes: usize,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let spec = SiteSpec {
        files: args.files,
        min_size: args.min_size,
        max_size: args.max_size,
        large_files: args.large,
        large_size: args.large_size,
        seed: args.seed,
    };
    let site = synth::generate(&args.out, &spec)?;
    if let Some(package) = &args.package {
        let export_spec = ExportSpec {
            software_updates: args.updates,
            second_revisions: args.updates.min(1),
            bundles: args.bundles,
            missing_files: args.missing,
            unreferenced_files: args.unreferenced,
            languages: args.languages,
            description_bytes: args.description_bytes,
            seed: args.seed,
            ..ExportSpec::default()
        };
        let export = synth::write_export(package, &site.files, &export_spec)?;
        println!(
            "wrote {} updates, {} missing and {} unreferenced files, to {}",
            export.updates.len(),
            export.missing.len(),
            export.unreferenced.len(),
            package.display()
        );
    }
    let damage = Damage {
        corrupt: args.corrupt,
        misplace: args.misplace,
        remove: args.remove,
    };
    for damaged in site.damage(&damage)? {
        match damaged {
            Damaged::Corrupted { path } => println!("corrupted {path}"),
            Damaged::Misplaced { from, to } => println!("misplaced {from} -> {to}"),
            Damaged::Removed { path } => println!("removed {path}"),
        }
    }
    let bytes: u64 = site.files.iter().map(|f| f.size).sum();
    println!(
        "wrote {} content files, {bytes} bytes, to {}",
        site.files.len(),
        args.out.display()
    );
    Ok(())
}
