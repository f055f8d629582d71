SELECT to_jsonb(u) || jsonb_build_object('updated_at_epoch',
           floor(extract(epoch FROM u.updated_at))::bigint) AS value
FROM auth.users u WHERE u.id = $1::uuid
