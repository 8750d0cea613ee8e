//! Writes a synthetic WsusContent folder, and optionally an export package whose updates
//! reference it, for benchmarks and experiments.
//!
//! ```text
//! cargo run --release --example synth-site -- OUT [--files N] [--min-size B] [--max-size B]
//!     [--pareto ALPHA] [--large N] [--large-size B] [--seed S] [--corrupt N] [--misplace N]
//!     [--remove N]
//!     [--package FILE [--updates N] [--bundles N] [--missing N] [--unreferenced N]
//!      [--languages N] [--description-bytes B]]
//! ```
//!
//! With `--pareto ALPHA`, ordinary file sizes follow a Pareto distribution (shape ALPHA, cut at
//! `--min-size` and `--max-size`) instead of the library's log-uniform spread: a few large
//! files hold most of the bytes, as in a real store. `--files 1500 --min-size 65536
//! --max-size 100663296 --pareto 0.65` gives about 2.2 GB, the largest file about 80 MB.
//!
//! The package is written before any damage, so it describes the intact site. Prints one line
//! per damaged file, then a summary, to stdout.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Parser;
use sha1::{Digest, Sha1};
use wsus_airgap::content::{Sha1Digest, content_path};
use wsus_airgap::synth::{self, Damage, Damaged, ExportSpec, Site, SiteFile, SiteSpec, SplitMix64};

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
    /// Pareto shape of the ordinary files' sizes (smaller: more bytes in the largest files);
    /// without it sizes are spread log-uniformly.
    #[arg(long)]
    pareto: Option<f64>,
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
    let site = match args.pareto {
        Some(alpha) => pareto_site(&args.out, &spec, alpha)?,
        None => synth::generate(&args.out, &spec)?,
    };
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

/// A site like [`synth::generate`]'s, but with ordinary file sizes drawn from a Pareto
/// distribution of shape `alpha` bounded by the spec's smallest and largest size.
fn pareto_site(root: &Path, spec: &SiteSpec, alpha: f64) -> io::Result<Site> {
    if alpha.is_nan() || alpha <= 0.0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--pareto must be above 0",
        ));
    }
    fs::create_dir_all(root)?;
    fs::File::create(root.join(synth::ANONYMOUS_CHECK_FILE))?;
    let mut random = SplitMix64(spec.seed);
    let (low, high) = (
        spec.min_size.max(1) as f64,
        spec.max_size.max(spec.min_size).max(1) as f64,
    );
    let mut files = Vec::with_capacity(spec.files + spec.large_files);
    let mut buffer = vec![0u8; 1 << 20];
    for index in 0..spec.files + spec.large_files {
        let (size, extension) = if index < spec.files {
            // Inverse of the bounded Pareto distribution's CDF.
            let unit = (random.next() >> 11) as f64 / (1u64 << 53) as f64;
            let size = low * (1.0 - unit * (1.0 - (low / high).powf(alpha))).powf(-1.0 / alpha);
            let extension = ["cab", "cab", "cab", "exe", "msu"][(random.next() % 5) as usize];
            (size.round() as u64, extension)
        } else if (index - spec.files).is_multiple_of(2) {
            (spec.large_size, "esd")
        } else {
            (spec.large_size, "exe")
        };
        files.push(write_content(
            root,
            size,
            extension,
            &mut random,
            &mut buffer,
        )?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Site {
        root: root.to_owned(),
        files,
    })
}

/// Writes `size` random bytes and moves the file to where its SHA-1 says it belongs.
fn write_content(
    root: &Path,
    size: u64,
    extension: &str,
    random: &mut SplitMix64,
    buffer: &mut [u8],
) -> io::Result<SiteFile> {
    let temporary = root.join(".synth-partial");
    let mut file = fs::File::create(&temporary)?;
    let mut sha1 = Sha1::new();
    let mut left = size;
    while left > 0 {
        let chunk = &mut buffer[..left.min(1 << 20) as usize];
        random.fill(chunk);
        sha1.update(&*chunk);
        file.write_all(chunk)?;
        left -= chunk.len() as u64;
    }
    drop(file);
    let sha1 = Sha1Digest(sha1.finalize().into());
    let path = content_path(&sha1, extension);
    fs::create_dir_all(root.join(sha1.folder()))?;
    fs::rename(&temporary, root.join(&path))?;
    Ok(SiteFile { path, sha1, size })
}
