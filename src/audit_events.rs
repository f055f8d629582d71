//! Every event `oauth.audit_log` records, declared once: the store writes `as_str()`, and
//! `crates/repo-checks/tests/docs_match_code.rs` reads this list to check that
//! docs/operations.md's audit-log table names each one. A new event is a new line here.

macro_rules! audit_events {
    ($( $(#[doc = $doc:literal])+ $variant:ident = $name:literal, )+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum AuditEvent {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl AuditEvent {
            /// Every event, in declaration order.
            pub const ALL: &'static [AuditEvent] = &[$(AuditEvent::$variant),+];

            /// The name stored in `oauth.audit_log.event`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditEvent::$variant => $name,)+
                }
            }
        }
    };
}

audit_events! {
    /// A client registered by an administrator or by dynamic registration.
    ClientCreated = "client_created",
    /// A client's metadata changed.
    ClientUpdated = "client_updated",
    /// A client deleted with its requests, consents and token families.
    ClientDeleted = "client_deleted",
    /// A confidential client's secret replaced.
    ClientSecretRotated = "client_secret_rotated",
    /// A client ID metadata document fetched, checked and stored.
    ClientMetadataDocumentStored = "client_metadata_document_stored",
    /// A failed client authentication at any endpoint.
    ClientAuthenticationFailed = "client_authentication_failed",
    /// A user approved a request (or an earlier consent did: `automatic`).
    ConsentGranted = "consent_granted",
    /// A user denied a request, or it was ended without approval.
    ConsentDenied = "consent_denied",
    /// A user withdrew their consent to a client.
    ConsentRevoked = "consent_revoked",
    /// An authorization code presented twice: its token family revoked.
    CodeReplayed = "code_replayed",
    /// A device code redeemed twice: its token family revoked.
    DeviceCodeReplayed = "device_code_replayed",
    /// A DPoP proof presented a second time (its key and jti), refused.
    DpopProofReplayed = "dpop_proof_replayed",
    /// A used refresh token presented again: its token family revoked.
    RefreshTokenReused = "refresh_token_reused",
    /// A rotated refresh token presented again within `oauth_server.refresh_retry_grace`.
    RefreshTokenRetried = "refresh_token_retried",
    /// RFC 7009 revocation of a token family.
    TokenRevoked = "token_revoked",
    /// The signing keys rotated.
    SigningKeyRotated = "signing_key_rotated",
    /// The private signing keys re-encrypted with a new key-encryption key.
    SigningKeysRekeyed = "signing_keys_rekeyed",
    /// An administrator key of the HTTP admin API created.
    AdminKeyCreated = "admin_key_created",
    /// An administrator key revoked.
    AdminKeyRevoked = "admin_key_revoked",
    /// A trusted session issuer added.
    IssuerAdded = "issuer_added",
    /// A trusted issuer's options changed.
    IssuerUpdated = "issuer_updated",
    /// A trusted issuer removed.
    IssuerRemoved = "issuer_removed",
    /// A trusted issuer's user revoked (`oauth.revoke_user`).
    UserRevoked = "user_revoked",
    /// A resource (RFC 8707) registered.
    ResourceAdded = "resource_added",
    /// A resource removed.
    ResourceRemoved = "resource_removed",
    /// A scope removed from the registry by `oauth.remove_scope`.
    ScopeRemoved = "scope_removed",
    /// An upstream sign-in provider added.
    SignInProviderAdded = "sign_in_provider_added",
    /// A sign-in provider's options changed.
    SignInProviderUpdated = "sign_in_provider_updated",
    /// A sign-in provider removed.
    SignInProviderRemoved = "sign_in_provider_removed",
    /// A user signed in through an upstream provider.
    SignedIn = "signed_in",
    /// An upstream sign-in refused, with the reason.
    SignInRefused = "sign_in_refused",
    /// A session of ours ended by sign-out or logout.
    SignedOut = "signed_out",
    /// An administrator ended a user's sessions.
    SessionsRevoked = "sessions_revoked",
    /// A user removed one of their upstream identities.
    IdentityUnlinked = "identity_unlinked",
    /// A user disabled (written by the trigger on `oauth.users`).
    UserDisabled = "user_disabled",
    /// A user enabled again (written by the trigger on `oauth.users`).
    UserEnabled = "user_enabled",
    /// A user deleted (written by the trigger on `oauth.users`).
    UserDeleted = "user_deleted",
    /// A ban through the HTTP admin API.
    AdminUserBanned = "admin_user_banned",
    /// A ban lifted through the HTTP admin API.
    AdminUserUnbanned = "admin_user_unbanned",
    /// A user deleted through the HTTP admin API.
    AdminUserDeleted = "admin_user_deleted",
    /// A token exchanged (RFC 8693): a client got a token for a user, acting for them or
    /// narrowing one it held.
    TokenExchanged = "token_exchanged",
    /// An exchange rule written by `oauth.allow_token_exchange`.
    TokenExchangeAllowed = "token_exchange_allowed",
    /// An exchange rule removed by `oauth.disallow_token_exchange`.
    TokenExchangeDisallowed = "token_exchange_disallowed",
}
