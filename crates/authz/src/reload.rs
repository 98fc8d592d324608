//! Hot reload: one authorizer shared by every request, swapped whole when
//! the policies change.

use std::sync::{Arc, PoisonError, RwLock};

use crate::model::{Decision, Principal, Resource};
use crate::{Authorizer, AuthzError};

/// The authorizer a service holds. Requests take the current policy set
/// ([`SharedAuthorizer::current`]) and keep it for the whole request;
/// [`SharedAuthorizer::reload`] loads the folder again and swaps the new set
/// in only if it loaded and validated. A policy change never leaves the
/// service without policies or with policies that do not validate: the
/// error is returned (to log, alert and show the editor) and the old
/// policies stay in force.
///
/// How reload is triggered (SIGHUP, an admin call, a file watch) is the
/// serving binary's choice; this type only makes the swap safe.
#[derive(Debug)]
pub struct SharedAuthorizer {
    current: RwLock<Arc<Authorizer>>,
}

impl SharedAuthorizer {
    /// Shares `authorizer`.
    pub fn new(authorizer: Authorizer) -> Self {
        Self {
            current: RwLock::new(Arc::new(authorizer)),
        }
    }

    /// The policies in force now.
    pub fn current(&self) -> Arc<Authorizer> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Decides with the policies in force now.
    pub fn authorize(&self, principal: &Principal, action: &str, resource: &Resource) -> Decision {
        self.current().authorize(principal, action, resource)
    }

    /// Loads the folder again; on success swaps the new policies in and
    /// returns their ids, on failure keeps the old ones and returns why.
    pub fn reload(&self) -> Result<Vec<String>, AuthzError> {
        let next = self.current().reload()?;
        let ids = next.policy_ids().into_iter().map(|(id, _)| id).collect();
        self.replace(next);
        Ok(ids)
    }

    /// Puts `authorizer` in force.
    pub fn replace(&self, authorizer: Authorizer) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(authorizer);
    }
}
