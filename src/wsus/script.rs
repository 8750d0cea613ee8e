//! Running the one PowerShell script (`powershell/wsus-airgap.ps1`, embedded here) that
//! reads WSUS and applies plans.
//!
//! Each run gets a private folder: the script is written there, with the request, and the
//! program is started as `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass
//! -File <script> -Request <file> -Response <file> -Journal <file>`. Values only ever travel
//! in those JSON files; the command line holds nothing but this program's own paths. A run
//! that fails is reported with the steps its journal says were carried out before it failed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::de::DeserializeOwned;

use super::server::{Applied, ApplyResponse, Request, ScriptPlan, ServerRead, read_journal};
use super::state::Guid;
use crate::transfer::private::PrivateFolder;

/// The script, as it is in the repository.
pub const SCRIPT: &str = include_str!("../../powershell/wsus-airgap.ps1");
/// The script's file name in the run's folder.
pub const SCRIPT_NAME: &str = "wsus-airgap.ps1";
/// Lines of the program's standard error kept for the report.
const STDERR_LINES: usize = 20;
/// The largest answer read.
const RESPONSE_MAX: u64 = 512 * 1024 * 1024;

/// Windows PowerShell where Windows keeps it (`%SystemRoot%\System32\WindowsPowerShell\v1.0\
/// powershell.exe`) if it is there, else `powershell.exe`, found on the PATH.
pub fn default_program() -> PathBuf {
    if let Some(root) = std::env::var_os("SystemRoot") {
        let program = Path::new(&root).join(r"System32\WindowsPowerShell\v1.0\powershell.exe");
        if program.is_file() {
            return program;
        }
    }
    PathBuf::from("powershell.exe")
}

/// Why the script gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error(
        "cannot start PowerShell: {} was not found (give it with --powershell PATH, or do \
         without WSUS: export --no-approvals, import --approvals skip, verify \
         --no-settings-check)",
        program.display()
    )]
    NotFound { program: PathBuf },
    #[error("cannot start PowerShell {}: {source}", program.display())]
    Start {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot prepare the script's folder: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("PowerShell {} failed ({status}){}", program.display(), Tail(stderr))]
    Failed {
        program: PathBuf,
        status: String,
        /// The last lines it wrote to standard error.
        stderr: Vec<String>,
        /// What its journal says it did before it failed.
        applied: Vec<Applied>,
    },
    #[error("PowerShell {}: its answer is not as expected: {problem}", program.display())]
    Answer {
        program: PathBuf,
        problem: String,
        applied: Vec<Applied>,
    },
}

impl ScriptError {
    /// The steps carried out before the failure, as the journal records them.
    pub fn applied(&self) -> &[Applied] {
        match self {
            ScriptError::Failed { applied, .. } | ScriptError::Answer { applied, .. } => applied,
            _ => &[],
        }
    }
}

/// What a failure report shows beyond its one line: the lines the program wrote last, and
/// the steps it carried out before it failed.
pub struct Details<'a>(&'a ScriptError);

impl fmt::Display for Details<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let ScriptError::Failed { stderr, .. } = self.0
            && stderr.len() > 1
        {
            writeln!(f, "its output ends:")?;
            for line in stderr {
                writeln!(f, "  {line}")?;
            }
        }
        let applied = self.0.applied();
        if applied.is_empty() {
            return writeln!(f, "nothing was changed in WSUS before the failure");
        }
        for step in applied {
            writeln!(f, "applied before the failure: {step}")?;
        }
        writeln!(
            f,
            "{} step(s) were applied in WSUS before the failure; rerun import to see the plan against what is there now",
            applied.len()
        )
    }
}

impl ScriptError {
    pub fn details(&self) -> Details<'_> {
        Details(self)
    }
}

/// `: <last line of stderr>`, or nothing.
struct Tail<'a>(&'a [String]);

impl fmt::Display for Tail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.last() {
            Some(line) => write!(f, ": {line}"),
            None => Ok(()),
        }
    }
}

/// The PowerShell program that runs the script.
#[derive(Debug, Clone)]
pub struct PowerShell {
    pub program: PathBuf,
}

impl PowerShell {
    pub fn new(program: PathBuf) -> Self {
        PowerShell { program }
    }

    /// Reads the server, describing `updates` and, with `include_approved`, every approved
    /// update.
    pub fn read(
        &self,
        updates: &[Guid],
        include_approved: bool,
    ) -> Result<ServerRead, ScriptError> {
        let (read, _): (ServerRead, _) = self.run(&Request::read(updates, include_approved))?;
        read.check()
            .map_err(|problem| self.answer_error(problem, Vec::new()))?;
        Ok(read)
    }

    /// Carries out `plan`: the steps done, in order.
    pub fn apply(&self, plan: &ScriptPlan) -> Result<Vec<Applied>, ScriptError> {
        let (response, journal): (ApplyResponse, _) = self.run(&Request::apply(plan))?;
        if response.format_version != super::state::FORMAT_VERSION {
            let problem = format!("format version {}", response.format_version);
            return Err(self.answer_error(problem, journal));
        }
        Ok(response.applied)
    }

    fn answer_error(&self, problem: String, applied: Vec<Applied>) -> ScriptError {
        ScriptError::Answer {
            program: self.program.clone(),
            problem,
            applied,
        }
    }

    /// Runs the script on `request`: its answer, and its journal.
    fn run<T: DeserializeOwned>(
        &self,
        request: &Request,
    ) -> Result<(T, Vec<Applied>), ScriptError> {
        let folder = PrivateFolder::temporary().map_err(|source| ScriptError::Folder {
            path: std::env::temp_dir(),
            source,
        })?;
        let path = |name: &str| folder.path().join(name);
        let (script, request_path) = (path(SCRIPT_NAME), path("request.json"));
        let (response_path, journal_path) = (path("response.json"), path("journal.jsonl"));
        let request_json = serde_json::to_vec_pretty(request).expect("a request serialises");
        for (file, bytes) in [(&script, SCRIPT.as_bytes()), (&request_path, &request_json)] {
            std::fs::write(file, bytes).map_err(|source| ScriptError::Folder {
                path: file.clone(),
                source,
            })?;
        }
        let output = Command::new(&self.program)
            .args([
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-File",
            ])
            .arg(&script)
            .arg("-Request")
            .arg(&request_path)
            .arg("-Response")
            .arg(&response_path)
            .arg("-Journal")
            .arg(&journal_path)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => ScriptError::NotFound {
                    program: self.program.clone(),
                },
                _ => ScriptError::Start {
                    program: self.program.clone(),
                    source,
                },
            })?;
        let journal = std::fs::read_to_string(&journal_path)
            .map(|text| read_journal(&text))
            .unwrap_or_default();
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let lines: Vec<String> = stderr.lines().map(str::to_owned).collect();
            let tail = lines[lines.len().saturating_sub(STDERR_LINES)..].to_vec();
            return Err(ScriptError::Failed {
                program: self.program.clone(),
                status: match output.status.code() {
                    Some(code) => format!("exit code {code}"),
                    None => "ended by a signal".to_owned(),
                },
                stderr: tail,
                applied: journal,
            });
        }
        let bytes = crate::capped_read::read_capped(&response_path, RESPONSE_MAX);
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(_) => {
                let problem = format!("no answer in {}", response_path.display());
                return Err(self.answer_error(problem, journal));
            }
        };
        let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
        match serde_json::from_slice(text) {
            Ok(answer) => Ok((answer, journal)),
            Err(error) => Err(self.answer_error(error.to_string(), journal)),
        }
    }
}
