//! The development signing key: an Ed25519 key created on first use in the
//! development key directory (default `.local/dev-identity`), so a developer
//! (or an end-to-end test) can mint tokens without an identity provider.
//!
//! Files: `signing-key.pem` (PKCS#8, mode 0600) and `jwks.json` (the public
//! key set, mode 0600) in a directory of mode 0700. Tokens carry issuer
//! [`DEV_ISSUER`] and audience [`DEV_AUDIENCE`]. Only development mode trusts
//! them; production mode refuses to start if this key appears in its
//! configuration.

use std::fmt;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer, SigningKey};

use crate::error::DevKeyError;
use crate::jwks::Jwks;
use crate::role::{Agency, Role};

/// The issuer of development tokens.
pub const DEV_ISSUER: &str = "cpc-dev";
/// The audience of development tokens.
pub const DEV_AUDIENCE: &str = "cpc";
/// The private key file in the development key directory.
pub const KEY_FILE: &str = "signing-key.pem";
/// The public JWKS file in the development key directory.
pub const JWKS_FILE: &str = "jwks.json";
/// The start of every development key id.
pub const KID_PREFIX: &str = "cpc-dev-";

/// The development signing key. `Debug` shows the key id and directory only.
pub struct DevKey {
    signing: SigningKey,
    kid: String,
    dir: PathBuf,
}

impl fmt::Debug for DevKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevKey")
            .field("kid", &self.kid)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// What a development token says. `ttl` is how long it is valid from minting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevClaims {
    /// `sub`: the person id.
    pub subject: String,
    /// `cpc_authority`.
    pub authority_id: String,
    /// `cpc_roles`.
    pub roles: Vec<Role>,
    /// `cpc_agency`.
    pub agency: Option<Agency>,
    /// Lifetime of the token.
    pub ttl: Duration,
    /// `azp`: set to simulate a portal relaying the user's token.
    pub on_behalf_of: Option<String>,
    /// `cnf` `x5t#S256`: set to bind the token to a client certificate
    /// ([`certificate_thumbprint`](crate::certificate_thumbprint)), as an
    /// identity provider does for a portal calling with mutual TLS.
    pub certificate_thumbprint: Option<String>,
}

impl DevClaims {
    /// Claims for `subject` at `authority_id` with `roles`, no agency, valid
    /// for one hour.
    #[must_use]
    pub fn new(
        subject: impl Into<String>,
        authority_id: impl Into<String>,
        roles: impl IntoIterator<Item = Role>,
    ) -> Self {
        Self {
            subject: subject.into(),
            authority_id: authority_id.into(),
            roles: roles.into_iter().collect(),
            agency: None,
            ttl: Duration::from_secs(3600),
            on_behalf_of: None,
            certificate_thumbprint: None,
        }
    }
}

impl DevKey {
    /// Loads the key from `dir`, creating the directory (mode 0700) and a new
    /// key (mode 0600) on first use. Concurrent first uses agree on one key.
    /// (Re)writes `jwks.json` beside it.
    ///
    /// # Errors
    /// File system failures, a key file or directory readable by group or
    /// others, or a key file that is not a PKCS#8 Ed25519 key.
    pub fn load_or_create(dir: impl AsRef<Path>) -> Result<Self, DevKeyError> {
        let dir = dir.as_ref();
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_at(dir))?;
        // A directory others can write to would let them swap the key; one they
        // can merely list is tolerated (the key file itself is 0600).
        check_mode(dir, 0o022, 0o700)?;
        let key_path = dir.join(KEY_FILE);
        let signing = match read_key(&key_path)? {
            Some(key) => key,
            None => create_key(dir, &key_path)?,
        };
        let key = Self::from_signing_key(signing, dir.to_path_buf());
        write_private_file(dir, &dir.join(JWKS_FILE), key.jwks_json().as_bytes())?;
        Ok(key)
    }

    fn from_signing_key(signing: SigningKey, dir: PathBuf) -> Self {
        let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
        let kid = format!("{KID_PREFIX}{}", &x[..16]);
        Self { signing, kid, dir }
    }

    /// The key id in minted tokens and in the JWKS.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The directory the key lives in.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The raw Ed25519 public key.
    #[must_use]
    pub fn public_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The public key as a verification key set.
    #[must_use]
    pub fn jwks(&self) -> Jwks {
        Jwks::from_ed25519(self.kid.clone(), self.public_key())
    }

    /// The public key as RFC 7517 JWKS JSON (what `jwks.json` holds).
    #[must_use]
    pub fn jwks_json(&self) -> String {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(self.public_key()),
                "kid": self.kid,
                "alg": "EdDSA",
                "use": "sig",
            }]
        })
        .to_string()
    }

    /// Mints a token valid from now for `claims.ttl`.
    #[must_use]
    pub fn mint(&self, claims: &DevClaims) -> String {
        self.mint_at(claims, DateTime::<Utc>::from(std::time::SystemTime::now()))
    }

    /// Mints a token as if the time were `now` (`iat`, `nbf` and
    /// `auth_time` are `now`: each token is a sign-in of its own; `exp` is
    /// `now + ttl`).
    #[must_use]
    pub fn mint_at(&self, claims: &DevClaims, now: DateTime<Utc>) -> String {
        let iat = now.timestamp();
        let ttl = i64::try_from(claims.ttl.as_secs()).unwrap_or(i64::MAX);
        let mut payload = serde_json::json!({
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "sub": claims.subject,
            "iat": iat,
            "nbf": iat,
            "auth_time": iat,
            "exp": iat.saturating_add(ttl),
            "jti": uuid::Uuid::new_v4().to_string(),
            "cpc_authority": claims.authority_id,
            "cpc_roles": claims.roles,
        });
        if let Some(agency) = &claims.agency {
            payload["cpc_agency"] = serde_json::json!({ "kind": agency.kind, "name": agency.name });
        }
        if let Some(azp) = &claims.on_behalf_of {
            payload["azp"] = serde_json::Value::String(azp.clone());
        }
        if let Some(thumbprint) = &claims.certificate_thumbprint {
            payload["cnf"] = serde_json::json!({ "x5t#S256": thumbprint });
        }
        let header = serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let signature = self.signing.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

/// The development public key in `dir`, if a key file is there. Used by
/// production mode to refuse any key set that contains it; never creates
/// anything.
pub(crate) fn existing_public_key(dir: &Path) -> Option<[u8; 32]> {
    let pem = fs::read_to_string(dir.join(KEY_FILE)).ok()?;
    let key = SigningKey::from_pkcs8_pem(&pem).ok()?;
    Some(key.verifying_key().to_bytes())
}

fn read_key(path: &Path) -> Result<Option<SigningKey>, DevKeyError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_at(path)(e)),
        Ok(_) => {}
    }
    check_mode(path, 0o077, 0o600)?;
    let pem = zeroize::Zeroizing::new(fs::read_to_string(path).map_err(io_at(path))?);
    SigningKey::from_pkcs8_pem(&pem)
        .map(Some)
        .map_err(|_| DevKeyError::InvalidKey {
            path: path.to_path_buf(),
        })
}

/// Creates a new key at `key_path` without ever replacing one: written to a
/// private temporary file, then hard-linked into place (which fails if
/// another process got there first, in which case its key is used).
fn create_key(dir: &Path, key_path: &Path) -> Result<SigningKey, DevKeyError> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|e| DevKeyError::Random(e.to_string()))?;
    let signing = SigningKey::from_bytes(&seed);
    let pem = signing
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|_| DevKeyError::InvalidKey {
            path: key_path.to_path_buf(),
        })?;
    let tmp = temp_path(dir, KEY_FILE);
    write_new_private(&tmp, pem.as_bytes())?;
    let linked = fs::hard_link(&tmp, key_path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(signing),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            read_key(key_path)?.ok_or_else(|| DevKeyError::InvalidKey {
                path: key_path.to_path_buf(),
            })
        }
        Err(e) => Err(io_at(key_path)(e)),
    }
}

/// Writes `contents` to `path` (mode 0600) through a temporary file and a
/// rename, so readers never see a partial file.
fn write_private_file(dir: &Path, path: &Path, contents: &[u8]) -> Result<(), DevKeyError> {
    let tmp = temp_path(dir, JWKS_FILE);
    write_new_private(&tmp, contents)?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_at(path)(e)
    })
}

fn write_new_private(path: &Path, contents: &[u8]) -> Result<(), DevKeyError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_at(path))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| {
            let _ = fs::remove_file(path);
            io_at(path)(e)
        })
}

fn temp_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}

/// Refuses a file or directory with any of the `forbidden` mode bits (as ssh
/// does for private keys).
fn check_mode(path: &Path, forbidden: u32, wanted: u32) -> Result<(), DevKeyError> {
    let mode = fs::metadata(path)
        .map_err(io_at(path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & forbidden != 0 {
        return Err(DevKeyError::Permissions {
            path: path.to_path_buf(),
            mode,
            wanted,
        });
    }
    Ok(())
}

fn io_at(path: &Path) -> impl Fn(std::io::Error) -> DevKeyError + '_ {
    move |source| DevKeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_once_then_reuses_with_private_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested/dev-identity");
        let first = DevKey::load_or_create(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(KEY_FILE)), 0o600);
        assert_eq!(mode(&dir.join(JWKS_FILE)), 0o600);
        let second = DevKey::load_or_create(&dir).unwrap();
        assert_eq!(first.public_key(), second.public_key());
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.jwks_json(), second.jwks_json());
        assert_eq!(
            fs::read_to_string(dir.join(JWKS_FILE)).unwrap(),
            first.jwks_json()
        );
        assert_eq!(existing_public_key(&dir), Some(first.public_key()));
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn published_jwks_parses_and_contains_the_key() {
        let tmp = tempfile::tempdir().unwrap();
        let key = DevKey::load_or_create(tmp.path()).unwrap();
        let jwks = Jwks::from_json(key.jwks_json().as_bytes()).unwrap();
        assert_eq!(jwks.key_ids().collect::<Vec<_>>(), vec![key.kid()]);
        assert!(jwks.contains_ed25519(&key.public_key()));
        assert!(format!("{key:?}").contains(key.kid()));
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }

    #[test]
    fn refuses_a_key_file_readable_by_others() {
        let tmp = tempfile::tempdir().unwrap();
        DevKey::load_or_create(tmp.path()).unwrap();
        let key_path = tmp.path().join(KEY_FILE);
        fs::set_permissions(&key_path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = DevKey::load_or_create(tmp.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DevKeyError::Permissions {
                    mode: 0o644,
                    wanted: 0o600,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn refuses_a_directory_others_can_write() {
        let tmp = tempfile::tempdir().unwrap();
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let err = DevKey::load_or_create(tmp.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DevKeyError::Permissions {
                    mode: 0o777,
                    wanted: 0o700,
                    ..
                }
            ),
            "{err}"
        );
        assert!(!tmp.path().join(KEY_FILE).exists());
    }

    #[test]
    fn refuses_a_corrupt_key_file() {
        let tmp = tempfile::tempdir().unwrap();
        let key_path = tmp.path().join(KEY_FILE);
        write_new_private(&key_path, b"not a key").unwrap();
        let err = DevKey::load_or_create(tmp.path()).unwrap_err();
        assert!(matches!(err, DevKeyError::InvalidKey { .. }), "{err}");
    }
}
