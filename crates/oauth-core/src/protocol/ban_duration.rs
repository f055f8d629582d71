//! GoTrue's `ban_duration` (`auth.admin.updateUserById(id, {ban_duration})`) → what this
//! server can do. GoTrue bans until now + a Go duration (`"24h"`, `"876000h"`) or lifts the ban
//! (`"none"`). A user here is enabled or disabled (`oauth.users.disabled_at`), with no end date:
//! a timed ban would be a decision that silently outlives the time the administrator gave it,
//! so only the two values we can honour exactly are accepted — `"none"` and a duration of at
//! least 100 years (876000h, what Supabase's documentation calls banning for good), in any
//! spelling Go accepts (`"52560000m"`, `"876000h0m0s"`, `"+876000h"`).

/// Hours in 100 years of 365 days: Supabase's documented "ban forever".
pub const FOREVER_HOURS: u128 = 876_000;
const NS_PER_HOUR: u128 = 3_600_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ban {
    /// `"none"`: enable the user.
    Lift,
    /// At least 100 years: disable the user until an administrator lifts it.
    Forever,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not a Go duration (nor `"none"`); GoTrue's wording.
    Malformed(String),
    /// A valid duration shorter than 100 years (zero and negative included).
    Timed,
}

impl Refused {
    pub fn message(&self) -> String {
        match self {
            Refused::Malformed(v) => format!(
                "invalid format for ban duration: {v:?} is not \"none\" nor a Go duration \
                 such as \"876000h\""
            ),
            Refused::Timed => "timed bans are not supported: ban_duration must be \"none\" \
                               (lift the ban) or \"876000h\" (100 years or more: banned until \
                               lifted)"
                .into(),
        }
    }
}

/// The ban a `ban_duration` asks for.
pub fn decide(ban_duration: &str) -> Result<Ban, Refused> {
    if ban_duration == "none" {
        return Ok(Ban::Lift);
    }
    let malformed = || Refused::Malformed(ban_duration.to_string());
    let (negative, ns) = parse_go_duration(ban_duration).ok_or_else(malformed)?;
    if !negative && ns >= FOREVER_HOURS * NS_PER_HOUR {
        Ok(Ban::Forever)
    } else {
        Err(Refused::Timed)
    }
}

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?unit)+` or `0`, units ns us µs μs ms s m
/// h, at most 2^63-1 ns (Go refuses more, so a longer "forever" is malformed there too).
/// (negative, nanoseconds), truncated to the nanosecond.
fn parse_go_duration(s: &str) -> Option<(bool, u128)> {
    let (negative, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some((negative, 0));
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                a.split_at(n)
            }
            None => ("", after),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after.len(), |(i, _)| i);
        let (unit, after) = after.split_at(unit_len);
        let unit_ns: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => NS_PER_HOUR,
            _ => return None,
        };
        // Past 2^63 ns the whole is refused anyway: stop before u128 could overflow.
        let whole: u128 = if int.is_empty() {
            0
        } else if int.len() > 20 {
            return None;
        } else {
            int.parse().ok()?
        };
        // Digits past the 18th are below a nanosecond of any unit.
        let frac = &frac[..frac.len().min(18)];
        let part = if frac.is_empty() {
            0
        } else {
            frac.parse::<u128>().ok()? * unit_ns / 10u128.pow(frac.len() as u32)
        };
        total = total.checked_add(whole.checked_mul(unit_ns)?.checked_add(part)?)?;
        if total > i64::MAX as u128 + u128::from(negative) {
            return None;
        }
        rest = after;
    }
    Some((negative, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_lifts_and_a_hundred_years_in_any_go_spelling_is_forever() {
        assert_eq!(decide("none"), Ok(Ban::Lift));
        for forever in [
            "876000h",
            "+876000h",
            "876000h0m0s",
            "52560000m",
            "3153600000s",
            "875999h60m",
            "876000.0h",
            "1000000h",
            "2562047h",
        ] {
            assert_eq!(decide(forever), Ok(Ban::Forever), "{forever}");
        }
    }

    #[test]
    fn every_shorter_duration_is_a_timed_ban_and_refused() {
        for timed in [
            "24h",
            "0",
            "0s",
            "-876000h",
            "875999h",
            "875999.9h",
            "875999h59m59.999999999s",
            "1.5h",
            ".5h",
            "1h30m",
            "300ms",
            "2\u{b5}s",
        ] {
            assert_eq!(decide(timed), Err(Refused::Timed), "{timed}");
        }
    }

    #[test]
    fn what_go_would_not_parse_is_malformed_not_guessed() {
        for bad in [
            "",
            "None",
            "NONE",
            " none",
            "none ",
            "forever",
            "876000",
            "36500d",
            "876000 h",
            "876000H",
            "h",
            ".h",
            "-",
            "+",
            "1h-1m",
            "2562048h",
            "99999999999999999999999h",
            "infinity",
        ] {
            assert!(
                matches!(decide(bad), Err(Refused::Malformed(_))),
                "{bad}: {:?}",
                decide(bad)
            );
        }
    }

    #[test]
    fn the_refusals_name_the_two_values_accepted() {
        let m = Refused::Timed.message();
        assert!(m.contains("\"none\"") && m.contains("\"876000h\"") && m.contains("timed bans"));
        assert!(Refused::Malformed("x".into()).message().contains("\"x\""));
    }
}
