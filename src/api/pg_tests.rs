//! `#[pg_test]`: the SQL surface inside a Postgres backend started by `cargo pgrx test`.

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::JsonB;

    fn json(sql: &str) -> serde_json::Value {
        Spi::get_one::<JsonB>(sql).unwrap().unwrap().0
    }

    #[pg_test]
    fn keys_are_made_on_first_use_not_at_install() {
        assert_eq!(json("SELECT oauth.jwks()"), serde_json::json!({"keys": []}));
        let kids = json("SELECT oauth.rotate_signing_key()");
        assert!(kids["current"].is_string() && kids["next"].is_string());
        assert_eq!(
            json("SELECT oauth.jwks()")["keys"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[pg_test(error = "unsupported signing algorithm \"HS256\"")]
    fn symmetric_keys_are_refused() {
        Spi::run("SELECT oauth.rotate_signing_key('HS256')").unwrap();
    }

    #[pg_test(error = "redirect URI scheme \"javascript\" is not allowed")]
    fn dangerous_redirect_schemes_are_refused() {
        Spi::run("SELECT oauth.create_client('x', ARRAY['javascript:alert(1)'])").unwrap();
    }

    #[pg_test]
    fn rls_helpers_read_request_jwt_claims() {
        assert_eq!(Spi::get_one::<String>("SELECT oauth.uid()").unwrap(), None);
        Spi::run(r#"SELECT set_config('request.jwt.claims', '{"sub":"u1","client_id":"c1","scope":"a b"}', true)"#)
            .unwrap();
        assert_eq!(
            Spi::get_one::<String>("SELECT oauth.uid()")
                .unwrap()
                .as_deref(),
            Some("u1")
        );
        assert_eq!(
            Spi::get_one::<String>("SELECT oauth.client_id()")
                .unwrap()
                .as_deref(),
            Some("c1")
        );
        assert_eq!(
            Spi::get_one::<bool>("SELECT oauth.has_scope('b')").unwrap(),
            Some(true)
        );
        assert_eq!(
            Spi::get_one::<bool>("SELECT oauth.has_scope('c')").unwrap(),
            Some(false)
        );
    }

    #[pg_test]
    fn authorize_returns_errors_as_data_with_a_status() {
        let r = json("SELECT oauth.authorize('{\"client_id\": \"nobody\"}')");
        assert_eq!(r["error"], "invalid_request");
        let status = Spi::get_one::<String>("SELECT current_setting('response.status')").unwrap();
        assert_eq!(status.as_deref(), Some("400"));
    }
}
