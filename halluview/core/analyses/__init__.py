"""The papers' other probes of instability, beside the L_p and patch attacks (Qt-free):

    rotations    the small rotation of the object that most damages the reconstruction (Morshuis et al. 2022)
    features     whether small inserted features are recovered, and the smallest ε that invents one (Antun et al.)
    invariance   a far-away input whose reconstruction barely changes: what the reconstruction ignores (Eulig et al.)
    nullspace    the reconstruction error split into its measured and its null-space part (Bhadra et al. 2021)

Each is a generator, as an attack is: ``run(inputs, config)`` yields :class:`~.view.AnalysisStep` records and
returns a result with ``view()``, ``summary()`` and ``rows()``; :mod:`.registry` names them for the CLI, the app and
the study.
"""
