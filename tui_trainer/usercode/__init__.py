"""Your own code in a preset: a model factory (``model.kind = "python"``) and a data loader
(``data.dataset = "python"``), named as ``package.module:callable`` or ``path/to/file.py:callable``.

- :mod:`.refs` reads such a name and says which file it will import (no import, no torch);
- :mod:`.trust` decides whether that file may run here: a preset's code runs only when the user has
  said so (``--yes``, ``TUI_TRAINER_TRUST=1``, or once per file with ``presets trust``, which keeps its hash);
- :mod:`.calls` imports it and calls it, and turns what goes wrong into one line (with the user's
  own frames of the traceback where their code raised).
"""
