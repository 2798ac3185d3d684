//! The server as a child process: spawned in its own process group (so `npx`'s or `uvx`'s own
//! children go with it), stderr kept for error messages, and always shut down.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

#[cfg(unix)]
use process_wrap::tokio::ProcessGroup;
use process_wrap::tokio::{ChildWrapper, CommandWrap, KillOnDrop};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};

use super::ProbeError;

/// How many of the server's last stderr lines an error message quotes.
const STDERR_LINES: usize = 8;
/// Longest stderr line kept (a minified stack trace can be huge).
const STDERR_LINE_CHARS: usize = 300;

/// A running server process.
pub(crate) struct Child {
    /// `None` once reaped.
    child: Option<Box<dyn ChildWrapper>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

pub(crate) struct Pipes {
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
}

impl Child {
    pub(crate) fn spawn(
        program: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<(Self, Pipes), ProbeError> {
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut wrapped = CommandWrap::from(command);
        // Its own process group, so `npx` -> `node` (or `uvx` -> `python`) can be stopped as a whole.
        #[cfg(unix)]
        wrapped.wrap(ProcessGroup::leader());
        wrapped.wrap(KillOnDrop);
        let mut child = wrapped.spawn().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ProbeError::CommandNotFound {
                    program: program.to_owned(),
                }
            } else {
                ProbeError::Spawn {
                    program: program.to_owned(),
                    source,
                }
            }
        })?;
        let stdin = child.stdin().take();
        let stdout = child.stdout().take();
        let stderr_pipe = child.stderr().take();
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(pipe) = stderr_pipe {
            let lines = Arc::clone(&stderr);
            tokio::spawn(async move {
                let mut reader = BufReader::new(pipe).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    let line = line.trim_end();
                    if line.is_empty() {
                        continue;
                    }
                    let mut kept = lines.lock().unwrap_or_else(PoisonError::into_inner);
                    if kept.len() == STDERR_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(line.chars().take(STDERR_LINE_CHARS).collect());
                }
            });
        }
        let mut this = Self {
            child: Some(child),
            stderr,
        };
        if let (Some(stdin), Some(stdout)) = (stdin, stdout) {
            Ok((this, Pipes { stdin, stdout }))
        } else {
            this.kill_now();
            Err(ProbeError::Spawn {
                program: program.to_owned(),
                source: std::io::Error::other("no stdin/stdout pipe"),
            })
        }
    }

    /// The last lines the server wrote to stderr, joined into one line.
    pub(crate) async fn stderr_tail(&self) -> String {
        // Give the reader task a moment to drain what a crashing process wrote last.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let lines = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        lines.iter().cloned().collect::<Vec<_>>().join(" | ")
    }

    /// The exit status if the process has ended within `wait`; reaps it.
    pub(crate) async fn exited_within(&mut self, wait: Duration) -> Option<String> {
        let child = self.child.as_mut()?;
        match tokio::time::timeout(wait, child.wait()).await {
            Ok(Ok(status)) => {
                self.kill_group();
                self.child = None;
                Some(describe(status))
            }
            Ok(Err(_)) | Err(_) => None,
        }
    }

    /// Ends the process after its stdin was closed: wait `grace`, then SIGTERM, then SIGKILL, and
    /// reap it. Members of its group that outlive it get SIGKILL too.
    pub(crate) async fn shutdown(&mut self, grace: Duration) {
        if self.exited_within(grace).await.is_some() || self.child.is_none() {
            return;
        }
        #[cfg(unix)]
        if let Some(child) = &self.child {
            let _ = child.signal(15); // SIGTERM
            if self.exited_within(Duration::from_secs(1)).await.is_some() {
                return;
            }
        }
        if let Some(child) = self.child.as_mut() {
            let _ = Box::into_pin(child.kill()).await;
        }
        self.kill_group();
        self.child = None;
    }

    /// Sends SIGKILL to whatever is left of the process group.
    fn kill_group(&self) {
        #[cfg(unix)]
        if let Some(child) = &self.child {
            let _ = child.signal(9); // SIGKILL; the group may already be empty
        }
    }

    fn kill_now(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

impl Drop for Child {
    /// Safety net for an early return or a cancelled future: never leave the server running.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            // Reap it so no zombie stays behind; without a runtime the OS init process does.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let _ = child.wait().await;
                });
            }
        }
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "unknown exit status".to_owned(),
    }
}
