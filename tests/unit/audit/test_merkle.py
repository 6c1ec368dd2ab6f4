"""RFC 6962 Merkle trees: the certificate-transparency known answers, an independent recursive
reference written from the RFC text, and properties of proofs under tampering.

Known answers: google/certificate-transparency ``src/merkletree/merkle_tree_test.cc``
(``kInputs``, ``kSHA256Roots``, ``kSHA256Paths``, ``kSHA256Proofs``; its paths count leaves
from 1, converted to 0-based indices here).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    hash_children,
    hash_leaf,
    verify_consistency,
    verify_inclusion,
)

INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
EMPTY_HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (0-based leaf index, tree size, audit path)
PATHS = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (0, 1, []),
]
# (old size, new size, consistency proof)
PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

CT_TREE = MerkleTree.from_leaves(INPUTS)


# -- reference: RFC 6962 §2.1 transcribed literally (recursive, on leaf data) ----------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return [] if m in (0, len(d)) else ref_subproof(m, d, True)


# -- known answers ---------------------------------------------------------------------------


def test_empty_tree_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == EMPTY_HEX
    assert MerkleTree([]).root().hex() == EMPTY_HEX
    assert CT_TREE.root(0).hex() == EMPTY_HEX


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_certificate_transparency(size: int) -> None:
    assert CT_TREE.root(size).hex() == ROOTS[size - 1]
    assert MerkleTree.from_leaves(INPUTS[:size]).root().hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), PATHS)
def test_audit_paths_match_certificate_transparency(index: int, size: int, path: list[str]) -> None:
    proof = CT_TREE.inclusion_proof(index, size)
    assert [p.hex() for p in proof] == path
    root = bytes.fromhex(ROOTS[size - 1])
    assert verify_inclusion(hash_leaf(INPUTS[index]), index, size, proof, root)


@pytest.mark.parametrize(("old", "new", "path"), PROOFS)
def test_consistency_proofs_match_certificate_transparency(
    old: int, new: int, path: list[str]
) -> None:
    proof = CT_TREE.consistency_proof(old, new)
    assert [p.hex() for p in proof] == path
    old_root, new_root = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    assert verify_consistency(old, new, old_root, new_root, proof)


def test_node_hash_prefixes_one() -> None:
    left, right = hash_leaf(INPUTS[0]), hash_leaf(INPUTS[1])
    assert hash_children(left, right).hex() == ROOTS[1]


# -- against the reference, every size 0..70 -------------------------------------------------

DATA = [i.to_bytes(2, "big") * (i % 3) for i in range(70)]
BIG = MerkleTree.from_leaves(DATA)


@pytest.mark.parametrize("n", range(71))
def test_matches_the_rfc_reference(n: int) -> None:
    d = DATA[:n]
    assert BIG.root(n) == ref_mth(d)
    tree = MerkleTree.from_leaves(d)
    assert tree.root() == ref_mth(d)
    for i in range(n):
        assert BIG.inclusion_proof(i, n) == ref_path(i, d)
        assert tree.inclusion_proof(i) == ref_path(i, d)
    for m in range(n + 1):
        assert BIG.consistency_proof(m, n) == ref_proof(m, d)


def test_a_large_tree_builds_without_recursion() -> None:
    tree = MerkleTree(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(5000))
    proof = tree.inclusion_proof(4321)
    assert len(proof) == 11  # 4321 sits under the 512-leaf block of 4096 + 904
    assert verify_inclusion(tree.leaf_hash(4321), 4321, 5000, proof, tree.root())


def test_rejects_bad_sizes_and_hashes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleTree([b"short"])
    with pytest.raises(ValueError, match="tree size"):
        CT_TREE.root(9)
    with pytest.raises(ValueError, match="not in a tree"):
        CT_TREE.inclusion_proof(8)
    with pytest.raises(ValueError, match="consistent"):
        CT_TREE.consistency_proof(5, 4)
    with pytest.raises(IndexError):
        CT_TREE.leaf_hash(8)


# -- properties ------------------------------------------------------------------------------


def _path_len(index: int, size: int) -> int:
    return len(ref_path(index, [b""] * size)) if index < size else -1


def _proof_len(old: int, new: int) -> int:
    return len(ref_proof(old, [b""] * new)) if old <= new else -1


def _sizes_with_another_shape(size: int, shape: Callable[[int], int], *, low: int = 0) -> list[int]:
    """Wrong sizes whose proofs have another shape (length) than ``size``'s.

    A wrong size whose proof has the same shape is caught by the root, not the proof: the
    size is bound by the signature over ``(size, root)`` (see ``audit.signing``).
    """
    return [w for w in range(low, 2 * size + 2) if w != size and shape(w) != shape(size)]


leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=40, unique=True)


@given(leaf_lists)
def test_every_inclusion_proof_verifies(leaves: list[bytes]) -> None:
    tree = MerkleTree.from_leaves(leaves)
    root, n = tree.root(), tree.size
    for i, leaf in enumerate(leaves):
        proof = tree.inclusion_proof(i)
        assert verify_inclusion(hash_leaf(leaf), i, n, proof, root)
        assert not verify_inclusion(hash_leaf(leaf + b"!"), i, n, proof, root)  # changed
        for wrong in _sizes_with_another_shape(n, partial(_path_len, i)):
            assert not verify_inclusion(hash_leaf(leaf), i, wrong, proof, root)
        if n > 1:
            assert not verify_inclusion(hash_leaf(leaf), (i + 1) % n, n, proof, root)


@given(leaf_lists, st.data())
def test_every_consistency_proof_verifies(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree.from_leaves(leaves)
    n = tree.size
    m = data.draw(st.integers(0, n), label="old size")
    proof = tree.consistency_proof(m)
    assert verify_consistency(m, n, tree.root(m), tree.root(), proof)
    if 0 < m < n:
        for wrong in _sizes_with_another_shape(n, lambda size: _proof_len(m, size)):
            assert not verify_consistency(m, wrong, tree.root(m), tree.root(), proof)
        for wrong in _sizes_with_another_shape(m, lambda size: _proof_len(size, n), low=1):
            assert not verify_consistency(wrong, n, tree.root(m), tree.root(), proof)


def _tamperings(leaves: list[bytes], m: int) -> list[list[bytes]]:
    """Ways of rewriting the first ``m`` leaves: change, drop, swap."""
    out = [[*leaves[: m - 1], leaves[m - 1] + b"!", *leaves[m:]]]  # changed
    out.append(leaves[: m - 1] + leaves[m:])  # dropped
    if m >= 2:
        swapped = list(leaves)
        swapped[m - 2], swapped[m - 1] = swapped[m - 1], swapped[m - 2]
        out.append(swapped)
    return out


@given(st.lists(st.binary(max_size=8), min_size=2, max_size=40, unique=True), st.data())
def test_a_rewritten_history_is_not_consistent(leaves: list[bytes], data: st.DataObject) -> None:
    old = MerkleTree.from_leaves(leaves)
    m = data.draw(st.integers(1, old.size - 1), label="old size")
    for rewritten in _tamperings(leaves, m):
        new = MerkleTree.from_leaves(rewritten)
        if new.size < m:
            continue
        proof = new.consistency_proof(m)
        assert not verify_consistency(m, new.size, old.root(m), new.root(), proof)


@given(leaf_lists, st.data())
def test_a_proof_from_a_tampered_tree_fails(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree.from_leaves(leaves)
    m = data.draw(st.integers(1, tree.size), label="tampered leaf")
    for rewritten in _tamperings(leaves, m):
        if not rewritten:
            continue
        forged = MerkleTree.from_leaves(rewritten)
        i = data.draw(st.integers(0, forged.size - 1), label="index")
        proof = forged.inclusion_proof(i)
        assert not verify_inclusion(forged.leaf_hash(i), i, tree.size, proof, tree.root())
