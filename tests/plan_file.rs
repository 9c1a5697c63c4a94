//! The sealed plan file and approvals: what is written is read back unchanged, and anything
//! else (any flipped bit, any truncation, appended bytes, other versions, other files, forged
//! or insufficient approvals) is refused.

mod common;

use formwork::catalog::fingerprint::{Fingerprint, fingerprint};
use formwork::model::QualifiedName;
use formwork::plan::approval::{Approval, ApprovalError, ApprovalKey};
use formwork::plan::file::{self, FileKind, HEADER_LEN, PlanFileError, TRAILER_LEN};
use formwork::plan::{HazardKind, LockMode, Phase, Plan, PlanBuilder, Step, TargetIdentity};

fn fp(b: u8) -> Fingerprint {
    Fingerprint([b; 32])
}

fn users() -> QualifiedName {
    QualifiedName::new("public", "users")
}

/// Add a NOT NULL column online, index it, drop an old column: expand and contract steps,
/// transactional and not, several lock modes and hazards.
fn sample_plan() -> Plan {
    PlanBuilder::new(
        TargetIdentity {
            system_identifier: "7301234567890123456".into(),
            database: "app".into(),
        },
        15,
        fp(1),
        fp(6),
    )
    .step(
        Step::new(
            "ALTER TABLE public.users ADD COLUMN email text",
            Phase::Expand,
            fp(2),
        )
        .lock(LockMode::AccessExclusive, users())
        .lock_timeout_ms(2_000)
        .statement_timeout_ms(10_000),
    )
    .step(
        Step::new(
            "ALTER TABLE public.users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID",
            Phase::Expand,
            fp(3),
        )
        .lock(LockMode::AccessExclusive, users()),
    )
    .step(
        Step::new(
            "ALTER TABLE public.users VALIDATE CONSTRAINT users_email_not_null",
            Phase::Expand,
            fp(4),
        )
        .lock(LockMode::ShareUpdateExclusive, users())
        .scans(users())
        .hazard(HazardKind::LongRunning, "reads every row of public.users"),
    )
    .step(
        Step::new(
            "CREATE INDEX CONCURRENTLY users_email_idx ON public.users (email)",
            Phase::Expand,
            fp(5),
        )
        .non_transactional()
        .lock(LockMode::ShareUpdateExclusive, users())
        .scans(users()),
    )
    .step(
        Step::new(
            "ALTER TABLE public.users DROP COLUMN legacy_email",
            Phase::Contract,
            fp(6),
        )
        .lock(LockMode::AccessExclusive, users())
        .hazard(HazardKind::DeletesData, "drops column public.users.legacy_email")
        .hazard(
            HazardKind::BreaksCompatibility,
            "the previous release still reads legacy_email",
        ),
    )
    .build()
    .expect("the sample plan is valid")
}

/// Rewrite the envelope hash after editing a file, as someone forging a file would.
fn rehash(bytes: &mut [u8]) {
    let end = bytes.len() - TRAILER_LEN;
    let hash = blake3::hash(&bytes[..end]);
    bytes[end..].copy_from_slice(hash.as_bytes());
}

fn key(secret: &str) -> ApprovalKey {
    ApprovalKey::from_secret(secret.as_bytes()).expect("test secrets are long enough")
}

#[test]
fn a_written_plan_reads_back_identical_with_the_same_id() {
    let plan = sample_plan();
    let dir = tempdir();
    let path = dir.join("plan.bin");
    file::write(&plan, &path).unwrap();
    let read = file::read(&path).unwrap();
    assert_eq!(read, plan);
    assert_eq!(read.id(), plan.id());
    assert_eq!(std::fs::read(&path).unwrap(), file::to_bytes(&plan));
    assert_eq!(read.steps().len(), 5);
    assert_eq!(read.steps()[3].sql, plan.steps()[3].sql);
    assert!(!read.steps()[3].transactional);
    assert_eq!(read.steps()[0].lock_timeout_ms, 2_000);
    assert_eq!(read.steps()[0].statement_timeout_ms, 10_000);
    assert_eq!(read.steps()[4].phase, Phase::Contract);
    assert_eq!(read.server_major_version(), 15);
    assert_eq!(read.target().database, "app");
    assert_eq!(read.source_fingerprint(), fp(1));
    assert_eq!(read.desired_fingerprint(), fp(6));
    assert_eq!(read.formwork_version(), env!("CARGO_PKG_VERSION"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn identical_plans_encode_to_identical_bytes_and_any_difference_changes_the_id() {
    let a = sample_plan();
    let b = sample_plan();
    assert_eq!(file::to_bytes(&a), file::to_bytes(&b));
    assert_eq!(a.id(), b.id());
    assert_eq!(a.id().short(), a.id().to_hex()[..12]);

    let other_db = PlanBuilder::new(
        TargetIdentity {
            system_identifier: "7301234567890123456".into(),
            database: "app2".into(),
        },
        15,
        fp(1),
        fp(1),
    )
    .build()
    .unwrap();
    let same_but_app = PlanBuilder::new(
        TargetIdentity {
            system_identifier: "7301234567890123456".into(),
            database: "app".into(),
        },
        15,
        fp(1),
        fp(1),
    )
    .build()
    .unwrap();
    assert_ne!(other_db.id(), same_but_app.id());
    let other_version = PlanBuilder::new(same_but_app.target().clone(), 15, fp(1), fp(1))
        .formwork_version("0.0.1")
        .build()
        .unwrap();
    assert_ne!(other_version.id(), same_but_app.id());
}

#[test]
fn every_single_bit_flip_anywhere_in_the_file_is_refused() {
    let plan = sample_plan();
    let bytes = file::to_bytes(&plan).to_vec();
    let body_end = bytes.len() - TRAILER_LEN;
    for bit in 0..bytes.len() * 8 {
        let mut damaged = bytes.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        let err = match file::from_bytes(&damaged) {
            Ok(_) => panic!("a flip of bit {bit} was accepted"),
            Err(e) => e,
        };
        let byte = bit / 8;
        let expected_kind = match byte {
            0..14 => matches!(err, PlanFileError::WrongMagic { .. }),
            14..16 => matches!(
                err,
                PlanFileError::NewerVersion { .. } | PlanFileError::UnknownVersion { .. }
            ),
            16..20 => matches!(
                err,
                PlanFileError::Truncated { .. } | PlanFileError::TrailingBytes { .. }
            ),
            _ => matches!(err, PlanFileError::HashMismatch { .. }),
        };
        assert!(
            expected_kind,
            "bit {bit} (byte {byte} of {body_end}+32): {err}"
        );
    }
}

#[test]
fn every_truncation_is_refused() {
    let plan = sample_plan();
    let bytes = file::to_bytes(&plan);
    for len in 0..bytes.len() {
        let err = file::from_bytes(&bytes[..len]).expect_err("a truncated plan was accepted");
        assert!(
            matches!(err, PlanFileError::Truncated { .. }),
            "length {len}: {err}"
        );
    }
}

#[test]
fn appended_bytes_are_refused() {
    let plan = sample_plan();
    let bytes = file::to_bytes(&plan).to_vec();
    for extra in [vec![0u8], vec![b'\n'], vec![0xff; 4096], bytes.clone()] {
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        match file::from_bytes(&longer) {
            Err(PlanFileError::TrailingBytes { extra: n, .. }) => assert_eq!(n, extra.len()),
            other => panic!("{} appended bytes: {other:?}", extra.len()),
        }
    }
}

#[test]
fn a_newer_format_version_is_refused_naming_both_versions() {
    let plan = sample_plan();
    let mut bytes = file::to_bytes(&plan).to_vec();
    let newer = file::FORMAT_VERSION + 1;
    bytes[14..16].copy_from_slice(&newer.to_le_bytes());
    // Even with a correct hash: the version decides before anything else is read.
    rehash(&mut bytes);
    let err = file::from_bytes(&bytes).unwrap_err();
    assert!(matches!(
        err,
        PlanFileError::NewerVersion { found, supported, .. }
            if found == newer && supported == file::FORMAT_VERSION
    ));
    let message = err.to_string();
    assert!(message.contains("newer formwork"), "{message}");
    assert!(
        message.contains(&format!("version {newer}"))
            && message.contains(&format!("version {}", file::FORMAT_VERSION)),
        "{message}"
    );

    bytes[14..16].copy_from_slice(&0u16.to_le_bytes());
    rehash(&mut bytes);
    assert!(matches!(
        file::from_bytes(&bytes),
        Err(PlanFileError::UnknownVersion { found: 0, .. })
    ));
}

#[test]
fn files_that_are_not_plan_files_are_refused() {
    assert!(matches!(
        file::from_bytes(b"-- just some SQL\nDROP TABLE users;\n"),
        Err(PlanFileError::WrongMagic {
            kind: FileKind::Plan
        })
    ));
    // An approval file is not a plan file, even though it shares the envelope.
    let plan = sample_plan();
    let approval = Approval::sign(
        &key("a long enough secret"),
        &plan,
        "ana",
        plan.hazard_kinds(),
    )
    .unwrap();
    let approval_bytes = file::approval_to_bytes(&approval).unwrap();
    assert!(matches!(
        file::from_bytes(&approval_bytes),
        Err(PlanFileError::WrongMagic { .. })
    ));
    assert!(matches!(
        file::approval_from_bytes(file::to_bytes(&plan)),
        Err(PlanFileError::WrongMagic {
            kind: FileKind::Approval
        })
    ));
}

#[test]
fn tampering_messages_say_the_file_was_refused() {
    let plan = sample_plan();
    let mut bytes = file::to_bytes(&plan).to_vec();
    let i = HEADER_LEN + 10;
    bytes[i] ^= 0x20;
    let message = file::from_bytes(&bytes).unwrap_err().to_string();
    assert_eq!(
        message,
        "the plan file was altered or damaged (its content does not match its hash); refusing it"
    );
}

#[test]
fn reading_a_missing_file_names_it() {
    let err = file::read(std::path::Path::new("/nonexistent/plan.bin")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/plan.bin"), "{err}");
}

#[test]
fn an_oversized_file_is_refused_without_decoding_it() {
    let dir = tempdir();
    let path = dir.join("huge.bin");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(file::MAX_FILE_LEN + 1).unwrap();
    assert!(matches!(
        file::read(&path),
        Err(PlanFileError::TooLarge {
            kind: FileKind::Plan
        })
    ));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_approval_verifies_with_its_key_and_survives_its_file() {
    let plan = sample_plan();
    let k = key("correct horse battery staple");
    let approval = Approval::sign(&k, &plan, "ana@example.com", plan.hazard_kinds()).unwrap();
    approval.verify(&k, &plan).unwrap();

    let dir = tempdir();
    let plan_path = dir.join("plan.bin");
    file::write(&plan, &plan_path).unwrap();
    let approval_path = file::approval_path(&plan_path);
    file::write_approval(&approval, &approval_path).unwrap();
    let read = file::read_approval(&approval_path).unwrap();
    assert_eq!(read, approval);
    assert_eq!(read.approver(), "ana@example.com");
    read.verify(&k, &file::read(&plan_path).unwrap()).unwrap();
    // Approving changed nothing about the plan.
    assert_eq!(std::fs::read(&plan_path).unwrap(), file::to_bytes(&plan));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_approval_made_with_another_key_is_refused() {
    let plan = sample_plan();
    let approval = Approval::sign(
        &key("the key of someone else"),
        &plan,
        "mallory",
        plan.hazard_kinds(),
    )
    .unwrap();
    assert_eq!(
        approval.verify(&key("correct horse battery staple"), &plan),
        Err(ApprovalError::BadMac)
    );
}

#[test]
fn a_forged_approval_is_refused() {
    let plan = sample_plan();
    let k = key("correct horse battery staple");
    let genuine = Approval::sign(&k, &plan, "ana", [HazardKind::ScansTable]).unwrap();
    let genuine_bytes = file::approval_to_bytes(&genuine).unwrap();
    let mac_at = genuine_bytes.len() - TRAILER_LEN - 32;

    // Random MAC, envelope re-hashed so the file itself opens.
    let mut forged = genuine_bytes.clone();
    forged[mac_at..mac_at + 32].copy_from_slice(&[0x5a; 32]);
    rehash(&mut forged);
    let approval = file::approval_from_bytes(&forged).unwrap();
    assert_eq!(approval.verify(&k, &plan), Err(ApprovalError::BadMac));

    // Genuine MAC moved onto an approval that accepts every hazard.
    let wider = Approval::sign(
        &key("not the real key at all"),
        &plan,
        "ana",
        plan.hazard_kinds(),
    )
    .unwrap();
    let mut forged = file::approval_to_bytes(&wider).unwrap();
    let wider_mac_at = forged.len() - TRAILER_LEN - 32;
    forged[wider_mac_at..wider_mac_at + 32].copy_from_slice(&genuine_bytes[mac_at..mac_at + 32]);
    rehash(&mut forged);
    let approval = file::approval_from_bytes(&forged).unwrap();
    assert_eq!(approval.hazards_accepted(), plan.hazard_kinds());
    assert_eq!(approval.verify(&k, &plan), Err(ApprovalError::BadMac));
}

#[test]
fn every_bit_flip_of_an_approval_file_is_refused() {
    let plan = sample_plan();
    let k = key("correct horse battery staple");
    let bytes =
        file::approval_to_bytes(&Approval::sign(&k, &plan, "ana", plan.hazard_kinds()).unwrap())
            .unwrap();
    for bit in 0..bytes.len() * 8 {
        let mut damaged = bytes.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        if let Ok(approval) = file::approval_from_bytes(&damaged) {
            panic!("a flip of bit {bit} opened as {approval:?}");
        }
        // And with the envelope re-hashed, the MAC (or the plan id) still refuses it.
        if bit / 8 >= HEADER_LEN && bit / 8 < bytes.len() - TRAILER_LEN {
            rehash(&mut damaged);
            if let Ok(approval) = file::approval_from_bytes(&damaged) {
                assert!(approval.verify(&k, &plan).is_err(), "bit {bit} verified");
            }
        }
    }
}

#[test]
fn an_approval_of_another_plan_is_refused() {
    let plan = sample_plan();
    let other = PlanBuilder::new(plan.target().clone(), 15, fp(9), fp(9))
        .build()
        .unwrap();
    let k = key("correct horse battery staple");
    let approval = Approval::sign(&k, &other, "ana", HazardKind::ALL).unwrap();
    let err = approval.verify(&k, &plan).unwrap_err();
    assert_eq!(
        err,
        ApprovalError::ForOtherPlan {
            approved: other.id(),
            plan: plan.id()
        }
    );
    assert!(err.to_string().contains(&plan.id().to_hex()));
}

#[test]
fn an_approval_that_does_not_accept_every_hazard_is_refused() {
    let plan = sample_plan();
    let k = key("correct horse battery staple");
    let mut accepted = plan.hazard_kinds();
    assert!(accepted.contains(&HazardKind::DeletesData));
    accepted.retain(|h| *h != HazardKind::DeletesData);
    let approval = Approval::sign(&k, &plan, "ana", accepted).unwrap();
    let err = approval.verify(&k, &plan).unwrap_err();
    assert_eq!(
        err,
        ApprovalError::HazardsNotAccepted {
            missing: vec![HazardKind::DeletesData]
        }
    );
    assert!(err.to_string().contains("deletes-data"), "{err}");
}

#[test]
fn short_secrets_and_bad_approver_names_are_refused() {
    assert_eq!(
        ApprovalKey::from_secret(b"hunter2").unwrap_err(),
        ApprovalError::WeakSecret { len: 7 }
    );
    let plan = sample_plan();
    let k = key("correct horse battery staple");
    for approver in ["", "ana\nbob", &"a".repeat(300)] {
        assert_eq!(
            Approval::sign(&k, &plan, approver, []).unwrap_err(),
            ApprovalError::BadApprover
        );
    }
}

/// A plan bound to a real database: the identity and fingerprint come from introspection, and
/// survive the file.
#[tokio::test]
async fn a_plan_binds_the_identity_and_fingerprint_of_a_live_database() {
    let db = common::TestDb::new().await;
    db.execute("CREATE TABLE users (id bigint PRIMARY KEY)")
        .await;
    let client = db.client().await;
    let catalog = formwork::catalog::introspect(&client).await.unwrap();
    let source = fingerprint(&catalog.model);
    let plan = PlanBuilder::new(
        TargetIdentity::of_server(&catalog.server),
        u32::try_from(catalog.server.major()).unwrap(),
        source,
        source,
    )
    .build()
    .unwrap();
    let read = file::from_bytes(file::to_bytes(&plan)).unwrap();
    assert_eq!(read.target().database, db.name());
    assert!(!read.target().system_identifier.is_empty());
    assert!(read.server_major_version() >= 14);
    assert_eq!(read.source_fingerprint(), source);
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "formwork-plan-file-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
