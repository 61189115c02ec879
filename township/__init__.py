"""The township tier: governance-centre intake, mediation first, fast track, grid reports."""
