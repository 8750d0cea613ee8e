//! The PowerShell script.
pub const SCRIPT: &str = include_str!("../../powershell/wsus-airgap.ps1");
