"""Tests for graphcl.datasets.wordnet: the WordNet noun table and GloVe vocabulary."""
import gzip
import json
import shutil

import pytest
import torch

from datasets_support import module_env  # noqa: F401 (fixture)
from datasets_support import wordnet_mirror as mirror  # noqa: F401 (fixture)
from graphcl.datasets import (ChecksumError, DownloadError, load_glove_vocab,
                              load_wordnet_nouns)
from graphcl.datasets import wordnet


@pytest.fixture(scope="module")
def nouns(module_env):
    return load_wordnet_nouns()


@pytest.fixture(scope="module")
def glove(module_env):
    return load_glove_vocab()


def test_noun_table_counts_and_root(nouns):
    assert len(nouns.wnids) == 82115 == len(set(nouns.wnids))
    roots = [w for w in nouns.wnids if not nouns.hypernyms[w] and not nouns.instance_hypernyms[w]]
    assert roots == ["n00001740"]
    assert "entity" in nouns.lemmas["n00001740"]
    # Every pointer stays inside the noun table.
    assert all(p in nouns.lemmas for w in nouns.wnids for p in nouns.hypernyms[w])
    assert all(p in nouns.lemmas for w in nouns.wnids for p in nouns.instance_hypernyms[w])


def test_known_synset(nouns):
    # n02084071 is dog.n.01: hypernyms canine.n.02 and domestic_animal.n.01 (NLTK's answer).
    assert nouns.lemmas["n02084071"][:2] == ["dog", "domestic_dog"]
    assert sorted(nouns.hypernyms["n02084071"]) == ["n01317541", "n02083346"]
    assert nouns.glosses["n02084071"].startswith("a member of the genus Canis")


def test_check_wnids_names_the_argument(nouns):
    nouns.check_wnids(["n02084071"])
    with pytest.raises(KeyError, match="classes: .*'n99999999'"):
        nouns.check_wnids(["n02084071", "n99999999"], argument="classes")


def test_glove_vocab(glove):
    assert len(glove.words) == 54988 == glove.vectors.shape[0]
    assert glove.vectors.shape == (54988, 50) and glove.vectors.dtype == torch.float32
    assert torch.equal(glove.lookup(["dog"])[0], glove.vectors[glove.index["dog"]])
    with pytest.raises(KeyError, match="words: 'zzzzqx'"):
        glove.lookup(["dog", "zzzzqx"])


def test_mirror_only_file_without_mirror_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("GRAPHCL_MIRROR", raising=False)
    with pytest.raises(DownloadError, match="wordnet30_nouns.json.gz.*no download URL"):
        load_wordnet_nouns()


def test_corrupt_file_is_refused(tmp_path, mirror, monkeypatch):
    root = tmp_path / "data"
    (root / "wordnet").mkdir(parents=True)
    good = mirror / wordnet.GLOVE_VOCAB
    shutil.copyfile(good, root / wordnet.GLOVE_VOCAB)
    with open(root / wordnet.GLOVE_VOCAB, "r+b") as f:
        f.truncate(good.stat().st_size // 2)
    with pytest.raises(ChecksumError, match="glove6b50d_wordnet_noun_vocab.npz"):
        load_glove_vocab(root)


def test_wrong_layout_names_the_file(tmp_path, monkeypatch):
    payload = gzip.compress(json.dumps({"wnids": ["n00001740"], "synsets": {}}).encode())
    monkeypatch.setitem(wordnet.WORDNET_FILES["wordnet"], wordnet.WORDNET_NOUNS,
                        (__import__("hashlib").sha256(payload).hexdigest(), wordnet.MIRROR_ONLY))
    (tmp_path / "wordnet").mkdir()
    (tmp_path / wordnet.WORDNET_NOUNS).write_bytes(payload)
    with pytest.raises(ValueError, match="wordnet30_nouns.json.gz: not the expected"):
        load_wordnet_nouns(tmp_path)
