-- One client_credentials grant at the token endpoint (Basic authentication, signed JWT).
SELECT oauth.token('{"grant_type": "client_credentials"}', :basic::text);
