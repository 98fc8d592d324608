//! Reading the bearer token from a request (RFC 6750 §2.1).

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::error::AuthError;

/// The request's `authorization` header value, if it has exactly one.
///
/// With a tonic request, pass `request.metadata().clone().into_headers()`,
/// or read `request.metadata().get("authorization")` and call
/// [`Authenticator::authenticate_bearer`](crate::Authenticator::authenticate_bearer)
/// directly.
///
/// # Errors
/// [`AuthError::Malformed`] for more than one `authorization` header (which
/// one a proxy honoured is ambiguous) or a value that is not visible ASCII.
pub fn authorization_header(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::Malformed);
    }
    first.to_str().map(Some).map_err(|_| AuthError::Malformed)
}

/// The token in an `authorization` header value of the form
/// `Bearer <token>` (scheme case-insensitive). The token must be an RFC 6750
/// `b64token`; its JWT structure is checked later.
///
/// # Errors
/// [`AuthError::MissingToken`] for no value or no token,
/// [`AuthError::WrongScheme`] for any other scheme (e.g. `Basic`),
/// [`AuthError::Malformed`] for characters outside `b64token`.
pub fn bearer_token(authorization_header_value: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization_header_value
        .map(|v| v.trim_matches([' ', '\t']))
        .filter(|v| !v.is_empty())
        .ok_or(AuthError::MissingToken)?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::WrongScheme);
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    if !is_b64token(token) {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}

/// RFC 6750: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn parses_the_bearer_scheme() {
        assert_eq!(bearer_token(Some("Bearer abc.def.ghi")), Ok("abc.def.ghi"));
        assert_eq!(bearer_token(Some("bearer  abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("BEARER abc ")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(AuthError::MissingToken));
        assert_eq!(bearer_token(Some("")), Err(AuthError::MissingToken));
        assert_eq!(bearer_token(Some("Bearer")), Err(AuthError::MissingToken));
        assert_eq!(
            bearer_token(Some("Bearer   ")),
            Err(AuthError::MissingToken)
        );
        assert_eq!(
            bearer_token(Some("Basic dXNlcjpwYXNz")),
            Err(AuthError::WrongScheme)
        );
        assert_eq!(
            bearer_token(Some("abc.def.ghi")),
            Err(AuthError::WrongScheme)
        );
        assert_eq!(bearer_token(Some("Bearer a b")), Err(AuthError::Malformed));
        assert_eq!(bearer_token(Some("Bearer a\"b")), Err(AuthError::Malformed));
        assert_eq!(bearer_token(Some("Bearer ===")), Err(AuthError::Malformed));
    }

    #[test]
    fn reads_exactly_one_authorization_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(authorization_header(&headers), Ok(None));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(authorization_header(&headers), Ok(Some("Bearer x")));
        headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer y"));
        assert_eq!(authorization_header(&headers), Err(AuthError::Malformed));
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert_eq!(authorization_header(&headers), Err(AuthError::Malformed));
    }
}
