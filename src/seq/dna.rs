//! The validated DNA sequence type and its letter rules.

use std::fmt;
use std::str::FromStr;

/// Byte-to-letter table: 0 marks a byte that is not allowed in a sequence.
const LETTERS: [u8; 256] = build_letter_table();

const fn build_letter_table() -> [u8; 256] {
    let mut table = [0u8; 256];
    let bases = b"ACGT";
    let mut i = 0;
    while i < bases.len() {
        table[bases[i] as usize] = bases[i];
        table[bases[i].to_ascii_lowercase() as usize] = bases[i];
        i += 1;
    }
    let ambiguous = b"RYSWKMBDHVN";
    let mut j = 0;
    while j < ambiguous.len() {
        table[ambiguous[j] as usize] = b'N';
        table[ambiguous[j].to_ascii_lowercase() as usize] = b'N';
        j += 1;
    }
    table
}

/// Why a byte string is not a valid DNA sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LetterError {
    /// Nothing but whitespace (or nothing at all).
    Empty,
    /// A character that is neither A/C/G/T nor an IUPAC ambiguity code.
    Bad {
        /// The offending character (a byte that is not valid UTF-8 shows as U+FFFD).
        ch: char,
        /// 1-based position in the sequence after leading whitespace is trimmed.
        position: usize,
    },
}

impl fmt::Display for LetterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LetterError::Empty => write!(f, "empty sequence"),
            LetterError::Bad { ch, position } => {
                write!(f, "invalid character {ch:?} at position {position}")
            }
        }
    }
}

impl std::error::Error for LetterError {}

/// A non-empty DNA sequence holding only the bytes `A`, `C`, `G`, `T` and `N`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DnaSeq(Vec<u8>);

impl DnaSeq {
    /// Validates and normalises raw bytes.
    ///
    /// Leading and trailing ASCII whitespace is trimmed; letters are uppercased; the IUPAC
    /// ambiguity codes `R Y S W K M B D H V N` (either case) become `N`. Anything else,
    /// including `U`, gaps (`-`, `.`), digits and interior whitespace, is an error.
    pub fn parse(raw: &[u8]) -> Result<DnaSeq, LetterError> {
        let trimmed = raw.trim_ascii();
        if trimmed.is_empty() {
            return Err(LetterError::Empty);
        }
        let mut out = Vec::with_capacity(trimmed.len());
        for (i, &b) in trimmed.iter().enumerate() {
            match LETTERS[b as usize] {
                0 => return Err(bad_letter(trimmed, i)),
                letter => out.push(letter),
            }
        }
        Ok(DnaSeq(out))
    }

    /// The normalised bytes (only `ACGTN`).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Number of bases (at least 1).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a `DnaSeq` is never empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Gives up the bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The reverse complement (A<->T, C<->G, N stays N).
    pub fn reverse_complement(&self) -> DnaSeq {
        DnaSeq(reverse_complement(&self.0))
    }
}

/// Builds the [`LetterError::Bad`] for the byte at `index` of `seq`.
fn bad_letter(seq: &[u8], index: usize) -> LetterError {
    let window = &seq[index..seq.len().min(index + 4)];
    let ch = String::from_utf8_lossy(window)
        .chars()
        .next()
        .unwrap_or(char::REPLACEMENT_CHARACTER);
    // Every byte before `index` is an ASCII letter, so byte and character positions agree.
    LetterError::Bad {
        ch,
        position: index + 1,
    }
}

/// Reverse complement of a sequence over `ACGTN`: reversed, with A<->T and C<->G swapped.
///
/// Any other byte (which a [`DnaSeq`] never holds) becomes `N`.
pub fn reverse_complement(seq: &[u8]) -> Vec<u8> {
    seq.iter()
        .rev()
        .map(|&b| match b {
            b'A' => b'T',
            b'T' => b'A',
            b'C' => b'G',
            b'G' => b'C',
            _ => b'N',
        })
        .collect()
}

impl fmt::Display for DnaSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The invariant guarantees ASCII, hence valid UTF-8.
        f.write_str(std::str::from_utf8(&self.0).unwrap_or_default())
    }
}

impl FromStr for DnaSeq {
    type Err = LetterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DnaSeq::parse(s.as_bytes())
    }
}

impl AsRef<[u8]> for DnaSeq {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        DnaSeq::parse(raw.as_bytes()).unwrap().to_string()
    }

    #[test]
    fn uppercases_and_maps_ambiguity_codes_to_n() {
        assert_eq!(ok("acgt"), "ACGT");
        assert_eq!(ok("acgRt"), "ACGNT");
        assert_eq!(ok("RYSWKMBDHVN"), "NNNNNNNNNNN");
        assert_eq!(ok("ryswkmbdhvn"), "NNNNNNNNNNN");
        assert_eq!(ok("  ACGT\r\n"), "ACGT");
        let s = DnaSeq::parse(b"gattaca").unwrap();
        assert_eq!(s.as_bytes(), b"GATTACA");
        assert_eq!(s.len(), 7);
        assert!(!s.is_empty());
        assert_eq!(s.clone().into_bytes(), b"GATTACA".to_vec());
        assert_eq!("ac".parse::<DnaSeq>().unwrap().as_bytes(), b"AC");
    }

    #[test]
    fn rejects_other_letters_with_position() {
        let bad = |raw: &[u8]| DnaSeq::parse(raw).unwrap_err();
        assert_eq!(
            bad(b"ACGU"),
            LetterError::Bad {
                ch: 'U',
                position: 4
            }
        );
        assert_eq!(
            bad(b"AC-GT"),
            LetterError::Bad {
                ch: '-',
                position: 3
            }
        );
        assert_eq!(
            bad(b"A.C"),
            LetterError::Bad {
                ch: '.',
                position: 2
            }
        );
        assert_eq!(
            bad(b"1ACG"),
            LetterError::Bad {
                ch: '1',
                position: 1
            }
        );
        assert_eq!(
            bad(b"AC GT"),
            LetterError::Bad {
                ch: ' ',
                position: 3
            }
        );
        assert_eq!(
            bad(b"  ACX"),
            LetterError::Bad {
                ch: 'X',
                position: 3
            }
        );
        assert_eq!(
            bad("ACé".as_bytes()),
            LetterError::Bad {
                ch: 'é',
                position: 3
            }
        );
        assert_eq!(
            bad(b"A\xffC"),
            LetterError::Bad {
                ch: '\u{fffd}',
                position: 2
            }
        );
        let msg = bad(b"ACGU").to_string();
        assert!(msg.contains("'U'") && msg.contains("position 4"), "{msg}");
    }

    #[test]
    fn empty_or_blank_is_empty() {
        assert_eq!(DnaSeq::parse(b"").unwrap_err(), LetterError::Empty);
        assert_eq!(DnaSeq::parse(b" \t\n").unwrap_err(), LetterError::Empty);
    }

    #[test]
    fn reverse_complement_swaps_and_reverses() {
        assert_eq!(reverse_complement(b"AACGTN"), b"NACGTT".to_vec());
        assert_eq!(reverse_complement(b"ATGC"), b"GCAT".to_vec());
        assert_eq!(reverse_complement(b""), Vec::<u8>::new());
        let s = DnaSeq::parse(b"acgRtt").unwrap();
        assert_eq!(s.reverse_complement().to_string(), "AANCGT");
    }

    #[test]
    fn reverse_complement_is_an_involution() {
        // A small deterministic generator covers many sequences without extra deps.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 1..200 {
            let seq: Vec<u8> = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    b"ACGTN"[(state >> 33) as usize % 5]
                })
                .collect();
            let s = DnaSeq::parse(&seq).unwrap();
            let rc = s.reverse_complement();
            assert_eq!(rc.len(), s.len());
            assert_eq!(rc.reverse_complement(), s);
        }
    }
}
