//! A throwaway local PostgreSQL cluster: the default scratch server and the test bed's server.
//!
//! `initdb` into a fresh temporary directory, a server that listens only on a unix socket in that
//! directory (optionally also on 127.0.0.1), durability switched off for speed, trust
//! authentication, superuser `postgres`. When running as root the server runs as the `postgres`
//! OS user, because initdb and postgres refuse to run as root.
//!
//! The cluster must not outlive the process, however the process ends. Dropping it stops the
//! server and removes the directory; for everything else (Ctrl-C, a panic that aborts, `kill -9`)
//! a watchdog does it. The watchdog is a small shell started in its own process group (so a
//! terminal's Ctrl-C does not reach it) whose stdin is the read end of a pipe whose only write
//! end this process holds, close-on-exec. When this process dies for any reason the kernel closes
//! the write end, the watchdog's `read` returns, and it stops the server and deletes the
//! directory. `PR_SET_PDEATHSIG` is not used: it fires when the spawning *thread* exits, which in
//! a multi-threaded program (tokio, the test harness) is not when the process exits.
//!
//! This module does not create databases; see `pg::scratch`.

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::connect::ConnInfo;

/// How to start an [`EphemeralCluster`].
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Directory holding `initdb` and `postgres`; found automatically when `None`.
    pub bin_dir: Option<PathBuf>,
    /// Also listen on 127.0.0.1 on a free port (for TLS, which needs TCP).
    pub listen_tcp: bool,
    /// Extra `-c name=value` server settings, applied last.
    pub settings: Vec<(String, String)>,
    pub max_connections: u32,
    /// How long to wait for the server to accept connections.
    pub start_timeout: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            bin_dir: None,
            listen_tcp: false,
            settings: Vec::new(),
            max_connections: 200,
            start_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found (looked in {looked}); install PostgreSQL or \
         pass --pg-bin / set PG_BIN to the directory holding initdb and postgres"
    )]
    NoBinaries { looked: String },
    #[error("running as root, but there is no `postgres` OS user to run the server as")]
    NoPostgresUser,
    #[error("cannot prepare the cluster directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("initdb failed ({status}):\n{output}")]
    Initdb { status: String, output: String },
    #[error("the PostgreSQL server did not start: {reason}\n{log}")]
    Start { reason: String, log: String },
}

/// A running throwaway cluster. Stopped and deleted on drop, and by its watchdog if the process
/// dies without dropping it.
#[derive(Debug)]
pub struct EphemeralCluster {
    root: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    tcp: bool,
    server: Option<Child>,
    watchdog: Option<Child>,
    /// The write end of the watchdog's pipe; closing it tells the watchdog to clean up.
    lifeline: Option<OwnedFd>,
}

/// The owner to run the server as when we are root.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

const WATCHDOG: &str = r#"
trap '' INT HUP TERM QUIT
dir="$1"
read -r _ignored
pidfile="$dir/data/postmaster.pid"
if [ -f "$pidfile" ]; then
  pid=$(head -n 1 "$pidfile" 2>/dev/null)
  case "$pid" in ''|*[!0-9]*) pid= ;; esac
  if [ -n "$pid" ]; then
    kill -INT "$pid" 2>/dev/null
    i=0
    while [ -f "$pidfile" ] && kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
      sleep 0.1; i=$((i+1))
    done
    if [ -f "$pidfile" ]; then kill -KILL "$pid" 2>/dev/null; fi
  fi
fi
rm -rf "$dir"
"#;

impl EphemeralCluster {
    /// Start a cluster. Blocks until the server accepts connections.
    pub fn start(options: &ClusterOptions) -> Result<EphemeralCluster, ClusterError> {
        let bin_dir = find_bin_dir(options.bin_dir.as_deref())?;
        let run_as = run_as()?;
        let root = make_temp_dir()?;
        let mut cluster = EphemeralCluster {
            root: root.clone(),
            bin_dir: bin_dir.clone(),
            port: 5432,
            tcp: options.listen_tcp,
            server: None,
            watchdog: None,
            lifeline: None,
        };
        // The watchdog first: from here on the directory is cleaned up whatever happens.
        cluster.start_watchdog()?;
        if let Some(ra) = run_as {
            chown(&root, ra)?;
        }
        let data = root.join("data");
        let mut initdb = Command::new(bin_dir.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-N", "-E", "UTF8"])
            .args(["--locale=C", "--no-instructions"])
            .current_dir(&root)
            .stdin(Stdio::null());
        drop_privileges(&mut initdb, run_as);
        let out = initdb.output()?;
        if !out.status.success() {
            let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
            output.push_str(&String::from_utf8_lossy(&out.stderr));
            return Err(ClusterError::Initdb {
                status: out.status.to_string(),
                output,
            });
        }
        if options.listen_tcp {
            cluster.port = free_tcp_port()?;
        }
        cluster.start_server(options, run_as)?;
        Ok(cluster)
    }

    fn start_watchdog(&mut self) -> Result<(), ClusterError> {
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 fills two descriptors we take ownership of right away.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        // SAFETY: both descriptors were just created and are owned by nobody else.
        let (read_end, write_end) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("formwork-cluster-watchdog")
            .arg(&self.root)
            .stdin(Stdio::from(read_end))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/")
            .process_group(0)
            .spawn()?;
        self.watchdog = Some(child);
        self.lifeline = Some(write_end);
        Ok(())
    }

    fn start_server(
        &mut self,
        options: &ClusterOptions,
        run_as: Option<RunAs>,
    ) -> Result<(), ClusterError> {
        let log_path = self.log_file();
        let log = std::fs::File::create(&log_path)?;
        if let Some(ra) = run_as {
            chown(&log_path, ra)?;
        }
        let listen = if options.listen_tcp { "127.0.0.1" } else { "" };
        let mut settings: Vec<(String, String)> = vec![
            ("listen_addresses".into(), listen.into()),
            ("fsync".into(), "off".into()),
            ("full_page_writes".into(), "off".into()),
            ("synchronous_commit".into(), "off".into()),
            (
                "max_connections".into(),
                options.max_connections.to_string(),
            ),
            ("shared_buffers".into(), "32MB".into()),
            ("max_wal_size".into(), "1GB".into()),
            ("log_min_messages".into(), "warning".into()),
        ];
        settings.extend(options.settings.iter().cloned());
        let mut cmd = Command::new(self.bin_dir.join("postgres"));
        cmd.arg("-D")
            .arg(self.data_dir())
            .arg("-k")
            .arg(&self.root)
            .arg("-p")
            .arg(self.port.to_string());
        for (k, v) in &settings {
            cmd.arg("-c").arg(format!("{k}={v}"));
        }
        cmd.current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own group: a terminal's Ctrl-C goes to us, and the watchdog stops the server.
            .process_group(0);
        drop_privileges(&mut cmd, run_as);
        let mut server = cmd.spawn()?;
        let deadline = Instant::now() + options.start_timeout;
        let pidfile = self.data_dir().join("postmaster.pid");
        loop {
            if let Some(status) = server.try_wait()? {
                return Err(ClusterError::Start {
                    reason: format!("postgres exited with {status}"),
                    log: std::fs::read_to_string(&log_path).unwrap_or_default(),
                });
            }
            // postmaster.pid's eighth line turns to "ready" once connections are accepted.
            let ready = std::fs::read_to_string(&pidfile)
                .map(|s| s.lines().nth(7).map(str::trim) == Some("ready"))
                .unwrap_or(false);
            if ready {
                break;
            }
            if Instant::now() > deadline {
                let _ = server.kill();
                let _ = server.wait();
                return Err(ClusterError::Start {
                    reason: "timed out waiting for the server".into(),
                    log: std::fs::read_to_string(&log_path).unwrap_or_default(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.server = Some(server);
        Ok(())
    }

    /// Connection to `dbname` as the superuser `postgres`, over the unix socket.
    pub fn conn_info(&self, dbname: &str) -> ConnInfo {
        ConnInfo::unix_socket(&self.root, self.port, "postgres", dbname)
    }

    /// Connection over TCP to 127.0.0.1, when started with `listen_tcp`.
    pub fn tcp_conn_info(&self, dbname: &str) -> Option<ConnInfo> {
        if !self.tcp {
            return None;
        }
        Some(ConnInfo::tcp("127.0.0.1", self.port, "postgres", dbname))
    }

    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The directory holding the server's unix socket (also the cluster's root directory).
    pub fn socket_dir(&self) -> &Path {
        &self.root
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stop the server now and remove everything (also what `Drop` does).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(mut server) = self.server.take() {
            // SIGINT is PostgreSQL's "fast" shutdown: abort sessions, exit cleanly.
            // SAFETY: kill on a child pid we own and have not yet reaped.
            unsafe {
                libc::kill(server.id() as i32, libc::SIGINT);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match server.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = server.kill();
                        let _ = server.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }
        // Closing the pipe lets the watchdog remove the directory; wait so that the directory
        // is gone when `drop` returns.
        self.lifeline.take();
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.wait();
        }
    }
}

impl Drop for EphemeralCluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `--pg-bin`, then `PG_BIN`, then `pg_config --bindir`, then the newest
/// `/usr/lib/postgresql/*/bin`.
pub fn find_bin_dir(explicit: Option<&Path>) -> Result<PathBuf, ClusterError> {
    let has_server = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    let mut looked = Vec::new();
    if let Some(d) = explicit {
        if has_server(d) {
            return Ok(d.to_path_buf());
        }
        // An explicit choice that does not work is an error, not a reason to pick another.
        return Err(ClusterError::NoBinaries {
            looked: d.display().to_string(),
        });
    }
    if let Some(d) = std::env::var_os("PG_BIN").filter(|v| !v.is_empty()) {
        let d = PathBuf::from(d);
        if has_server(&d) {
            return Ok(d);
        }
        return Err(ClusterError::NoBinaries {
            looked: format!("PG_BIN={}", d.display()),
        });
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_server(&d) {
            return Ok(d);
        }
        looked.push(format!("{} (pg_config --bindir)", d.display()));
    } else {
        looked.push("pg_config (not found)".into());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, d)| has_server(d))
        .collect();
    versions.sort();
    if let Some((_, d)) = versions.pop() {
        return Ok(d);
    }
    looked.push("/usr/lib/postgresql/*/bin".into());
    Err(ClusterError::NoBinaries {
        looked: looked.join(", "),
    })
}

fn run_as() -> Result<Option<RunAs>, ClusterError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    // SAFETY: getpwnam returns null or a pointer to static storage we read immediately.
    unsafe {
        let pw = libc::getpwnam(c"postgres".as_ptr());
        if pw.is_null() {
            return Err(ClusterError::NoPostgresUser);
        }
        Ok(Some(RunAs {
            uid: (*pw).pw_uid,
            gid: (*pw).pw_gid,
        }))
    }
}

fn drop_privileges(cmd: &mut Command, run_as: Option<RunAs>) {
    if let Some(ra) = run_as {
        // std drops supplementary groups when a uid is set by root.
        cmd.uid(ra.uid).gid(ra.gid);
        cmd.env("HOME", "/tmp").env("USER", "postgres");
    }
}

fn chown(path: &Path, ra: RunAs) -> Result<(), ClusterError> {
    std::os::unix::fs::chown(path, Some(ra.uid), Some(ra.gid))?;
    Ok(())
}

/// A fresh private directory with a short path: the socket path (`<dir>/.s.PGSQL.<port>`) must
/// fit in the ~107 bytes of `sun_path`.
fn make_temp_dir() -> Result<PathBuf, ClusterError> {
    let base = std::env::temp_dir();
    let base = if base.as_os_str().len() > 60 {
        PathBuf::from("/tmp")
    } else {
        base
    };
    let template = base.join("formwork-XXXXXX");
    let mut bytes = template.into_os_string().into_encoded_bytes();
    bytes.push(0);
    // SAFETY: a NUL-terminated, writable template as mkdtemp requires.
    let ptr = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
    if ptr.is_null() {
        return Err(std::io::Error::last_os_error().into());
    }
    bytes.pop();
    // SAFETY: the bytes came from an OsString and mkdtemp only replaced X's with ASCII.
    Ok(PathBuf::from(unsafe {
        std::ffi::OsString::from_encoded_bytes_unchecked(bytes)
    }))
}

fn free_tcp_port() -> Result<u16, ClusterError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
