//! [`Authenticator`]: verifies bearer tokens and maps client certificates to
//! callers.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::try_join_all;
use http::HeaderMap;
use reqwest::Url;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::bearer::{authorization_header, bearer_token};
use crate::caller::{Caller, CallerKind};
use crate::config::{
    IdentityConfig, IssuerConfig, KeySource, MAX_SESSION_AGE, MAX_TOKEN_LIFETIME, MIN_SESSION_AGE,
    MIN_TOKEN_LIFETIME, Mode, ServiceIdentity,
};
use crate::dev::{self, DEV_AUDIENCE, DEV_ISSUER, DevKey};
use crate::error::{AuthError, IdentityError, JwksError, JwksSource, Refusal};
use crate::fetch;
use crate::jwks::Jwks;
use crate::revocations::{REVOCATIONS_REFRESH, Revocations};
use crate::token::{self, Trust, TrustedIssuer};

/// The least time between two early fetches of one issuer's JWKS. Anyone
/// can present a token naming a made-up key id, so without a limit every
/// such token would be a request to the identity provider.
pub const EARLY_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// Verifies callers. Build once at start-up with [`Authenticator::load`]
/// (or, when no issuer has a `jwks_url`, [`Authenticator::from_config`])
/// and share it (`Arc<Authenticator>`); it is `Send + Sync`. Key sets are
/// swapped whole ([`Authenticator::reload`], the task started by
/// [`Authenticator::spawn_key_refresh`]) without blocking requests for
/// longer than a pointer copy.
#[derive(Debug)]
pub struct Authenticator {
    mode: Mode,
    leeway_secs: i64,
    dev_key_dir: PathBuf,
    issuers: Vec<Issuer>,
    dev_key: Option<Arc<DevKey>>,
    services: HashMap<String, ServiceIdentity>,
    trust: RwLock<Arc<Trust>>,
    /// The deployment's revocation file first, then each authority's.
    revocations: Vec<RevocationList>,
}

/// One revocation file and the list last read from it.
#[derive(Debug)]
struct RevocationList {
    file: PathBuf,
    /// `Some`: the list of this authority's security team, which revokes
    /// only tokens whose `cpc_authority` is this authority, so one
    /// authority in a regional deployment cannot end another's sessions.
    authority: Option<String>,
    current: RwLock<Arc<Revocations>>,
}

impl RevocationList {
    fn new(file: &Path, authority: Option<&str>) -> Self {
        Self {
            file: file.to_owned(),
            authority: authority.map(str::to_owned),
            current: RwLock::new(Arc::new(Revocations::default())),
        }
    }

    fn current(&self) -> Arc<Revocations> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether this list applies to callers of `authority_id`.
    fn covers(&self, authority_id: &str) -> bool {
        self.authority.as_deref().is_none_or(|a| a == authority_id)
    }

    /// Reads the file again and swaps in its list; on any error the
    /// previous list stays in force.
    fn reload(&self) -> Result<(), IdentityError> {
        let revocations =
            Revocations::load(&self.file).map_err(|source| IdentityError::Revocations {
                file: self.file.clone(),
                source,
            })?;
        let current = Arc::new(revocations);
        let previous = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(PoisonError::into_inner),
            Arc::clone(&current),
        );
        // Read every half minute; only a change is worth an operator's
        // attention. Counts only: the list names staff, not for the logs.
        if *previous == *current {
            tracing::debug!(file = ?self.file, "identity: revocations unchanged");
        } else {
            tracing::info!(
                file = ?self.file,
                authority = self.authority.as_deref().unwrap_or("all"),
                revoked = current.len(),
                "identity: revocations loaded"
            );
        }
        Ok(())
    }
}

/// A configured issuer, where its keys come from, and how they are kept
/// fresh while serving.
#[derive(Debug)]
struct Issuer {
    config: IssuerConfig,
    source: Source,
    refresh: Refresh,
}

#[derive(Debug)]
enum Source {
    File(PathBuf),
    Url(Remote),
}

/// A `jwks_url` issuer's fetching state.
#[derive(Debug)]
struct Remote {
    url: Url,
    client: reqwest::Client,
}

/// When an issuer's keys are read or fetched again while serving.
#[derive(Debug)]
struct Refresh {
    every: Duration,
    /// Wakes the refresh task before its next tick.
    early: Notify,
    /// When an early refresh was last asked for, on the clock of the `now`
    /// given to [`Authenticator::authenticate_bearer`].
    last_early: Mutex<Option<DateTime<Utc>>>,
}

impl Issuer {
    fn new(config: &IssuerConfig) -> Result<Self, IdentityError> {
        let (source, every) = match config.key_source() {
            Ok(KeySource::File { path, refresh }) => (Source::File(path.to_owned()), refresh),
            Ok(KeySource::Url {
                url,
                refresh,
                ca_file,
            }) => (
                Source::Url(Remote {
                    client: fetch::client(&config.issuer, &url, ca_file)?,
                    url,
                }),
                refresh,
            ),
            // Unreachable after IdentityConfig::validate, which reports the
            // same reason.
            Err(reason) => {
                return Err(IdentityError::InvalidIssuer {
                    issuer: config.issuer.clone(),
                    reason,
                });
            }
        };
        Ok(Self {
            config: config.clone(),
            source,
            refresh: Refresh {
                every,
                early: Notify::new(),
                last_early: Mutex::new(None),
            },
        })
    }

    fn name(&self) -> &str {
        &self.config.issuer
    }

    fn jwks_source(&self) -> JwksSource {
        match &self.source {
            Source::File(path) => JwksSource::File(path.clone()),
            Source::Url(remote) => JwksSource::Url(remote.url.to_string()),
        }
    }

    fn jwks_error(&self, source: JwksError) -> IdentityError {
        IdentityError::Jwks {
            issuer: self.config.issuer.clone(),
            from: self.jwks_source(),
            source,
        }
    }
}

/// The refresh tasks started by [`Authenticator::spawn_key_refresh`].
/// Dropping it stops them.
#[derive(Debug)]
#[must_use = "dropping KeyRefresh stops the key refresh"]
pub struct KeyRefresh {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for KeyRefresh {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Authenticator {
    /// Checks `config` ([`IdentityConfig::validate`]), reads every issuer's
    /// `jwks_file`, fetches every issuer's `jwks_url` and, in development
    /// mode, loads or creates the development key and trusts it (issuer
    /// `cpc-dev`, audience `cpc`). Serving starts only once every issuer
    /// has keys; [`Authenticator::spawn_key_refresh`] keeps them fresh from
    /// then on.
    ///
    /// In production mode, also refuses any JWKS that contains the
    /// development key's public key, if one exists in `dev_key_dir` (it is
    /// never created in production).
    ///
    /// # Errors
    /// The first configuration or key problem found; the message names the
    /// issuer and the file or URL, and says what to change. A URL that
    /// cannot be fetched (within 10 seconds) is
    /// [`IdentityError::Jwks`] with [`JwksError::Fetch`] or
    /// [`JwksError::Status`].
    pub async fn load(config: &IdentityConfig) -> Result<Self, IdentityError> {
        config.validate()?;
        let authenticator = Self::new(config)?;
        authenticator.reload().await?;
        authenticator.reload_revocations()?;
        Ok(authenticator)
    }

    /// [`Authenticator::load`] for configurations whose issuers all have a
    /// `jwks_file`, without an async runtime (tools and tests).
    ///
    /// # Errors
    /// As [`Authenticator::load`], and [`IdentityError::JwksUrlNeedsLoad`]
    /// if an issuer has a `jwks_url`.
    pub fn from_config(config: &IdentityConfig) -> Result<Self, IdentityError> {
        config.validate()?;
        if let Some(issuer) = config.issuers.iter().find(|i| i.jwks_url.is_some()) {
            return Err(IdentityError::JwksUrlNeedsLoad {
                issuer: issuer.issuer.clone(),
            });
        }
        let authenticator = Self::new(config)?;
        let mut keys = Vec::with_capacity(authenticator.issuers.len());
        for issuer in &authenticator.issuers {
            if let Source::File(path) = &issuer.source {
                keys.push((issuer, authenticator.read(issuer, path)?));
            }
        }
        authenticator.trust_all(keys);
        authenticator.reload_revocations()?;
        Ok(authenticator)
    }

    /// Everything but the issuers' keys, from a validated `config`.
    fn new(config: &IdentityConfig) -> Result<Self, IdentityError> {
        if config.mode == Mode::Production {
            for issuer in config
                .issuers
                .iter()
                .filter(|issuer| !issuer.requires_authentication_strength())
            {
                tracing::warn!(
                    issuer = %issuer.issuer,
                    "identity: this issuer's tokens are accepted however the person signed in; set acr_values or amr_values to require multi-factor sign-in"
                );
            }
            for issuer in config
                .issuers
                .iter()
                .filter(|issuer| !issuer.require_auth_time)
            {
                tracing::warn!(
                    issuer = %issuer.issuer,
                    "identity: this issuer's tokens need not say when the person signed in, so a session kept alive by refresh tokens is not held to max_session_age; set require_auth_time"
                );
            }
            if config.issuers.len() > 1 {
                for issuer in config
                    .issuers
                    .iter()
                    .filter(|issuer| issuer.authorities.is_empty())
                {
                    tracing::warn!(
                        issuer = %issuer.issuer,
                        "identity: with several issuers, this one may vouch for any authority's staff; set authorities to the councils it serves"
                    );
                }
            }
            if config.revocations_file.is_none() && config.authority_revocations.is_empty() {
                tracing::warn!(
                    "identity: no revocations_file, so a person's sessions cannot be ended before their tokens expire"
                );
            }
        }
        let issuers = config
            .issuers
            .iter()
            .map(Issuer::new)
            .collect::<Result<_, _>>()?;
        let dev_key = match config.mode {
            Mode::Development => Some(Arc::new(DevKey::load_or_create(&config.dev_key_dir)?)),
            Mode::Production => None,
        };
        let services = config
            .service_identities
            .iter()
            .map(|s| (s.certificate_subject.clone(), s.clone()))
            .collect();
        Ok(Self {
            mode: config.mode,
            leeway_secs: i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX),
            dev_key_dir: config.dev_key_dir.clone(),
            issuers,
            dev_key,
            services,
            trust: RwLock::new(Arc::new(Trust::default())),
            revocations: config
                .revocations_file
                .iter()
                .map(|file| RevocationList::new(file, None))
                .chain(
                    config
                        .authority_revocations
                        .iter()
                        .map(|(authority, file)| RevocationList::new(file, Some(authority))),
                )
                .collect(),
        })
    }

    /// Re-reads every issuer's `jwks_file` and fetches every `jwks_url`,
    /// then swaps in the new key sets all at once. On any error the previous
    /// keys stay in force.
    ///
    /// # Errors
    /// A JWKS that cannot be read or fetched or is refused, or (in
    /// production) one that contains the development key.
    pub async fn reload(&self) -> Result<(), IdentityError> {
        // Issuers are fetched together, so start-up waits for the slowest
        // provider (at most the fetch timeout), not for the sum of them.
        let keys = try_join_all(self.issuers.iter().map(|issuer| async move {
            Ok::<_, IdentityError>((issuer, self.keys_of(issuer).await?))
        }))
        .await?;
        self.trust_all(keys);
        Ok(())
    }

    /// Reads `identity.revocations_file` and every file of
    /// `identity.authority_revocations` again, and swaps in each list read.
    /// A file that cannot be read or is refused keeps its previous list in
    /// force (a broken edit must never let a revoked person back in) and
    /// holds up no other file. Without files, nothing to do.
    ///
    /// # Errors
    /// [`IdentityError::Revocations`] for the first file that cannot be
    /// read or is refused, after every file has been tried.
    pub fn reload_revocations(&self) -> Result<(), IdentityError> {
        self.revocations
            .iter()
            .map(RevocationList::reload)
            .fold(Ok(()), Result::and)
    }

    /// Whether `caller`, identified earlier, may still act at `now`: for a
    /// call that outlives its identification (a change-feed stream), which
    /// must end when its token expires or its session is ended rather than
    /// run on for as long as the connection lasts.
    ///
    /// # Errors
    /// `Expired` once the token's `exp` has passed (no clock skew: the
    /// stream was opened while it was valid); `Revoked` once a revocation
    /// list covering the caller's authority ends the session.
    pub fn still_valid(&self, caller: &Caller, now: DateTime<Utc>) -> Result<(), AuthError> {
        if caller.expires_at().is_some_and(|expiry| expiry <= now) {
            return Err(AuthError::Expired);
        }
        if self.revoked(caller) {
            return Err(AuthError::Revoked);
        }
        Ok(())
    }

    /// Whether `caller`'s session was ended by a list that covers their
    /// authority.
    fn revoked(&self, caller: &Caller) -> bool {
        let issuer = caller.issuer().unwrap_or_default();
        let began = caller.session_began().map(|at| at.timestamp());
        self.revocations
            .iter()
            .filter(|list| list.covers(caller.authority_id()))
            .any(|list| list.current().revokes(issuer, caller.subject(), began))
    }

    /// Reads or fetches one issuer's keys, and checks them.
    async fn keys_of(&self, issuer: &Issuer) -> Result<Jwks, IdentityError> {
        match &issuer.source {
            Source::File(path) => self.read(issuer, path),
            Source::Url(remote) => {
                let jwks = fetch::fetch(&remote.client, &remote.url)
                    .await
                    .map_err(|source| issuer.jwks_error(source))?;
                self.refuse_dev_key(issuer, &jwks)?;
                Ok(jwks)
            }
        }
    }

    /// Reads and checks one issuer's JWKS file.
    fn read(&self, issuer: &Issuer, path: &Path) -> Result<Jwks, IdentityError> {
        let jwks = Jwks::load(path).map_err(|source| issuer.jwks_error(source))?;
        self.refuse_dev_key(issuer, &jwks)?;
        Ok(jwks)
    }

    /// Trusts exactly these issuers' keys (and the development key).
    fn trust_all(&self, keys: Vec<(&Issuer, Jwks)>) {
        let mut trust = Trust::default();
        for (issuer, jwks) in keys {
            tracing::info!(
                issuer = %issuer.name(),
                from = %issuer.jwks_source(),
                keys = ?jwks,
                "identity: loaded issuer keys"
            );
            trust.issuers.insert(
                issuer.name().to_owned(),
                trusted(&issuer.config, Arc::new(jwks)),
            );
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
                    acr_values: HashSet::new(),
                    amr_values: HashSet::new(),
                    authorities: HashSet::new(),
                    require_access_token_type: false,
                    max_lifetime_secs: lifetime_secs(MAX_TOKEN_LIFETIME),
                    max_session_age_secs: lifetime_secs(MAX_SESSION_AGE),
                    require_auth_time: false,
                    require_certificate_binding: false,
                    jwks: Arc::new(dev_key.jwks()),
                },
            );
        }
        *self.trust.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(trust);
    }

    /// Replaces one configured issuer's keys. Subject to the same
    /// production checks as keys read or fetched.
    ///
    /// # Errors
    /// [`IdentityError::UnknownIssuer`] if `issuer` is not configured, or
    /// (in production) the set contains the development key.
    pub fn set_issuer_keys(&self, issuer: &str, jwks: Jwks) -> Result<(), IdentityError> {
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.name() == issuer)
            .ok_or_else(|| IdentityError::UnknownIssuer(issuer.to_owned()))?;
        self.refuse_dev_key(issuer, &jwks)?;
        self.trust_one(issuer, jwks);
        Ok(())
    }

    /// Swaps in one issuer's keys, leaving the others as they are.
    fn trust_one(&self, issuer: &Issuer, jwks: Jwks) {
        let jwks = Arc::new(jwks);
        let unchanged = {
            let mut guard = self.trust.write().unwrap_or_else(PoisonError::into_inner);
            let unchanged = guard
                .issuers
                .get(issuer.name())
                .is_some_and(|current| current.jwks.key_ids().eq(jwks.key_ids()));
            let mut trust = Trust::clone(&guard);
            trust.issuers.insert(
                issuer.name().to_owned(),
                trusted(&issuer.config, Arc::clone(&jwks)),
            );
            *guard = Arc::new(trust);
            unchanged
        };
        // A periodic fetch usually finds the same keys; only a change is
        // worth an operator's attention.
        if unchanged {
            tracing::debug!(issuer = %issuer.name(), "identity: issuer keys unchanged");
        } else {
            tracing::info!(
                issuer = %issuer.name(),
                from = %issuer.jwks_source(),
                keys = ?jwks,
                "identity: issuer keys changed"
            );
        }
    }

    fn refuse_dev_key(&self, issuer: &Issuer, jwks: &Jwks) -> Result<(), IdentityError> {
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
                issuer: issuer.config.issuer.clone(),
                from: issuer.jwks_source(),
                dev_key_dir: self.dev_key_dir.clone(),
            });
        }
        Ok(())
    }

    /// Starts keeping every issuer's keys fresh: one task per issuer reads
    /// its `jwks_file` or fetches its `jwks_url` every `jwks_refresh`, and
    /// sooner when a token names a key id the issuer has not published (it
    /// may have rotated keys), at most once per [`EARLY_REFRESH_INTERVAL`].
    /// A failed read or fetch, or a set that is refused, leaves the previous
    /// keys in force and is logged as a warning; the next tick tries again.
    ///
    /// Call it once, within a Tokio runtime, after [`Authenticator::load`].
    /// Dropping the returned [`KeyRefresh`] stops the tasks. Without it,
    /// keys stay as they were loaded.
    ///
    /// With revocation files, one more task reads them again every
    /// [`REVOCATIONS_REFRESH`]; a file that cannot be read or is refused is
    /// logged as a warning and leaves its previous list in force.
    pub fn spawn_key_refresh(self: &Arc<Self>) -> KeyRefresh {
        let mut tasks: Vec<_> = (0..self.issuers.len())
            .map(|index| {
                let authenticator = Arc::clone(self);
                tokio::spawn(async move { authenticator.refresh_keys(index).await })
            })
            .collect();
        if !self.revocations.is_empty() {
            let authenticator = Arc::clone(self);
            tasks.push(tokio::spawn(async move {
                authenticator.refresh_revocations().await;
            }));
        }
        KeyRefresh { tasks }
    }

    async fn refresh_revocations(&self) {
        let mut tick =
            tokio::time::interval_at(Instant::now() + REVOCATIONS_REFRESH, REVOCATIONS_REFRESH);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for list in &self.revocations {
                if let Err(err) = list.reload() {
                    tracing::warn!(
                        error = %err,
                        "identity: revocations refresh failed; keeping the previous list"
                    );
                }
            }
        }
    }

    async fn refresh_keys(&self, index: usize) {
        let issuer = &self.issuers[index];
        let refresh = &issuer.refresh;
        // The first tick is one period on: load() has just read the keys.
        let mut tick = tokio::time::interval_at(Instant::now() + refresh.every, refresh.every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                // An early refresh stands in for the next periodic one.
                () = refresh.early.notified() => tick.reset(),
            }
            match self.keys_of(issuer).await {
                Ok(jwks) => self.trust_one(issuer, jwks),
                Err(err) => tracing::warn!(
                    issuer = %issuer.name(),
                    error = %err,
                    "identity: JWKS refresh failed; keeping the previous keys"
                ),
            }
        }
    }

    /// Wakes the refresh task of `issuer`, unless it was woken early in the
    /// [`EARLY_REFRESH_INTERVAL`] before `now`.
    fn refresh_early(&self, issuer: &str, now: DateTime<Utc>) {
        let Some(refresh) = self
            .issuers
            .iter()
            .find(|i| i.name() == issuer)
            .map(|i| &i.refresh)
        else {
            return;
        };
        {
            let mut last = refresh
                .last_early
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // A clock that went back (now before the last request) does not
            // hold refreshes off until it catches up.
            let interval = TimeDelta::from_std(EARLY_REFRESH_INTERVAL).unwrap_or(TimeDelta::MAX);
            if let Some(previous) = *last
                && (TimeDelta::zero()..interval).contains(&(now - previous))
            {
                return;
            }
            *last = Some(now);
        }
        // The key id itself is not logged: it comes from an unverified token.
        tracing::info!(
            issuer,
            "identity: a token names a key id the issuer has not published; reading its JWKS early"
        );
        refresh.early.notify_one();
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
    /// time `now`. A token naming a key id that is not in its issuer's set
    /// is refused ([`AuthError::UnknownKeyId`]) and wakes the key refresh
    /// early (rate-limited on the clock of `now`), so a retry after the
    /// identity provider has rotated keys succeeds.
    ///
    /// The call presented no client certificate, so a token bound to one
    /// is refused ([`AuthError::CertificateMismatch`]).
    ///
    /// # Errors
    /// Why the caller is not authenticated; see [`AuthError`]. The error is
    /// safe to return to the caller.
    pub fn authenticate_bearer(
        &self,
        authorization_header_value: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Caller, AuthError> {
        self.verify_bearer(authorization_header_value, None, now)
            .map_err(|refusal| refusal.error())
    }

    /// [`Authenticator::authenticate_bearer`] on a request's headers, from
    /// a connection that presented the client certificate `presented` (DER),
    /// if any: a token bound to a certificate must come with that one. More
    /// than one `authorization` header, or one that is not visible ASCII, is
    /// [`AuthError::Malformed`].
    ///
    /// # Errors
    /// As [`Authenticator::authenticate_bearer`], as a [`Refusal`] that
    /// names the token's holder when the token verified but its session may
    /// not be used (ended, too old, too weak, bound to another connection):
    /// the server records those in its audit log.
    pub fn authenticate_headers(
        &self,
        headers: &HeaderMap,
        presented: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> Result<Caller, Refusal> {
        self.verify_bearer(authorization_header(headers)?, presented, now)
    }

    fn verify_bearer(
        &self,
        authorization_header_value: Option<&str>,
        presented: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> Result<Caller, Refusal> {
        let token = bearer_token(authorization_header_value)?;
        let trust = Arc::clone(&self.trust.read().unwrap_or_else(PoisonError::into_inner));
        // This token is refused either way; a fresh set serves the retry.
        let caller = token::verify(token, &trust, self.leeway_secs, now, presented, |issuer| {
            self.refresh_early(issuer, now);
        })?;
        if self.revoked(&caller) {
            // A security event: the person's sessions were ended, and one
            // of them is still in use (a stolen token, or someone who has
            // not yet noticed). Their id, not a child's, so it may be logged.
            tracing::warn!(
                issuer = caller.issuer().unwrap_or_default(),
                subject = caller.subject(),
                authority = caller.authority_id(),
                "identity: a revoked session was used"
            );
            return Err(Refusal::of_holder(AuthError::Revoked, caller));
        }
        Ok(caller)
    }

    /// The service caller for a verified mTLS client certificate's subject
    /// (CN or SAN URI), matched exactly against
    /// `identity.service_identities`, acting for `acting_for` (the call's
    /// `x-cpc-authority` header) or, without one, for its own authority.
    ///
    /// # Errors
    /// [`AuthError::UnknownService`] if the subject is not mapped;
    /// [`AuthError::NotActingFor`] if it may not act for `acting_for`, as
    /// a [`Refusal`] naming the service, for its own authority.
    pub fn authenticate_service(
        &self,
        certificate_subject: &str,
        acting_for: Option<&str>,
    ) -> Result<Caller, Refusal> {
        let service = self
            .services
            .get(certificate_subject)
            .ok_or(AuthError::UnknownService)?;
        let caller = |authority: &str| {
            Caller::new(
                service.subject.clone(),
                CallerKind::Service,
                authority,
                service.roles.iter().copied(),
            )
        };
        match acting_for {
            None => Ok(caller(&service.authority_id)),
            Some(authority) if service.may_act_for(authority) => Ok(caller(authority)),
            Some(_) => Err(Refusal::of_holder(
                AuthError::NotActingFor,
                caller(&service.authority_id),
            )),
        }
    }
}

fn trusted(issuer: &IssuerConfig, jwks: Arc<Jwks>) -> TrustedIssuer {
    TrustedIssuer {
        audience: issuer.audience.clone(),
        first_party_clients: issuer.first_party_clients.iter().cloned().collect(),
        acr_values: issuer.acr_values.iter().cloned().collect(),
        amr_values: issuer.amr_values.iter().cloned().collect(),
        authorities: issuer.authorities.iter().cloned().collect(),
        require_access_token_type: issuer.require_access_token_type,
        // Checked by `IdentityConfig::validate` before any issuer is trusted.
        max_lifetime_secs: lifetime_secs(issuer.max_token_lifetime().unwrap_or(MIN_TOKEN_LIFETIME)),
        max_session_age_secs: lifetime_secs(issuer.max_session_age().unwrap_or(MIN_SESSION_AGE)),
        require_auth_time: issuer.require_auth_time,
        require_certificate_binding: issuer.require_certificate_binding,
        jwks,
    }
}

fn lifetime_secs(lifetime: Duration) -> i64 {
    i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)
}
