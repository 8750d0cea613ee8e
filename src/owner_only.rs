//! Files that only the user who made them can open, on Windows.
//!
//! Unix has mode 0600 for a secret key. Windows has no mode: a new file takes the access
//! control list (DACL) its folder passes down, which on a shared folder lets other users read
//! it. So a file made here is created with a security descriptor of its own: a protected DACL
//! (nothing inherited from the folder) holding one entry, full control for the user the
//! process runs as (the user of its token). The file never exists with any other DACL, so
//! nobody else can open it before the secret is written.

use std::ffi::c_void;
use std::fs::File;
use std::io;
use std::mem::{MaybeUninit, size_of};
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::Path;
use std::ptr;

use windows_sys::Win32::Foundation::{GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACL, ACL_REVISION, AddAccessAllowedAce, GetLengthSid, GetTokenInformation,
    InitializeAcl, InitializeSecurityDescriptor, PSID, SE_DACL_PROTECTED, SECURITY_ATTRIBUTES,
    SECURITY_DESCRIPTOR, SetSecurityDescriptorControl, SetSecurityDescriptorDacl, TOKEN_QUERY,
    TOKEN_USER, TokenUser,
};
use windows_sys::Win32::Storage::FileSystem::{
    CREATE_NEW, CreateFileW, FILE_ALL_ACCESS, FILE_ATTRIBUTE_NORMAL, FILE_SHARE_DELETE,
    FILE_SHARE_READ, FILE_SHARE_WRITE,
};
use windows_sys::Win32::System::SystemServices::SECURITY_DESCRIPTOR_REVISION;
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
use windows_sys::core::BOOL;

/// Creates a new file at `path` that only the current user can open, for reading and
/// writing; fails with [`io::ErrorKind::AlreadyExists`] if something is there.
pub fn create_new(path: &Path) -> io::Result<File> {
    let user = ProcessUser::query()?;
    let mut descriptor = OwnerOnly::new(user.sid())?;
    let attributes = SECURITY_ATTRIBUTES {
        nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: descriptor.as_ptr(),
        bInheritHandle: 0,
    };
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
    // SAFETY: `wide` is a NUL-terminated path and `attributes` is valid for the call. The
    // sharing is std's default, so that the file can be renamed while open.
    let handle = unsafe {
        CreateFileW(
            wide.as_ptr(),
            GENERIC_READ | GENERIC_WRITE,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            &attributes,
            CREATE_NEW,
            FILE_ATTRIBUTE_NORMAL,
            ptr::null_mut(),
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `handle` is a file handle just opened and owned by nobody else.
    Ok(unsafe { File::from_raw_handle(handle) })
}

/// A security descriptor whose DACL is protected (nothing inherited from the folder) and
/// holds one entry: full control for one user.
struct OwnerOnly {
    /// Boxed, as the descriptor is handed out by address.
    descriptor: Box<MaybeUninit<SECURITY_DESCRIPTOR>>,
    /// The DACL the descriptor points to.
    _acl: Vec<u32>,
}

impl OwnerOnly {
    fn new(sid: PSID) -> io::Result<Self> {
        let mut acl = owner_only_acl(sid)?;
        let mut descriptor = Box::new(MaybeUninit::<SECURITY_DESCRIPTOR>::zeroed());
        let pointer = descriptor.as_mut_ptr().cast::<c_void>();
        // SAFETY: `pointer` is a SECURITY_DESCRIPTOR-sized heap buffer, and `acl` (which it
        // then points to) moves into the same value without its heap buffer moving.
        unsafe {
            succeeded(InitializeSecurityDescriptor(
                pointer,
                SECURITY_DESCRIPTOR_REVISION,
            ))?;
            succeeded(SetSecurityDescriptorDacl(
                pointer,
                1,
                acl.as_mut_ptr().cast::<ACL>(),
                0,
            ))?;
            succeeded(SetSecurityDescriptorControl(
                pointer,
                SE_DACL_PROTECTED,
                SE_DACL_PROTECTED,
            ))?;
        }
        Ok(OwnerOnly {
            descriptor,
            _acl: acl,
        })
    }

    fn as_ptr(&mut self) -> *mut c_void {
        self.descriptor.as_mut_ptr().cast()
    }
}

/// A DACL with one entry: full control for `sid`. Kept in `u32`s, as an ACL is DWORD-aligned.
fn owner_only_acl(sid: PSID) -> io::Result<Vec<u32>> {
    // SAFETY: `sid` is a valid SID (from the process token).
    let sid_length = unsafe { GetLengthSid(sid) } as usize;
    // The entry's `SidStart` field is the first DWORD of the SID it holds.
    let size = size_of::<ACL>() + size_of::<ACCESS_ALLOWED_ACE>() - size_of::<u32>() + sid_length;
    let mut acl = vec![0u32; size.div_ceil(size_of::<u32>())];
    let acl_size = (acl.len() * size_of::<u32>()) as u32;
    // SAFETY: `acl` is `acl_size` bytes, DWORD-aligned, and large enough for the entry.
    unsafe {
        succeeded(InitializeAcl(
            acl.as_mut_ptr().cast(),
            acl_size,
            ACL_REVISION,
        ))?;
        succeeded(AddAccessAllowedAce(
            acl.as_mut_ptr().cast(),
            ACL_REVISION,
            FILE_ALL_ACCESS,
            sid,
        ))?;
    }
    Ok(acl)
}

/// The user this process runs as: its token's `TOKEN_USER`, whose SID lies in the same buffer.
struct ProcessUser {
    /// Kept in `u64`s, as `TOKEN_USER` holds a pointer.
    buffer: Vec<u64>,
}

impl ProcessUser {
    fn query() -> io::Result<Self> {
        let mut token: HANDLE = ptr::null_mut();
        // SAFETY: the current-process pseudo-handle needs no closing; on success `token` is a
        // new handle, owned from here on.
        succeeded(unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) })?;
        let token = unsafe { OwnedHandle::from_raw_handle(token) };
        let mut needed = 0u32;
        // SAFETY: asking for the size only: no buffer is written.
        unsafe {
            GetTokenInformation(
                token.as_raw_handle(),
                TokenUser,
                ptr::null_mut(),
                0,
                &mut needed,
            )
        };
        let mut buffer = vec![0u64; (needed as usize).div_ceil(size_of::<u64>())];
        let length = (buffer.len() * size_of::<u64>()) as u32;
        // SAFETY: `buffer` is `length` bytes, aligned for TOKEN_USER.
        succeeded(unsafe {
            GetTokenInformation(
                token.as_raw_handle(),
                TokenUser,
                buffer.as_mut_ptr().cast(),
                length,
                &mut needed,
            )
        })?;
        Ok(ProcessUser { buffer })
    }

    fn sid(&self) -> PSID {
        // SAFETY: GetTokenInformation filled the buffer with a TOKEN_USER.
        unsafe { (*self.buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid }
    }
}

/// A Win32 `BOOL` result as an `io::Result`, with the thread's last error on failure.
fn succeeded(result: BOOL) -> io::Result<()> {
    if result == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::keys;
    use windows_sys::Win32::Security::{
        ACE_HEADER, ACL_SIZE_INFORMATION, AclSizeInformation, DACL_SECURITY_INFORMATION, GetAce,
        GetAclInformation, GetFileSecurityW, GetSecurityDescriptorControl,
        GetSecurityDescriptorDacl,
    };
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    use windows_sys::Win32::System::SystemServices::ACCESS_ALLOWED_ACE_TYPE;

    /// One entry of a DACL, its SID as bytes.
    #[derive(Debug, PartialEq, Eq)]
    struct Ace {
        kind: u8,
        mask: u32,
        sid: Vec<u8>,
    }

    /// A file's DACL as Windows reports it, read back through another API than the one
    /// that set it.
    #[derive(Debug, PartialEq, Eq)]
    struct Dacl {
        protected: bool,
        entries: Vec<Ace>,
    }

    fn sid_bytes(sid: PSID) -> Vec<u8> {
        // SAFETY: `sid` is a valid SID of GetLengthSid bytes.
        unsafe { std::slice::from_raw_parts(sid.cast::<u8>(), GetLengthSid(sid) as usize) }.to_vec()
    }

    fn dacl_of(path: &Path) -> Dacl {
        let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
        let mut needed = 0u32;
        // SAFETY: asking for the size only.
        unsafe {
            GetFileSecurityW(
                wide.as_ptr(),
                DACL_SECURITY_INFORMATION,
                ptr::null_mut(),
                0,
                &mut needed,
            )
        };
        let mut buffer = vec![0u64; (needed as usize).div_ceil(8)];
        let descriptor = buffer.as_mut_ptr().cast::<c_void>();
        // SAFETY: every pointer below points into `buffer`, which outlives the calls, or to
        // a local written by the call.
        unsafe {
            succeeded(GetFileSecurityW(
                wide.as_ptr(),
                DACL_SECURITY_INFORMATION,
                descriptor,
                (buffer.len() * 8) as u32,
                &mut needed,
            ))
            .unwrap();
            dacl_in(descriptor)
        }
    }

    /// The DACL of a security descriptor, through the Win32 functions that read one.
    fn dacl_in(descriptor: *mut c_void) -> Dacl {
        // SAFETY: `descriptor` is a valid security descriptor; every pointer below points
        // into it or to a local written by the call.
        unsafe {
            let (mut control, mut revision) = (0u16, 0u32);
            succeeded(GetSecurityDescriptorControl(
                descriptor,
                &mut control,
                &mut revision,
            ))
            .unwrap();
            let (mut present, mut defaulted) = (0, 0);
            let mut acl: *mut ACL = ptr::null_mut();
            succeeded(GetSecurityDescriptorDacl(
                descriptor,
                &mut present,
                &mut acl,
                &mut defaulted,
            ))
            .unwrap();
            assert!(present != 0 && !acl.is_null(), "the file has a DACL");
            let mut size = MaybeUninit::<ACL_SIZE_INFORMATION>::zeroed();
            succeeded(GetAclInformation(
                acl,
                size.as_mut_ptr().cast(),
                size_of::<ACL_SIZE_INFORMATION>() as u32,
                AclSizeInformation,
            ))
            .unwrap();
            let entries = (0..size.assume_init().AceCount)
                .map(|index| {
                    let mut ace: *mut c_void = ptr::null_mut();
                    succeeded(GetAce(acl, index, &mut ace)).unwrap();
                    let header = &*ace.cast::<ACE_HEADER>();
                    // Allow and deny entries share the layout: header, mask, SID.
                    let entry = &*ace.cast::<ACCESS_ALLOWED_ACE>();
                    Ace {
                        kind: header.AceType,
                        mask: entry.Mask,
                        sid: sid_bytes((&raw const entry.SidStart).cast_mut().cast()),
                    }
                })
                .collect();
            Dacl {
                protected: control & SE_DACL_PROTECTED != 0,
                entries,
            }
        }
    }

    /// Wine (which runs the Windows build's tests on Linux) exports `wine_get_version`.
    fn running_under_wine() -> bool {
        let ntdll: Vec<u16> = "ntdll.dll".encode_utf16().chain([0]).collect();
        // SAFETY: looking up a module and a name, both NUL-terminated.
        unsafe {
            let module = GetModuleHandleW(ntdll.as_ptr());
            !module.is_null()
                && GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_some()
        }
    }

    /// What `create_new` gives CreateFileW, read back through the functions Windows itself
    /// reads descriptors with: Wine keeps them faithfully in memory, even though it does not
    /// store them with files (see below), so this holds on both.
    #[test]
    fn the_descriptor_given_to_windows_is_protected_full_control_for_the_user_alone() {
        let user = ProcessUser::query().unwrap();
        let mut descriptor = OwnerOnly::new(user.sid()).unwrap();
        assert_eq!(
            dacl_in(descriptor.as_ptr()),
            Dacl {
                protected: true,
                entries: vec![Ace {
                    kind: ACCESS_ALLOWED_ACE_TYPE as u8,
                    mask: FILE_ALL_ACCESS,
                    sid: sid_bytes(user.sid()),
                }],
            }
        );
    }

    #[test]
    fn the_secret_key_is_full_control_for_its_owner_and_nobody_else() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("site.key");
        let public = dir.path().join("site.pub");
        let user = sid_bytes(ProcessUser::query().unwrap().sid());
        let owner_full_control = || Ace {
            kind: ACCESS_ALLOWED_ACE_TYPE as u8,
            mask: FILE_ALL_ACCESS,
            sid: user.clone(),
        };
        let expected = if running_under_wine() {
            // Wine keeps no DACL: it turns the one it is given into Unix mode bits and makes
            // one up from them when asked, never protected, always starting with full
            // control for SYSTEM (S-1-5-18), and with an entry for Everyone whenever the
            // file is readable by others. So here it shows that no entry for Everyone came
            // from the folder.
            const LOCAL_SYSTEM: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0];
            Dacl {
                protected: false,
                entries: vec![
                    Ace {
                        kind: ACCESS_ALLOWED_ACE_TYPE as u8,
                        mask: FILE_ALL_ACCESS,
                        sid: LOCAL_SYSTEM.to_vec(),
                    },
                    owner_full_control(),
                ],
            }
        } else {
            Dacl {
                protected: true,
                entries: vec![owner_full_control()],
            }
        };
        keys::generate(&secret, &public, false).unwrap();
        assert_eq!(dacl_of(&secret), expected);
        // The public key takes its folder's DACL: the check above tells the two apart.
        assert_ne!(dacl_of(&public), expected);
        // A replaced key is as private as a new one.
        keys::generate(&secret, &public, true).unwrap();
        assert_eq!(dacl_of(&secret), expected);
    }

    #[test]
    fn an_existing_file_is_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        std::fs::write(&path, "mine").unwrap();
        let error = create_new(&path).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
    }
}
