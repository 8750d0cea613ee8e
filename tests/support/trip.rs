//! A small round trip for the tests that run the binary: a connected content folder, a key
//! pair and the disconnected side's folders in one temporary folder, with the commands that
//! carry content between them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use wsus_airgap::synth::{self, Site, SiteSpec};

use super::{run_command, stand_in_wsusutil};

/// A small connected content folder, a key pair, and the folders of the disconnected side,
/// in one temporary folder.
pub struct Trip {
    pub dir: tempfile::TempDir,
    pub site: Site,
}

impl Trip {
    pub fn new(seed: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let spec = SiteSpec {
            files: 12,
            min_size: 100,
            max_size: 4_000,
            large_files: 0,
            large_size: 0,
            seed,
        };
        let site =
            synth::generate(&dir.path().join("connected").join("WsusContent"), &spec).unwrap();
        fs::create_dir(dir.path().join("disconnected")).unwrap();
        super::keygen(&dir.path().join("site.key"), &dir.path().join("site.pub"));
        Trip { dir, site }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Everything on the disconnected side, but the lock files runs take aside: what a
    /// refused run may not change.
    pub fn disconnected_files(&self) -> std::collections::BTreeMap<String, Option<Vec<u8>>> {
        let mut all = super::snapshot(&self.path("disconnected"));
        all.retain(|path, _| !path.ends_with(".lock"));
        all
    }

    pub fn content(&self) -> PathBuf {
        self.path("disconnected").join("WsusContent")
    }

    /// The binary, with the stand-in wsusutil exporting the connected content, and no fault.
    pub fn command(&self) -> Command {
        super::transfer_command(
            &self.path("cache"),
            &self.site.root,
            &self.path("wsusutil-record.txt"),
        )
    }

    /// `export` of the connected content into `media`, signed with the trip's key, of
    /// `package`, or else of the package the stand-in wsusutil makes.
    pub fn export(&self, media: &Path, package: Option<&Path>) -> Command {
        let mut command = self.command();
        command
            .args(["export", "--quiet", "--no-approvals", "--content"])
            .arg(&self.site.root)
            .arg("--media")
            .arg(media)
            .arg("--key")
            .arg(self.path("site.key"));
        match package {
            Some(package) => command.arg("--package").arg(package),
            None => command.arg("--wsusutil").arg(stand_in_wsusutil()),
        };
        command
    }

    /// `verify` or `import` of `media` into the disconnected content folder.
    pub fn gate(&self, verb: &str, media: &Path) -> Command {
        let mut command = self.command();
        command
            .args([verb, "--quiet", "--media"])
            .arg(media)
            .arg("--trust")
            .arg(self.path("site.pub"))
            .arg("--content")
            .arg(self.content())
            .arg("--state")
            .arg(self.path("trust-state.json"));
        if verb == "import" {
            command.arg("--wsusutil").arg(stand_in_wsusutil());
        }
        command
    }

    /// A package the stand-in wsusutil makes of the connected content as it is now.
    pub fn package(&self) -> PathBuf {
        let package = self.path("package.cab");
        let made = run_command(
            Command::new(stand_in_wsusutil())
                .env("WSUSUTIL_CONTENT", &self.site.root)
                .env_remove("WSUSUTIL_FAIL")
                .env_remove("WSUSUTIL_EMPTY_PACKAGE")
                .env_remove("WSUSUTIL_HANG")
                .arg("export")
                .arg(&package)
                .arg(self.path("package.log")),
        );
        assert_eq!(made.code, 0, "{}", made.stderr);
        package
    }

    /// `manifest create` of the connected content into `folder`, signed with the trip's key.
    pub fn manifest(&self, folder: &Path) {
        fs::create_dir_all(folder).unwrap();
        let made = run_command(
            Command::new(super::binary())
                .args([
                    "manifest",
                    "create",
                    "--quiet",
                    "--sequence",
                    "1",
                    "--content",
                ])
                .arg(&self.site.root)
                .arg("--key")
                .arg(self.path("site.key"))
                .arg("--out")
                .arg(folder),
        );
        assert_eq!(made.code, 0, "{}", made.stderr);
    }

    /// `mirror` of the connected content into `destination`, with a private hash cache.
    pub fn mirror(&self, destination: &Path, more: &[&str]) -> Command {
        let mut command = Command::new(super::binary());
        command
            .env("WSUS_AIRGAP_CACHE_DIR", self.path("cache"))
            .args(["mirror", "--quiet"])
            .arg(&self.site.root)
            .arg(destination)
            .args(more);
        command
    }
}
