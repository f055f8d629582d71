-- RLS: the helpers over request.jwt.claims, and policies that give each third-party
-- application its own rows (README "RLS", docs/reference.md). The claims are set by hand here;
-- PostgREST or the front set them from a verified token.
\pset format unaligned
\pset tuples_only on
\set ON_ERROR_ROLLBACK on
begin;
-- No claims: NULL, empty, false; never an error.
select oauth.uid() is null, oauth.client_id() is null, oauth.scopes(), oauth.has_scope('notes:read');

-- An access token's claims (client_id present: a third-party application is acting).
set local request.jwt.claims = '{"sub": "user-1", "role": "authenticated", "client_id": "app-a", "scope": "openid notes:read"}';
select oauth.uid(), oauth.client_id(), oauth.scopes(), oauth.has_scope('notes:read'), oauth.has_scope('notes:write');

-- An ID token's claims read as no claims (PostgREST given our JWKS would accept one).
set local request.jwt.claims = '{"sub": "user-1", "aud": "app-a", "azp": "app-a", "token_use": "id"}';
select oauth.uid() is null, oauth.jwt() is null;

-- A table with one row per (owner, application), and the README's policies.
create table notes (id int, owner text, client_id text, body text);
insert into notes values (1, 'user-1', 'app-a', 'written through app A'),
                         (2, 'user-1', 'app-b', 'written through app B'),
                         (3, 'user-2', 'app-a', 'another user''s note'),
                         (4, 'user-1', null, 'written in the first-party app');
alter table notes enable row level security;
create policy notes_by_app on notes for select
  using (client_id = (select oauth.client_id())
         and owner = (select oauth.uid())
         and (select oauth.has_scope('notes:read')));
create policy notes_first_party on notes for all
  using ((select oauth.client_id()) is null and owner = (select oauth.uid()));
create role golden_reader;
grant select on notes to golden_reader;
set local role golden_reader;

-- App A acting for user-1 with notes:read sees user-1's rows written through app A only.
set local request.jwt.claims = '{"sub": "user-1", "role": "authenticated", "client_id": "app-a", "scope": "notes:read"}';
select id, body from notes order by id;
-- Without the scope: nothing.
set local request.jwt.claims = '{"sub": "user-1", "role": "authenticated", "client_id": "app-a", "scope": "openid"}';
select count(*) from notes;
-- The user's own session (no client_id: no application acting): all of user-1's rows.
set local request.jwt.claims = '{"sub": "user-1", "role": "authenticated"}';
select id, body from notes order by id;
rollback;
