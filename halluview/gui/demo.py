"""The built-in example's attack, as the app starts with it and the presentation tour replays it."""
from __future__ import annotations

DEMO_SAMPLE = "brain"
DEMO_RECON = "unet-mri-4x"
DEMO_REGION = {"kind": "ellipse", "xywh": [74, 44, 14, 14]}


def demo_settings(session) -> None:
    """Make a small bright lesion appear inside a region of the brain, attacking the U-Net directly (whatever model
    and surrogate were chosen before)."""
    session.update(recon={"name": DEMO_RECON}, surrogate=None,
                   threat={"eps": 0.02, "norm": "l2", "eps_mode": "relative", "domain": "measurement"},
                   objective={"kind": "insert", "outside_weight": 1.0, "lesion": {"shape": "disc",
                                                                                  "intensity": 1.0}},
                   optimizer={"steps": 100})


def demo_region(session) -> None:
    """The demo's region, unless one is drawn already."""
    if not session.regions.shapes:
        session.regions.add(dict(DEMO_REGION))
        session.regions_edited()


def place_demo_region_once(session) -> None:
    """Put the demo's region on the first reconstruction of the example, once: after Clear it stays cleared."""
    def place(_problem) -> None:
        session.previewReady.disconnect(place)
        demo_region(session)

    session.previewReady.connect(place)
