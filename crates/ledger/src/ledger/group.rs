//! Group commit of concurrent appends to one tenant.

use std::sync::Arc;

use evidence_core::AppendReceipt;

use super::LedgerError;
use crate::store::{NewLeaf, TenantStore};

/// Group commit: concurrent appends (single claims and batches) to one tenant are stored in
/// one transaction, so they share one durable commit (one fsync) instead of queueing for one
/// each.
///
/// No timer and no long-lived worker: a caller queues its prepared leaves, then takes the
/// commit lock; whoever holds it stores everything queued so far (its own leaves, and those
/// that arrived while the previous commit was in flight, up to [`GroupCommit::MAX`] leaves)
/// and hands each caller its receipts; a caller answered that way returns at once rather than
/// waiting its turn for the lock. A caller's leaves are never split across
/// transactions, so a batch stays atomic and its sequence numbers consecutive. Every receipt
/// is sent only after the transaction holding its leaves committed, so an append is still
/// acknowledged only once durable. When a grouped commit fails, each caller's leaves are
/// retried alone, so a caller gets the error its own claims cause and no one else's.
#[derive(Default)]
pub(super) struct GroupCommit {
    queue: std::sync::Mutex<Vec<Queued>>,
    commit: Arc<tokio::sync::Mutex<()>>,
}

/// One caller's leaves waiting for a group commit, and where their receipts go.
type Queued = (Vec<NewLeaf>, tokio::sync::oneshot::Sender<Result<Vec<AppendReceipt>, LedgerError>>);

impl GroupCommit {
    /// The most leaves stored in one grouped transaction (a single caller's batch may exceed it).
    const MAX: usize = 2000;

    pub(super) async fn append<T: TenantStore>(&self, store: &T, leaves: Vec<NewLeaf>) -> Result<Vec<AppendReceipt>, LedgerError> {
        let poisoned = || LedgerError::Internal("group-commit queue poisoned".into());
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        self.queue.lock().map_err(|_| poisoned())?.push((leaves, tx));
        loop {
            // Wait for our receipts or for the commit lock, whichever comes first: a caller
            // whose leaves went out in someone else's group returns as soon as that commit
            // is done, instead of queueing for the lock behind the next group's commit.
            let held = tokio::select! {
                biased;
                r = &mut rx => return r.unwrap_or_else(|_| Err(LedgerError::Internal("group commit dropped an append".into()))),
                held = Arc::clone(&self.commit).lock_owned() => held,
            };
            // Leaves are only taken under the commit lock, and results are sent before it is
            // released: once we hold it, ours are either answered or still queued.
            let group: Vec<Queued> = {
                let mut q = self.queue.lock().map_err(|_| poisoned())?;
                let (mut take, mut total) = (0, 0);
                while let Some((l, _)) = q.get(take) {
                    if take > 0 && total + l.len() > Self::MAX {
                        break;
                    }
                    total += l.len();
                    take += 1;
                }
                q.drain(..take).collect()
            };
            if group.is_empty() {
                drop(held);
            } else {
                // In a task of its own, holding the lock: a caller that goes away (a client
                // disconnecting) cannot cancel a commit that carries other callers' claims.
                let store = store.clone();
                let _ = tokio::spawn(async move {
                    Self::store(&store, group).await;
                    drop(held);
                })
                .await;
            }
        }
    }

    async fn store<T: TenantStore>(store: &T, group: Vec<Queued>) {
        if group.len() == 1 {
            if let Some((leaves, tx)) = group.into_iter().next() {
                let _ = tx.send(Self::store_one(store, leaves).await);
            }
            return;
        }
        let all: Vec<NewLeaf> = group.iter().flat_map(|(l, _)| l.iter().cloned()).collect();
        let n = all.len();
        match store.append(all).await {
            Ok(receipts) if receipts.len() == n => {
                let mut receipts = receipts.into_iter();
                for (leaves, tx) in group {
                    let _ = tx.send(Ok(receipts.by_ref().take(leaves.len()).collect()));
                }
            }
            _ => {
                // Someone's claims broke the group: store each caller's alone, so each gets its own outcome.
                for (leaves, tx) in group {
                    let _ = tx.send(Self::store_one(store, leaves).await);
                }
            }
        }
    }

    async fn store_one<T: TenantStore>(store: &T, leaves: Vec<NewLeaf>) -> Result<Vec<AppendReceipt>, LedgerError> {
        let n = leaves.len();
        let receipts = store.append(leaves).await?;
        if receipts.len() == n {
            Ok(receipts)
        } else {
            Err(LedgerError::Internal(format!("the store returned {} receipts for {n} leaves", receipts.len())))
        }
    }
}
