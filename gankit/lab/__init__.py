"""``gankit lab``: a GAN trained live in the browser, every view streamed as it learns.

* :mod:`gankit.lab.session`: one live GAN in plain Python (play, step, D/G only, controls);
* :mod:`gankit.lab.views`: what the page draws of it (samples, D's field, G's push, manifold);
* :mod:`gankit.lab.controls`: the keys the page may set, checked by gankit.config;
* :mod:`gankit.lab.points`: the user's drawn or uploaded points;
* :mod:`gankit.lab.keep`: "save as run" and scenarios;
* :mod:`gankit.lab.server`: the Starlette app (HTTP + WebSocket) and the training thread;
* :mod:`gankit.lab.command`: the ``gankit lab`` command body.
"""
