//! A PostgreSQL client that signs in with a bearer token of its choosing (SASL OAUTHBEARER,
//! RFC 7628, as PostgreSQL 18 speaks it), over the wire protocol: libpq obtains its own tokens
//! (the device flow) and offers no way to present a given one, which the validator's refusal
//! tests need (an ID token, a foreign issuer's, an expired one…). Plain TCP, protocol 3.0,
//! simple queries only.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A signed-in session.
pub struct Session {
    stream: TcpStream,
}

/// Why a sign-in failed: what the server said.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The SQLSTATE of the ErrorResponse (28000 for a refused token).
    pub code: String,
    pub message: String,
    /// The SASL failure the server sent first (RFC 7628 §3.2.2: `status`, `scope`,
    /// `openid-configuration`), when it sent one.
    pub challenge: Option<serde_json::Value>,
}

fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn read_message(s: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    s.read_exact(&mut head)?;
    let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut body = vec![0u8; len.saturating_sub(4)];
    s.read_exact(&mut body)?;
    Ok((head[0], body))
}

fn error_fields(body: &[u8]) -> (String, String) {
    let (mut code, mut msg) = (String::new(), String::new());
    let mut rest = body;
    while let Some((&t, tail)) = rest.split_first() {
        if t == 0 {
            break;
        }
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        let v = String::from_utf8_lossy(&tail[..end]).into_owned();
        match t {
            b'C' => code = v,
            b'M' => msg = v,
            _ => {}
        }
        rest = &tail[(end + 1).min(tail.len())..];
    }
    (code, msg)
}

fn refused(code: &str, message: String) -> Refused {
    Refused {
        code: code.into(),
        message,
        challenge: None,
    }
}

/// Connects to `host:port` as `user` to `database` and presents `token` (`None`: an empty
/// `auth`, as libpq sends to ask the server where to get one).
pub fn sign_in(
    host: &str,
    port: u16,
    database: &str,
    user: &str,
    token: Option<&str>,
) -> Result<Session, Refused> {
    let io = |e: std::io::Error| refused("08006", format!("connection: {e}"));
    let mut s = TcpStream::connect((host, port)).map_err(io)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(io)?;
    let mut startup = Vec::new();
    startup.extend_from_slice(&196_608i32.to_be_bytes());
    for (k, v) in [("user", user), ("database", database)] {
        startup.extend_from_slice(k.as_bytes());
        startup.push(0);
        startup.extend_from_slice(v.as_bytes());
        startup.push(0);
    }
    startup.push(0);
    let mut first = ((startup.len() + 4) as i32).to_be_bytes().to_vec();
    first.extend_from_slice(&startup);
    s.write_all(&first).map_err(io)?;
    let mut challenge = None;
    loop {
        let (kind, body) = read_message(&mut s).map_err(io)?;
        match kind {
            b'R' => {
                let code = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                match code {
                    0 => {}
                    10 => {
                        let mechs = String::from_utf8_lossy(&body[4..]).to_string();
                        if !mechs.split('\0').any(|m| m == "OAUTHBEARER") {
                            return Err(refused("08P01", format!("no OAUTHBEARER in {mechs:?}")));
                        }
                        let auth = match token {
                            Some(t) => format!("n,,\x01auth=Bearer {t}\x01\x01"),
                            None => "n,,\x01auth=\x01\x01".to_string(),
                        };
                        let mut b = b"OAUTHBEARER\0".to_vec();
                        b.extend_from_slice(&(auth.len() as i32).to_be_bytes());
                        b.extend_from_slice(auth.as_bytes());
                        s.write_all(&message(b'p', &b)).map_err(io)?;
                    }
                    11 => {
                        // RFC 7628 §3.2.2: the server's failure; the client answers with a
                        // lone %x01 and the server then ends the exchange.
                        challenge = serde_json::from_slice(&body[4..]).ok();
                        s.write_all(&message(b'p', b"\x01")).map_err(io)?;
                    }
                    other => {
                        return Err(refused("08P01", format!("authentication request {other}")))
                    }
                }
            }
            b'E' => {
                let (code, message) = error_fields(&body);
                return Err(Refused {
                    code,
                    message,
                    challenge,
                });
            }
            b'Z' => return Ok(Session { stream: s }),
            _ => {} // ParameterStatus, BackendKeyData, NoticeResponse
        }
    }
}

impl Session {
    /// Runs one simple query: its rows, each column as text (NULL as `None`), or the error.
    pub fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, Refused> {
        let io = |e: std::io::Error| refused("08006", format!("connection: {e}"));
        let mut q = sql.as_bytes().to_vec();
        q.push(0);
        self.stream.write_all(&message(b'Q', &q)).map_err(io)?;
        let (mut rows, mut error) = (Vec::new(), None);
        loop {
            let (kind, body) = read_message(&mut self.stream).map_err(io)?;
            match kind {
                b'D' => {
                    let n = u16::from_be_bytes([body[0], body[1]]) as usize;
                    let (mut at, mut row) = (2, Vec::with_capacity(n));
                    for _ in 0..n {
                        let len = i32::from_be_bytes([
                            body[at],
                            body[at + 1],
                            body[at + 2],
                            body[at + 3],
                        ]);
                        at += 4;
                        if len < 0 {
                            row.push(None);
                        } else {
                            let end = at + len as usize;
                            row.push(Some(String::from_utf8_lossy(&body[at..end]).into_owned()));
                            at = end;
                        }
                    }
                    rows.push(row);
                }
                b'E' => {
                    let (code, message) = error_fields(&body);
                    error = Some(refused(&code, message));
                }
                b'Z' => return error.map_or(Ok(rows), Err),
                _ => {}
            }
        }
    }

    /// One text value.
    pub fn value(&mut self, sql: &str) -> Result<Option<String>, Refused> {
        Ok(self
            .query(sql)?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .flatten())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.stream.write_all(&message(b'X', b""));
    }
}
