//! [`Authenticator`]: verifies bearer tokens and maps client certificates to
//! callers.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use http::HeaderMap;

use crate::bearer::{authorization_header, bearer_token};
use crate::caller::{Caller, CallerKind};
use crate::config::{IdentityConfig, IssuerConfig, Mode, ServiceIdentity};
use crate::dev::{self, DEV_AUDIENCE, DEV_ISSUER, DevKey};
use crate::error::{AuthError, IdentityError};
use crate::jwks::Jwks;
use crate::token::{self, Trust, TrustedIssuer};

/// Verifies callers. Build once at start-up with [`Authenticator::from_config`]
/// and share it (`Arc<Authenticator>`); it is `Send + Sync`, and
/// [`Authenticator::reload`] swaps key sets without blocking requests for
/// longer than a pointer copy.
#[derive(Debug)]
pub struct Authenticator {
    mode: Mode,
    leeway_secs: i64,
    dev_key_dir: PathBuf,
    issuers: Vec<IssuerConfig>,
    dev_key: Option<Arc<DevKey>>,
    services: HashMap<String, ServiceIdentity>,
    trust: RwLock<Arc<Trust>>,
}

impl Authenticator {
    /// Checks `config` ([`IdentityConfig::validate`]), loads every issuer's
    /// JWKS file and, in development mode, loads or creates the development
    /// key and trusts it (issuer `cpc-dev`, audience `cpc`).
    ///
    /// In production mode, also refuses any JWKS that contains the
    /// development key's public key, if one exists in `dev_key_dir` (it is
    /// never created in production).
    ///
    /// # Errors
    /// The first configuration or key problem found; the message says what to
    /// change.
    pub fn from_config(config: &IdentityConfig) -> Result<Self, IdentityError> {
        config.validate()?;
        let dev_key = match config.mode {
            Mode::Development => Some(Arc::new(DevKey::load_or_create(&config.dev_key_dir)?)),
            Mode::Production => None,
        };
        let services = config
            .service_identities
            .iter()
            .map(|s| (s.certificate_subject.clone(), s.clone()))
            .collect();
        let authenticator = Self {
            mode: config.mode,
            leeway_secs: i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX),
            dev_key_dir: config.dev_key_dir.clone(),
            issuers: config.issuers.clone(),
            dev_key,
            services,
            trust: RwLock::new(Arc::new(Trust::default())),
        };
        authenticator.reload()?;
        Ok(authenticator)
    }

    /// Re-reads every configured issuer's JWKS file and swaps in the new key
    /// sets all at once. On any error the previous keys stay in force.
    ///
    /// # Errors
    /// A JWKS file that cannot be read or is refused, or (in production) one
    /// that contains the development key.
    pub fn reload(&self) -> Result<(), IdentityError> {
        let mut trust = Trust::default();
        for issuer in &self.issuers {
            let jwks = Jwks::load(&issuer.jwks_file).map_err(|source| IdentityError::Jwks {
                issuer: issuer.issuer.clone(),
                jwks_file: issuer.jwks_file.clone(),
                source,
            })?;
            self.refuse_dev_key(issuer, &jwks)?;
            tracing::info!(
                issuer = %issuer.issuer,
                keys = ?jwks,
                "identity: loaded issuer keys"
            );
            trust
                .issuers
                .insert(issuer.issuer.clone(), trusted(issuer, jwks));
        }
        if let Some(dev_key) = &self.dev_key {
            tracing::warn!(
                issuer = DEV_ISSUER,
                dir = ?dev_key.dir(),
                "identity: DEVELOPMENT MODE: trusting the local development signing key"
            );
            trust.issuers.insert(
                DEV_ISSUER.to_owned(),
                TrustedIssuer {
                    audience: DEV_AUDIENCE.to_owned(),
                    first_party_clients: HashSet::new(),
                    jwks: Arc::new(dev_key.jwks()),
                },
            );
        }
        *self.trust.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(trust);
        Ok(())
    }

    /// Replaces one configured issuer's keys, e.g. with a set just fetched
    /// from its `jwks_uri`. Subject to the same production checks as files.
    ///
    /// # Errors
    /// [`IdentityError::UnknownIssuer`] if `issuer` is not configured, or
    /// (in production) the set contains the development key.
    pub fn set_issuer_keys(&self, issuer: &str, jwks: Jwks) -> Result<(), IdentityError> {
        let config = self
            .issuers
            .iter()
            .find(|i| i.issuer == issuer)
            .ok_or_else(|| IdentityError::UnknownIssuer(issuer.to_owned()))?;
        self.refuse_dev_key(config, &jwks)?;
        let mut guard = self.trust.write().unwrap_or_else(PoisonError::into_inner);
        let mut trust = Trust::clone(&guard);
        trust
            .issuers
            .insert(config.issuer.clone(), trusted(config, jwks));
        *guard = Arc::new(trust);
        Ok(())
    }

    fn refuse_dev_key(&self, issuer: &IssuerConfig, jwks: &Jwks) -> Result<(), IdentityError> {
        if self.mode != Mode::Production {
            return Ok(());
        }
        // Development keys are named `cpc-dev-…`; the key itself is compared
        // too, in case the set was copied and renamed.
        let dev_named = jwks.key_ids().any(|kid| kid.starts_with(dev::KID_PREFIX));
        let dev_public = dev::existing_public_key(&self.dev_key_dir)
            .is_some_and(|public| jwks.contains_ed25519(&public));
        if dev_named || dev_public {
            return Err(IdentityError::DevKeyTrustedInProduction {
                issuer: issuer.issuer.clone(),
                jwks_file: issuer.jwks_file.clone(),
                dev_key_dir: self.dev_key_dir.clone(),
            });
        }
        Ok(())
    }

    /// Production or development.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The development key, in development mode only (for minting tokens in
    /// end-to-end tests and `cpcctl`).
    #[must_use]
    pub fn dev_key(&self) -> Option<&DevKey> {
        self.dev_key.as_deref()
    }

    /// [`Authenticator::dev_key`], shared, for tasks that outlive a borrow.
    #[must_use]
    pub fn dev_key_shared(&self) -> Option<Arc<DevKey>> {
        self.dev_key.clone()
    }

    /// Verifies the value of an `authorization` header (`Bearer <JWT>`) at
    /// time `now`.
    ///
    /// # Errors
    /// Why the caller is not authenticated; see [`AuthError`]. The error is
    /// safe to return to the caller.
    pub fn authenticate_bearer(
        &self,
        authorization_header_value: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Caller, AuthError> {
        let token = bearer_token(authorization_header_value)?;
        let trust = Arc::clone(&self.trust.read().unwrap_or_else(PoisonError::into_inner));
        token::verify(token, &trust, self.leeway_secs, now)
    }

    /// [`Authenticator::authenticate_bearer`] on a request's headers. More
    /// than one `authorization` header, or one that is not visible ASCII, is
    /// [`AuthError::Malformed`].
    ///
    /// # Errors
    /// As [`Authenticator::authenticate_bearer`].
    pub fn authenticate_headers(
        &self,
        headers: &HeaderMap,
        now: DateTime<Utc>,
    ) -> Result<Caller, AuthError> {
        self.authenticate_bearer(authorization_header(headers)?, now)
    }

    /// The service caller for a verified mTLS client certificate's subject
    /// (CN or SAN URI), matched exactly against
    /// `identity.service_identities`, acting for `acting_for` (the call's
    /// `x-cpc-authority` header) or, without one, for its own authority.
    ///
    /// # Errors
    /// [`AuthError::UnknownService`] if the subject is not mapped;
    /// [`AuthError::NotActingFor`] if it may not act for `acting_for`.
    pub fn authenticate_service(
        &self,
        certificate_subject: &str,
        acting_for: Option<&str>,
    ) -> Result<Caller, AuthError> {
        let service = self
            .services
            .get(certificate_subject)
            .ok_or(AuthError::UnknownService)?;
        let authority = match acting_for {
            None => service.authority_id.as_str(),
            Some(authority) if service.may_act_for(authority) => authority,
            Some(_) => return Err(AuthError::NotActingFor),
        };
        Ok(Caller::new(
            service.subject.clone(),
            CallerKind::Service,
            authority,
            service.roles.iter().copied(),
        ))
    }
}

fn trusted(issuer: &IssuerConfig, jwks: Jwks) -> TrustedIssuer {
    TrustedIssuer {
        audience: issuer.audience.clone(),
        first_party_clients: issuer.first_party_clients.iter().cloned().collect(),
        jwks: Arc::new(jwks),
    }
}
