//! What the store's statements do, read from their (static) text: whether one may change the
//! database. A statement that cannot is run without a transaction id: it works on a hot
//! standby, and a call made only of such statements commits without writing or flushing WAL. The reading is conservative: any word that could mean a write (a row lock
//! included) counts, so a mistake costs only the read-only path, never a failed write.

/// Words that make a statement one that may write (or lock rows, which also needs a
/// transaction id).
const WRITING_WORDS: [&str; 9] = [
    "insert", "update", "delete", "merge", "truncate", "nextval", "setval", "share", "lock",
];

/// Whether the statement `sql` may write. Comments (`-- …`) are not read.
pub fn may_write(sql: &str) -> bool {
    sql.lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .flat_map(|line| line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .any(|word| WRITING_WORDS.iter().any(|w| word.eq_ignore_ascii_case(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_told_from_writes_and_row_locks() {
        assert!(!may_write(
            "SELECT kid, alg FROM oauth.signing_keys WHERE status = 'current'"
        ));
        assert!(!may_write(
            "-- Locks nothing; updated_at is read\nSELECT updated_at FROM oauth.clients"
        ));
        assert!(!may_write("WITH x AS (SELECT 1) SELECT * FROM x"));
        for w in [
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET a = 1",
            "delete from t",
            "WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM u",
            "SELECT * FROM t WHERE id = $1 FOR UPDATE OF t",
            "SELECT * FROM t FOR NO KEY UPDATE",
            "SELECT * FROM t FOR SHARE",
            "SELECT * FROM t FOR KEY SHARE SKIP LOCKED",
            "SELECT nextval('s')",
            "LOCK TABLE t",
            "MERGE INTO t USING s ON true WHEN MATCHED THEN DO NOTHING",
        ] {
            assert!(may_write(w), "{w}");
        }
        // A word inside another is not the word.
        assert!(!may_write(
            "SELECT updated_at, inserted, locked_until FROM t"
        ));
    }
}
