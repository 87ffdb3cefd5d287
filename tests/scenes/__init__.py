"""Generated intersection scenes with known ground truth, for the rules, tracker and evidence.

`generate(seed)` plans the vehicles; `detections(scene)` turns them into what a detector would
report (noise, drops, occlusions); `render.frames(scene)` draws them as video; `run.run_gt` and
`run.run_tracked` judge them with the rule engine, and `run.score` compares with the truth.
"""

from tests.scenes.detections import Det, FrameDets, detections
from tests.scenes.generate import NoiseSpec, Scene, generate

__all__ = ["Det", "FrameDets", "NoiseSpec", "Scene", "detections", "generate"]
