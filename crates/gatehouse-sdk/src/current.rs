//! The caller's identity for the current task, so a handler can call other services on the
//! caller's behalf without threading the identity through every function.

use std::future::Future;
use std::sync::Arc;

use gatehouse_context::Identity;
use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    // `None` inside a scope means "explicitly anonymous", which hides any outer identity.
    static CURRENT: Option<Arc<Identity>>;
}

/// Runs `future` with `identity` as the current identity (`None`: explicitly anonymous).
pub fn scope<F: Future>(
    identity: Option<Arc<Identity>>,
    future: F,
) -> TaskLocalFuture<Option<Arc<Identity>>, F> {
    CURRENT.scope(identity, future)
}

/// The current identity: the one of the innermost [`scope`], or `None` outside any.
pub fn current() -> Option<Arc<Identity>> {
    CURRENT.try_with(Clone::clone).ok().flatten()
}

/// Wraps `future` so it runs with the identity current now; for `tokio::spawn`, whose tasks do
/// not inherit task-locals.
pub fn in_current_scope<F: Future>(future: F) -> TaskLocalFuture<Option<Arc<Identity>>, F> {
    scope(current(), future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scopes_nest_and_spawned_tasks_inherit_explicitly() {
        assert!(current().is_none());
        let alice = Arc::new(Identity::new("alice", "iss"));
        scope(Some(alice.clone()), async {
            assert_eq!(current().as_deref(), Some(&*alice));
            scope(None, async { assert!(current().is_none()) }).await;
            let inherited = tokio::spawn(in_current_scope(async { current() }));
            let bare = tokio::spawn(async { current() });
            assert_eq!(inherited.await.ok().flatten().as_deref(), Some(&*alice));
            assert!(bare.await.ok().flatten().is_none());
        })
        .await;
    }
}
