//! The catalog fingerprint: a blake3 hash of a model's canonical encoding.
//!
//! Two models that are equal (in the model's sense: maps compared regardless of order, `Vec`s in
//! order, `renamed_from` ignored) have the same fingerprint, whichever order objects were
//! created in, whatever their OIDs, and whichever file declared them; any difference in a
//! managed attribute changes it. Plans bind the fingerprints of the states they expect.
//!
//! Each unit of the model (an extension, a schema's attributes, an enum, sequence, table or
//! view; see `model::units`) is hashed from its canonical byte encoding (`catalog::canon`:
//! fields in a fixed order, maps sorted by key, `renamed_from` left out); the fingerprint hashes
//! the sorted list of unit keys and unit hashes. Hashing per unit lets the planner fingerprint a
//! state that differs from a known one in a few units without re-encoding the rest. A version
//! prefix lets the encoding change later without silent collisions. [`canonical_encoding`]
//! gives the same content as sorted JSON, for people comparing two states.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use crate::model::{Model, UnitKey, UnitKind};

/// A 32-byte catalog fingerprint; `Display` is lower-case hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

const ENCODING_VERSION: &[u8] = b"formwork-model-v4\n";

/// The fingerprint of a model.
pub fn fingerprint(model: &Model) -> Fingerprint {
    UnitHashes::of(model).fingerprint()
}

/// The exact text that is hashed for a whole model (unit by unit, see [`UnitHashes`]); useful
/// when two fingerprints differ and one wants to know why.
pub fn canonical_encoding(model: &Model) -> String {
    let value = serde_json::to_value(model).unwrap_or(serde_json::Value::Null);
    let mut out = String::new();
    write_canonical(&value, &mut out);
    out
}

/// The hash of every unit of a model (see `model::units`). The fingerprint hashes the sorted
/// list of (unit key, unit hash), so a model that differs from another in a few units can be
/// fingerprinted by re-hashing only those ([`UnitHashes::replace`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitHashes(BTreeMap<UnitKey, [u8; 32]>);

impl UnitHashes {
    pub fn of(model: &Model) -> UnitHashes {
        let mut map = BTreeMap::new();
        for key in model.unit_keys() {
            if let Some(h) = unit_hash(model, &key) {
                map.insert(key, h);
            }
        }
        UnitHashes(map)
    }

    /// Every unit with its hash, sorted by unit.
    pub fn entries(&self) -> impl Iterator<Item = (&UnitKey, &[u8; 32])> {
        self.0.iter()
    }

    /// Whether the unit is there.
    pub fn contains(&self, key: &UnitKey) -> bool {
        self.0.contains_key(key)
    }

    /// Rebuild from [`UnitHashes::entries`] (as a plan records them).
    pub fn from_entries(entries: impl IntoIterator<Item = (UnitKey, [u8; 32])>) -> UnitHashes {
        UnitHashes(entries.into_iter().collect())
    }

    /// Take the units `keys` from `from` (removing those it lacks).
    pub fn replace(&mut self, keys: &HashSet<UnitKey>, from: &Model) {
        for key in keys {
            match unit_hash(from, key) {
                Some(h) => {
                    self.0.insert(key.clone(), h);
                }
                None => {
                    self.0.remove(key);
                }
            }
        }
    }

    pub fn fingerprint(&self) -> Fingerprint {
        let mut hasher = blake3::Hasher::new();
        hasher.update(ENCODING_VERSION);
        for (key, hash) in &self.0 {
            hasher.update(&[key.kind as u8]);
            for part in [&key.schema, &key.name] {
                hasher.update(&(part.len() as u64).to_le_bytes());
                hasher.update(part.as_bytes());
            }
            hasher.update(hash);
        }
        Fingerprint(*hasher.finalize().as_bytes())
    }

    /// The units whose hashes differ between the two, sorted.
    pub fn differing(&self, other: &UnitHashes) -> Vec<UnitKey> {
        let mut out: Vec<UnitKey> = self
            .0
            .iter()
            .filter(|(k, h)| other.0.get(*k) != Some(*h))
            .map(|(k, _)| k.clone())
            .chain(other.0.keys().filter(|k| !self.0.contains_key(*k)).cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// The blake3 hash of one unit's canonical encoding (`catalog::canon`), or `None` if the model
/// lacks it.
fn unit_hash(model: &Model, key: &UnitKey) -> Option<[u8; 32]> {
    use super::canon::Canon;
    let mut h = Vec::with_capacity(1024);
    match key.kind {
        UnitKind::Extension => model.extensions.get(&key.name)?.canon(&mut h),
        UnitKind::Schema => {
            let s = model.schemas.get(&key.name)?;
            s.name.canon(&mut h);
            s.comment.canon(&mut h);
            super::canon::grants_canon(&s.grants, &mut h);
            super::canon::default_grants_canon(&s.default_grants, &mut h);
        }
        kind => {
            let s = model.schemas.get(&key.schema)?;
            match kind {
                UnitKind::Enum => s.enums.get(&key.name)?.canon(&mut h),
                UnitKind::Sequence => s.sequences.get(&key.name)?.canon(&mut h),
                UnitKind::Table => s.tables.get(&key.name)?.canon(&mut h),
                UnitKind::View => s.views.get(&key.name)?.canon(&mut h),
                UnitKind::Function => s.functions.get(&key.name)?.canon(&mut h),
                UnitKind::MaterializedView => s.materialized_views.get(&key.name)?.canon(&mut h),
                UnitKind::Domain => s.domains.get(&key.name)?.canon(&mut h),
                UnitKind::Composite => s.composites.get(&key.name)?.canon(&mut h),
                UnitKind::Range => s.ranges.get(&key.name)?.canon(&mut h),
                UnitKind::Extension | UnitKind::Schema => return None,
            }
        }
    }
    Some(*blake3::hash(&h).as_bytes())
}

/// JSON with object keys sorted explicitly (not trusting serde_json's map type, whose order
/// depends on a crate feature anywhere in the dependency graph) and `renamed_from` left out.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().filter(|k| *k != "renamed_from").collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

impl Fingerprint {
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parse 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Fingerprint, FingerprintParseError> {
        let s = s.trim();
        if s.len() != 64 || !s.is_ascii() {
            return Err(FingerprintParseError);
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte =
                u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| FingerprintParseError)?;
        }
        Ok(Fingerprint(out))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a fingerprint is 64 hexadecimal digits")]
pub struct FingerprintParseError;

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = FingerprintParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fingerprint::from_hex(s)
    }
}

/// Hex in human-readable formats (JSON), exactly 32 raw bytes in binary ones (the plan file).
impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            Fingerprint::from_hex(&s).map_err(serde::de::Error::custom)
        } else {
            <[u8; 32]>::deserialize(d).map(Fingerprint)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    #[test]
    fn serializes_as_hex_in_json_and_as_32_raw_bytes_in_binary_formats() {
        let fp = Fingerprint([0xab; 32]);
        let json = serde_json::to_string(&fp).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), fp);
        let bytes = postcard::to_allocvec(&fp).unwrap();
        assert_eq!(bytes, vec![0xab; 32]);
        assert_eq!(postcard::from_bytes::<Fingerprint>(&bytes).unwrap(), fp);
    }

    fn table(name: &str, cols: &[&str]) -> Table {
        let mut t = Table {
            name: name.into(),
            ..Table::default()
        };
        for c in cols {
            t.columns.insert(
                c.to_string(),
                Column {
                    grants: Vec::new(),
                    name: c.to_string(),
                    data_type: "integer".into(),
                    not_null: false,
                    default: None,
                    identity: None,
                    generated: None,
                    collation: None,
                    comment: None,
                    renamed_from: None,
                },
            );
        }
        t
    }

    fn model(tables: Vec<Table>) -> Model {
        let mut s = Schema {
            name: "public".into(),
            ..Schema::default()
        };
        for t in tables {
            s.tables.insert(t.name.clone(), t);
        }
        let mut m = Model::default();
        m.schemas.insert("public".into(), s);
        m
    }

    #[test]
    fn map_order_does_not_change_the_fingerprint() {
        let a = model(vec![table("a", &["x", "y"]), table("b", &["z"])]);
        let b = model(vec![table("b", &["z"]), table("a", &["y", "x"])]);
        assert_eq!(a, b);
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn renamed_from_is_ignored_but_attributes_count() {
        let a = model(vec![table("a", &["x"])]);
        let mut b = a.clone();
        b.schemas["public"].tables["a"].renamed_from = Some("old".into());
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let mut c = a.clone();
        c.schemas["public"].tables["a"].columns["x"].not_null = true;
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn hex_round_trips_and_bad_hex_is_refused() {
        let f = fingerprint(&Model::default());
        assert_eq!(Fingerprint::from_hex(&f.to_string()), Ok(f));
        assert!(Fingerprint::from_hex("zz").is_err());
        assert!(Fingerprint::from_hex(&"g".repeat(64)).is_err());
        assert!(Fingerprint::from_hex(&"é".repeat(32)).is_err());
    }
}
