//! The extension's errors, for every layer (`api`, `services`, `store`). Two channels:
//! - protocol errors ([`OAuthError`]) are data: `response::respond` answers them as RFC 6749
//!   JSON with `response.status`, and the transaction still commits what it must (a replay
//!   revocation);
//! - misuse ([`MisuseError`]: an administrator's bad value, a missing setting, a privilege or
//!   internal failure) is raised by [`raise`] with a precise SQLSTATE, message, detail and hint.
//!
//! The error types themselves are oauth-core's (`crates/oauth-core/src/error.rs`), re-exported
//! here so that every layer names one module.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

pub use oauth_core::error::*;

/// Why a call did not succeed: a protocol error to answer, or misuse to raise.
#[derive(Debug)]
pub enum Failure {
    /// Answered as `{"error", "error_description"}` with the error's HTTP status.
    OAuth(OAuthError),
    /// Answered like [`Failure::OAuth`], plus what the front is to do next (upstream sign-in,
    /// docs/sign-in-contract.md).
    OAuthThen(OAuthError, Then),
    /// Raised with its SQLSTATE.
    Misuse(MisuseError),
}

/// What a refused upstream sign-in tells the front to do next, in a field of the answer.
#[derive(Debug)]
pub enum Then {
    /// `{"refresh_metadata": provider}` or `{"refresh_keys": provider}`: fetch the provider's
    /// discovery document and keys, then ask again. Answered with the error's status (503
    /// `temporarily_unavailable`).
    Refresh {
        field: &'static str,
        provider: String,
    },
    /// `{"redirect_to": url}`: the browser goes back there (the consent page, after the
    /// provider answered the callback with an error). Answered 400 whatever the error: the
    /// callback cannot go on.
    GoBack(String),
}

impl Failure {
    /// The HTTP status of the answer.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Failure::OAuth(e) | Failure::OAuthThen(e, Then::Refresh { .. }) => {
                Some(e.http_status())
            }
            Failure::OAuthThen(_, Then::GoBack(_)) => Some(400),
            Failure::Misuse(_) => None,
        }
    }
}

impl From<OAuthError> for Failure {
    fn from(e: OAuthError) -> Self {
        Failure::OAuth(e)
    }
}
impl From<MisuseError> for Failure {
    fn from(e: MisuseError) -> Self {
        Failure::Misuse(e)
    }
}

pub type ApiResult<T> = Result<T, Failure>;

/// Raises a misuse error with its SQLSTATE, detail and hint.
pub fn raise(e: MisuseError) -> ! {
    use PgSqlErrorCode::*;
    let code = match e.kind {
        Misuse::InvalidParameter => ERRCODE_INVALID_PARAMETER_VALUE,
        Misuse::NotFound => ERRCODE_NO_DATA_FOUND,
        Misuse::InvalidToken => ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
        Misuse::Privilege => ERRCODE_INSUFFICIENT_PRIVILEGE,
        Misuse::Misconfigured => ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        Misuse::Internal => ERRCODE_INTERNAL_ERROR,
    };
    let mut report = ErrorReport::new(code, e.message, function_name!());
    if let Some(d) = e.detail {
        report = report.set_detail(d);
    }
    if let Some(h) = e.hint {
        report = report.set_hint(h);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// Unwraps or raises: for administration functions, where every failure is misuse.
pub fn or_raise<T>(r: Result<T, impl Into<Failure>>) -> T {
    match r.map_err(Into::into) {
        Ok(v) => v,
        Err(Failure::Misuse(e)) => raise(e),
        Err(Failure::OAuth(e) | Failure::OAuthThen(e, _)) => {
            raise(bad_param(e.description().to_string()))
        }
    }
}
