"""Experiments: many runs of one preset, each an ordinary run folder under one parent folder with
a JSON index. Sweeps (:mod:`.sweep`), ablations (:mod:`.ablate`) and labs (:mod:`.labs`) plan
their runs (:mod:`.plan`); :mod:`.trials` trains them, in local processes or on Ray, each
through the launcher; :mod:`.pruning` stops a sweep's hopeless trials early."""
