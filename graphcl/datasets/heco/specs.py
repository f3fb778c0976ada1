"""The layout of HeCo's dataset folders: node types, metapaths, files and their sha256.

Each dataset (ACM, DBLP, AMiner, Freebase) is one declarative :class:`HeCoSpec`
in :data:`HECO_SPECS`; :data:`HECO_FILES` is the registry table of the datasets
whose hashes are all known. The raw files are those of liun-online/HeCo
(``data/<dataset>/``), pinned to :data:`HECO_COMMIT`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

from graphcl.datasets._files import ChecksumError, FileTable

HECO_COMMIT = "20e8ca2042838877b2c815279920218b6bbea1db"
_HECO_URL = f"https://raw.githubusercontent.com/liun-online/HeCo/{HECO_COMMIT}/data/{{}}/{{}}"

#: Label rates of the shipped splits: ``train_idx_{r}``, ``val_idx_{r}``, ``test_idx_{r}``.
SPLIT_RATIOS = (20, 40, 60)


class MissingChecksumError(ChecksumError):
    """A file has no known sha256, so it may not be read (pin one with ``checksums=``)."""


@dataclass(frozen=True, eq=False)  # identity equality: the dict fields are unhashable
class HeCoSpec:
    """Declarative layout of one HeCo dataset folder.

    Attributes:
        name: Dataset name, also the folder ``heco/<name>/``.
        node_types: ``(type, letter, number of nodes)`` in the reference's
            order, target type first. The letter is the one used in file names
            (``pa.txt``, ``nei_a.npy``, metapath ``pap``).
        num_classes: Number of classes of the target type.
        metapaths: Metapath file stems in the order the reference uses them.
        schema_types: Neighbour types of the network-schema view, in order.
        features: ``{type: feature file}`` for the types whose raw features the
            reference uses; every other type in ``[target] + schema_types`` is
            one-hot (identity) in the model.
        relations: Relation-list stems (``<s><t>.txt``, ``s`` first).
        files: ``{file name: sha256 or None}`` for every file of the folder;
            ``None`` means the hash is unknown and must be pinned by the user.
        regenerable: Metapath files that are rebuilt from the relation lists
            when neither the data root nor the mirror has them.
    """

    name: str
    node_types: Tuple[Tuple[str, str, int], ...]
    num_classes: int
    metapaths: Tuple[str, ...]
    schema_types: Tuple[str, ...]
    features: Mapping[str, str]
    relations: Tuple[str, ...]
    files: Mapping[str, Optional[str]] = field(repr=False)
    regenerable: Tuple[str, ...] = ()

    @property
    def target(self) -> str:
        """The target node type (the one with labels and positives)."""
        return self.node_types[0][0]

    @property
    def num_nodes(self) -> Dict[str, int]:
        """``{type: number of nodes}``."""
        return {t: n for t, _, n in self.node_types}

    @property
    def letters(self) -> Dict[str, str]:
        """``{type: file-name letter}``."""
        return {t: letter for t, letter, _ in self.node_types}

    def relative_path(self, file: str) -> str:
        """Path of a file under the data root and the mirror."""
        return f"heco/{self.name}/{file}"

    def url(self, file: str) -> str:
        """The file's upstream URL, pinned to :data:`HECO_COMMIT`."""
        return _HECO_URL.format(self.name, file)

    def required_files(self) -> List[str]:
        """The files :func:`~graphcl.datasets.heco.load_heco` reads, in reading order."""
        letters = self.letters
        out = ["labels.npy"]
        out += [self.features[t] for t, _, _ in self.node_types if t in self.features]
        out += [f"{m}.npz" for m in self.metapaths]
        out += [f"nei_{letters[t]}.npy" for t in self.schema_types]
        out.append("pos.npz")
        out += [f"{kind}_{r}.npy" for r in SPLIT_RATIOS for kind in ("train", "val", "test")]
        return out

    def file_table(self) -> FileTable:
        """``{relative path: (sha256, url)}`` for the registry (all hashes known)."""
        unknown = [f for f, sha in self.files.items() if sha is None]
        if unknown:
            raise MissingChecksumError(f"heco/{self.name} has files without a known sha256: {unknown}")
        return {self.relative_path(f): (sha, self.url(f)) for f, sha in sorted(self.files.items())}


def _split_files() -> List[str]:
    return [f"{kind}_{r}.npy" for kind in ("train", "val", "test") for r in SPLIT_RATIOS]


HECO_SPECS: Dict[str, HeCoSpec] = {
    "acm": HeCoSpec(
        name="acm",
        node_types=(("paper", "p", 4019), ("author", "a", 7167), ("subject", "s", 60)),
        num_classes=3,
        metapaths=("pap", "psp"),
        schema_types=("author", "subject"),
        features={"paper": "p_feat.npz"},
        relations=("pa", "ps"),
        files={
            "a_feat.npz": "e2f2ac8d357310149fc7badbf32ea0b171dec25aad6c37ec45de592666c65555",
            "labels.npy": "019284b3e6a58fc8ebd432fb99aaaf183ad41dbf56b8ca7af0b56dca9dd844b5",
            "nei_a.npy": "1b60e195f2d3a7ead0b591f4ca1b25c5e048390decb37362a828780c4d761c05",
            "nei_s.npy": "c0c4b7fe18b569384e47a582e0656bd17eb8994a0835d51bac121bfb98a2663d",
            "p_feat.npz": "9e1019dfceaaabb19ee5b5f09de3147ffbaa818b43c3fc3f92bdfaf4ed5f02f4",
            "pa.txt": "e67385fc13c3b3b624d81de7eb6e4245d9aeafa063c5466c6fab0f151bcb84d6",
            "pap.npz": "3f25894497558f74356448f1a504c946efef9f23e7beb74d38bc9ecf95a4dbb6",
            "pos.npz": "d683afe2d8cad6b5d99724f027a03bf82a078ecf8835e8e9cb58a7962127e642",
            "ps.txt": "3da7615ef5567c5f7f1ab9ec770c4b4b8b6a54790baa1cda3d4499329dfc22d5",
            "psp.npz": "cd25669b884825155487308c7d4adb42d99edbc843215438219ad551f86c8f3e",
            "test_20.npy": "eb90e38c882009c6439d749d160d39ed64f8813e9f672c02be54993914934afa",
            "test_40.npy": "f73d7e23459dd654a7567ee8bf123849f400096f8fac558dc37033d3fdc11aa6",
            "test_60.npy": "5181ccdeacc54b88ed53681ba9f2c789cc6d67a499f40a68ac6827a96932b976",
            "train_20.npy": "6bf4c1cef638f3ffe1826091b9be7fbff23a4935dfbde03c24b492d264d67684",
            "train_40.npy": "98239282e69e9775a9b13bc54598cc780eca31dcaeb81963efbbd4c6c3e51435",
            "train_60.npy": "5b86f56415b84d1faa8c8f864cd37272589ec4ffff1b0ca347d4c39ee38dcc02",
            "val_20.npy": "4280dccb661a50196502a39973a462919399fcfcd97b1d43581dfa9ca02d1b5d",
            "val_40.npy": "19fb1e72b76bc24da95423d1a83583a42fe5b62d69b2b197312f630ff5096202",
            "val_60.npy": "e234b6c1e19445ed6cc3694a273b943bbded8e847a9d0246f18d59f76fb8cd5d",
        },
    ),
    "dblp": HeCoSpec(
        name="dblp",
        # Term and conference only enter through APTPA and APCPA.
        node_types=(("author", "a", 4057), ("paper", "p", 14328), ("term", "t", 7723),
                    ("conference", "c", 20)),
        num_classes=4,
        metapaths=("apa", "apcpa", "aptpa"),
        schema_types=("paper",),
        features={"author": "a_feat.npz"},
        relations=("pa", "pc", "pt"),
        files={
            "a_feat.npz": "997876bf8d90d29fdb90bf4801a9909893a9ee5646a85aeca079ce167595ec41",
            "apa.npz": "db86d949728d422cf388741d3cd80280e0ab79ac27242b3d0a0a0635a476a3bb",
            "apcpa.npz": "25181174771506d9636daae4eb98fe048c61654cd1280cf35315c7c4adde0f56",
            "aptpa.npz": "cce71e2f778265bdd71839ea902a2aac2283d897d6d9fca8a180fd7c7a260192",
            "labels.npy": "817efdc3ebb9e96067b8770dad5894b06ecabde2ac95d4b17443985f0439fda7",
            "nei_p.npy": "f195754f35a26d18222c0124c85d6aa238e7a1ae4f6089cc664ec616e403f9ab",
            "p_feat.npz": "99c3d1836c44cda016f790d1cdbcc76fed729e48b9e2a9332eac145960716d9f",
            "pa.txt": "94cf38a92733d21664f55907305773bb6fb90dd9d1579392517596488f061382",
            "pc.txt": "316182e11f19fddfc3a01ebd6541134a7c3931ee62262e638be607bb3f9768e4",
            "pos.npz": "593aba2899e5ae6e70da9943fc7e55fd07bfc7ad9bb92755fbd10f41ac979632",
            "pt.txt": "78f3d6f9a528ed112a2d29bd2a672cdf13a03779a87ce89856e6a622eda280b8",
            "t_feat.npz": "462ea84b5eebfd4883910d0d15afff53e960ae8a80d7d62591f86a8d61fb5467",
            "test_20.npy": "a7fc6b67e477df8301915065b116fb7742d99f28323a2bf8bcb57663a2d5c490",
            "test_40.npy": "9af7116d1d11e656e4fc64dc11601353a3f37cad8fb9ffe8d71cf16d7e2a7ca6",
            "test_60.npy": "52122be025ae02256f82376bc62d1ba74083a4473a211e89a1389d67ca6e68bb",
            "train_20.npy": "85f0e91265931c8b1433ed7bd04e7e8f4c8c4246784d4443c147d6f24cccc709",
            "train_40.npy": "82cead2b36410b52729e2034c0e75de55779e718e4a35f7cc0a31b25526d8c2b",
            "train_60.npy": "47086d378beda443b1a2aa1bb2d681e5a6d2b3e819a3e9850e365ea1f8f9b819",
            "val_20.npy": "6c06b017a4c45c7cd9d01c67fb409336ddcd5c076edb9c90792cc2d027565d38",
            "val_40.npy": "b4c0b94ed81eeb28fe9bf6dd4a057de9093aa512caf4197165a2634568e7b2d5",
            "val_60.npy": "7ba309a9daec8bd5d92e217cecc6a22d8547b7b0193a8a30855fffd41636cec6",
        },
        # The pinned aptpa.npz is a regenerated file, not the upstream blob.
        regenerable=("aptpa",),
    ),
    "aminer": HeCoSpec(
        name="aminer",
        node_types=(("paper", "p", 6564), ("author", "a", 13329), ("reference", "r", 35890)),
        num_classes=4,
        metapaths=("pap", "prp"),
        schema_types=("author", "reference"),
        features={},
        relations=("pa", "pr"),
        files={
            "labels.npy": "51a0500d6f74ee8745fc2d0f85c38dcdba064878980b890d5a347f29d68b531d",
            "nei_a.npy": "69a0cc596ed1c6d16e7da32921db4c693279351d75bbb5a3bcc2f58513f319d1",
            "nei_r.npy": "568ad58013e0e491b42e5b07e102cb25cc17253c45eb00029615c29133ef513c",
            "pa.txt": "6e644c162db67840a414483890fe052fafa4deb4a3c5fa5a31e9bf7d87236885",
            "pap.npz": "058b211cfb6bcf130a9cf6b1c1e338d8fabf09cd8ef5888f7d7ba7064deef825",
            "pos.npz": "90d51988c0b086e04bcd399efda5779c80cded0a9b39ed068cb85e623ea8db00",
            "pr.txt": "04238431ee02107b88883b689c9920d77a5a718aca39b85cf7aa77f77aad1e5f",
            "prp.npz": "4f63835c4b0a7d8e62beb78823d5d3ec906ce49d2ed51f54450a8edbdc471303",
            "test_20.npy": "78a07809ebe756e471ad076b09847fbc87baf2813afab5d5a7888f1d7fa5edbd",
            "test_40.npy": "6317d3a093fccec5c5daa3c4dd196c2281c9735d0d8204d38069bb5588415d79",
            "test_60.npy": "0849876c17c16b23b64d7a7bf044ab7ae1012f5d18832583bd854af5d9dd5705",
            "train_20.npy": "609d9d70352f3a3db56a6c3e0ea97a2a5b8d943494b284fc61e747e00cc3c04e",
            "train_40.npy": "8c96436b60a5b43cbda238a8c3bea7ace6d43e17652f3d8d81bf4effcfe15e36",
            "train_60.npy": "99a1d9510d177e6f68b68c7ffc4e69d7cb6118c53e8d343ac48ef4eeb2ae6ed5",
            "val_20.npy": "5ac76f040e62102026bc4202328b708fe8a6a1b8c99119d78eadbe7494db5eb8",
            "val_40.npy": "b91f42687b34b6d306dcbb94b7cd5b9428dceaf2e4fe391d9b86a92ba2a94b4d",
            "val_60.npy": "74fa03079f8117223a845764de01d66139ea9767385f8cfc58cc6d9b0d7cc65c",
        },
    ),
    # Layout from the HeCo reference and the upstream file list of
    # data/freebase/; the files are not in this release's data, so no hash is
    # known (None) and the user must pin them before anything is read.
    "freebase": HeCoSpec(
        name="freebase",
        node_types=(("movie", "m", 3492), ("director", "d", 2502), ("actor", "a", 33401),
                    ("writer", "w", 4459)),
        num_classes=3,
        metapaths=("mdm", "mam", "mwm"),
        schema_types=("director", "actor", "writer"),
        features={},
        relations=("md", "ma", "mw"),
        files={f: None for f in ["labels.npy", "ma.txt", "mam.npz", "md.txt", "mdm.npz", "mw.txt",
                                 "mwm.npz", "nei_a.npy", "nei_d.npy", "nei_w.npy", "pos.npz",
                                 *_split_files()]},
    ),
}

#: Registry tables of the datasets whose hashes are all pinned, keyed like
#: their cards ``datasets/heco_<name>.md``.
HECO_FILES: Dict[str, FileTable] = {
    f"heco_{name}": spec.file_table()
    for name, spec in HECO_SPECS.items() if all(sha is not None for sha in spec.files.values())
}


def heco_spec(name: str) -> HeCoSpec:
    """The :class:`HeCoSpec` of a dataset.

    Args:
        name: ``"acm"``, ``"dblp"``, ``"aminer"`` or ``"freebase"`` (case-insensitive).

    Returns:
        The dataset's spec.

    Raises:
        ValueError: Unknown name.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in HECO_SPECS:
        raise ValueError(f"unknown HeCo dataset {name!r}; expected one of {sorted(HECO_SPECS)} "
                         f"(case-insensitive)")
    return HECO_SPECS[key]



__all__ = ["HECO_COMMIT", "HECO_SPECS", "HECO_FILES", "SPLIT_RATIOS", "HeCoSpec",
           "MissingChecksumError", "heco_spec"]
