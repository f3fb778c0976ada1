"""The Evidence Inference files the evidence-recommendation task is built from.

Upstream: jayded/evidence-inference, pinned to :data:`EVIDENCE_COMMIT` (MIT).
``titles_abstracts_all.jsonl`` is derived from upstream ``annotations/abstracts/``
(see ``datasets/evidence.md``); it exists only in the mirror
(``$GRAPHCL_MIRROR``), so its URL is :data:`~graphcl.datasets._files.MIRROR_ONLY`:
a missing copy raises ``DownloadError`` saying where to put it, rather than
downloading a web page that fails its checksum.
"""
from __future__ import annotations

from typing import Dict

from graphcl.datasets._files import MIRROR_ONLY, FileTable

EVIDENCE_COMMIT = "b9831b6c59b52ac2d277f757d413ececf0949a8d"
_RAW = f"https://raw.githubusercontent.com/jayded/evidence-inference/{EVIDENCE_COMMIT}/"

PROMPTS_FILE = "evidence/evidence_inference/annotations/prompts_merged.csv"
ABSTRACTS_FILE = "evidence/evidence_inference/titles_abstracts_all.jsonl"
LICENSE_FILE = "evidence/evidence_inference/LICENSE.jayded-evidence-inference.txt"

#: ``{dataset name: {relative path: (sha256, url)}}``; the card
#: ``datasets/evidence.md`` repeats this table and a test keeps them equal.
EVIDENCE_FILES: Dict[str, FileTable] = {
    "evidence": {
        PROMPTS_FILE: ("0d70d9e1e78d113fdbbd4919310eab7768d6a328368f7d8f9d5a3b48f99c25d3",
                       _RAW + "annotations/prompts_merged.csv"),
        ABSTRACTS_FILE: ("662d3f63a1abd7eed6420f2c80f9a9b3011965975b0f228d16f31e7618174008",
                         MIRROR_ONLY),
        LICENSE_FILE: ("f76b1ceb8940c3717c3658d56d799af405355786b638683f68b9754a7fc77089",
                       _RAW + "LICENSE"),
    },
}
