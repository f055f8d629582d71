//! Request parameters arriving as a JSON object (the authorization request's query, a token
//! request's form). Every value must be a string: a repeated parameter or a number is a
//! malformed request (RFC 6749 §3.1: parameters MUST NOT be included more than once).

use crate::error::{invalid_request, OAuthResult};
use serde_json::{Map, Value};

/// Longest accepted value of any single parameter.
pub const MAX_PARAM_LEN: usize = 4096;

pub struct Params<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Params<'a> {
    pub fn new(value: &'a Value) -> OAuthResult<Self> {
        match value {
            Value::Object(map) => Ok(Params { map }),
            _ => Err(invalid_request("request parameters must be a JSON object")),
        }
    }

    /// An optional parameter; empty strings count as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> OAuthResult<Option<&'a str>> {
        self.get_up_to(name, MAX_PARAM_LEN)
    }

    /// [`get`](Self::get) for a parameter that may be longer than the others (a client
    /// assertion: a JWT with a certificate chain, say), up to `max` bytes.
    pub fn get_up_to(&self, name: &str, max: usize) -> OAuthResult<Option<&'a str>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) if s.len() > max => {
                Err(invalid_request(format!("parameter {name} is too long")))
            }
            Some(Value::String(s)) if s.contains('\0') => Err(invalid_request(format!(
                "parameter {name} contains a NUL character"
            ))),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(Value::Array(_)) => Err(invalid_request(format!("parameter {name} is repeated"))),
            Some(_) => Err(invalid_request(format!(
                "parameter {name} must be a string"
            ))),
        }
    }

    /// A parameter that may be repeated (RFC 8707 `resource`): every value, in order.
    pub fn get_all(&self, name: &str) -> OAuthResult<Vec<&'a str>> {
        let values: Vec<&Value> = match self.map.get(name) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
        };
        let mut out = Vec::new();
        for v in values {
            match v {
                Value::String(s) if s.is_empty() => {}
                Value::String(s) if s.len() > MAX_PARAM_LEN || s.contains('\0') => {
                    return Err(invalid_request(format!("parameter {name} is malformed")))
                }
                Value::String(s) => out.push(s.as_str()),
                _ => {
                    return Err(invalid_request(format!(
                        "parameter {name} must be a string"
                    )))
                }
            }
        }
        Ok(out)
    }

    pub fn require(&self, name: &str) -> OAuthResult<&'a str> {
        self.get(name)?
            .ok_or_else(|| invalid_request(format!("parameter {name} is required")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_only() {
        let v = json!({"a": "x", "b": "", "c": ["1", "2"], "d": 5, "e": null});
        let p = Params::new(&v).unwrap();
        assert_eq!(p.get("a").unwrap(), Some("x"));
        assert_eq!(p.get("b").unwrap(), None);
        assert!(p.get("c").is_err());
        assert!(p.get("d").is_err());
        assert_eq!(p.get("e").unwrap(), None);
        assert!(p.require("zzz").is_err());
        assert!(Params::new(&json!([1])).is_err());
        let long = json!({"a": "x".repeat(5000)});
        assert!(Params::new(&long).unwrap().get("a").is_err());
        // Repeatable parameters come as arrays.
        assert_eq!(p.get_all("c").unwrap(), ["1", "2"]);
        assert_eq!(p.get_all("a").unwrap(), ["x"]);
        assert!(p.get_all("zzz").unwrap().is_empty());
        assert!(p.get_all("d").is_err());
    }
}
