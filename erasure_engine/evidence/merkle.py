"""Merkle tree hashing, inclusion and consistency proofs as specified by RFC 9162 (section 2.1).

Leaves and nodes are domain-separated so that a leaf can never be passed off as a node:
    leaf hash = SHA-256(0x00 || leaf bytes)
    node hash = SHA-256(0x01 || left || right)
Trees are split at the largest power of two smaller than their size. Hashes are raw bytes
here; callers hex-encode them at the edges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from erasure_engine.errors import InvalidInput

EMPTY_ROOT = hashlib.sha256(b"").digest()
# Subtrees at least this large are memoised: proofs for many leaves of one tree share them.
_MEMO_MIN_SIZE = 64


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """A read-only view over leaf hashes that answers roots and proofs for any prefix size."""

    def __init__(self, leaf_hashes: Sequence[bytes]):
        self.leaves = leaf_hashes
        self._memo: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return len(self.leaves)

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= len(self.leaves):
            raise InvalidInput(f"tree size {size} is outside 0..{len(self.leaves)}")

    def _hash(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 1:
            return self.leaves[start]
        memoise = n >= _MEMO_MIN_SIZE
        if memoise and (start, end) in self._memo:
            return self._memo[(start, end)]
        k = _split(n)
        value = node_hash(self._hash(start, start + k), self._hash(start + k, end))
        if memoise:
            self._memo[(start, end)] = value
        return value

    def root(self, size: int | None = None) -> bytes:
        size = len(self.leaves) if size is None else size
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._hash(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(m, D[n]): the audit path of leaf `index` in the tree of the first `size` leaves."""
        self._check_size(size)
        if not 0 <= index < size:
            raise InvalidInput(f"leaf {index} is not in a tree of size {size}")
        return self._path(index, 0, size)

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return self._path(m, start, start + k) + [self._hash(start + k, end)]
        return self._path(m - k, start + k, end) + [self._hash(start, start + k)]

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """PROOF(m, D[n]): shows that the tree of size `first` is a prefix of the tree of size `second`."""
        self._check_size(second)
        if not 0 <= first <= second:
            raise InvalidInput(f"no consistency proof from size {first} to size {second}")
        if first == 0 or first == second:
            return []
        return self._subproof(first, 0, second, True)

    def _subproof(self, m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [self._hash(start, end)]
        k = _split(n)
        if m <= k:
            return self._subproof(m, start, start + k, whole) + [self._hash(start + k, end)]
        return self._subproof(m - k, start + k, end, False) + [self._hash(start, start + k)]


def root_from_frontier(frontier: Sequence[bytes]) -> bytes:
    """The root of a tree given the roots of its maximal perfect subtrees, left to right."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for subtree in reversed(frontier[:-1]):
        root = node_hash(subtree, root)
    return root


def frontier_append(frontier: list[bytes], size: int, new_leaf_hash: bytes) -> list[bytes]:
    """Extend the frontier of a tree of `size` leaves by one leaf (compact-range append)."""
    frontier = [*frontier, new_leaf_hash]
    merged = size
    # Each trailing 1-bit of the old size is a perfect subtree the new leaf completes.
    while merged & 1:
        right = frontier.pop()
        left = frontier.pop()
        frontier.append(node_hash(left, right))
        merged >>= 1
    return frontier


HASH_SIZE = 32


def _check_hashes(*, proof: Sequence, **named) -> None:
    """Every hash is 32 bytes (SHA-256): an empty or short value is malformed input, never a match."""
    items = [(name, value) for name, value in named.items()] + [(f"proof[{i}]", v) for i, v in enumerate(proof)]
    for name, value in items:
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise InvalidInput(f"{name} must be a {HASH_SIZE}-byte SHA-256 hash, got {value!r:.40}")


def _check_sizes(**named) -> None:
    for name, value in named.items():
        if type(value) is not int or value < 0:  # bool is an int subclass: refused too
            raise InvalidInput(f"{name} must be a non-negative integer, got {value!r:.40}")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: does `leaf` (a leaf hash) sit at `index` of the tree with `root`?
    Malformed input (a hash that is not 32 bytes, a size that is not an integer) raises InvalidInput."""
    _check_sizes(index=index, size=size)
    _check_hashes(leaf=leaf, root=root, proof=proof)
    if not index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree (first, first_root) a prefix of (second, second_root)?
    A proof from the empty tree proves nothing (every tree extends it) and is refused, as
    transparency-dev's verifier refuses it; malformed input raises InvalidInput."""
    _check_sizes(first=first, second=second)
    _check_hashes(first_root=first_root, second_root=second_root, proof=proof)
    if first == 0:
        raise InvalidInput("a consistency proof from the empty tree is meaningless: compare the roots instead")
    if not first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the old root is itself a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
