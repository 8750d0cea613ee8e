//! The command line, as clap definitions only. Turning these into work happens in `commands`.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand};
use wsus_airgap::manifest::TransferMode;
use wsus_airgap::transfer::volumes::VolumeOptions;
use wsus_airgap::transfer::{ImportOptions, PackageSource, default_state_path, wsusutil};
use wsus_airgap::volumes::Size;
use wsus_airgap::wsus::script;
use wsus_airgap::wsus::wait::WaitOptions;
use wsus_airgap::wsus::{ApprovalsMode, PowerShell, StageOptions, StateSource};

const EXIT_CODES: &str = "\
Exit codes:
  0  success: nothing wrong was found
  1  the check ran and found problems, or media was refused, or import --wait
     ended with approved updates not ready
  2  usage or I/O error (for example, the folder does not exist)
  3  wsusutil or PowerShell failed (export, import, verify)";

/// Move WSUS updates into air-gapped networks, and prove they arrived authentic, complete and
/// intact.
#[derive(Debug, Parser)]
#[command(name = "wsus-airgap", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Prove a WsusContent folder intact: hash every content file and compare it with the
    /// SHA-1 in its name. Needs no manifest and no database.
    #[command(after_help = EXIT_CODES)]
    Audit(AuditArgs),
    /// Show what a `wsusutil export` package holds: server, languages, updates and files.
    #[command(after_help = EXIT_CODES)]
    Inspect(InspectArgs),
    /// Check that a WsusContent folder holds every file an export package's updates need,
    /// and name the updates that would show "Failed to download" once approved.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Make an Ed25519 key pair for signing manifests: a secret key for the connected side and
    /// a public key (in minisign's format) for the disconnected side.
    #[command(after_help = EXIT_CODES)]
    Keygen(KeygenArgs),
    /// Create or verify a signed manifest of a transfer.
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Copy a content folder by content hash: incrementally (like robocopy /E) or as an
    /// authoritative mirror (like /MIR) with safety brakes. Plans first; --dry-run prints
    /// the plan.
    #[command(after_help = EXIT_CODES)]
    Mirror(MirrorArgs),
    /// Connected side: run `wsusutil export`, check the content against the package, stage
    /// the content on the media and sign a manifest of it, last.
    #[command(after_help = EXIT_CODES)]
    Export(ExportArgs),
    /// The gate: prove media authentic, unexpired, newer than the last import and intact;
    /// with --content, that an import would leave no update without its files.
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// Disconnected side: verify the media, copy its content in, prove the content complete,
    /// then run `wsusutil import`; write a receipt for the next export.
    #[command(after_help = EXIT_CODES)]
    Import(ImportArgs),
    /// The whole round trip on generated sample sites, no WSUS needed: export from a
    /// connected site to media, verify, import into a disconnected site.
    #[command(after_help = EXIT_CODES)]
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The WsusContent folder to audit.
    #[arg(value_name = "WSUSCONTENT")]
    pub content: PathBuf,
    /// Also write the report as one self-contained HTML page (for a change board) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Number of files hashed at once [default: one per CPU].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The export package (a .cab or gzip file written by `wsusutil export`).
    #[arg(value_name = "PACKAGE")]
    pub package: PathBuf,
    /// Write one JSON document to stdout instead of the text report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The export package (a .cab or gzip file written by `wsusutil export`).
    #[arg(long, value_name = "PACKAGE")]
    pub package: PathBuf,
    /// The WsusContent folder to check.
    #[arg(long, value_name = "WSUSCONTENT")]
    pub content: PathBuf,
    /// The approved updates: one update GUID per line, or the CSV written by
    /// `Get-WsusUpdate -Approval Approved | Export-Csv`. Then only approved updates that lack
    /// content fail the check; other gaps are reported as information.
    #[arg(long, value_name = "FILE")]
    pub approved: Option<PathBuf>,
    /// Also write the report as one self-contained HTML page (for a change board) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Number of files hashed at once [default: one per CPU].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the secret key (PKCS#8 PEM, readable by its owner only).
    #[arg(long, value_name = "FILE")]
    pub secret: PathBuf,
    /// Where to write the public key (minisign format).
    #[arg(long, value_name = "FILE")]
    pub public: PathBuf,
    /// Replace existing key files.
    #[arg(long)]
    pub force: bool,
}

impl Command {
    /// True when the command was asked for one JSON document on stdout.
    pub fn wants_json(&self) -> bool {
        match self {
            Command::Audit(args) => args.output.json,
            Command::Inspect(args) => args.json,
            Command::Check(args) => args.output.json,
            Command::Manifest(ManifestCommand::Verify(args)) => args.output.json,
            Command::Mirror(args) => args.output.json,
            Command::Export(args) => args.output.json,
            Command::Verify(args) => args.output.json,
            Command::Import(args) => args.output.json,
            Command::Keygen(_)
            | Command::Manifest(ManifestCommand::Create(_) | ManifestCommand::Show(_))
            | Command::Demo(_) => false,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Hash a content folder (and an export package), and write a signed manifest of it.
    #[command(after_help = EXIT_CODES)]
    Create(ManifestCreateArgs),
    /// List what signed media holds, without re-hashing: the signature is checked, then the
    /// manifest's sequence, expiry, source, package, counts and every file are shown.
    #[command(after_help = EXIT_CODES)]
    Show(ManifestShowArgs),
    /// Check a manifest's signature, expiry and sequence, then re-hash every listed file and
    /// report missing, changed and unlisted files.
    #[command(after_help = EXIT_CODES)]
    Verify(ManifestVerifyArgs),
}

/// The transfer modes, for the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Mode {
    /// The importer keeps content files the manifest does not list (like robocopy /E).
    Incremental,
    /// The importer removes content files the manifest does not list (like robocopy /MIR).
    Mirror,
}

impl From<Mode> for TransferMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Incremental => TransferMode::Incremental,
            Mode::Mirror => TransferMode::Mirror,
        }
    }
}

#[derive(Debug, Args)]
pub struct ManifestCreateArgs {
    /// The content folder to describe (on media, its WsusContent folder).
    #[arg(long, value_name = "DIR")]
    pub content: PathBuf,
    /// The export package the transfer carries; it is read whole and must be valid.
    #[arg(long, value_name = "FILE")]
    pub package: Option<PathBuf>,
    /// The secret key to sign with.
    #[arg(long, value_name = "SECRET")]
    pub key: PathBuf,
    /// Sign this sequence number [default: the last one signed with this key, plus one,
    /// kept in <SECRET>.sequence, which export uses too].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub sequence: Option<u64>,
    /// Days until the manifest expires.
    #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=3650))]
    pub expires: u16,
    /// What the importer does with content files the manifest does not list.
    #[arg(long, value_enum, default_value = "incremental")]
    pub mode: Mode,
    /// The folder to write manifest.json and manifest.json.minisig into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Number of files hashed at once [default: one per CPU].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

#[derive(Debug, Args)]
pub struct ManifestShowArgs {
    /// The folder holding manifest.json and manifest.json.minisig.
    #[arg(value_name = "DIR")]
    pub folder: PathBuf,
    /// The public key of the signer to trust.
    #[arg(long, value_name = "PUBLIC")]
    pub trust: PathBuf,
}

#[derive(Debug, Args)]
pub struct ManifestVerifyArgs {
    /// The folder holding manifest.json and manifest.json.minisig.
    #[arg(value_name = "DIR")]
    pub folder: PathBuf,
    /// The public key of the signer to trust.
    #[arg(long, value_name = "PUBLIC")]
    pub trust: PathBuf,
    /// The trust state file: refuse a sequence not newer than the last one accepted from the
    /// same key.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The content folder the manifest describes [default: DIR/WsusContent].
    #[arg(long, value_name = "DIR")]
    pub content: Option<PathBuf>,
    /// The export package the manifest names [default: DIR/<name in the manifest>].
    #[arg(long, value_name = "FILE")]
    pub package: Option<PathBuf>,
    /// Accept a manifest past its expiry; the report says so.
    #[arg(long)]
    pub allow_expired: bool,
    /// Accept a sequence not newer than the last accepted one; the report says so.
    #[arg(long)]
    pub allow_rollback: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Number of files hashed at once [default: one per CPU].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// The folder to copy from.
    #[arg(value_name = "SOURCE")]
    pub source: PathBuf,
    /// The folder to copy into (created if needed).
    #[arg(value_name = "DEST")]
    pub destination: PathBuf,
    /// incremental: never delete. mirror: delete (or quarantine) what the source lacks
    /// [default: the manifest's mode with --manifest, else incremental].
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Copy what this verified manifest lists: every copied file must match it.
    #[arg(long, value_name = "DIR", requires = "trust")]
    pub manifest: Option<PathBuf>,
    /// The public key the manifest must be signed with.
    #[arg(long, value_name = "PUBLIC", requires = "manifest")]
    pub trust: Option<PathBuf>,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Hash every file of equal size on both sides, ignoring the hash cache.
    #[arg(long)]
    pub full: bool,
    /// Refuse every deletion (exit 1) if the plan deletes more than N files.
    #[arg(long, value_name = "N")]
    pub max_delete: Option<u64>,
    /// Move files the source lacks into DIR instead of deleting them.
    #[arg(long, value_name = "DIR")]
    pub quarantine: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Number of files hashed at once while planning [default: one per CPU].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to generate the sample sites; it must not exist yet or be empty
    /// [default: a new folder under the system's temporary folder, kept afterwards].
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

/// How a command reports.
#[derive(Debug, Clone, Copy, Args)]
pub struct OutputArgs {
    /// Write one JSON document to stdout instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The connected server's WsusContent folder.
    #[arg(long, value_name = "WSUSCONTENT")]
    pub content: PathBuf,
    /// The media folder to write (created if needed).
    #[arg(long, value_name = "DIR")]
    pub media: PathBuf,
    /// The secret key that signs the manifest.
    #[arg(long, value_name = "SECRET")]
    pub key: PathBuf,
    /// wsusutil.exe to run [default: %ProgramFiles%\Update Services\Tools\wsusutil.exe].
    #[arg(long, value_name = "PATH", conflicts_with = "package")]
    pub wsusutil: Option<PathBuf>,
    /// Use this existing export package instead of running wsusutil export.
    #[arg(long, value_name = "FILE")]
    pub package: Option<PathBuf>,
    /// How the disconnected side applies the content.
    #[arg(long, value_enum, default_value_t = Mode::Incremental)]
    pub mode: Mode,
    /// The receipt of the disconnected side's last import: only files it lacks go on the
    /// media, while the manifest still lists all.
    #[arg(long, value_name = "RECEIPT")]
    pub since: Option<PathBuf>,
    /// Days until the manifest expires.
    #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=3650))]
    pub expires: u16,
    /// Sign this sequence number [default: the last one signed with this key, plus one,
    /// kept in <SECRET>.sequence].
    #[arg(long, value_name = "N")]
    pub sequence: Option<u64>,
    /// Export even though the content lacks files the package references; the manifest
    /// lists them as gaps.
    #[arg(long)]
    pub allow_gaps: bool,
    /// Split the transfer into volumes of at most SIZE bytes each, in volume-01 ... volume-NN:
    /// bytes or units (4.7GB, 4GiB), or dvd (4700372992), dvd-dl (8543666176), bd25
    /// (25025314816), bd50 (50050629632).
    #[arg(long, value_name = "SIZE", value_parser = clap::value_parser!(Size))]
    pub volume_size: Option<Size>,
    /// With --volume-size: cut files larger than SIZE into chunks (fat32: 4294967295).
    #[arg(long, value_name = "SIZE", requires = "volume_size", value_parser = clap::value_parser!(Size))]
    pub max_file_size: Option<Size>,
    /// Take the WSUS approvals, declines, computer groups and settings the manifest carries
    /// from FILE (manifests/wsus-state.schema.json) instead of reading the server.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["no_approvals", "powershell"])]
    pub approvals: Option<PathBuf>,
    /// Carry no WSUS state: the other side can then neither apply approvals nor compare
    /// settings.
    #[arg(long)]
    pub no_approvals: bool,
    /// The PowerShell that runs the WSUS script [default: Windows PowerShell,
    /// %SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe].
    #[arg(long, value_name = "PATH", conflicts_with = "no_approvals")]
    pub powershell: Option<PathBuf>,
    /// Show what would be staged; write nothing (needs --package).
    #[arg(long, requires = "package")]
    pub dry_run: bool,
    /// Append a plain-text record of each step to this file.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Number of files hashed at once [default: one per CPU].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

impl ExportArgs {
    /// The volumes to split the transfer into, if asked.
    pub fn volumes(&self) -> Option<VolumeOptions> {
        self.volume_size.map(|size| VolumeOptions {
            volume_size: size.0,
            max_file_size: self.max_file_size.map(|size| size.0),
        })
    }

    /// Where the WSUS state the manifest carries comes from.
    pub fn wsus_source(&self) -> StateSource {
        match (&self.approvals, self.no_approvals) {
            (Some(file), _) => StateSource::File(file.clone()),
            (None, true) => StateSource::Skip,
            (None, false) => StateSource::Server(
                self.powershell
                    .clone()
                    .unwrap_or_else(script::default_program),
            ),
        }
    }

    /// Where the package comes from: the one given, or wsusutil export.
    pub fn package_source(&self) -> PackageSource {
        match (&self.package, &self.wsusutil) {
            (Some(package), _) => PackageSource::Given(package.clone()),
            (None, program) => {
                PackageSource::Wsusutil(program.clone().unwrap_or_else(wsusutil::default_program))
            }
        }
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The media folder.
    #[arg(long, value_name = "DIR")]
    pub media: PathBuf,
    /// The public key the media must be signed with.
    #[arg(long, value_name = "PUBLIC")]
    pub trust: PathBuf,
    /// The disconnected server's WsusContent folder: also prove that the media and this
    /// folder together hold every file the manifest lists.
    #[arg(long, value_name = "WSUSCONTENT")]
    pub content: Option<PathBuf>,
    /// The trust state: the last sequence imported per key.
    #[arg(long, value_name = "FILE", default_value_os_t = default_state_path())]
    pub state: PathBuf,
    /// The PowerShell that runs the WSUS script, to compare this server's settings with
    /// those the media carries [default: Windows PowerShell].
    #[arg(long, value_name = "PATH")]
    pub powershell: Option<PathBuf>,
    /// Do not read this WSUS server: its settings are not compared with the source's.
    #[arg(long, conflicts_with = "powershell")]
    pub no_settings_check: bool,
    /// Also write the report as one self-contained HTML page (for a change board) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Number of files hashed at once [default: one per CPU].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

impl VerifyArgs {
    /// The PowerShell that reads this WSUS server's settings; `None` with
    /// `--no-settings-check`.
    pub fn settings_powershell(&self) -> Option<PowerShell> {
        let program = self
            .powershell
            .clone()
            .unwrap_or_else(script::default_program);
        (!self.no_settings_check).then(|| PowerShell::new(program))
    }
}

/// What import does with the approvals the media carries, for the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Approvals {
    /// Apply them where the content is proven complete; list those held back and why.
    Apply,
    /// Show what would be applied and held back; change nothing.
    Plan,
    /// Neither read nor change WSUS (but for --wait).
    Skip,
}

impl From<Approvals> for ApprovalsMode {
    fn from(approvals: Approvals) -> Self {
        match approvals {
            Approvals::Apply => ApprovalsMode::Apply,
            Approvals::Plan => ApprovalsMode::Plan,
            Approvals::Skip => ApprovalsMode::Skip,
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The media folder, or a volume of a split transfer; volumes may be given in any order,
    /// one at a time or several (--media repeated).
    #[arg(long, value_name = "DIR", required = true)]
    pub media: Vec<PathBuf>,
    /// The public key the media must be signed with.
    #[arg(long, value_name = "PUBLIC")]
    pub trust: PathBuf,
    /// The disconnected server's WsusContent folder.
    #[arg(long, value_name = "WSUSCONTENT")]
    pub content: PathBuf,
    /// wsusutil.exe to run [default: %ProgramFiles%\Update Services\Tools\wsusutil.exe].
    #[arg(long, value_name = "PATH")]
    pub wsusutil: Option<PathBuf>,
    /// Run `wsusutil reset` after the import.
    #[arg(long)]
    pub reset: bool,
    /// After the import, what to do with the WSUS approvals and declines the media carries.
    #[arg(long, value_enum, default_value_t = Approvals::Plan)]
    pub approvals: Approvals,
    /// The PowerShell that runs the WSUS script [default: Windows PowerShell,
    /// %SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe].
    #[arg(long, value_name = "PATH")]
    pub powershell: Option<PathBuf>,
    /// After the import, wait until WSUS has the files of every approved update (exit 1 if
    /// some are not ready when --wait-timeout passes).
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits (30s, 10m, 4h).
    #[arg(long, value_name = "DURATION", default_value = "4h", value_parser = humantime::parse_duration, requires = "wait")]
    pub wait_timeout: Duration,
    /// How often --wait reads WSUS.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration, requires = "wait")]
    pub wait_interval: Duration,
    /// The trust state: the last sequence imported per key.
    #[arg(long, value_name = "FILE", default_value_os_t = default_state_path())]
    pub state: PathBuf,
    /// Verify and show what would be copied; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Media in mirror mode: stop before wsusutil, deleting nothing (exit 1), if the copy
    /// would delete more than N content files the manifest does not list.
    #[arg(long, value_name = "N")]
    pub max_delete: Option<u64>,
    /// Media in mirror mode: move content files the manifest does not list into DIR instead
    /// of deleting them.
    #[arg(long, value_name = "DIR")]
    pub quarantine: Option<PathBuf>,
    /// Append a plain-text record of each step to this file.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Also write the report as one self-contained HTML page (for a change board) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Number of files hashed at once [default: one per CPU].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

impl ImportArgs {
    /// What import does with WSUS after `wsusutil import`.
    pub fn wsus_options(&self) -> StageOptions {
        StageOptions {
            powershell: self
                .powershell
                .clone()
                .unwrap_or_else(script::default_program),
            approvals: self.approvals.into(),
            wait: self.wait.then_some(WaitOptions {
                timeout: self.wait_timeout,
                interval: self.wait_interval,
            }),
        }
    }

    /// The import's options, at `now`, with hash caches in `cache_folder`.
    pub fn options(&self, now: SystemTime, cache_folder: Option<PathBuf>) -> ImportOptions {
        ImportOptions {
            media: self.media[0].clone(),
            trust: self.trust.clone(),
            content: self.content.clone(),
            wsusutil: (self.wsusutil.clone()).unwrap_or_else(wsusutil::default_program),
            reset: self.reset,
            state: self.state.clone(),
            dry_run: self.dry_run,
            max_delete: self.max_delete,
            quarantine: self.quarantine.clone(),
            now,
            cache_folder,
            jobs: self.jobs,
        }
    }
}
