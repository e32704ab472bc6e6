"""What the settings describe: the dataset and its splits, the model and its size, the device,
the precision and the threads. Built from the registries, so a new dataset or model family
shows here without a change. It needs torch (to build the model and count it), so until
torch is loaded it shows the preset's name."""

from __future__ import annotations

from textual.widgets import Static

from ...config import Config


class InfoPanel(Static):
    def show(self, config: Config, threads: int, torch_loaded: bool) -> None:
        if not torch_loaded:
            self.update(f"[b]{config.name}[/]  loading torch…")
            return
        from ...data import DatasetError, dataset_spec, dataset_state, planned_mode, split_sizes
        from ...engine.precision import SetupError, resolve_device, resolve_precision
        from ...errors import UserError
        from ...models import build_model, count_parameters, layer_counts

        try:
            spec = dataset_spec(config.data)
        except DatasetError as exc:
            self.update(f"[b]{config.name}[/]  {config.data.dataset}: [red]{exc}[/]")
            return
        state = dataset_state(config.data)
        try:
            model = build_model(spec, config)
        except UserError as exc:
            self.update(f"[b]{config.name}[/]  {spec.name} {spec.shape_text}, {state}\n[red]{exc}[/]")
            return
        train_n, val_n, test_n = split_sizes(config.data, spec)
        try:
            device = resolve_device(config.train.device)
            mode = planned_mode(config.data, spec, device)
            precision = resolve_precision(config, device).name
        except SetupError as exc:
            device, precision, mode = config.train.device, f"[red]{exc}[/]", ""
        self.update(
            f"[b]{config.name}[/]  {spec.name} {spec.shape_text}→{spec.num_classes}  "
            f"{train_n:,}/{val_n:,}/{test_n:,} train/val/test  ({state})\n"
            f"{config.model.kind.upper()} {count_parameters(model):,} params  on [b]{device}[/] "
            f"[b]{precision}[/]  {threads} thread(s)  {mode}\n"
            f"[dim]{layer_counts(model)}[/]"
        )
