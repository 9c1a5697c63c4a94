//! Scratch databases: where a desired schema is materialized so PostgreSQL can put it in normal
//! form, and where plans are proven before they are written.
//!
//! The server is either one the user names with `--dev-url` (formwork only ever creates and
//! drops its own uniquely named databases there) or a throwaway local cluster started on demand.
//! Nothing here touches a target database.

use std::sync::atomic::{AtomicU64, Ordering};

use super::cluster::{ClusterError, ClusterOptions, EphemeralCluster};
use super::connect::{ConnError, ConnInfo};
use crate::sql::quote_ident;

#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Conn(#[from] ConnError),
    #[error("on the scratch server {target}: {message}")]
    Sql { target: String, message: String },
}

/// A server to make scratch databases on.
#[derive(Debug)]
pub enum Scratch {
    /// An existing server (`--dev-url`); the connection names the maintenance database.
    Dev(ConnInfo),
    Ephemeral(EphemeralCluster),
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Scratch {
    /// Use an existing server. Its database (default `postgres`) is only used to run
    /// `CREATE DATABASE` and `DROP DATABASE` for scratch databases.
    pub fn dev(url: &str) -> Result<Scratch, ScratchError> {
        Ok(Scratch::Dev(ConnInfo::parse(url)?))
    }

    /// Start a throwaway local cluster.
    pub fn ephemeral(options: &ClusterOptions) -> Result<Scratch, ScratchError> {
        Ok(Scratch::Ephemeral(EphemeralCluster::start(options)?))
    }

    /// `--dev-url` when given, else a throwaway cluster from `--pg-bin` or the usual places.
    pub fn from_args(
        dev_url: Option<&str>,
        pg_bin: Option<&std::path::Path>,
    ) -> Result<Scratch, ScratchError> {
        match dev_url {
            Some(url) => Scratch::dev(url),
            None => Scratch::ephemeral(&ClusterOptions {
                bin_dir: pg_bin.map(|p| p.to_path_buf()),
                ..ClusterOptions::default()
            }),
        }
    }

    /// The connection used to create and drop scratch databases.
    pub fn admin_conn_info(&self) -> ConnInfo {
        match self {
            Scratch::Dev(info) => info.clone(),
            Scratch::Ephemeral(c) => c.conn_info("postgres"),
        }
    }

    /// Make a new, uniquely named, empty database.
    pub async fn create_database(&self) -> Result<ScratchDb, ScratchError> {
        let admin = self.admin_conn_info();
        let name = unique_name();
        let client = admin.connect().await?;
        client
            .batch_execute(&format!(
                "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'",
                quote_ident(&name)
            ))
            .await
            .map_err(|e| sql_error(&admin, e))?;
        Ok(ScratchDb {
            conn_info: admin.with_dbname(&name),
            admin,
            name,
            dropped: false,
        })
    }
}

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("formwork_scratch_{}_{n}_{nanos:09}", std::process::id())
}

fn sql_error(target: &ConnInfo, e: tokio_postgres::Error) -> ScratchError {
    let message = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    };
    ScratchError::Sql {
        target: target.to_string(),
        message,
    }
}

/// A scratch database. Call [`ScratchDb::drop_now`] when done; dropping the value without it
/// makes a best-effort attempt from a helper thread.
#[derive(Debug)]
pub struct ScratchDb {
    conn_info: ConnInfo,
    admin: ConnInfo,
    name: String,
    dropped: bool,
}

impl ScratchDb {
    pub fn conn_info(&self) -> &ConnInfo {
        &self.conn_info
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn client(&self) -> Result<tokio_postgres::Client, ScratchError> {
        Ok(self.conn_info.connect().await?)
    }

    /// Drop the database (terminating any sessions still in it).
    pub async fn drop_now(mut self) -> Result<(), ScratchError> {
        self.dropped = true;
        drop_database(&self.admin, &self.name).await
    }
}

async fn drop_database(admin: &ConnInfo, name: &str) -> Result<(), ScratchError> {
    let client = admin.connect().await?;
    client
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(name)
        ))
        .await
        .map_err(|e| sql_error(admin, e))
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Drop cannot await; a short-lived thread with its own runtime does the work so that
        // this is safe inside or outside a tokio runtime.
        let admin = self.admin.clone();
        let name = std::mem::take(&mut self.name);
        let handle = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                let _ = rt.block_on(drop_database(&admin, &name));
            }
        });
        let _ = handle.join();
    }
}

/// A scratch server started only when first needed: planning a declaration that already
/// matches the target needs none, and should not pay for starting a cluster.
pub struct LazyScratch {
    make: Box<dyn Fn() -> Result<Scratch, ScratchError> + Send + Sync>,
    cell: tokio::sync::OnceCell<Scratch>,
}

impl LazyScratch {
    /// A scratch server made by `make` on first use.
    pub fn new(
        make: impl Fn() -> Result<Scratch, ScratchError> + Send + Sync + 'static,
    ) -> LazyScratch {
        LazyScratch {
            make: Box::new(make),
            cell: tokio::sync::OnceCell::new(),
        }
    }

    /// `--dev-url` when given, else a throwaway cluster, as [`Scratch::from_args`], on first use.
    pub fn from_args(dev_url: Option<String>, pg_bin: Option<std::path::PathBuf>) -> LazyScratch {
        LazyScratch::new(move || Scratch::from_args(dev_url.as_deref(), pg_bin.as_deref()))
    }

    /// A scratch server that already exists.
    pub fn ready(scratch: Scratch) -> LazyScratch {
        let cell = tokio::sync::OnceCell::new();
        // A fresh cell accepts its first value.
        let _ = cell.set(scratch);
        LazyScratch {
            make: Box::new(|| {
                Err(ScratchError::Sql {
                    target: "scratch".into(),
                    message: "already made".into(),
                })
            }),
            cell,
        }
    }

    /// The scratch server, made now if this is the first use.
    pub async fn get(&self) -> Result<&Scratch, ScratchError> {
        self.cell.get_or_try_init(|| async { (self.make)() }).await
    }

    /// Whether the server was ever needed.
    pub fn started(&self) -> bool {
        self.cell.initialized()
    }
}

impl std::fmt::Debug for LazyScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyScratch")
            .field("server", &self.cell.get())
            .finish()
    }
}
