"""The app's worker process: where everything the app starts trains, at full speed.

The app never trains in its own process (the screen and torch would share one GIL and its
cores: the app ran at about half the speed of ``tui-trainer train``). It starts one worker
(``python -m tui_trainer.worker FD``, in a session of its own) just after its first paint, and
talks to it over a socket pair: :mod:`.client` is the app's end, :mod:`.serve` the worker's.
The worker imports torch while the user looks at the settings, and then runs one job after
another in its main thread, each through the launcher: a run, a resume, an ablation, a lab
or the LR range test (:mod:`.jobs`). It keeps the data it loaded for the next job.

What travels is one frozen dataclass per message, pickled, dispatched by its type
(:mod:`.protocol`): the app sends a job (:mod:`.jobs`: each kind one class that knows how to run
itself here), a request to describe the settings, the commands for the job in progress (stop,
pause, resume, sample, steer: :mod:`tui_trainer.engine.commands`) and ``Detach``; the worker
answers with its readiness, the description, the data's loading, the run's events in batches,
each command's reply, a job's progress and its end.

Leaving and faults: ``Detach`` leaves the run training with nobody listening (the run folder
is its record; ``tui-trainer watch`` and the app's Runs view follow it, and its inbox takes
steering and stop requests); the process ends with the run. If the app goes away without
detaching (it crashed, its terminal closed), the socket's end tells the worker, which stops
the run at its next step: it saves ``last.pt`` and its summary, and stays resumable.
"""
