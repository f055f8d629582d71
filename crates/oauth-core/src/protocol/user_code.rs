//! RFC 8628 §6.1 user codes: eight characters from an alphabet without vowels (no words) and
//! without look-alikes, shown as `BCDF-GHJK`. Input is forgiving: case, spaces and dashes are
//! ignored. 20^8 ≈ 2.6·10^10 codes; with the short lifetime and the front's rate limit on
//! lookups, guessing a live one is impractical.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const LEN: usize = 8;

/// A new user code in its stored form (eight characters, no dash).
pub fn generate() -> String {
    let rng = SystemRandom::new();
    let mut out = String::with_capacity(LEN);
    while out.len() < LEN {
        let mut b = [0u8; 1];
        if rng.fill(&mut b).is_err() {
            continue;
        }
        // 240 = 12 × 20: rejecting the rest keeps every character equally likely.
        if b[0] < 240 {
            out.push(ALPHABET[(b[0] % 20) as usize] as char);
        }
    }
    out
}

/// The stored form of what a user typed, if it can be a user code.
pub fn normalize(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// As shown to the user: `BCDF-GHJK`.
pub fn display(code: &str) -> String {
    format!("{}-{}", &code[..LEN / 2], &code[LEN / 2..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_what_users_type() {
        for _ in 0..100 {
            let c = generate();
            assert_eq!(normalize(&display(&c)).as_deref(), Some(c.as_str()));
            assert_eq!(
                normalize(&display(&c).to_lowercase()).as_deref(),
                Some(c.as_str())
            );
        }
        assert_eq!(normalize("wdjb mjht").as_deref(), Some("WDJBMJHT"));
        for bad in ["", "WDJB-MJH", "WDJB-MJHTX", "AEIO-UUUU", "WDJB-MJH1"] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
