//! The access policies read again while serving: an edit by the council's
//! information governance team to the policy folder (a ConfigMap in
//! `deploy/`) takes effect within `policy_reload_interval`, without a
//! rollout. A set that does not load or validate is logged as an error and
//! the set in force stays ([`SharedAuthorizer::reload`]); a service is
//! never left without policies.

use std::sync::Arc;
use std::time::Duration;

use cpc_authz::SharedAuthorizer;
use tokio::time::{Instant, MissedTickBehavior};

/// Reads the policy folder every `every` until the task is aborted. Each
/// replica reads its own copy; each audit record of a decision names the
/// digest of the set that made it, so a decision can be tied to the set in
/// force on that replica at the time.
pub fn spawn(authorizer: Arc<SharedAuthorizer>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The first read is one period on: the set was loaded at start-up.
        let mut tick = tokio::time::interval_at(Instant::now() + every, every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            reload(&authorizer);
        }
    })
}

/// Reads the folder once; only a change of set is worth an operator's
/// attention.
fn reload(authorizer: &SharedAuthorizer) {
    let before = authorizer.current().digest().to_owned();
    match authorizer.reload() {
        Ok(ids) => {
            let now = authorizer.current();
            if now.digest() == before {
                tracing::debug!(policy_set = now.digest(), "access policies unchanged");
            } else {
                tracing::info!(
                    policy_set = now.digest(),
                    previous = %before,
                    policies = ids.len(),
                    "access policies reloaded"
                );
            }
        }
        Err(err) => tracing::error!(
            error = %err,
            policy_set = %before,
            "access policies not reloaded; keeping the set in force"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpc_authz::Authorizer;

    /// A copy of the bundled policies in a folder of its own.
    struct Folder(std::path::PathBuf);

    impl Folder {
        fn copy_of_bundled() -> Self {
            let dir =
                std::env::temp_dir().join(format!("cpc-policy-watch-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            for entry in std::fs::read_dir(cpc_authz::bundled_policy_dir()).unwrap() {
                let path = entry.unwrap().path();
                std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
            }
            Self(dir)
        }

        fn edit(&self, file: &str, from: &str, to: &str) {
            let path = self.0.join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains(from), "{file} has no {from:?}");
            std::fs::write(&path, text.replace(from, to)).unwrap();
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Waits, a few seconds at most, for the set in force to differ from
    /// `digest`.
    async fn until_replaced(authorizer: &SharedAuthorizer, digest: &str) -> String {
        for _ in 0..200 {
            let now = authorizer.current().digest().to_owned();
            if now != digest {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the policy set was not replaced");
    }

    #[tokio::test]
    async fn an_edit_takes_effect_and_a_broken_one_leaves_the_set_in_force() {
        let folder = Folder::copy_of_bundled();
        let authorizer = Arc::new(SharedAuthorizer::new(Authorizer::load(&folder.0).unwrap()));
        let loaded = authorizer.current().digest().to_owned();
        let watch = spawn(Arc::clone(&authorizer), Duration::from_millis(50));

        // A broken edit: the loaded set stays in force through several reads.
        folder.edit(
            "30-business-support.cedar",
            "Action::\"Schedule\"",
            "Action::\"Shedule\"",
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(authorizer.current().digest(), loaded);

        // Mended and changed: the new set replaces it.
        folder.edit(
            "30-business-support.cedar",
            "Action::\"Shedule\"",
            "Action::\"Schedule\"",
        );
        folder.edit(
            "30-business-support.cedar",
            "[Action::\"ReadSchedule\", Action::\"Schedule\"]",
            "[Action::\"ReadSchedule\", Action::\"Schedule\", Action::\"ReadCase\"]",
        );
        let replaced = until_replaced(&authorizer, &loaded).await;
        assert_eq!(
            replaced,
            Authorizer::load(&folder.0).unwrap().digest(),
            "the set in force is the folder's"
        );
        watch.abort();
    }
}
