//! The demo's two sites: a connected site (content and the package `wsusutil export` would
//! write), a signing key, an empty disconnected site and a stand-in wsusutil, laid out in one
//! folder, with the options of each step of the round trip between them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::SyntheticExport;
use super::powershell::{STATE_FILE, StandInServer};
use super::{ExportSpec, SiteSpec, generate, write_export};
use crate::manifest::Timestamp;
use crate::manifest::TransferMode;
use crate::manifest::create::host_name;
use crate::manifest::keys::{self, KeyError, KeyId};
use crate::transfer::{ExportOptions, ImportOptions, PackageSource, VerifyMediaOptions};
use crate::wsus::groups::ALL_COMPUTERS;
use crate::wsus::server::ServerApproval;
use crate::wsus::state::{Decline, Group, Guid};
use crate::wsus::wait::WaitOptions;
use crate::wsus::{ApprovalsMode, StageOptions, StateSource};

/// Why the demo's sites could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{}: the folder is not empty; the demo only writes into a new or empty folder", path.display())]
    NotEmpty { path: PathBuf },
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Where everything of the demo lives.
#[derive(Debug, Clone)]
pub struct Demo {
    pub dir: PathBuf,
    pub connected: PathBuf,
    pub content: PathBuf,
    pub package: PathBuf,
    pub media: PathBuf,
    pub disconnected: PathBuf,
    pub disconnected_content: PathBuf,
    pub keys: PathBuf,
    pub secret: PathBuf,
    pub public: PathBuf,
    pub state: PathBuf,
    pub log: PathBuf,
    pub wsusutil: PathBuf,
    /// The stand-in PowerShell of the connected server, its state beside it.
    pub connected_powershell: PathBuf,
    /// The stand-in PowerShell of the disconnected server, its state beside it (where the
    /// stand-in wsusutil, beside it too, adds the imported updates).
    pub disconnected_powershell: PathBuf,
}

/// What [`Demo::prepare`] made.
#[derive(Debug)]
pub struct Prepared {
    pub files: usize,
    pub bytes: u64,
    pub updates: usize,
    pub key_id: KeyId,
    /// The connected server's approvals and declines.
    pub approvals: usize,
    pub declines: usize,
}

/// Small enough to run in seconds, varied enough to look like a real store.
fn sample() -> SiteSpec {
    SiteSpec {
        files: 200,
        min_size: 1024,
        max_size: 2 * 1024 * 1024,
        large_files: 2,
        large_size: 16 * 1024 * 1024,
        seed: 2024,
    }
}

impl Demo {
    /// The demo laid out in `requested`, if it is new or empty, or else in a fresh temporary
    /// folder that is kept so that the operator can look at it.
    pub fn new(requested: Option<&Path>) -> Result<Self, DemoError> {
        let dir = demo_folder(requested)?;
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        let connected = dir.join("connected");
        let disconnected = dir.join("disconnected");
        let keys = dir.join("keys");
        Ok(Demo {
            content: connected.join(crate::content::FOLDER_NAME),
            package: connected.join("export.xml.gz"),
            media: dir.join("media"),
            disconnected_content: disconnected.join(crate::content::FOLDER_NAME),
            secret: keys.join("site.key"),
            public: keys.join("site.pub"),
            state: disconnected.join("trust-state.json"),
            log: dir.join("wsus-airgap.log"),
            wsusutil: tool(&dir, "disconnected", "wsusutil"),
            connected_powershell: tool(&dir, "connected", "powershell"),
            disconnected_powershell: tool(&dir, "disconnected", "powershell"),
            connected,
            disconnected,
            keys,
            dir,
        })
    }

    /// Generates the connected site and its package, the key, the empty disconnected site,
    /// and copies `this_program` in as the stand-in wsusutil (started under that name, it acts
    /// as one).
    pub fn prepare(&self, this_program: &Path) -> Result<Prepared, DemoError> {
        let io_error = |path: &Path, action| {
            let path = path.to_owned();
            move |source| DemoError::Io {
                path,
                action,
                source,
            }
        };
        let site = generate(&self.content, &sample())
            .map_err(io_error(&self.content, "generate the sample site"))?;
        // One update lacks a file: its approval is held back on the other side.
        let export_spec = ExportSpec {
            software_updates: 40,
            missing_files: 1,
            ..ExportSpec::default()
        };
        let exported = write_export(&self.package, &site.files, &export_spec)
            .map_err(io_error(&self.package, "write the sample package"))?;
        fs::create_dir_all(&self.keys).map_err(io_error(&self.keys, "create"))?;
        let key = keys::generate(&self.secret, &self.public, false)?;
        fs::create_dir_all(&self.disconnected_content)
            .map_err(io_error(&self.disconnected_content, "create"))?;
        let connected = connected_server(&exported);
        for (program, server) in [
            (&self.wsusutil, None),
            (&self.connected_powershell, Some(&connected)),
            (
                &self.disconnected_powershell,
                Some(&StandInServer::default()),
            ),
        ] {
            let tools = program.parent().expect("the tools folder");
            fs::create_dir_all(tools).map_err(io_error(tools, "create"))?;
            fs::copy(this_program, program).map_err(io_error(program, "copy this program to"))?;
            if let Some(server) = server {
                let path = tools.join(STATE_FILE);
                server.save(&path).map_err(|error| DemoError::Io {
                    path,
                    action: "write",
                    source: io::Error::other(format!("{error:#}")),
                })?;
            }
        }
        Ok(Prepared {
            files: site.files.len(),
            bytes: site.files.iter().map(|file| file.size).sum(),
            updates: exported.updates.len(),
            key_id: key.id,
            approvals: connected.approvals.len(),
            declines: connected.declines.len(),
        })
    }

    pub fn export_options(&self) -> ExportOptions {
        ExportOptions {
            wsus: StateSource::Server(self.connected_powershell.clone()),
            content: self.content.clone(),
            media: self.media.clone(),
            key: self.secret.clone(),
            package: PackageSource::Given(self.package.clone()),
            mode: TransferMode::Incremental,
            since: None,
            expires_in_days: 30,
            sequence: None,
            allow_gaps: true,
            dry_run: false,
            host: host_name(),
            now: SystemTime::now(),
            cache_folder: crate::mirror::default_cache_folder(),
            jobs: None,
        }
    }

    pub fn verify_options(&self) -> VerifyMediaOptions {
        VerifyMediaOptions {
            media: self.media.clone(),
            trust: self.public.clone(),
            state: self.state.clone(),
            content: Some(self.disconnected_content.clone()),
            now: SystemTime::now(),
            cache_folder: crate::mirror::default_cache_folder(),
            jobs: None,
        }
    }

    /// Where the stand-ins are, in words.
    pub fn stand_ins(&self, prepared: &Prepared) -> String {
        format!(
            "stand-in wsusutil at {}, stand-in PowerShell (WSUS with {} approvals, {} declines) \
             at {} and {} (this program under those names)",
            self.wsusutil.display(),
            prepared.approvals,
            prepared.declines,
            self.connected_powershell.display(),
            self.disconnected_powershell.display()
        )
    }

    /// After the import: approvals applied, then a wait for their files.
    pub fn stage_options(&self) -> StageOptions {
        StageOptions {
            powershell: self.disconnected_powershell.clone(),
            approvals: ApprovalsMode::Apply,
            wait: Some(WaitOptions {
                timeout: Duration::from_secs(10),
                interval: Duration::from_millis(200),
            }),
        }
    }

    pub fn import_options(&self) -> ImportOptions {
        ImportOptions {
            media: self.media.clone(),
            trust: self.public.clone(),
            content: self.disconnected_content.clone(),
            wsusutil: self.wsusutil.clone(),
            reset: false,
            state: self.state.clone(),
            dry_run: false,
            max_delete: None,
            quarantine: None,
            now: SystemTime::now(),
            cache_folder: crate::mirror::default_cache_folder(),
            jobs: None,
        }
    }
}

/// `<dir>/tools/<side>/<name>`, with the platform's program suffix.
fn tool(dir: &Path, side: &str, name: &str) -> PathBuf {
    let name = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    dir.join("tools").join(side).join(name)
}

/// The demo's connected WSUS server: a group `Servers` under All Computers; the first eight
/// software updates with files approved for All Computers (the second also for Servers,
/// with a deadline), among them the one whose file is missing; the ninth declined.
fn connected_server(exported: &SyntheticExport) -> StandInServer {
    let all = Guid::parse(ALL_COMPUTERS).expect("a GUID");
    let servers = Guid::parse("5e7e75e2-0000-4000-8000-000000000001").expect("a GUID");
    let mut server = StandInServer::default();
    server.server.name = "WSUS-CONNECTED".to_owned();
    server.groups.push(Group {
        id: servers.clone(),
        name: "Servers".to_owned(),
        parent: Some(all.clone()),
    });
    let missing = |update: &&super::SyntheticUpdate| {
        update
            .files
            .iter()
            .any(|file| exported.missing.contains(file))
    };
    let with_files: Vec<&super::SyntheticUpdate> = (exported.updates.iter())
        .filter(|update| update.kind == "Software" && !update.files.is_empty())
        .collect();
    let mut chosen: Vec<&super::SyntheticUpdate> = with_files
        .iter()
        .copied()
        .filter(|u| !missing(u))
        .take(7)
        .collect();
    chosen.extend(with_files.iter().copied().find(missing));
    let approve = |update: &super::SyntheticUpdate, group: &Guid, deadline: Option<Timestamp>| {
        ServerApproval {
            update_id: Guid::parse(&update.id).expect("a GUID"),
            revision: update.revision,
            group_id: group.clone(),
            action: "Install".to_owned(),
            deadline,
            optional: false,
            state: "Active".to_owned(),
        }
    };
    for (index, update) in chosen.iter().enumerate() {
        server.approvals.push(approve(update, &all, None));
        if index == 1 {
            let deadline =
                Timestamp::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_798_761_600));
            server
                .approvals
                .push(approve(update, &servers, Some(deadline)));
        }
    }
    if let Some(declined) = with_files.iter().find(|u| !chosen.contains(u)) {
        server.declines.push(Decline {
            update_id: Guid::parse(&declined.id).expect("a GUID"),
            revision: declined.revision,
        });
    }
    server.import_synthetic(exported);
    server
}

/// The folder to generate into: the one given, if it is new or empty, or a fresh temporary
/// folder, kept.
fn demo_folder(requested: Option<&Path>) -> Result<PathBuf, DemoError> {
    let Some(dir) = requested else {
        let temporary = std::env::temp_dir();
        let dir = tempfile::Builder::new()
            .prefix("wsus-airgap-demo-")
            .tempdir_in(&temporary)
            .map_err(|source| DemoError::Io {
                path: temporary,
                action: "create a folder for the demo in",
                source,
            })?;
        return Ok(dir.keep());
    };
    match fs::read_dir(dir).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(DemoError::NotEmpty {
            path: dir.to_owned(),
        }),
        Ok(false) => Ok(dir.to_owned()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(dir.to_owned()),
        Err(source) => Err(DemoError::Io {
            path: dir.to_owned(),
            action: "read",
            source,
        }),
    }
}
