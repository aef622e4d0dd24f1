"""Registry of scene-model types: how a :class:`~nwcodec.nerf.model.SceneModel` of each
``ModelConfig.type`` builds its fields and renders a batch of rays.

``mlp``: coarse (+ fine) MLP fields, stratified + hierarchical samples over [near, far].
``kplanes``: one grid field (``field``) sampled inside the scene box; at eval time an occupancy
grid skips empty space and rays stop once opaque.
"""
from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from nwcodec.nerf.config import ModelConfig
from nwcodec.nerf.fields import KPlanesField, NeRFField
from nwcodec.nerf.occupancy import OccupancyGrid
from nwcodec.nerf.ray_samples import FieldOutputs, RaySamples
from nwcodec.nerf.renderers import render_marching, render_samples
from nwcodec.nerf.samplers import box_samples, hierarchical_samples, samples_at_depths, stratified_samples

DEFAULT_AABB = (-1.5, -1.5, -1.5, 1.5, 1.5, 1.5)
TRAIN_SKIP_AFTER = 256  # training forwards before training also skips empty space
TRAIN_SKIP_EVERY = 64  # forwards between rebuilds of the training occupancy grid
TRAIN_SKIP_THRESHOLD = 0.01  # lower than at eval: cells that may still fill keep their gradients


class ModelType(Protocol):
    def build(self, model: nn.Module, config: ModelConfig) -> None: ...

    def render(self, model: nn.Module, origins: torch.Tensor, dirs: torch.Tensor,
               generator: torch.Generator | None) -> dict[str, torch.Tensor]: ...


class MlpType:
    """Coarse (+ optional fine) NeRF MLPs."""

    def build(self, model: nn.Module, config: ModelConfig) -> None:
        model.coarse = NeRFField(config.coarse)
        model.fine = NeRFField(config.fine) if config.fine is not None else None

    def render(self, model, origins, dirs, generator):
        rc = model.config.render
        perturb = model.training
        t_c = stratified_samples(origins.shape[0], rc.n_coarse, rc.near, rc.far, perturb, origins.device, generator)
        s_c = samples_at_depths(origins, dirs, t_c, rc.far)
        out_c = render_samples(s_c, model.coarse.get_outputs(s_c), rc.far, model.background)
        if model.fine is None:
            return {"rgb": out_c["rgb"], "depth": out_c["depth"], "acc": out_c["acc"], "rgb_coarse": out_c["rgb"],
                    "acc_coarse": out_c["acc"]}
        t_f = hierarchical_samples(t_c, out_c["weights"], rc.n_fine, perturb, generator)
        s_f = samples_at_depths(origins, dirs, t_f, rc.far)
        out_f = render_samples(s_f, model.fine.get_outputs(s_f), rc.far, model.background)
        return {"rgb": out_f["rgb"], "depth": out_f["depth"], "acc": out_f["acc"], "rgb_coarse": out_c["rgb"],
                "acc_coarse": out_c["acc"]}


class KPlanesType:
    """One K-Planes field in the scene box; eval renders skip empty space and terminate early."""

    def build(self, model: nn.Module, config: ModelConfig) -> None:
        model.field = KPlanesField(config.kplanes, config.aabb or DEFAULT_AABB)
        model.fine = None
        model._occupancy = None
        model._occupancy_key = None
        model._train_grid = None
        model._train_calls = 0

    def occupancy(self, model) -> OccupancyGrid:
        """The model's occupancy grid, rebuilt whenever its weights changed (parameter versions)."""
        key = tuple((id(p), p._version) for p in model.parameters())
        if model._occupancy is None or model._occupancy_key != key:
            box = torch.cat([model.field.box_lo, model.field.box_lo + model.field.box_size])
            model._occupancy = OccupancyGrid.build(lambda p: model.field.density(p)[0], box)
            model._occupancy_key = key
        return model._occupancy

    def training_occupancy(self, model) -> OccupancyGrid | None:
        """A conservative grid refreshed every few training forwards (none during warm-up)."""
        model._train_calls += 1
        if model._train_calls < TRAIN_SKIP_AFTER:
            return None
        if model._train_grid is None or model._train_calls % TRAIN_SKIP_EVERY == 0:
            box = torch.cat([model.field.box_lo, model.field.box_lo + model.field.box_size])
            with torch.no_grad():
                model._train_grid = OccupancyGrid.build(lambda p: model.field.density(p)[0], box,
                                                        threshold=TRAIN_SKIP_THRESHOLD)
        return model._train_grid

    def render(self, model, origins, dirs, generator):
        rc = model.config.render
        field: KPlanesField = model.field
        box = torch.cat([field.box_lo, field.box_lo + field.box_size])
        samples = box_samples(origins, dirs, box, rc.near, rc.far, rc.n_coarse, model.training, generator)
        if model.training:
            train_grid = self.training_occupancy(model)
            if train_grid is not None:
                samples.valid = samples.valid & train_grid.query(samples.frustums.positions().detach())
            out = render_samples(samples, field.get_outputs(samples), rc.far, model.background)
            return {"rgb": out["rgb"], "depth": out["depth"], "acc": out["acc"], "rgb_coarse": out["rgb"],
                    "acc_coarse": out["acc"]}
        grid = self.occupancy(model)

        def query(sub: RaySamples) -> FieldOutputs:
            sub.valid = sub.valid & grid.query(sub.frustums.positions())
            return field.get_outputs(sub)

        out = render_marching(samples, query, rc.far, model.background)
        return {**out, "rgb_coarse": out["rgb"]}


MODEL_TYPES: dict[str, ModelType] = {"mlp": MlpType(), "kplanes": KPlanesType()}
