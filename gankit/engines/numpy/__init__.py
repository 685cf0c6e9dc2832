"""The NumPy engine: G and D as MLPs, every forward, backward and optimiser step written out
in NumPy (issue 4). ``engine.NumpyEngine`` is what ``train.engine = "numpy"`` runs."""
