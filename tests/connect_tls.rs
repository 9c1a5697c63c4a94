//! TLS and redaction against a real server: a throwaway cluster listening on 127.0.0.1 with
//! `ssl=on` and a certificate signed by a throwaway CA made with `openssl`.

use std::path::{Path, PathBuf};
use std::process::Command;

use formwork::pg::cluster::{ClusterOptions, EphemeralCluster};
use formwork::pg::connect::{ConnInfo, SslMode};

struct Pki {
    dir: PathBuf,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed for the TLS tests");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for `localhost` signed by it, and an unrelated second CA.
fn make_pki() -> Pki {
    let dir = std::env::temp_dir().join(format!("formwork-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for ca in ["ca", "other-ca"] {
        let (key, crt, subj) = (
            format!("{ca}.key"),
            format!("{ca}.crt"),
            format!("/CN={ca}"),
        );
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend([
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "2",
            "-subj",
            &subj,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&dir, &args);
    }
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(&dir, &args);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    Pki { dir }
}

/// Installs the server certificate into the cluster (owned by the server's OS user, mode 0600
/// as PostgreSQL demands) and turns TLS on.
async fn enable_tls(cluster: &EphemeralCluster, pki: &Pki) {
    use std::os::unix::fs::PermissionsExt as _;
    let owner = std::fs::metadata(cluster.data_dir()).unwrap();
    for name in ["server.crt", "server.key"] {
        let target = cluster.socket_dir().join(name);
        std::fs::copy(pki.dir.join(name), &target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        use std::os::unix::fs::MetadataExt as _;
        std::os::unix::fs::chown(&target, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    let client = cluster.conn_info("postgres").connect().await.unwrap();
    let dir = cluster.socket_dir().display().to_string();
    for stmt in [
        format!("ALTER SYSTEM SET ssl_cert_file = '{dir}/server.crt'"),
        format!("ALTER SYSTEM SET ssl_key_file = '{dir}/server.key'"),
        "ALTER SYSTEM SET ssl = on".to_string(),
        "SELECT pg_reload_conf()".to_string(),
    ] {
        client.batch_execute(&stmt).await.unwrap();
    }
    for _ in 0..100 {
        let on: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
        if on == "on" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "ssl did not turn on: {}",
        std::fs::read_to_string(cluster.log_file()).unwrap_or_default()
    );
}

async fn uses_tls(info: &ConnInfo) -> Result<bool, String> {
    let client = info.connect().await.map_err(|e| e.to_string())?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[tokio::test]
async fn sslmodes_behave_like_libpq() {
    let pki = make_pki();
    let cluster = EphemeralCluster::start(&ClusterOptions {
        listen_tcp: true,
        ..ClusterOptions::default()
    })
    .unwrap();
    enable_tls(&cluster, &pki).await;
    let port = cluster.port();
    let ca = pki.dir.join("ca.crt").display().to_string();
    let other_ca = pki.dir.join("other-ca.crt").display().to_string();
    // host names the certificate is checked against; hostaddr is where we really connect.
    let at = |host: &str, mode: &str, root: Option<&str>| {
        let mut s = format!(
            "host={host} hostaddr=127.0.0.1 port={port} user=postgres dbname=postgres sslmode={mode}"
        );
        if let Some(r) = root {
            s.push_str(&format!(" sslrootcert={r}"));
        }
        ConnInfo::parse_with_env(&s, |_| None).unwrap()
    };

    assert_eq!(uses_tls(&at("localhost", "disable", None)).await, Ok(false));
    assert_eq!(uses_tls(&at("localhost", "prefer", None)).await, Ok(true));
    assert_eq!(uses_tls(&at("anything", "require", None)).await, Ok(true));
    assert_eq!(
        uses_tls(&at("localhost", "verify-full", Some(&ca))).await,
        Ok(true)
    );
    assert_eq!(
        uses_tls(&at("wrong.example", "verify-ca", Some(&ca))).await,
        Ok(true)
    );

    for (host, mode, root, expected) in [
        ("wrong.example", "verify-full", &ca, "not valid for name"),
        ("localhost", "verify-full", &other_ca, "UnknownIssuer"),
        ("localhost", "verify-ca", &other_ca, "UnknownIssuer"),
        // As libpq: require with a root certificate verifies the chain.
        ("localhost", "require", &other_ca, "UnknownIssuer"),
    ] {
        match uses_tls(&at(host, mode, Some(root))).await {
            Ok(_) => panic!("sslmode={mode} host={host} accepted a certificate it must refuse"),
            Err(e) => assert!(e.contains(expected), "{mode} {host}: {e}"),
        }
    }

    // The same ConnInfo API the rest of formwork uses.
    let tcp = cluster.tcp_conn_info("postgres").unwrap();
    let full = tcp
        .with_host("localhost")
        .with_ssl(SslMode::VerifyFull, Some(&ca));
    assert!(full.to_string().contains("sslmode=verify-full"));
    assert_eq!(uses_tls(&full).await, Ok(true));
}

#[tokio::test]
async fn connection_errors_never_show_the_password() {
    let secret = "pw-Zq9!x";
    // Nothing listens on port 1; the error must name the target but not the password.
    let info = ConnInfo::parse_with_env(
        &format!(
            "postgresql://bob:{}@127.0.0.1:1/db?connect_timeout=2",
            "pw-Zq9%21x"
        ),
        |_| None,
    )
    .unwrap();
    let err = info.connect().await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("127.0.0.1"), "{text}");
    assert!(!text.contains(secret), "{text}");
    assert!(!text.contains("pw-Zq9%21x"), "{text}");
}
