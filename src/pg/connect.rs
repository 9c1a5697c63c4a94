//! Connection strings and connecting, the way libpq users expect.
//!
//! `ConnInfo` accepts libpq URLs (`postgresql://user@host:5432/db?sslmode=require`) and keyword
//! strings (`host=/tmp dbname=app`), falls back to the `PG*` environment variables for anything
//! the string leaves out, and connects with tokio-postgres over a unix socket or TCP, with TLS
//! through rustls for the `sslmode`s libpq knows.
//!
//! The string is parsed here rather than by `tokio_postgres::Config` because that parser rejects
//! `verify-ca`, `verify-full` and `sslrootcert`, and because owning the parse lets us guarantee
//! that a password never reaches a message: `Display` and `Debug` leave it out, and every error
//! text is scrubbed of it before it leaves this module.
//!
//! Deliberately not supported (yet): client certificates (`sslcert`/`sslkey`), `~/.pgpass`,
//! service files, GSSAPI.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// How much TLS to insist on, as libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    /// libpq tries plain text first; formwork treats it like `prefer`.
    Allow,
    /// Use TLS when the server offers it, without verifying the certificate.
    #[default]
    Prefer,
    /// Encrypt, without verifying the certificate (unless `sslrootcert` is given, as libpq does).
    Require,
    /// Verify the certificate chain, not the host name.
    VerifyCa,
    /// Verify the chain and that the certificate names the host.
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Why a connection string was refused or a connection failed. No variant ever contains the
/// password: messages from the server and the TLS stack are scrubbed before they are stored.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("invalid connection string: {0}")]
    Parse(String),
    #[error("TLS setup failed: {0}")]
    TlsSetup(String),
    #[error("cannot connect to {target}: {message}")]
    Connect {
        /// The target as `ConnInfo`'s `Display` prints it (no password).
        target: String,
        message: String,
        /// SQLSTATE when the server answered with an error (e.g. `3D000`, no such database).
        code: Option<String>,
    },
}

impl ConnError {
    /// SQLSTATE of a server-side failure, if there was one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ConnError::Connect { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// A parsed connection string with environment fallbacks applied.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// Host names, IP addresses, or unix socket directories (absolute paths).
    hosts: Vec<String>,
    hostaddrs: Vec<String>,
    ports: Vec<u16>,
    user: Option<String>,
    password: Option<String>,
    dbname: Option<String>,
    sslmode: Option<SslMode>,
    sslrootcert: Option<String>,
    application_name: Option<String>,
    connect_timeout: Option<u64>,
    options: Option<String>,
    target_session_attrs: Option<String>,
}

const DEFAULT_PORT: u16 = 5432;

impl ConnInfo {
    /// Parse a libpq URL or keyword string; `PG*` environment variables fill what it leaves out.
    pub fn parse(s: &str) -> Result<ConnInfo, ConnError> {
        Self::parse_with_env(s, |name| std::env::var(name).ok())
    }

    /// As [`ConnInfo::parse`], reading "environment variables" from `env` (for tests and for
    /// callers that must not look at the process environment).
    pub fn parse_with_env(
        s: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ConnInfo, ConnError> {
        let mut info = ConnInfo::empty();
        let trimmed = s.trim();
        let pairs = if trimmed.starts_with("postgresql://") || trimmed.starts_with("postgres://") {
            parse_url(trimmed)?
        } else {
            parse_keywords(trimmed)?
        };
        let mut fallback_app = None;
        for (key, value) in pairs {
            if key == "fallback_application_name" {
                fallback_app = Some(value);
                continue;
            }
            info.set(&key, value)?;
        }
        info.apply_env(env)?;
        if info.application_name.is_none() {
            info.application_name = fallback_app;
        }
        Ok(info)
    }

    fn empty() -> ConnInfo {
        ConnInfo {
            hosts: Vec::new(),
            hostaddrs: Vec::new(),
            ports: Vec::new(),
            user: None,
            password: None,
            dbname: None,
            sslmode: None,
            sslrootcert: None,
            application_name: None,
            connect_timeout: None,
            options: None,
            target_session_attrs: None,
        }
    }

    /// A connection to a unix socket directory, as used for local throwaway clusters.
    pub fn unix_socket(dir: &std::path::Path, port: u16, user: &str, dbname: &str) -> ConnInfo {
        let mut info = ConnInfo::empty();
        info.hosts = vec![dir.to_string_lossy().into_owned()];
        info.ports = vec![port];
        info.user = Some(user.to_string());
        info.dbname = Some(dbname.to_string());
        info
    }

    /// A TCP connection with default TLS settings.
    pub fn tcp(host: &str, port: u16, user: &str, dbname: &str) -> ConnInfo {
        let mut info = ConnInfo::empty();
        info.hosts = vec![host.to_string()];
        info.ports = vec![port];
        info.user = Some(user.to_string());
        info.dbname = Some(dbname.to_string());
        info
    }

    /// The same target with another `sslmode` and root certificate.
    pub fn with_ssl(&self, mode: SslMode, rootcert: Option<&str>) -> ConnInfo {
        let mut info = self.clone();
        info.sslmode = Some(mode);
        info.sslrootcert = rootcert.map(str::to_string);
        info
    }

    /// The same target reached through another host name (e.g. to test certificate names).
    pub fn with_host(&self, host: &str) -> ConnInfo {
        let mut info = self.clone();
        info.hosts = vec![host.to_string()];
        info
    }

    fn set(&mut self, key: &str, value: String) -> Result<(), ConnError> {
        // Values are echoed in errors to help the user, except the password's.
        let bad = |what: &str, value: &str| {
            ConnError::Parse(format!("invalid value \"{value}\" for \"{what}\""))
        };
        match key {
            "host" => self.hosts = split_list(&value),
            "hostaddr" => {
                let list = split_list(&value);
                for a in &list {
                    if a.parse::<std::net::IpAddr>().is_err() {
                        return Err(bad("hostaddr", a));
                    }
                }
                self.hostaddrs = list;
            }
            "port" => {
                let mut ports = Vec::new();
                for p in split_list(&value) {
                    ports.push(p.parse::<u16>().map_err(|_| bad("port", &p))?);
                }
                self.ports = ports;
            }
            "user" => self.user = non_empty(value),
            "password" => self.password = non_empty(value),
            "dbname" => self.dbname = non_empty(value),
            "sslmode" => {
                self.sslmode = Some(SslMode::parse(&value).ok_or_else(|| bad("sslmode", &value))?)
            }
            "sslrootcert" => self.sslrootcert = non_empty(value),
            "application_name" => self.application_name = non_empty(value),
            "connect_timeout" => {
                self.connect_timeout = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| bad("connect_timeout", &value))?,
                )
            }
            "options" => self.options = non_empty(value),
            "target_session_attrs" => match value.as_str() {
                "any" | "read-write" => self.target_session_attrs = Some(value),
                _ => return Err(bad("target_session_attrs", &value)),
            },
            // Accepted for compatibility with libpq strings; they change nothing here.
            "client_encoding"
            | "keepalives"
            | "keepalives_idle"
            | "keepalives_interval"
            | "keepalives_count"
            | "sslcompression"
            | "gssencmode"
            | "channel_binding"
            | "sslnegotiation"
            | "passfile"
            | "requiressl" => {}
            "sslcert" | "sslkey" | "sslpassword" | "service" => {
                return Err(ConnError::Parse(format!(
                    "connection option \"{key}\" is not supported"
                )));
            }
            _ => {
                return Err(ConnError::Parse(format!(
                    "unknown connection option \"{key}\""
                )));
            }
        }
        Ok(())
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConnError> {
        let get = |name: &str| env(name).filter(|v| !v.is_empty());
        let pairs: [(&str, &str, bool); 12] = [
            ("PGHOST", "host", self.hosts.is_empty()),
            ("PGHOSTADDR", "hostaddr", self.hostaddrs.is_empty()),
            ("PGPORT", "port", self.ports.is_empty()),
            ("PGUSER", "user", self.user.is_none()),
            ("PGPASSWORD", "password", self.password.is_none()),
            ("PGDATABASE", "dbname", self.dbname.is_none()),
            ("PGSSLMODE", "sslmode", self.sslmode.is_none()),
            ("PGSSLROOTCERT", "sslrootcert", self.sslrootcert.is_none()),
            (
                "PGAPPNAME",
                "application_name",
                self.application_name.is_none(),
            ),
            (
                "PGCONNECT_TIMEOUT",
                "connect_timeout",
                self.connect_timeout.is_none(),
            ),
            ("PGOPTIONS", "options", self.options.is_none()),
            (
                "PGTARGETSESSIONATTRS",
                "target_session_attrs",
                self.target_session_attrs.is_none(),
            ),
        ];
        for (var, key, missing) in pairs {
            if missing && let Some(value) = get(var) {
                self.set(key, value)
                    .map_err(|e| ConnError::Parse(format!("{e} (from {var})")))?;
            }
        }
        Ok(())
    }

    /// The same server and credentials, another database.
    pub fn with_dbname(&self, db: &str) -> ConnInfo {
        let mut info = self.clone();
        info.dbname = Some(db.to_string());
        info
    }

    /// The database name, or libpq's default (the user name).
    pub fn dbname(&self) -> String {
        self.dbname.clone().unwrap_or_else(|| self.effective_user())
    }

    /// The user name, or libpq's default (the operating system user).
    pub fn effective_user(&self) -> String {
        self.user.clone().unwrap_or_else(os_user_name)
    }

    pub fn sslmode(&self) -> SslMode {
        self.sslmode.unwrap_or_default()
    }

    /// Whether a password is set (for messages that want to say so without showing it).
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// A `postgresql://` URL including the password, to hand to a child process. Never print it.
    pub fn to_url_string(&self) -> String {
        self.url(true)
    }

    fn effective_hosts(&self) -> Vec<String> {
        if !self.hosts.is_empty() {
            return self.hosts.clone();
        }
        if !self.hostaddrs.is_empty() {
            return self.hostaddrs.clone();
        }
        // libpq's compiled-in default on Debian-like systems, else the upstream default.
        let debian = "/var/run/postgresql";
        if std::path::Path::new(debian).is_dir() {
            vec![debian.to_string()]
        } else {
            vec!["/tmp".to_string()]
        }
    }

    fn url(&self, with_password: bool) -> String {
        let mut out = String::from("postgresql://");
        if let Some(user) = &self.user {
            out.push_str(&pct(user));
            if with_password && let Some(pw) = &self.password {
                out.push(':');
                out.push_str(&pct(pw));
            }
            out.push('@');
        }
        let mut query: Vec<(&str, String)> = Vec::new();
        let all_tcp = !self.hosts.is_empty() && self.hosts.iter().all(|h| !is_socket_dir(h));
        let ports_inline = all_tcp && self.ports.len() == self.hosts.len();
        if all_tcp {
            let parts: Vec<String> = self
                .hosts
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let h = if h.contains(':') {
                        format!("[{h}]")
                    } else {
                        pct(h)
                    };
                    match self.ports.get(i) {
                        Some(p) if ports_inline => format!("{h}:{p}"),
                        _ => h,
                    }
                })
                .collect();
            out.push_str(&parts.join(","));
        } else if !self.hosts.is_empty() {
            query.push(("host", self.hosts.join(",")));
        }
        if !ports_inline && !self.ports.is_empty() {
            let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
            query.push(("port", ports.join(",")));
        }
        if let Some(db) = &self.dbname {
            out.push('/');
            out.push_str(&pct(db));
        }
        if !self.hostaddrs.is_empty() {
            query.push(("hostaddr", self.hostaddrs.join(",")));
        }
        if let Some(m) = self.sslmode {
            query.push(("sslmode", m.as_str().to_string()));
        }
        if let Some(v) = &self.sslrootcert {
            query.push(("sslrootcert", v.clone()));
        }
        if let Some(v) = &self.application_name {
            query.push(("application_name", v.clone()));
        }
        if let Some(v) = self.connect_timeout {
            query.push(("connect_timeout", v.to_string()));
        }
        if let Some(v) = &self.options {
            query.push(("options", v.clone()));
        }
        if let Some(v) = &self.target_session_attrs {
            query.push(("target_session_attrs", v.clone()));
        }
        for (i, (k, v)) in query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(k);
            out.push('=');
            out.push_str(&pct(v));
        }
        out
    }

    /// Removes the password from a message that might quote it (server errors never should,
    /// but a URL echoed by a lower layer could).
    fn scrub(&self, text: String) -> String {
        match &self.password {
            Some(pw) if !pw.is_empty() => {
                let text = text.replace(pw.as_str(), "********");
                let encoded = pct(pw);
                if encoded != *pw {
                    text.replace(encoded.as_str(), "********")
                } else {
                    text
                }
            }
            _ => text,
        }
    }

    /// Connect, trying each host in turn like libpq, and spawn the connection task on the
    /// current tokio runtime.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, ConnError> {
        let hosts = self.effective_hosts();
        let mut last_err = None;
        for (i, host) in hosts.iter().enumerate() {
            let port = self
                .ports
                .get(i)
                .or(self.ports.first())
                .copied()
                .unwrap_or(DEFAULT_PORT);
            let hostaddr = self.hostaddrs.get(i).and_then(|a| a.parse().ok());
            match self.connect_one(host, hostaddr, port).await {
                Ok(client) => return Ok(client),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| self.connect_error("no host to connect to".into(), None)))
    }

    fn connect_error(&self, message: String, code: Option<String>) -> ConnError {
        ConnError::Connect {
            target: self.to_string(),
            message: self.scrub(message),
            code,
        }
    }

    fn pg_error(&self, e: tokio_postgres::Error) -> ConnError {
        let code = e.code().map(|c| c.code().to_string());
        let message = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.severity(), db.message()),
            None => {
                // The cause (refused connection, certificate problem) is what the user needs.
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    let cause_text = cause.to_string();
                    if !text.contains(&cause_text) {
                        text.push_str(": ");
                        text.push_str(&cause_text);
                    }
                    source = cause.source();
                }
                text
            }
        };
        self.connect_error(message, code)
    }

    async fn connect_one(
        &self,
        host: &str,
        hostaddr: Option<std::net::IpAddr>,
        port: u16,
    ) -> Result<tokio_postgres::Client, ConnError> {
        let mut config = tokio_postgres::Config::new();
        config.host(host).port(port);
        if let Some(addr) = hostaddr {
            config.hostaddr(addr);
        }
        config.user(self.effective_user());
        config.dbname(self.dbname());
        if let Some(pw) = &self.password {
            config.password(pw.as_bytes());
        }
        if let Some(app) = &self.application_name {
            config.application_name(app);
        }
        if let Some(o) = &self.options {
            config.options(o);
        }
        if let Some(t) = self.connect_timeout.filter(|t| *t > 0) {
            // libpq treats values below 2 seconds as 2.
            config.connect_timeout(Duration::from_secs(t.max(2)));
        }
        if self.target_session_attrs.as_deref() == Some("read-write") {
            config.target_session_attrs(tokio_postgres::config::TargetSessionAttrs::ReadWrite);
        }
        let mode = self.sslmode();
        // TLS never applies to unix sockets, as in libpq.
        if is_socket_dir(host) || mode == SslMode::Disable {
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
            return self.finish(config.connect(tokio_postgres::NoTls).await);
        }
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.tls_config()?);
        let weak = matches!(mode, SslMode::Prefer | SslMode::Allow);
        config.ssl_mode(if weak {
            tokio_postgres::config::SslMode::Prefer
        } else {
            tokio_postgres::config::SslMode::Require
        });
        match config.connect(tls).await {
            Ok(pair) => self.finish(Ok(pair)),
            Err(e) if weak && e.as_db_error().is_none() => {
                // libpq's prefer falls back to plain text when the TLS handshake fails.
                config.ssl_mode(tokio_postgres::config::SslMode::Disable);
                match config.connect(tokio_postgres::NoTls).await {
                    Ok(pair) => self.finish(Ok(pair)),
                    Err(_) => Err(self.pg_error(e)),
                }
            }
            Err(e) => Err(self.pg_error(e)),
        }
    }

    fn finish<S, T>(
        &self,
        result: Result<
            (tokio_postgres::Client, tokio_postgres::Connection<S, T>),
            tokio_postgres::Error,
        >,
    ) -> Result<tokio_postgres::Client, ConnError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (client, connection) = result.map_err(|e| self.pg_error(e))?;
        tokio::spawn(async move {
            // Errors after start-up surface on the client's next query.
            let _ = connection.await;
        });
        Ok(client)
    }

    fn tls_config(&self) -> Result<rustls::ClientConfig, ConnError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ConnError::TlsSetup(e.to_string()))?;
        let mode = match self.sslmode() {
            // As libpq: with a root certificate given, `require` verifies the chain.
            SslMode::Require if self.sslrootcert.is_some() => SslMode::VerifyCa,
            m => m,
        };
        let config = match mode {
            SslMode::VerifyFull => builder
                .with_root_certificates(self.root_store()?)
                .with_no_client_auth(),
            SslMode::VerifyCa => {
                let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(self.root_store()?),
                    provider.clone(),
                )
                .build()
                .map_err(|e| ConnError::TlsSetup(e.to_string()))?;
                let verifier = LibpqVerifier {
                    inner: Some(inner),
                    provider,
                };
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
                    .with_no_client_auth()
            }
            _ => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(LibpqVerifier {
                    inner: None,
                    provider,
                }))
                .with_no_client_auth(),
        };
        Ok(config)
    }

    fn root_store(&self) -> Result<RootCertStore, ConnError> {
        let mut store = RootCertStore::empty();
        let path = match self.sslrootcert.as_deref() {
            Some("system") => {
                let found = rustls_native_certs::load_native_certs();
                for cert in found.certs {
                    let _ = store.add(cert);
                }
                if store.is_empty() {
                    return Err(ConnError::TlsSetup(
                        "sslrootcert=system: no system root certificates found".into(),
                    ));
                }
                return Ok(store);
            }
            Some(p) => PathBuf::from(p),
            None => {
                let default = std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(".postgresql/root.crt"))
                    .filter(|p| p.is_file());
                match default {
                    Some(p) => p,
                    None => {
                        return Err(ConnError::TlsSetup(format!(
                            "sslmode={} needs a root certificate: set sslrootcert=<file> or \
                             sslrootcert=system",
                            self.sslmode().as_str()
                        )));
                    }
                }
            }
        };
        let certs = CertificateDer::pem_file_iter(&path)
            .map_err(|e| ConnError::TlsSetup(format!("cannot read {}: {e}", path.display())))?;
        for cert in certs {
            let cert = cert
                .map_err(|e| ConnError::TlsSetup(format!("cannot read {}: {e}", path.display())))?;
            store.add(cert).map_err(|e| {
                ConnError::TlsSetup(format!("bad certificate in {}: {e}", path.display()))
            })?;
        }
        if store.is_empty() {
            return Err(ConnError::TlsSetup(format!(
                "no certificates in {}",
                path.display()
            )));
        }
        Ok(store)
    }
}

impl fmt::Display for ConnInfo {
    /// A `postgresql://` URL without the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url(false))
    }
}

impl fmt::Debug for ConnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnInfo")
            .field("url", &self.url(false))
            .field("password", &self.password.as_ref().map(|_| "********"))
            .finish()
    }
}

/// The verifiers libpq has and rustls lacks: `inner: None` is `require` (encryption without
/// authenticating the server); `Some` is `verify-ca` (the chain must lead to a trusted root, the
/// host name is not checked). Handshake signatures are always checked.
#[derive(Debug)]
struct LibpqVerifier {
    inner: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for LibpqVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(inner) = &self.inner else {
            return Ok(ServerCertVerified::assertion());
        };
        match inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn is_socket_dir(host: &str) -> bool {
    host.starts_with('/')
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn os_user_name() -> String {
    // SAFETY: getpwuid returns a pointer into static storage or null; we copy out at once.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if !pw.is_null() && !(*pw).pw_name.is_null() {
            if let Ok(name) = std::ffi::CStr::from_ptr((*pw).pw_name).to_str() {
                return name.to_string();
            }
        }
    }
    std::env::var("USER").unwrap_or_else(|_| "postgres".to_string())
}

/// Percent-encodes everything but unreserved URL characters.
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pct_decode(s: &str, what: &str) -> Result<String, ConnError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ConnError::Parse(format!("invalid percent-encoding in {what}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| ConnError::Parse(format!("{what} is not valid UTF-8 after decoding")))
}

/// `postgresql://[user[:password]@][host[:port][,...]][/dbname][?key=value&...]`, turned into
/// the keyword pairs it stands for.
fn parse_url(s: &str) -> Result<Vec<(String, String)>, ConnError> {
    let rest = s
        .strip_prefix("postgresql://")
        .or_else(|| s.strip_prefix("postgres://"))
        .unwrap_or(s);
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match main.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (main, None),
    };
    let mut pairs = Vec::new();
    let hostlist = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                pairs.push(("user".to_string(), pct_decode(user, "the user name")?));
            }
            if let Some(p) = password {
                pairs.push(("password".to_string(), pct_decode(p, "the password")?));
            }
            hosts
        }
        None => authority,
    };
    if !hostlist.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for part in hostlist.split(',') {
            let (host, port) = if let Some(v6) = part.strip_prefix('[') {
                let (addr, after) = v6.split_once(']').ok_or_else(|| {
                    ConnError::Parse("unterminated IPv6 address in URL".to_string())
                })?;
                let port = match after.strip_prefix(':') {
                    Some(p) => Some(p),
                    None if after.is_empty() => None,
                    None => {
                        return Err(ConnError::Parse(
                            "unexpected text after IPv6 address in URL".to_string(),
                        ));
                    }
                };
                (addr.to_string(), port)
            } else {
                match part.rsplit_once(':') {
                    Some((h, p)) => (pct_decode(h, "the host")?, Some(p)),
                    None => (pct_decode(part, "the host")?, None),
                }
            };
            hosts.push(host);
            ports.push(port.unwrap_or("").to_string());
        }
        if hosts.iter().any(|h| !h.is_empty()) {
            pairs.push(("host".to_string(), hosts.join(",")));
        }
        if ports.iter().any(|p| !p.is_empty()) {
            let filled: Vec<String> = ports
                .into_iter()
                .map(|p| {
                    if p.is_empty() {
                        DEFAULT_PORT.to_string()
                    } else {
                        p
                    }
                })
                .collect();
            pairs.push(("port".to_string(), filled.join(",")));
        }
    }
    if let Some(p) = path
        && !p.is_empty()
    {
        pairs.push(("dbname".to_string(), pct_decode(p, "the database name")?));
    }
    if let Some(q) = query {
        for item in q.split('&').filter(|i| !i.is_empty()) {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                ConnError::Parse(format!(
                    "URL parameter \"{}\" has no value",
                    pct_decode(item, "a parameter").unwrap_or_default()
                ))
            })?;
            let key = pct_decode(k, "a parameter name")?;
            let value = pct_decode(v, "a parameter value")?;
            pairs.push((key, value));
        }
    }
    Ok(pairs)
}

/// `key=value key='quoted value' ...` as libpq reads it (backslash escapes, single quotes).
fn parse_keywords(s: &str) -> Result<Vec<(String, String)>, ConnError> {
    let mut pairs = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(ConnError::Parse(format!(
                "missing \"=\" after \"{key}\" (expected a postgresql:// URL or key=value pairs)"
            )));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    _ => value.push(c),
                }
            }
            if !closed {
                return Err(ConnError::Parse(format!(
                    "unterminated quoted value for \"{key}\""
                )));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        value.push(n);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(s: &str) -> ConnInfo {
        match ConnInfo::parse_with_env(s, no_env) {
            Ok(i) => i,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn url_with_everything_is_parsed() {
        let i = parse(
            "postgresql://alice:s3cr%40t@db.example.com:6543/app?sslmode=verify-full&application_name=x",
        );
        assert_eq!(i.hosts, vec!["db.example.com"]);
        assert_eq!(i.ports, vec![6543]);
        assert_eq!(i.user.as_deref(), Some("alice"));
        assert_eq!(i.password.as_deref(), Some("s3cr@t"));
        assert_eq!(i.dbname.as_deref(), Some("app"));
        assert_eq!(i.sslmode(), SslMode::VerifyFull);
        assert_eq!(i.application_name.as_deref(), Some("x"));
    }

    #[test]
    fn postgres_scheme_and_bare_host_are_accepted() {
        let i = parse("postgres://localhost");
        assert_eq!(i.hosts, vec!["localhost"]);
        assert!(i.ports.is_empty());
        assert_eq!(i.dbname, None);
    }

    #[test]
    fn url_unix_socket_forms() {
        let a = parse("postgresql://%2Fvar%2Frun%2Fpostgresql/app");
        assert_eq!(a.hosts, vec!["/var/run/postgresql"]);
        let b = parse("postgresql:///app?host=/tmp/sock&port=5433");
        assert_eq!(b.hosts, vec!["/tmp/sock"]);
        assert_eq!(b.ports, vec![5433]);
        assert_eq!(b.dbname.as_deref(), Some("app"));
    }

    #[test]
    fn url_multiple_hosts_and_ipv6() {
        let i = parse("postgresql://a:1,b,[::1]:3/db");
        assert_eq!(i.hosts, vec!["a", "b", "::1"]);
        assert_eq!(i.ports, vec![1, 5432, 3]);
    }

    #[test]
    fn keyword_string_with_quotes_and_escapes() {
        let i = parse(r"host=/tmp  port = 5433 dbname='my db' password='it\'s' user=bob");
        assert_eq!(i.hosts, vec!["/tmp"]);
        assert_eq!(i.ports, vec![5433]);
        assert_eq!(i.dbname.as_deref(), Some("my db"));
        assert_eq!(i.password.as_deref(), Some("it's"));
        assert_eq!(i.user.as_deref(), Some("bob"));
    }

    #[test]
    fn environment_fills_only_what_the_string_leaves_out() {
        let env = |k: &str| match k {
            "PGHOST" => Some("envhost".to_string()),
            "PGPORT" => Some("7777".to_string()),
            "PGUSER" => Some("envuser".to_string()),
            "PGPASSWORD" => Some("envpw".to_string()),
            "PGDATABASE" => Some("envdb".to_string()),
            "PGSSLMODE" => Some("require".to_string()),
            "PGSSLROOTCERT" => Some("/ca.pem".to_string()),
            "PGAPPNAME" => Some("envapp".to_string()),
            "PGCONNECT_TIMEOUT" => Some("9".to_string()),
            _ => None,
        };
        let i = ConnInfo::parse_with_env("dbname=given", env).unwrap();
        assert_eq!(i.hosts, vec!["envhost"]);
        assert_eq!(i.ports, vec![7777]);
        assert_eq!(i.user.as_deref(), Some("envuser"));
        assert_eq!(i.password.as_deref(), Some("envpw"));
        assert_eq!(i.dbname.as_deref(), Some("given"));
        assert_eq!(i.sslmode(), SslMode::Require);
        assert_eq!(i.sslrootcert.as_deref(), Some("/ca.pem"));
        assert_eq!(i.application_name.as_deref(), Some("envapp"));
        assert_eq!(i.connect_timeout, Some(9));
        let empty = ConnInfo::parse_with_env("", env).unwrap();
        assert_eq!(empty.dbname.as_deref(), Some("envdb"));
    }

    #[test]
    fn bad_strings_are_errors_not_panics() {
        for s in [
            "mydb",
            "host=",
            "port=abc",
            "sslmode=sometimes",
            "postgresql://h:notaport/db",
            "postgresql://[::1/db",
            "postgresql://h/db?sslmode",
            "postgresql://h/%zz",
            "dbname='unterminated",
            "frobnicate=1",
            "sslcert=/x",
        ] {
            if s == "host=" {
                // An empty host is allowed (libpq: use the default).
                assert!(ConnInfo::parse_with_env(s, no_env).is_ok());
                continue;
            }
            assert!(
                ConnInfo::parse_with_env(s, no_env).is_err(),
                "{s} should fail"
            );
        }
    }

    #[test]
    fn password_never_appears_in_display_debug_or_errors() {
        let secret = "Sup3r$ecretPw";
        for s in [
            format!("postgresql://u:{secret}@h/db?sslmode=require"),
            format!("host=h user=u password={secret} dbname=db"),
            format!("postgresql://u:{secret}@h/db?port=bad"),
            format!("password={secret} sslmode=nonsense"),
        ] {
            match ConnInfo::parse_with_env(&s, no_env) {
                Ok(i) => {
                    assert!(!i.to_string().contains(secret));
                    assert!(!format!("{i:?}").contains(secret));
                    assert!(i.to_url_string().contains("Sup3r%24ecretPw"));
                    let err = i.connect_error(format!("echo {secret} and {}", pct(secret)), None);
                    assert!(!err.to_string().contains(secret));
                    assert!(!err.to_string().contains(&pct(secret)));
                    assert!(!format!("{err:?}").contains(secret));
                }
                Err(e) => {
                    assert!(!e.to_string().contains(secret), "{e}");
                    assert!(!format!("{e:?}").contains(secret));
                }
            }
        }
    }

    #[test]
    fn url_round_trips_through_to_url_string() {
        for s in [
            "postgresql://u:p%20w@h:5433/d%2Fb?sslmode=verify-ca&sslrootcert=/x/ca.pem",
            "host=/tmp/s port=5499 user=postgres dbname=x",
            "postgresql://a:1,b:2/db",
        ] {
            let i = parse(s);
            let again = parse(&i.to_url_string());
            assert_eq!(i, again, "{s} -> {}", i.to_url_string());
        }
    }
}
