//! The data of `check`'s report: what `--json` serialises, so that the HTML report reads the
//! same structure and the two never disagree.

use std::path::Path;

use serde::Serialize;

use super::Check;
use crate::package::Package;

/// The report (`result`: `complete`, or `incomplete`): what was checked, the verdict, and the
/// check as [`super::compare`] returned it.
#[derive(Debug, Serialize)]
pub struct CheckReport<'a> {
    /// The package, as given on the command line.
    pub package: String,
    pub package_origin: PackageOrigin<'a>,
    /// The content folder, as given on the command line.
    pub content: String,
    pub result: &'static str,
    #[serde(flatten)]
    pub check: &'a Check,
}

/// The WSUS server that wrote an export package, and when: how a report names a package.
#[derive(Debug, Serialize)]
pub struct PackageOrigin<'a> {
    /// `package.xml`'s `ServerID`.
    pub server_id: &'a str,
    /// `package.xml`'s `CreationTime`, as the package writes it.
    pub creation_time: &'a str,
}

impl<'a> From<&'a Package> for PackageOrigin<'a> {
    fn from(package: &'a Package) -> Self {
        PackageOrigin {
            server_id: &package.export.server_id,
            creation_time: &package.export.creation_time,
        }
    }
}

impl<'a> CheckReport<'a> {
    /// The report of `check`, made of the package read from `package_path` and the content
    /// folder `content`.
    pub fn new(
        package_path: &Path,
        content: &Path,
        package: &'a Package,
        check: &'a Check,
    ) -> Self {
        CheckReport {
            package: package_path.display().to_string(),
            package_origin: package.into(),
            content: content.display().to_string(),
            result: if check.passed() {
                "complete"
            } else {
                "incomplete"
            },
            check,
        }
    }
}
