//! Times the manifest layer without the hashing of content: building, serializing, signing
//! and writing a manifest of N entries, and reading, verifying and parsing it back.
//!
//! `manifest-bench create DIR --entries N` writes DIR/manifest.json, its signature and the key
//! pair; `manifest-bench verify DIR` verifies it. Each prints its wall time; run each under
//! `/usr/bin/time` for peak memory (bench/manifest.sh does).

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use clap::{Parser, Subcommand};
use wsus_airgap::content::Sha1Digest;
use wsus_airgap::content::content_path;
use wsus_airgap::manifest::keys::{self, PublicKey, SecretKey};
use wsus_airgap::manifest::verify::{self, VerifyOptions};
use wsus_airgap::manifest::{
    Blake3Digest, FORMAT_VERSION, FileEntry, Manifest, ManifestTotals, Source, Timestamp,
    TransferMode, create,
};
use wsus_airgap::relpath::RelPath;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a manifest of synthetic entries, sign it, and write it into DIR.
    Create {
        dir: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        entries: u64,
    },
    /// Verify and parse DIR/manifest.json against DIR/site.pub.
    Verify { dir: PathBuf },
}

fn main() {
    match Cli::parse().command {
        Command::Create { dir, entries } => {
            std::fs::create_dir_all(&dir).unwrap();
            let (secret_path, public_path) = (dir.join("site.key"), dir.join("site.pub"));
            keys::generate(&secret_path, &public_path, true).unwrap();
            let secret = SecretKey::read(&secret_path).unwrap();
            let started = Instant::now();
            let manifest = synthetic(entries);
            let built = started.elapsed();
            let written = create::sign_and_write(&manifest, &secret, &dir).unwrap();
            println!(
                "create: {entries} entries, {} bytes: built in {:.3} s, serialized, signed and written in {:.3} s, {:.3} s in all",
                written.manifest_bytes,
                built.as_secs_f64(),
                (started.elapsed() - built).as_secs_f64(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Verify { dir } => {
            let public = PublicKey::read(&dir.join("site.pub")).unwrap();
            let started = Instant::now();
            let options = VerifyOptions {
                now: SystemTime::now(),
                allow_expired: false,
                allow_rollback: false,
                state: None,
                allow_already_accepted: false,
            };
            let verified = verify::verify(&dir, &public, &options).unwrap();
            println!(
                "verify: {} entries, {} bytes: read, verified and parsed in {:.3} s",
                verified.manifest.entries.len(),
                verified.manifest_bytes,
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// A manifest shaped like a real one: content files spread over the 256 folders, sizes from
/// bytes to megabytes, every digest distinct.
fn synthetic(count: u64) -> Manifest {
    let mut entries: Vec<FileEntry> = (0..count)
        .map(|index| {
            let seed = blake3::hash(&index.to_le_bytes());
            let mut sha1 = [0u8; 20];
            sha1.copy_from_slice(&seed.as_bytes()[..20]);
            let sha1 = Sha1Digest(sha1);
            let extension = ["cab", "exe", "msu", "esd"][(index % 4) as usize];
            FileEntry {
                path: RelPath::new(&content_path(&sha1, extension)).unwrap(),
                size: u64::from(seed.as_bytes()[20]) << (index % 16),
                blake3: Blake3Digest(blake3::hash(seed.as_bytes())),
                sha1: Some(sha1),
                carried: true,
                volume: None,
                chunks: Vec::new(),
            }
        })
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let created = Timestamp::new(SystemTime::now());
    Manifest {
        format_version: FORMAT_VERSION,
        tool: format!("wsus-airgap {}", env!("CARGO_PKG_VERSION")),
        sequence: 1,
        created,
        expires: created.plus_days(30),
        mode: TransferMode::Incremental,
        source: Source {
            server_id: Some("5e1f0c2a-7b3d-4c8e-9a61-0d2b4f6a8c10".into()),
            host: "bench".into(),
        },
        package: None,
        totals: ManifestTotals {
            files: count,
            bytes: entries.iter().map(|entry| entry.size).sum(),
        },
        entries,
        gaps: Vec::new(),
        volumes: None,
        wsus: None,
    }
}
