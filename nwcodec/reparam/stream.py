"""Code a trained EPR model: per group, the entropy model's integer table when it wins, else the
empirical table with a note saying why; returns the stream and what each group cost."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from nwcodec.codec import encode_latent_model
from nwcodec.codec.encoder import DEFAULT_SEGMENT
from nwcodec.codec.latent_spec import LatentTensor, PriorSpec
from nwcodec.entropy.choose import choose_table, payload_bits, table_bits
from nwcodec.reparam.export import export_latents
from nwcodec.reparam.model_reparam import priors_of


@dataclass
class GroupCost:
    """One latent group: which table was written and the exact bits of both candidates."""

    group: str
    numel: int
    zeros: int
    table: str                 # "prior", "empirical" or "shared" (one empirical table for the small groups)
    prior_bits: float          # expected payload bits (segments) under the entropy model's table
    prior_table_bits: int
    empirical_bits: float
    empirical_table_bits: int
    shared_bits: float = 0.0   # payload bits under the shared table (when ``table == "shared"``)
    shared_table_bits: int = 0  # the shared table's description, counted on its first group only

    @property
    def coded_bits(self) -> float:
        """Payload bits of the table written."""
        return {"prior": self.prior_bits, "empirical": self.empirical_bits, "shared": self.shared_bits}[self.table]

    @property
    def written_table_bits(self) -> int:
        """Description bits of the table written (a shared table counts once, on its first group)."""
        return {"prior": self.prior_table_bits, "empirical": self.empirical_table_bits,
                "shared": self.shared_table_bits}[self.table]

    @property
    def own_total(self) -> float:
        """Table + payload bits of the group's own (prior or empirical) choice."""
        return (self.prior_table_bits + self.prior_bits if self.table == "prior"
                else self.empirical_table_bits + self.empirical_bits)


def _group_arrays(latents: list[LatentTensor]) -> dict[str, list[np.ndarray]]:
    groups: dict[str, list[np.ndarray]] = {}
    for lt in latents:
        groups.setdefault(lt.prior, []).append(np.asarray(lt.latent, dtype=np.int64).ravel())
    return groups


def choose_group_tables(model: nn.Module, latents: list[LatentTensor],
                        specs: dict[str, PriorSpec]) -> tuple[dict[str, PriorSpec], list[GroupCost], list[str]]:
    """Per group, the cheaper (table + payload bits) of the entropy model's table and the
    empirical one; returns specs carrying the chosen table, the costs, and the stream's notes
    (:func:`table_note`: one line, so that a model of many groups does not pay for many)."""
    ems = priors_of(model)
    chosen, costs = {}, []
    groups = _group_arrays(latents)
    for key, arrays in groups.items():
        values = np.concatenate(arrays)
        prior_desc = ems[key].coded_table(values)
        emp_desc = choose_table(values, max_alphabet=ems[key].max_alphabet)
        prior_payload = ems[key].payload_bits(arrays, prior_desc)
        emp_payload = payload_bits(emp_desc, arrays, DEFAULT_SEGMENT)
        prior_total, emp_total = table_bits(prior_desc) + prior_payload, table_bits(emp_desc) + emp_payload
        use_prior = prior_total <= emp_total
        costs.append(GroupCost(key, int(values.size), int((values == 0).sum()), "prior" if use_prior else "empirical",
                               prior_payload, table_bits(prior_desc), emp_payload, table_bits(emp_desc)))
        chosen[key] = PriorSpec(pmf=specs[key].pmf, lo=specs[key].lo, table=prior_desc if use_prior else emp_desc)
    _share_small_groups(groups, costs, chosen, ems)
    return chosen, costs, table_note(costs)


SMALL_GROUP = 4096  # groups with fewer latents may share one empirical table (biases, small kernels)
SHARE_GROUP = 65536  # groups up to this size may join a shared table when the greedy search finds it cheaper
MAX_SHARE_GROUPS = 64  # beyond this many candidate groups only the small ones are pooled, all or none
TABLE_CHUNK_BITS = 8 * 12  # a TABL chunk's framing (length, type, CRC), paid once per table written


def _share_small_groups(groups: dict[str, list[np.ndarray]], costs: list[GroupCost],
                        chosen: dict[str, PriorSpec], ems: dict) -> None:
    """Let groups share one empirical table of their union where that costs fewer bits in total
    (description and chunk framing once + the members' payloads) than their own tables; edits in place.

    Greedy, smallest group first: each group joins the existing pool it saves most bits in, or keeps its
    own table. Only groups under ``SHARE_GROUP`` latents take part (large groups pay for their own table)."""
    cand = sorted((c for c in costs if c.numel < SHARE_GROUP), key=lambda c: c.numel)
    if len(cand) > MAX_SHARE_GROUPS:
        cand = [c for c in cand if c.numel < SMALL_GROUP]
        pools = [_pool(cand, groups, ems)] if len(cand) >= 2 else []
        pools = [p for p in pools if p[2] < sum(c.own_total + TABLE_CHUNK_BITS for c in cand)]
    else:
        pools = []   # (members, description, total bits incl. framing)
        for c in cand:
            own = c.own_total + TABLE_CHUNK_BITS
            best, best_gain = None, 0.0
            for k, (members, _, bits) in enumerate(pools):
                merged = _pool(members + [c], groups, ems)
                gain = bits + own - merged[2]
                if gain > best_gain:
                    best, best_gain = (k, merged), gain
            if best is None:
                pools.append(([c], None, own))
            else:
                pools[best[0]] = best[1]
    for members, desc, _ in pools:
        if len(members) < 2:
            continue
        for i, c in enumerate(members):
            c.table, c.shared_table_bits = "shared", table_bits(desc) if i == 0 else 0
            c.shared_bits = payload_bits(desc, groups[c.group], DEFAULT_SEGMENT)
            chosen[c.group] = PriorSpec(pmf=chosen[c.group].pmf, lo=chosen[c.group].lo, table=desc)


def _pool(members: list[GroupCost], groups: dict[str, list[np.ndarray]], ems: dict) -> tuple:
    """``members`` under one empirical table of their union: (members, description, total bits)."""
    values = np.concatenate([a for c in members for a in groups[c.group]])
    desc = choose_table(values, max_alphabet=max(ems[c.group].max_alphabet for c in members))
    bits = table_bits(desc) + TABLE_CHUNK_BITS + sum(payload_bits(desc, groups[c.group], DEFAULT_SEGMENT)
                                                      for c in members)
    return members, desc, bits


def table_note(costs: list[GroupCost]) -> list[str]:
    """The stream's note on the tables: none when every group's learned prior won, else one line
    naming how many groups took the empirical table and what the priors' tables would have cost."""
    lost = [c for c in costs if c.table != "prior"]
    if not lost:
        return []
    prior = sum(c.prior_bits + c.prior_table_bits for c in lost) / 8
    emp = sum(c.coded_bits + c.written_table_bits for c in lost) / 8
    return [f"empirical tables in {len(lost)}/{len(costs)} latent groups; priors' {100 * (prior / emp - 1):+.1f} %"
            f" ({prior:.0f} B vs {emp:.0f} B)"]


def encode_model(model: nn.Module, **options: Any) -> tuple[bytes, list[GroupCost], list[str]]:
    """The ``.nwc`` stream of a reparameterized model, its per-group costs and notes (``options``:
    :func:`~nwcodec.codec.encode_latent_model`'s ``meta``, ``segment_size``, ``kind``, ...)."""
    latents, specs, plain = export_latents(model)
    chosen, costs, notes = choose_group_tables(model, latents, specs)
    data = encode_latent_model(latents, chosen, plain, notes=notes, **options)
    return data, costs, notes
