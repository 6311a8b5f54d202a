//! The RFC 9162 (Certificate Transparency v2) Merkle tree, §2.1.
//!
//! - Leaf hash: `SHA-256(0x00 ‖ leaf)`; node hash: `SHA-256(0x01 ‖ left ‖ right)`.
//!   The two prefixes are the domain separation that stops an interior node from being
//!   passed off as a leaf (a second preimage), which plain `SHA-256(left ‖ right)` trees
//!   such as `rs_merkle`'s default allow.
//! - `MTH` of `n > 1` leaves splits at `k`, the largest power of two smaller than `n`.
//! - Inclusion proofs (§2.1.3) and consistency proofs (§2.1.4) are generated and verified
//!   with the RFC's own algorithms.
//!
//! # Storage
//!
//! An append-only log never changes a *complete* subtree (one covering `2^level` leaves
//! starting at a multiple of `2^level`) once its last leaf is in. The ledger persists those and
//! computes every root and proof, at any size, from complete nodes alone; that planning
//! (node ids, the incremental frontier, proofs from stored nodes) is an implementation detail
//! of the ledger's stores, not needed to verify anything. [`MemoryTree`] is a whole tree in
//! memory for tests and examples.
//!
//! # What a verified proof does and does not show
//!
//! A verified inclusion proof shows that a leaf with this hash sits at this index of the
//! tree whose root is given. It says nothing about who computed the root: that is what
//! the signed checkpoint is for. A verified consistency proof shows the larger tree
//! extends the smaller one (nothing was removed or rewritten).

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::types::{LeafHash, NodeHash, RootHash, TreeSize};

pub(crate) mod store;
use store::{Frontier, MissingNode, NodeId, NodeSource, consistency_proof, frontier_ids, inclusion_proof, root_at};

/// Prefix of leaf hashes.
pub const LEAF_PREFIX: u8 = 0x00;
/// Prefix of interior node hashes.
pub const NODE_PREFIX: u8 = 0x01;

/// The longest proof path accepted from outside: a tree of up to 2^64 leaves needs 64.
pub const MAX_PATH_LEN: usize = 64;

const SMALL_LEAF: usize = 192;

/// `SHA-256(0x00 ‖ data)`.
#[inline]
pub fn hash_leaf(data: &[u8]) -> LeafHash {
    // Small entries (every leaf entry of this ledger is) are hashed from one contiguous
    // buffer: a single call into the block function, as fast as hashing can be.
    if data.len() < SMALL_LEAF {
        let mut buf = [0u8; SMALL_LEAF];
        buf[0] = LEAF_PREFIX;
        buf[1..=data.len()].copy_from_slice(data);
        return LeafHash(Sha256::digest(&buf[..=data.len()]).into());
    }
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    LeafHash(h.finalize().into())
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
#[inline]
pub fn hash_children(left: &NodeHash, right: &NodeHash) -> NodeHash {
    let mut buf = [0u8; 65];
    buf[0] = NODE_PREFIX;
    buf[1..33].copy_from_slice(&left.0);
    buf[33..].copy_from_slice(&right.0);
    NodeHash(Sha256::digest(buf).into())
}

/// The root of the empty tree: `SHA-256()` (RFC 9162 §2.1.1).
pub fn empty_root() -> NodeHash {
    NodeHash(Sha256::digest([]).into())
}

/// The root of the tree whose leaves are `entries`, hashing each leaf and folding it in
/// one streaming pass: `n` leaf hashes and `n - 1` node hashes, memory O(log n).
pub fn root_of_entries<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> RootHash {
    let mut f = Frontier::new();
    for e in entries {
        f.push(hash_leaf(e));
    }
    f.root_hash()
}

/// The root of a whole list of leaf hashes, computed in one left-to-right pass.
///
/// Exactly `n - 1` node hashes for `n` leaves; memory O(log n).
pub fn root_of(leaves: &[LeafHash]) -> NodeHash {
    let mut f = Frontier::new();
    for l in leaves {
        f.push(*l);
    }
    f.root()
}

/// Errors of tree operations and proof checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError<E = std::convert::Infallible> {
    /// The index is not inside the tree.
    #[error("leaf index {index} is outside a tree of size {tree_size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        tree_size: u64,
    },
    /// Consistency sizes are not `0 <= old <= new`.
    #[error("cannot prove consistency from size {old} to the smaller size {new}")]
    SizesOutOfOrder {
        /// Old size.
        old: u64,
        /// New size.
        new: u64,
    },
    /// The tree does not have the size asked for yet.
    #[error("tree has {have} leaves, fewer than the {want} asked for")]
    TooSmall {
        /// Current size.
        have: u64,
        /// Requested size.
        want: u64,
    },
    /// The store could not give a node.
    #[error("node store: {0:?}")]
    Store(E),
}

/// Errors of proof verification. Each says which check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("inclusion proof for leaf {index} in a tree of size {tree_size}: index out of range")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        tree_size: u64,
    },
    /// The path has the wrong number of hashes for the index and size.
    #[error("{kind} proof has {found} hashes, expected {expected}")]
    WrongPathLength {
        /// "inclusion" or "consistency".
        kind: &'static str,
        /// How many it had.
        found: usize,
        /// How many the sizes require.
        expected: usize,
    },
    /// The recomputed root differs from the expected one.
    #[error("{kind} proof recomputes root {computed}, expected {expected}")]
    RootMismatch {
        /// Which proof (and which of the two roots, for consistency).
        kind: &'static str,
        /// What the path produced.
        computed: NodeHash,
        /// What it had to produce.
        expected: NodeHash,
    },
    /// Consistency sizes are not `old <= new`.
    #[error("consistency proof from size {old} to smaller size {new}")]
    SizesOutOfOrder {
        /// Old size.
        old: u64,
        /// New size.
        new: u64,
    },
}

/// An RFC 9162 inclusion proof: the audit path from a leaf to the root of a tree of `tree_size`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Index of the leaf.
    pub leaf_index: u64,
    /// Size of the tree the proof is for.
    pub tree_size: TreeSize,
    /// Sibling hashes, leaf to root.
    pub path: Vec<NodeHash>,
}

/// An RFC 9162 consistency proof between two sizes of one tree.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The smaller size.
    pub old_size: TreeSize,
    /// The larger size.
    pub new_size: TreeSize,
    /// The proof hashes.
    pub path: Vec<NodeHash>,
}

/// Number of hashes in the inclusion path of `index` in a tree of `size` (0 when out of range).
pub fn inclusion_path_len(index: u64, size: u64) -> usize {
    if index >= size {
        return 0;
    }
    // Levels where the path has a sibling: the depth of the leaf in the RFC tree.
    let mut len = 0;
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index - lo < k {
            hi = lo + k;
        } else {
            lo += k;
        }
        len += 1;
    }
    len
}

/// The largest power of two smaller than `n` (`n >= 2`).
#[inline]
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (n - 1).ilog2()
}

impl InclusionProof {
    /// Recomputes the root from `leaf` and the path (RFC 9162 §2.1.3.2).
    ///
    /// # Errors
    /// [`ProofError`] when the index is out of range or the path has the wrong length.
    /// This does not compare against any expected root: see [`Self::verify`].
    pub fn root_from(&self, leaf: &LeafHash) -> Result<NodeHash, ProofError> {
        let size = self.tree_size.0;
        if self.leaf_index >= size {
            return Err(ProofError::IndexOutOfRange { index: self.leaf_index, tree_size: size });
        }
        let expected = inclusion_path_len(self.leaf_index, size);
        if self.path.len() != expected {
            return Err(ProofError::WrongPathLength { kind: "inclusion", found: self.path.len(), expected });
        }
        let mut fnode = self.leaf_index;
        let mut snode = size - 1;
        let mut r = NodeHash(leaf.0);
        for p in &self.path {
            // The length check above guarantees snode > 0 here.
            if fnode & 1 == 1 || fnode == snode {
                r = hash_children(p, &r);
                if fnode & 1 == 0 {
                    while fnode & 1 == 0 && fnode != 0 {
                        fnode >>= 1;
                        snode >>= 1;
                    }
                }
            } else {
                r = hash_children(&r, p);
            }
            fnode >>= 1;
            snode >>= 1;
        }
        Ok(r)
    }

    /// Verifies that `leaf` is at `leaf_index` in the tree with root `root`.
    ///
    /// # Errors
    /// [`ProofError`] saying which check failed; the tree sizes must agree.
    pub fn verify(&self, leaf: &LeafHash, root: &RootHash) -> Result<(), ProofError> {
        if root.tree_size != self.tree_size {
            return Err(ProofError::RootMismatch { kind: "inclusion (tree size differs)", computed: root.hash, expected: root.hash });
        }
        let computed = self.root_from(leaf)?;
        if computed != root.hash {
            return Err(ProofError::RootMismatch { kind: "inclusion", computed, expected: root.hash });
        }
        Ok(())
    }
}

impl ConsistencyProof {
    /// Verifies that `new` extends `old` (RFC 9162 §2.1.4.2).
    ///
    /// Equal sizes need an empty proof and equal roots; an old size of 0 is consistent
    /// with anything and needs an empty proof.
    ///
    /// # Errors
    /// [`ProofError`] saying which check failed.
    pub fn verify(&self, old: &RootHash, new: &RootHash) -> Result<(), ProofError> {
        let (m, n) = (self.old_size.0, self.new_size.0);
        if old.tree_size.0 != m || new.tree_size.0 != n {
            return Err(ProofError::RootMismatch { kind: "consistency (tree sizes differ)", computed: old.hash, expected: new.hash });
        }
        if m > n {
            return Err(ProofError::SizesOutOfOrder { old: m, new: n });
        }
        let expected_len = consistency_path_len(m, n);
        if self.path.len() != expected_len {
            return Err(ProofError::WrongPathLength { kind: "consistency", found: self.path.len(), expected: expected_len });
        }
        if m == 0 {
            return Ok(());
        }
        if m == n {
            return if old.hash == new.hash {
                Ok(())
            } else {
                Err(ProofError::RootMismatch { kind: "consistency (same size)", computed: old.hash, expected: new.hash })
            };
        }
        let mut path = self.path.iter();
        let first_from_proof;
        let seed = if m.is_power_of_two() {
            &old.hash
        } else {
            first_from_proof = path.next();
            first_from_proof.unwrap_or(&old.hash)
        };
        let mut fnode = m - 1;
        let mut snode = n - 1;
        while fnode & 1 == 1 {
            fnode >>= 1;
            snode >>= 1;
        }
        let mut fr = *seed;
        let mut sr = *seed;
        for c in path {
            if fnode & 1 == 1 || fnode == snode {
                fr = hash_children(c, &fr);
                sr = hash_children(c, &sr);
                if fnode & 1 == 0 {
                    while fnode & 1 == 0 && fnode != 0 {
                        fnode >>= 1;
                        snode >>= 1;
                    }
                }
            } else {
                sr = hash_children(&sr, c);
            }
            fnode >>= 1;
            snode >>= 1;
        }
        if fr != old.hash {
            return Err(ProofError::RootMismatch { kind: "consistency (old root)", computed: fr, expected: old.hash });
        }
        if sr != new.hash {
            return Err(ProofError::RootMismatch { kind: "consistency (new root)", computed: sr, expected: new.hash });
        }
        Ok(())
    }
}

/// Number of hashes in a consistency proof from `m` to `n` leaves.
pub fn consistency_path_len(m: u64, n: u64) -> usize {
    if m == 0 || m >= n {
        return 0;
    }
    // SUBPROOF(m, D[0:n], true): count the hashes it emits.
    let (mut lo, mut hi, mut m_rel, mut b) = (0u64, n, m, true);
    let mut len = 0;
    loop {
        let size = hi - lo;
        if m_rel == size {
            if !b {
                len += 1;
            }
            return len;
        }
        let k = split_point(size);
        len += 1;
        if m_rel <= k {
            hi = lo + k;
        } else {
            lo += k;
            m_rel -= k;
            b = false;
        }
    }
}

/// A whole tree in memory: every complete node, level by level.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` is node `(l, i)`; a level holds only complete nodes.
    levels: Vec<Vec<NodeHash>>,
    size: u64,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; returns its index.
    ///
    /// Each node the leaf completes is hashed from its two children, which are the last two
    /// nodes of the level below (so nothing but the levels is kept, and nothing is hashed
    /// twice).
    pub fn append(&mut self, leaf: LeafHash) -> u64 {
        let index = self.size;
        let mut h = NodeHash(leaf.0);
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(h);
            if (index >> level) & 1 == 0 {
                break;
            }
            // The level holds the left sibling just before `h`: its count is even now.
            h = match row.as_slice() {
                [.., left, right] => hash_children(left, right),
                _ => break,
            };
            level += 1;
        }
        self.size += 1;
        index
    }

    /// The current root.
    pub fn root(&self) -> RootHash {
        let mut hashes = frontier_ids(self.size).into_iter().rev().filter_map(|id| self.node(id).ok());
        let hash = match hashes.next() {
            None => empty_root(),
            Some(last) => hashes.fold(last, |acc, left| hash_children(&left, &acc)),
        };
        RootHash { hash, tree_size: TreeSize(self.size) }
    }

    /// The root at an earlier (or the current) size.
    ///
    /// # Errors
    /// [`MerkleError::TooSmall`] when `size` exceeds the tree.
    pub fn root_at(&self, size: u64) -> Result<RootHash, MerkleError<MissingNode>> {
        self.check_size(size)?;
        root_at(size, self)
    }

    /// Inclusion proof of `index` at tree size `size`.
    ///
    /// # Errors
    /// [`MerkleError`] for an index or size out of range.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, MerkleError<MissingNode>> {
        self.check_size(size)?;
        inclusion_proof(index, size, self)
    }

    /// Consistency proof from `old` to `new`.
    ///
    /// # Errors
    /// [`MerkleError`] for sizes out of order or range.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<ConsistencyProof, MerkleError<MissingNode>> {
        self.check_size(new)?;
        consistency_proof(old, new, self)
    }

    fn check_size(&self, size: u64) -> Result<(), MerkleError<MissingNode>> {
        if size > self.size() {
            return Err(MerkleError::TooSmall { have: self.size(), want: size });
        }
        Ok(())
    }
}

impl NodeSource for MemoryTree {
    type Error = MissingNode;
    fn node(&self, id: NodeId) -> Result<NodeHash, MissingNode> {
        usize::try_from(id.index).ok().and_then(|i| self.levels.get(usize::from(id.level))?.get(i)).copied().ok_or(MissingNode(id))
    }
}

#[cfg(test)]
mod tests;
