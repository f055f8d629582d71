//! Request parameters into the JSON object the SQL functions take. A repeated parameter
//! becomes an array, which the extension refuses (RFC 6749 §3.1): the front does not decide.

use serde_json::{Map, Value};

/// `application/x-www-form-urlencoded` (a form body or a query string) as a JSON object.
pub fn to_json(encoded: &[u8]) -> Value {
    let mut map = Map::new();
    for (k, v) in form_urlencoded::parse(encoded) {
        let v = Value::String(v.into_owned());
        match map.get_mut(k.as_ref()) {
            None => {
                map.insert(k.into_owned(), v);
            }
            Some(Value::Array(items)) => items.push(v),
            Some(first) => *first = Value::Array(vec![first.take(), v]),
        }
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_and_keeps_repeats() {
        assert_eq!(
            to_json(b"a=1&b=x+y%2Bz&a=2&a=3&c="),
            json!({"a": ["1", "2", "3"], "b": "x y+z", "c": ""})
        );
        assert_eq!(to_json(b""), json!({}));
        // Broken escapes pass through as text; the extension validates values.
        assert_eq!(to_json(b"a=%zz"), json!({"a": "%zz"}));
    }
}
