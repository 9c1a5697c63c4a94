//! Arbitrary bytes into the plan and approval file readers: nothing panics, and whatever is
//! accepted is byte for byte what formwork writes for the value read (one plan, one file).
//!
//! Random bytes almost never carry a correct blake3 trailer, so when the first byte is odd the
//! rest is wrapped in a correctly hashed envelope: the decoder and the checks behind the hash
//! get fuzzed too.
#![no_main]

use formwork::plan::file;
use libfuzzer_sys::fuzz_target;

fn envelope(magic: &[u8], body: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    bytes.extend_from_slice(&file::FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
    bytes.extend_from_slice(body);
    let hash = blake3::hash(&bytes);
    bytes.extend_from_slice(hash.as_bytes());
    bytes
}

fuzz_target!(|data: &[u8]| {
    let (plan_bytes, approval_bytes) = match data.split_first() {
        Some((first, rest)) if first % 2 == 1 => (
            envelope(file::PLAN_MAGIC, rest),
            envelope(file::APPROVAL_MAGIC, rest),
        ),
        _ => (data.to_vec(), data.to_vec()),
    };
    if let Ok(plan) = file::from_bytes(&plan_bytes) {
        assert_eq!(file::to_bytes(&plan), &plan_bytes[..], "accepted a non-canonical plan file");
        assert_eq!(&plan.id().0[..], &plan_bytes[plan_bytes.len() - 32..]);
    }
    if let Ok(approval) = file::approval_from_bytes(&approval_bytes) {
        let again = file::approval_to_bytes(&approval).expect("an approval read back encodes");
        assert_eq!(again, approval_bytes, "accepted a non-canonical approval file");
    }
});
