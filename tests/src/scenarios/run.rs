//! Running a command the way every scenario runs: a cleared environment,
//! umask 022 (or the scenario's), optionally unprivileged, with a time limit.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `PATH` every run gets.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A run taking longer than this is killed (a FIFO opened for reading, a
/// hang); the record says so.
pub const TIME_LIMIT: Duration = Duration::from_secs(60);

/// One command to run.
pub struct Invocation<'a> {
    /// The program.
    pub program: &'a Path,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Working directory.
    pub cwd: &'a Path,
    /// `HOME`.
    pub home: &'a Path,
    /// Variables added to the cleared environment.
    pub env: Vec<(String, OsString)>,
    /// Standard input.
    pub stdin: Vec<u8>,
    /// Run without the capabilities that let root ignore permission bits
    /// (see [`drop_permission_override`]).
    pub unprivileged: bool,
    /// The child's umask.
    pub umask: u32,
}

/// What a run did, before normalization.
pub struct RawOutput {
    /// Exit code, if it exited.
    pub status: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Killed for taking longer than [`TIME_LIMIT`].
    pub timed_out: bool,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

impl Invocation<'_> {
    /// Runs the command to completion (or to the time limit).
    pub fn run(&self) -> RawOutput {
        let mut command = Command::new(self.program);
        command
            .args(&self.args)
            .current_dir(self.cwd)
            .env_clear()
            .env("PATH", PATH)
            .env("LANG", "C.UTF-8")
            .env("HOME", self.home)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let umask = self.umask as libc::mode_t;
        let unprivileged = self.unprivileged;
        // SAFETY: umask and prctl are async-signal-safe and touch no memory.
        unsafe {
            command.pre_exec(move || {
                libc::umask(umask);
                if unprivileged {
                    drop_permission_override()?;
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()));
        let mut stdin = child.stdin.take().unwrap();
        let input = self.stdin.clone();
        let writer = std::thread::spawn(move || {
            // The program may exit without reading its input.
            let _ = stdin.write_all(&input);
        });
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out_reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        });
        let err_reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes);
            bytes
        });
        let start = Instant::now();
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > TIME_LIMIT {
                timed_out = true;
                // The whole process group: CPython's -j workers too.
                // SAFETY: plain syscall on our own child's process group.
                unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
                break child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        writer.join().unwrap();
        RawOutput {
            status: status.code(),
            signal: status.signal(),
            timed_out,
            stdout: out_reader.join().unwrap(),
            stderr: err_reader.join().unwrap(),
        }
    }
}

/// Removes `CAP_DAC_OVERRIDE` and `CAP_DAC_READ_SEARCH` from the capability
/// bounding set, so that the program exec'd next (and everything it starts)
/// is subject to permission bits although it runs as uid 0: a file of mode
/// 0o000 is unreadable, a folder of mode 0o555 unwritable. Switching to
/// another uid would do the same but cannot reach an interpreter under a
/// private home folder (the host's pyenv under `/root`). Called between
/// fork and exec; needs root (`CAP_SETPCAP`).
pub fn drop_permission_override() -> std::io::Result<()> {
    const CAP_DAC_OVERRIDE: libc::c_ulong = 1;
    const CAP_DAC_READ_SEARCH: libc::c_ulong = 2;
    for capability in [CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH] {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, capability, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
