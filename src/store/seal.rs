//! A checksum on every value genovec stores.
//!
//! redb keeps page checksums but verifies them only when it repairs a file, so a damaged page
//! reads back as different data with no error. Each value written by the store therefore ends
//! in a CRC-32 of the table name, the key and the payload: a damaged value, or a damaged index
//! page that points at another key's value, fails the check instead of being believed.

/// Bytes of the checksum trailer.
const TRAILER: usize = 4;

fn checksum(table: &str, key: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(table.as_bytes());
    h.update(&[0]);
    h.update(key);
    h.update(payload);
    h.finalize()
}

/// `payload` followed by its checksum under (`table`, `key`).
pub fn seal(table: &str, key: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + TRAILER);
    out.extend_from_slice(payload);
    out.extend_from_slice(&checksum(table, key, payload).to_le_bytes());
    out
}

/// The payload of a sealed value, or an error naming the table when the checksum fails.
pub fn unseal<'a>(table: &str, key: &[u8], value: &'a [u8]) -> Result<&'a [u8], String> {
    let fail = || format!("a value in table {table:?} fails its checksum");
    let split = value.len().checked_sub(TRAILER).ok_or_else(fail)?;
    let (payload, trailer) = value.split_at(split);
    let stored = u32::from_le_bytes(trailer.try_into().expect("4-byte trailer"));
    if stored == checksum(table, key, payload) {
        Ok(payload)
    } else {
        Err(fail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_catches_any_changed_byte() {
        let sealed = seal("records", &7u64.to_le_bytes(), b"payload");
        assert_eq!(
            unseal("records", &7u64.to_le_bytes(), &sealed).unwrap(),
            b"payload"
        );
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x10;
            assert!(
                unseal("records", &7u64.to_le_bytes(), &bad).is_err(),
                "byte {i}"
            );
        }
    }

    #[test]
    fn another_key_or_table_or_a_short_value_fails() {
        let sealed = seal("records", &7u64.to_le_bytes(), b"payload");
        assert!(unseal("records", &8u64.to_le_bytes(), &sealed).is_err());
        assert!(unseal("vectors", &7u64.to_le_bytes(), &sealed).is_err());
        assert!(unseal("records", &7u64.to_le_bytes(), &[1, 2]).is_err());
    }
}
