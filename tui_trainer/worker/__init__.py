"""The app's worker process: where everything the app starts trains, at full speed.

The app never trains in its own process (the screen and torch would share one GIL and its
cores: the app ran at about half the speed of ``tui-trainer train``). It starts one worker
(``python -m tui_trainer.worker FD``, in a session of its own) just after its first paint, and
talks to it over a socket pair: :mod:`.client` is the app's end, :mod:`.serve` the worker's.
The worker imports torch while the user looks at the settings, and then runs one job after
another in its main thread, each through the launcher: a run, a resume, an ablation, a lab
or the LR range test (:mod:`.jobs`). It keeps the data it loaded for the next job.

What travels (tuples, pickled; the first item names the message):

- app → worker: ``("job", Job)``, ``("describe", config, threads, token)``, and the controls of
  the job in progress: ``("pause",)``, ``("resume",)``, ``("stop", reason)``,
  ``("steer", changes, token)``, ``("sample",)``, ``("detach",)``;
- worker → app: ``("ready", info)``, ``("described", token, info)``, ``("loading", label, done,
  total)``, ``("prepared", facts)``, ``("events", [Event, ...], emitted)`` (batched, within 20 ms of
  being emitted; ``emitted`` is when the first of them was, by ``time.time()``),
  ``("steered", token, status, detail, step)``, ``("held", paused)`` (the loop waits in a
  pause), ``("update", plan)``,
  ``("lr_point", step, lr, smoothed)``, ``("finished", outcome)`` and ``("detached", run_dir)``.

Leaving and faults: ``detach`` leaves the run training with nobody listening (the run folder
is its record; ``tui-trainer watch`` and the app's Runs view follow it, and its inbox takes
steering and stop requests); the process ends with the run. If the app goes away without
detaching (it crashed, its terminal closed), the socket's end tells the worker, which stops
the run at its next step: it saves ``last.pt`` and its summary, and stays resumable.
"""
