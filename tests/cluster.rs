//! The throwaway cluster and the test bed built on it.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use formwork::pg::cluster::{ClusterOptions, EphemeralCluster};
use formwork::pg::scratch::Scratch;

#[tokio::test]
async fn test_databases_are_separate_and_usable_in_parallel() {
    let mut handles = Vec::new();
    for i in 0..8 {
        handles.push(tokio::spawn(async move {
            let db = common::TestDb::new().await;
            db.execute(&format!(
                "CREATE TABLE t (id int); INSERT INTO t VALUES ({i})"
            ))
            .await;
            let client = db.client().await;
            let row = client.query_one("SELECT id FROM t", &[]).await.unwrap();
            assert_eq!(row.get::<_, i32>(0), i);
            let row = client
                .query_one("SELECT current_database()", &[])
                .await
                .unwrap();
            assert_eq!(row.get::<_, String>(0), db.name());
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
}

#[tokio::test]
async fn url_of_a_test_database_connects_to_it() {
    let db = common::TestDb::new().await;
    let info = formwork::pg::connect::ConnInfo::parse(&db.url()).unwrap();
    let client = info.connect().await.unwrap();
    let row = client
        .query_one("SELECT current_database(), current_setting('fsync')", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), db.name());
    assert_eq!(row.get::<_, String>(1), "off");
}

#[test]
fn dropping_a_cluster_stops_the_server_and_removes_its_directory() {
    let cluster = EphemeralCluster::start(&ClusterOptions::default()).unwrap();
    let dir = cluster.socket_dir().to_path_buf();
    let pid = postmaster_pid(&cluster.data_dir().join("postmaster.pid"));
    assert!(dir.join(".s.PGSQL.5432").exists());
    drop(cluster);
    assert!(!dir.exists(), "{} still exists", dir.display());
    // SAFETY: signal 0 only checks existence.
    assert_ne!(
        unsafe { libc::kill(pid, 0) },
        0,
        "postmaster {pid} still runs"
    );
}

/// A process that starts a cluster and is then killed with SIGKILL leaves nothing behind.
#[test]
fn a_killed_process_leaves_no_server_or_directory_behind() {
    if std::env::var_os("FORMWORK_CLUSTER_CHILD").is_some() {
        let cluster = EphemeralCluster::start(&ClusterOptions::default()).unwrap();
        println!("DIR {}", cluster.socket_dir().display());
        std::thread::sleep(Duration::from_secs(600));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "a_killed_process_leaves_no_server_or_directory_behind",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FORMWORK_CLUSTER_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let dir = {
        use std::io::BufRead;
        let mut found = None;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some((_, d)) = line.split_once("DIR ") {
                found = Some(std::path::PathBuf::from(d));
                break;
            }
        }
        found.expect("child printed its cluster directory")
    };
    let pid = postmaster_pid(&dir.join("data/postmaster.pid"));
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!dir.exists(), "{} survived its process", dir.display());
    // SAFETY: signal 0 only checks existence.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false);
    assert!(!alive, "postmaster {pid} survived its parent");
}

#[test]
fn an_explicit_binary_directory_without_postgres_is_a_clear_error() {
    let err = EphemeralCluster::start(&ClusterOptions {
        bin_dir: Some("/nonexistent/pg/bin".into()),
        ..ClusterOptions::default()
    })
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("no PostgreSQL server binaries found"),
        "{text}"
    );
    assert!(text.contains("/nonexistent/pg/bin"), "{text}");
}

#[tokio::test]
async fn scratch_databases_are_created_and_dropped() {
    let cluster = common::cluster();
    let scratch = Scratch::dev(&cluster.conn_info("postgres").to_url_string()).unwrap();
    let db = scratch.create_database().await.unwrap();
    let name = db.name().to_string();
    db.client()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE x (a int)")
        .await
        .unwrap();
    let admin = cluster.conn_info("postgres").connect().await.unwrap();
    let count = async |n: &str| {
        admin
            .query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&n])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    assert_eq!(count(&name).await, 1);
    db.drop_now().await.unwrap();
    assert_eq!(count(&name).await, 0);
}

fn postmaster_pid(pidfile: &std::path::Path) -> i32 {
    let text = std::fs::read_to_string(pidfile).unwrap();
    text.lines().next().unwrap().parse().unwrap()
}
