"""RFC 6962 Merkle trees: tree heads, inclusion proofs and consistency proofs.

Hashing follows RFC 6962 §2.1 (SHA-256): a leaf is ``SHA-256(0x00 || data)``, an interior node
``SHA-256(0x01 || left || right)``, the empty tree ``SHA-256("")``, and a tree of ``n > 1``
leaves splits at the largest power of two smaller than ``n``.  Proofs are the audit paths of
§2.1.1 and the consistency proofs of §2.1.2; their verification is RFC 9162 §2.1.3.2 / §2.1.4.2.

:class:`MerkleTree` builds its levels bottom-up once (O(n)), then answers ``root``,
``inclusion_proof`` and ``consistency_proof`` for any tree size up to ``n`` without recursion:

* Pairing nodes level by level, and carrying an odd last node up unchanged, gives exactly the
  RFC tree, because every RFC split puts a *complete* power-of-two subtree on the left.  So a
  complete subtree ``[i·2^k, (i+1)·2^k)`` is ``levels[k][i]``.
* Every other subtree the RFC recursion meets for a tree of size ``m`` is a suffix
  ``[p, m)`` where ``p`` is a boundary of ``m``'s binary decomposition; those ``O(log m)``
  suffix hashes are folded once per query, so a proof costs O(log n) hashes.

Levels are stored as contiguous ``bytes`` (32 bytes per node): two siblings are one slice,
and a million leaves take 64 MB instead of two million Python objects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF = b"\x00"
_NODE = b"\x01"


def hash_leaf(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one leaf (RFC 6962 §2.1)."""
    return hashlib.sha256(_LEAF + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return hashlib.sha256(_NODE + left + right).digest()


class MerkleTree:
    """An immutable RFC 6962 tree over a list of leaf hashes.

    Args:
        leaf_hashes: the leaves' hashes (:func:`hash_leaf` of each leaf's data), in order.

    Raises:
        ValueError: a leaf hash is not 32 bytes.
    """

    __slots__ = ("_levels", "_size")

    def __init__(self, leaf_hashes: Iterable[bytes]) -> None:
        hashes = list(leaf_hashes)
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError("every leaf hash must be 32 bytes")
        self._size = len(hashes)
        level = b"".join(hashes)
        levels = [level]
        while len(level) > HASH_SIZE:
            count = len(level) // HASH_SIZE
            sha, pair = hashlib.sha256, 2 * HASH_SIZE
            parents = [
                sha(_NODE + level[i : i + pair]).digest()
                for i in range(0, (count - 1) * HASH_SIZE, pair)
            ]
            if count % 2:  # the odd last node is carried up unchanged (it has no sibling yet)
                parents.append(level[-HASH_SIZE:])
            level = b"".join(parents)
            levels.append(level)
        self._levels = levels

    @classmethod
    def from_leaves(cls, leaves: Iterable[bytes]) -> MerkleTree:
        """The tree over the leaves' data (each is hashed with :func:`hash_leaf`)."""
        return cls(hash_leaf(d) for d in leaves)

    @property
    def size(self) -> int:
        """The number of leaves."""
        return self._size

    def leaf_hash(self, index: int) -> bytes:
        """The hash of leaf ``index`` (0-based).

        Raises:
            IndexError: no such leaf.
        """
        if not 0 <= index < self._size:
            raise IndexError(f"leaf {index} is not in a tree of {self._size}")
        return self._node(0, index)

    def leaf_hashes(self) -> list[bytes]:
        """Every leaf hash, in order."""
        return [self._node(0, i) for i in range(self._size)]

    def root(self, size: int | None = None) -> bytes:
        """The Merkle Tree Hash of the first ``size`` leaves (all of them by default).

        Raises:
            ValueError: ``size`` is negative or larger than the tree.
        """
        m = self._check_size(size)
        if m == 0:
            return EMPTY_ROOT
        return _Suffixes(self, m).hash(0)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path of leaf ``index`` in the tree of the first ``size`` leaves.

        The path runs from the leaf's sibling up to the root's children (RFC 6962 §2.1.1).

        Raises:
            ValueError: ``size`` is out of range, or ``index`` is not below it.
        """
        m = self._check_size(size)
        if not 0 <= index < m:
            raise ValueError(f"leaf {index} is not in a tree of {m}")
        suffixes = _Suffixes(self, m)
        path: list[bytes] = []
        start, end = 0, m  # the subtree being descended, as leaf range [start, end)
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                path.append(self._subtree(start + k, end, suffixes))
                end = start + k
            else:
                path.append(self._subtree(start, start + k, suffixes))
                start += k
        path.reverse()  # collected root-down; the RFC path is leaf-up
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """The proof that the first ``old_size`` leaves are a prefix of the first ``new_size``.

        Follows SUBPROOF of RFC 6962 §2.1.2; empty when ``old_size`` is 0 or equals ``new_size``.

        Raises:
            ValueError: the sizes are out of range or ``old_size > new_size``.
        """
        n = self._check_size(new_size)
        if not 0 <= old_size <= n:
            raise ValueError(f"cannot prove {old_size} leaves consistent with {n}")
        if old_size in (0, n):
            return []
        suffixes = _Suffixes(self, n)
        proof: list[bytes] = []
        m, start, end, whole = old_size, 0, n, True  # SUBPROOF(m, D[start:end], whole)
        while m != end - start:
            k = _split(end - start)
            if m <= k:
                proof.append(self._subtree(start + k, end, suffixes))
                end = start + k
            else:
                proof.append(self._subtree(start, start + k, suffixes))
                m -= k
                start += k
                whole = False  # the old root is no longer a node of this subtree
        if not whole:
            proof.append(self._subtree(start, end, suffixes))
        proof.reverse()
        return proof

    # -- internals -------------------------------------------------------------------------

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self._size
        if not 0 <= size <= self._size:
            raise ValueError(f"tree size {size} is not within 0..{self._size}")
        return size

    def _node(self, level: int, index: int) -> bytes:
        offset = index * HASH_SIZE
        return self._levels[level][offset : offset + HASH_SIZE]

    def _subtree(self, start: int, end: int, suffixes: _Suffixes) -> bytes:
        """MTH of leaves ``[start, end)``: a complete aligned subtree or a suffix of the tree."""
        width = end - start
        if width & (width - 1) == 0:  # a power of two: complete, so stored exactly
            return self._node(width.bit_length() - 1, start // width)
        return suffixes.hash(start)


class _Suffixes:
    """The hashes of the suffixes ``[p, m)`` of a tree of ``m`` leaves, for every boundary ``p``
    of ``m``'s binary decomposition (the only incomplete subtrees the RFC recursion meets)."""

    __slots__ = ("_hashes",)

    def __init__(self, tree: MerkleTree, m: int) -> None:
        # Complete subtrees left to right: m = 2^a + 2^b + ... with a > b > ...
        parts: list[tuple[int, bytes]] = []
        start = 0
        for bit in reversed(range(m.bit_length())):
            width = 1 << bit
            if m & width:
                parts.append((start, tree._node(bit, start >> bit)))
                start += width
        self._hashes: dict[int, bytes] = {}
        acc = b""
        for start, node in reversed(parts):  # fold from the right: MTH = H(left, MTH(rest))
            acc = node if not acc else hash_children(node, acc)
            self._hashes[start] = acc

    def hash(self, start: int) -> bytes:
        return self._hashes[start]


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows leaf ``index`` with ``leaf_hash`` in the tree ``(size, root)``.

    The algorithm of RFC 9162 §2.1.3.2.
    """
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            if not fn & 1:  # a right-edge node with no sibling at this level: skip levels
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree ``(old_size, old_root)`` is a prefix of
    ``(new_size, new_root)``.

    The algorithm of RFC 9162 §2.1.4.2; the empty tree is a prefix of every tree (with an
    empty proof).
    """
    if not 0 <= old_size <= new_size:
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a complete subtree: its root is the path's start
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
