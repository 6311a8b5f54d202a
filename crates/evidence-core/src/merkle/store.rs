//! Storage planning for proofs over a persisted tree (used by the ledger's stores): complete
//! node ids, the node-source trait, the incremental [`Frontier`], and proof construction from
//! complete nodes. An implementation detail of this crate (reached through
//! `evidence_core::internal::merkle_store`); verifying proofs needs none of it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{ConsistencyProof, InclusionProof, MerkleError, empty_root, hash_children, split_point};
use crate::types::{LeafHash, NodeHash, RootHash, TreeSize};

/// A complete subtree: `2^level` leaves starting at leaf `index << level`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId {
    /// 0 for leaves.
    pub level: u8,
    /// Position among the nodes of that level.
    pub index: u64,
}

impl NodeId {
    /// A node id.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// True when every leaf of this subtree is among the first `size` leaves.
    pub fn is_complete_within(self, size: u64) -> bool {
        u32::from(self.level) < 64
            && self.index.checked_add(1).and_then(|e| e.checked_mul(1u64 << self.level)).is_some_and(|end| end <= size)
    }
}

/// Reads complete node hashes from wherever they are kept.
pub trait NodeSource {
    /// The store's error.
    type Error;
    /// The hash of a complete node.
    ///
    /// # Errors
    /// When the node is missing or the store fails.
    fn node(&self, id: NodeId) -> Result<NodeHash, Self::Error>;
}

/// The append-only tree's right edge: the roots of the complete subtrees that make up
/// the first `size` leaves, largest first (at most 64). Enough to append and to get the
/// current root without reading anything else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Complete subtree roots, largest (leftmost) first; their levels are the set bits of `size`.
    hashes: Vec<NodeHash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the frontier of a tree of `size` leaves from its store.
    ///
    /// # Errors
    /// [`MerkleError::Store`] when a node cannot be read.
    pub fn load<S: NodeSource>(size: u64, store: &S) -> Result<Self, MerkleError<S::Error>> {
        let hashes = frontier_ids(size).into_iter().map(|id| store.node(id)).collect::<Result<Vec<_>, _>>().map_err(MerkleError::Store)?;
        Ok(Self { size, hashes })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; calls `on_complete` for every node the append completes, lowest
    /// level first (the leaf itself at level 0, then each parent finished by it).
    pub fn append(&mut self, leaf: LeafHash, mut on_complete: impl FnMut(NodeId, &NodeHash)) {
        let index = self.size;
        let mut h = NodeHash(leaf.0);
        on_complete(NodeId::new(0, index), &h);
        let mut level = 0u8;
        while (index >> level) & 1 == 1 {
            let left = self.hashes.pop().unwrap_or(h);
            h = hash_children(&left, &h);
            level += 1;
            on_complete(NodeId::new(level, index >> level), &h);
        }
        self.hashes.push(h);
        self.size += 1;
    }

    /// Appends a leaf without reporting new nodes.
    #[inline]
    pub fn push(&mut self, leaf: LeafHash) {
        let index = self.size;
        let mut h = NodeHash(leaf.0);
        let mut i = index;
        while i & 1 == 1 {
            let left = self.hashes.pop().unwrap_or(h);
            h = hash_children(&left, &h);
            i >>= 1;
        }
        self.hashes.push(h);
        self.size += 1;
    }

    /// The root at the current size (`popcount(size) - 1` hashes).
    pub fn root(&self) -> NodeHash {
        let mut it = self.hashes.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |acc, left| hash_children(left, &acc))
    }

    /// The root with its size.
    pub fn root_hash(&self) -> RootHash {
        RootHash { hash: self.root(), tree_size: TreeSize(self.size) }
    }
}

/// The complete nodes whose roots make up a tree of `size` leaves, largest first.
pub fn frontier_ids(size: u64) -> Vec<NodeId> {
    range_ids(0, size)
}

/// The maximal complete subtrees covering leaves `[start, end)`, left to right.
fn range_ids(mut start: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    while start < end {
        let by_alignment = if start == 0 { 63 } else { start.trailing_zeros() };
        let by_length = (end - start).ilog2();
        let level = by_alignment.min(by_length);
        out.push(NodeId::new(u8::try_from(level).unwrap_or(63), start >> level));
        start += 1u64 << level;
    }
    out
}

/// `MTH(D[start:end])` for the ranges that RFC 9162's recursion produces (those whose
/// start is a multiple of a power of two at least `end - start`), from complete nodes.
fn range_hash<S: NodeSource>(start: u64, end: u64, store: &S) -> Result<NodeHash, MerkleError<S::Error>> {
    let ids = range_ids(start, end);
    let mut it = ids.iter().rev();
    let Some(last) = it.next() else {
        return Ok(empty_root());
    };
    let mut acc = store.node(*last).map_err(MerkleError::Store)?;
    for id in it {
        acc = hash_children(&store.node(*id).map_err(MerkleError::Store)?, &acc);
    }
    Ok(acc)
}

/// The root of the first `size` leaves, from complete nodes.
///
/// # Errors
/// [`MerkleError::Store`] when a node cannot be read.
pub fn root_at<S: NodeSource>(size: u64, store: &S) -> Result<RootHash, MerkleError<S::Error>> {
    Ok(RootHash { hash: range_hash(0, size, store)?, tree_size: TreeSize(size) })
}

/// The RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `size` leaves.
///
/// # Errors
/// [`MerkleError::IndexOutOfRange`] or [`MerkleError::Store`].
pub fn inclusion_proof<S: NodeSource>(index: u64, size: u64, store: &S) -> Result<InclusionProof, MerkleError<S::Error>> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, tree_size: size });
    }
    let mut path = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    // PATH(m, D[lo:hi]) recursion unrolled top-down; siblings collected then reversed (leaf to root).
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index - lo < k {
            path.push(range_hash(lo + k, hi, store)?);
            hi = lo + k;
        } else {
            path.push(range_hash(lo, lo + k, store)?);
            lo += k;
        }
    }
    path.reverse();
    Ok(InclusionProof { leaf_index: index, tree_size: TreeSize(size), path })
}

/// The RFC 9162 §2.1.4.1 consistency proof from `old` to `new` leaves.
///
/// # Errors
/// [`MerkleError::SizesOutOfOrder`] or [`MerkleError::Store`].
pub fn consistency_proof<S: NodeSource>(old: u64, new: u64, store: &S) -> Result<ConsistencyProof, MerkleError<S::Error>> {
    if old > new {
        return Err(MerkleError::SizesOutOfOrder { old, new });
    }
    let mut path = Vec::new();
    if old > 0 && old < new {
        let (mut lo, mut hi, mut m, mut b) = (0u64, new, old, true);
        loop {
            let size = hi - lo;
            if m == size {
                if !b {
                    path.push(range_hash(lo, hi, store)?);
                }
                break;
            }
            let k = split_point(size);
            if m <= k {
                path.push(range_hash(lo + k, hi, store)?);
                hi = lo + k;
            } else {
                path.push(range_hash(lo, lo + k, store)?);
                lo += k;
                m -= k;
                b = false;
            }
        }
        path.reverse();
    }
    Ok(ConsistencyProof { old_size: TreeSize(old), new_size: TreeSize(new), path })
}

/// Records which nodes an operation reads, answering with zero hashes.
struct Recorder(std::cell::RefCell<Vec<NodeId>>);

impl NodeSource for Recorder {
    type Error = std::convert::Infallible;
    fn node(&self, id: NodeId) -> Result<NodeHash, Self::Error> {
        self.0.borrow_mut().push(id);
        Ok(NodeHash([0; 32]))
    }
}

fn recorded(f: impl FnOnce(&Recorder)) -> Vec<NodeId> {
    let r = Recorder(std::cell::RefCell::new(Vec::new()));
    f(&r);
    let mut ids = r.0.into_inner();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The complete nodes [`inclusion_proof`] reads for `index` in a tree of `size`.
pub fn inclusion_node_ids(index: u64, size: u64) -> Vec<NodeId> {
    recorded(|r| {
        let _ = inclusion_proof(index, size, r);
    })
}

/// The complete nodes [`consistency_proof`] reads from `old` to `new`.
pub fn consistency_node_ids(old: u64, new: u64) -> Vec<NodeId> {
    recorded(|r| {
        let _ = consistency_proof(old, new, r);
    })
}

/// The complete nodes [`root_at`] reads for `size`.
pub fn root_node_ids(size: u64) -> Vec<NodeId> {
    frontier_ids(size)
}

/// A [`NodeSource`] over nodes fetched in advance.
#[derive(Debug, Default, Clone)]
pub struct MapSource(pub HashMap<NodeId, NodeHash>);

/// A node the map did not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node {0:?} is not in the store")]
pub struct MissingNode(pub NodeId);

impl NodeSource for MapSource {
    type Error = MissingNode;
    fn node(&self, id: NodeId) -> Result<NodeHash, MissingNode> {
        self.0.get(&id).copied().ok_or(MissingNode(id))
    }
}
