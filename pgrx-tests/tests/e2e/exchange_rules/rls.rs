//! The row-level security patterns docs/delegation.md gives, run as written with a role that
//! is not a superuser: the user's own token may delete, an agent acting for them may only read,
//! and a vendor's agent anywhere in the chain is kept out.

use super::*;

#[test]
fn the_documented_policies_tell_the_user_from_an_agent_acting_for_them() {
    let Stage {
        db: _db,
        mut c,
        a,
        b,
    } = stage("x_rls");
    let d = agent(&mut c);
    c.batch_execute(&format!(
        "DO $$ BEGIN CREATE ROLE delegation_api NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
         CREATE TABLE documents (id int, owner text);
         INSERT INTO documents VALUES (1, 'alice'), (2, 'alice'), (3, 'bob');
         ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
         -- From docs/delegation.md#row-level-security:
         CREATE POLICY owner_reads ON documents FOR SELECT TO delegation_api
           USING (owner = oauth.uid());
         CREATE POLICY only_the_user_deletes ON documents FOR DELETE TO delegation_api
           USING (owner = oauth.uid() AND oauth.actor() IS NULL);
         CREATE POLICY no_vendor_x ON documents AS RESTRICTIVE FOR ALL TO delegation_api
           USING (NOT oauth.act_chain() @> '[{{\"client_id\": \"{}\"}}]');
         GRANT SELECT, DELETE ON documents TO delegation_api;",
        d.id
    ))
    .unwrap();
    allow(&mut c, &b, MCP, API, &["api:read"], true, false);
    allow(&mut c, &d, API, MCP, &["api:read"], true, false);
    let own = user_token(&mut c, &a, "alice", "openid api:read");
    let (by_agent, _) = exchange_as(&mut c, &b, form(at(&own), API, json!({})));
    let (by_vendor, _) = exchange_as(&mut c, &d, form(at(&by_agent), MCP, json!({})));
    // What PostgREST does per request: the token's claims, then the API's role.
    let mut run = |token: &Value, sql: &str| -> Vec<i32> {
        let claims = access_token_claims(token);
        let mut tx = c.transaction().unwrap();
        tx.execute(
            "SELECT set_config('request.jwt.claims', $1, true)",
            &[&claims.to_string()],
        )
        .unwrap();
        tx.batch_execute("SET LOCAL ROLE delegation_api").unwrap();
        let ids = tx
            .query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.rollback().unwrap();
        ids
    };
    let read = "SELECT id FROM documents ORDER BY id";
    let delete = "DELETE FROM documents WHERE id = 1 RETURNING id";
    assert_eq!(run(&own, read), vec![1, 2]);
    assert_eq!(run(&own, delete), vec![1], "the user's own token deletes");
    assert_eq!(
        run(&by_agent, read),
        vec![1, 2],
        "an agent acting for alice reads"
    );
    assert_eq!(
        run(&by_agent, delete),
        Vec::<i32>::new(),
        "and never deletes"
    );
    assert_eq!(
        run(&by_vendor, read),
        Vec::<i32>::new(),
        "vendor D anywhere in the chain"
    );
}
