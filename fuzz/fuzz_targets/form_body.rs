//! The form and query parser the front uses (oauth-core's), and what the extension
//! does with its output: whatever the bytes, a JSON object whose repeated keys are arrays.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oauth_core::form;
use oauth_core::protocol::params::Params;

fuzz_target!(|data: &[u8]| {
    let v = form::to_json(data);
    assert!(v.is_object());
    let p = Params::new(&v).expect("an object");
    for key in v.as_object().unwrap().keys() {
        let _ = p.get(key);
        let _ = p.get_all(key);
    }
});
