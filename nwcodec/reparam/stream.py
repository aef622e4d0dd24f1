"""Code a trained EPR model: per group, the entropy model's integer table when it wins, else the
empirical table with a note saying why; returns the stream and what each group cost."""
from __future__ import annotations

from dataclasses import dataclass

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
    table: str                 # "prior" or "empirical"
    prior_bits: float          # expected payload bits (segments) under the entropy model's table
    prior_table_bits: int
    empirical_bits: float
    empirical_table_bits: int

    @property
    def coded_bits(self) -> float:
        """Payload bits of the table written."""
        return self.prior_bits if self.table == "prior" else self.empirical_bits


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
    for key, arrays in _group_arrays(latents).items():
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
    return chosen, costs, table_note(costs)


def table_note(costs: list[GroupCost]) -> list[str]:
    """The stream's note on the tables: none when every group's learned prior won, else one line
    naming how many groups took the empirical table and what the priors' tables would have cost."""
    lost = [c for c in costs if c.table == "empirical"]
    if not lost:
        return []
    prior = sum(c.prior_bits + c.prior_table_bits for c in lost) / 8
    emp = sum(c.empirical_bits + c.empirical_table_bits for c in lost) / 8
    return [f"empirical table in {len(lost)} of {len(costs)} latent groups, priors' tables {100 * (prior / emp - 1):.1f} % more"
            f" ({prior:.0f} B vs {emp:.0f} B)"]


def encode_model(model: nn.Module, meta: dict | None = None) -> tuple[bytes, list[GroupCost], list[str]]:
    """The ``.nwc`` stream of a reparameterized model, its per-group costs and notes."""
    latents, specs, plain = export_latents(model)
    chosen, costs, notes = choose_group_tables(model, latents, specs)
    data = encode_latent_model(latents, chosen, plain, meta=meta, notes=notes)
    return data, costs, notes
